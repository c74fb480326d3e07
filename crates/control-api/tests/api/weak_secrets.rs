//! Weak secrets refuse start-up: the message names the variable and never echoes the value.

use std::process::Command;

fn stderr_of(env: &[(&str, &str)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_control-api"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(std::env::temp_dir())
        .envs(env.iter().copied())
        .output()
        .expect("control-api runs");
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn repeated_placeholder_or_all_zero_secrets_are_refused_without_their_value() {
    let key = "q3M4yV2sQ0b8Xo1nJ6fW9tZr5eKc7uHa2gLp4dS8vBw="; // 32 random bytes
    let jwt = "k9Qx-2mVb7Tz4Rw8Yh1Nc6Jf3Ls5Dg0Pa";
    let urls = [
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
    let a32 = "a".repeat(32);
    let changeme = "changeme".repeat(4);
    let zero = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let cases = [
        ("CONTROL_JWT_SECRET", a32.as_str(), "MASTER_KEY", key),
        ("CONTROL_JWT_SECRET", changeme.as_str(), "MASTER_KEY", key),
        ("MASTER_KEY", zero, "CONTROL_JWT_SECRET", jwt),
    ];
    for (var, weak, other, good) in cases {
        let mut env = urls.to_vec();
        env.push((var, weak));
        env.push((other, good));
        let err = stderr_of(&env);
        assert!(err.contains(&format!("{var} is invalid")), "{var}: {err}");
        assert!(!err.contains(weak), "{var}'s value echoed: {err}");
    }
}
