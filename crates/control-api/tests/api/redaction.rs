//! A malformed `CONTROL_DATABASE_URL` stops start-up without its password in the message.

use std::process::Command;

const PASSWORD: &str = "s3cret-Registry-pw";

#[test]
fn a_bad_control_database_url_is_refused_without_its_password() {
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="; // 32 distinct bytes, base64
    for url in [
        format!("postgresx://admin:{PASSWORD}@127.0.0.1:1/registry"),
        format!("mysql://admin:{PASSWORD}@127.0.0.1:1/registry"),
        format!("postgres://admin:{PASSWORD}@127.0.0.1:notaport/registry"),
        format!("postgres://admin:{PASSWORD}@127.0.0.1:1/bad name"),
        format!("admin:{PASSWORD}@127.0.0.1/registry"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_control-api"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(std::env::temp_dir())
            .env("CONTROL_DATABASE_URL", &url)
            .env(
                "TENANT_DB_ADMIN_URL",
                "postgres://postgres@127.0.0.1:1/none",
            )
            .env("REDIS_URL", "redis://127.0.0.1:1")
            .env("MASTER_KEY", key)
            .env(
                "CONTROL_JWT_SECRET",
                "a-control-plane-secret-of-enough-length!",
            )
            .output()
            .expect("control-api runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{url} was accepted");
        assert!(
            stderr.contains("CONTROL_DATABASE_URL"),
            "the error names the variable for {url}: {stderr}"
        );
        for text in [&stderr, &stdout] {
            assert!(
                !text.contains(PASSWORD),
                "the password leaked for {url}: {text}"
            );
        }
    }
}
