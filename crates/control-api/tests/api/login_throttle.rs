//! Login throttling on the control plane: a super-admin account under a password-guessing
//! attack waits, on every replica, and a success clears its count.

use platform_harness::{Platform, ROOT_EMAIL, ROOT_PASSWORD, assert_problem, spawn_control};
use serde_json::json;
use std::time::Duration;

async fn login(app: &Platform, password: &str) -> reqwest::Response {
    app.control()
        .post("/v1/auth/login")
        .json(&json!({"email": ROOT_EMAIL, "password": password}))
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_wrong_passwords_make_the_super_admin_wait_on_every_replica() {
    let app = spawn_control().await;
    let other = app.another_instance(None).await;
    for i in 0..6 {
        let replica = if i % 2 == 0 { &app } else { &other };
        assert_problem(login(replica, "wrong password!").await, 401, "unauthorized").await;
    }
    for replica in [&app, &other] {
        let res = login(replica, ROOT_PASSWORD).await;
        let wait: u64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(wait >= 1);
        assert_problem(res, 429, "rate_limited").await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(login(&other, ROOT_PASSWORD).await.status(), 200);
    // The success cleared the count: a wrong password is a plain 401 again.
    assert_problem(login(&app, "wrong password!").await, 401, "unauthorized").await;
    assert_eq!(login(&app, ROOT_PASSWORD).await.status(), 200);
}
