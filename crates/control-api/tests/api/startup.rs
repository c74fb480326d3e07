//! The binary refuses to start on missing or weak secrets, naming the variable.

use std::process::Command;

fn run(env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_control-api"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        // An empty working directory: no `.env` file is picked up.
        .current_dir(std::env::temp_dir())
        .envs(env.iter().copied())
        .output()
        .expect("control-api runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn start_up_is_refused_without_or_with_weak_secrets_naming_the_variable() {
    let key = "Ja6xtXyE+XRjiyh33NUl84wHc/6JzzTMP2ldEOG+EAk="; // 32 random bytes, base64
    let jwt = "a-control-plane-secret-of-enough-length!";
    let base = [
        (
            "CONTROL_DATABASE_URL",
            "postgres://postgres@127.0.0.1:1/none",
        ),
        (
            "TENANT_DB_ADMIN_URL",
            "postgres://postgres@127.0.0.1:1/none",
        ),
        ("REDIS_URL", "redis://127.0.0.1:1"),
    ];
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("CONTROL_JWT_SECRET", jwt)], "MASTER_KEY is not set"),
        (
            vec![("MASTER_KEY", "c2hvcnQ="), ("CONTROL_JWT_SECRET", jwt)],
            "MASTER_KEY is invalid",
        ),
        (
            vec![
                ("MASTER_KEY", "!!!not-base64!!!"),
                ("CONTROL_JWT_SECRET", jwt),
            ],
            "MASTER_KEY is invalid",
        ),
        (vec![("MASTER_KEY", key)], "CONTROL_JWT_SECRET is not set"),
        (
            vec![("MASTER_KEY", key), ("CONTROL_JWT_SECRET", "short")],
            "CONTROL_JWT_SECRET is invalid",
        ),
        (
            vec![
                ("MASTER_KEY", key),
                ("CONTROL_JWT_SECRET", jwt),
                ("APP_JWT_SECRET", jwt),
            ],
            "must differ from APP_JWT_SECRET",
        ),
    ];
    for (extra, want) in cases {
        let env: Vec<(&str, &str)> = base.iter().copied().chain(extra).collect();
        let (ok, stderr) = run(&env);
        assert!(!ok, "started without a valid secret ({want})");
        assert!(stderr.contains(want), "expected `{want}` in: {stderr}");
        assert!(!stderr.contains(jwt), "a secret was printed: {stderr}");
    }
    let (ok, stderr) = run(&[("MASTER_KEY", key), ("CONTROL_JWT_SECRET", jwt)]);
    assert!(
        !ok && stderr.contains("CONTROL_DATABASE_URL is not set"),
        "{stderr}"
    );
}

#[test]
fn every_subcommand_explains_itself() {
    for args in [
        vec!["--help"],
        vec!["worker", "--help"],
        vec!["migrate", "--help"],
        vec!["tenants", "migrate", "--help"],
        vec!["servers", "add", "--help"],
        vec!["servers", "list", "--help"],
        vec!["servers", "drain", "--help"],
        vec!["admin", "create", "--help"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_control-api"))
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(!out.stdout.is_empty());
    }
}
