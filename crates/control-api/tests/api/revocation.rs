//! A super-admin token stops working when `control-api admin create` resets that admin, and
//! when the admin no longer exists.

use platform_harness::{ROOT_EMAIL, ROOT_PASSWORD, assert_problem, spawn_control};
use std::io::Write;
use std::process::{Command, Stdio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_or_removed_admin_loses_its_tokens() {
    let p = spawn_control().await;
    let tenants = |token: &str| p.control().as_user(token).get("/v1/tenants").send();
    assert_eq!(tenants(&p.root_token).await.status(), 200);

    // The CLI resets the admin (a new password): the earlier token is refused.
    let mut cli = Command::new(env!("CARGO_BIN_EXE_control-api"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(&p.env)
        .current_dir(std::env::temp_dir())
        .args(["admin", "create", "--email", ROOT_EMAIL, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("control-api runs");
    cli.stdin
        .take()
        .unwrap()
        .write_all(b"a-new-root-password\n")
        .unwrap();
    let out = cli.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_problem(tenants(&p.root_token).await, 401, "unauthorized").await;
    let res = p
        .control()
        .post("/v1/auth/login")
        .json(&serde_json::json!({"email": ROOT_EMAIL, "password": ROOT_PASSWORD}))
        .send()
        .await;
    assert_problem(res, 401, "unauthorized").await;
    let fresh = p.control().login(ROOT_EMAIL, "a-new-root-password").await;
    assert_eq!(tenants(&fresh).await.status(), 200);

    // Removed from the registry (no command does this; an operator's DELETE does).
    p.pg(&p.names.control_db)
        .await
        .execute("DELETE FROM super_admins WHERE email = $1", &[&ROOT_EMAIL])
        .await
        .unwrap();
    assert_problem(tenants(&fresh).await, 401, "unauthorized").await;
}
