//! Only a super-admin with a valid control-plane token gets in.

use platform_harness::{ROOT_EMAIL, ROOT_PASSWORD, assert_problem, spawn_control};
use serde_json::{Value, json};
use tenancy_core::jwt::{APP_AUDIENCE, AppClaims, CONTROL_AUDIENCE, ControlClaims, JwtKeys};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_issues_a_short_lived_bearer_token() {
    let app = spawn_control().await;
    let res = app
        .control()
        .post("/v1/auth/login")
        .json(&json!({"email": ROOT_EMAIL, "password": ROOT_PASSWORD}))
        .send()
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    // Email is case-insensitive.
    let upper = app
        .control()
        .login(&ROOT_EMAIL.to_uppercase(), ROOT_PASSWORD)
        .await;
    assert_eq!(
        app.control()
            .as_user(&upper)
            .get("/v1/tenants")
            .send()
            .await
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_or_unknown_email_is_401() {
    let app = spawn_control().await;
    for (email, password) in [
        (ROOT_EMAIL, "wrong password!"),
        ("nobody@platform.test", ROOT_PASSWORD),
        ("not-an-email", "whatever-pw"),
    ] {
        let res = app
            .control()
            .post("/v1/auth/login")
            .json(&json!({"email": email, "password": password}))
            .send()
            .await;
        let body = assert_problem(res, 401, "unauthorized").await;
        assert_eq!(
            body["detail"], "invalid email or password",
            "no hint which part was wrong"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_tampered_foreign_or_expired_tokens_are_401() {
    let app = spawn_control().await;
    let tenants = |token: &str| app.control().as_user(token).get("/v1/tenants");
    assert_problem(
        app.control().get("/v1/tenants").send().await,
        401,
        "unauthorized",
    )
    .await;
    assert_problem(
        app.control()
            .get("/v1/tenants")
            .header("authorization", "Basic abc")
            .send()
            .await,
        401,
        "unauthorized",
    )
    .await;

    // One character of the signature changed.
    let mut tampered = app.root_token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_problem(tenants(&tampered).send().await, 401, "unauthorized").await;

    // A token for the app plane, even signed with the control secret, is not a control token.
    let control_secret = secrecy::SecretString::from(app.env["CONTROL_JWT_SECRET"].clone());
    let app_keys = JwtKeys::new(&control_secret, APP_AUDIENCE, 60);
    let (iat, exp) = app_keys.lifetime();
    let foreign = app_keys.sign(&AppClaims {
        sub: uuid::Uuid::new_v4(),
        tid: uuid::Uuid::new_v4(),
        role: "admin".into(),
        ver: 0,
        aud: APP_AUDIENCE.into(),
        iat,
        exp,
    });
    assert_problem(tenants(&foreign).send().await, 401, "unauthorized").await;

    // Expired.
    let keys = JwtKeys::new(&control_secret, CONTROL_AUDIENCE, 60);
    let expired = keys.sign(&ControlClaims {
        sub: uuid::Uuid::new_v4(),
        ver: 0,
        aud: CONTROL_AUDIENCE.into(),
        iat: 1_000,
        exp: 2_000,
    });
    assert_problem(tenants(&expired).send().await, 401, "unauthorized").await;

    // Every registry route is guarded.
    for path in [
        "/v1/tenants/acme",
        "/v1/tenants/acme/jobs",
        "/v1/jobs/00000000-0000-0000-0000-000000000000",
    ] {
        let res = app.control().get(path).send().await;
        assert_problem(res, 401, "unauthorized").await;
    }
    let res = app
        .control()
        .post("/v1/tenants")
        .json(&json!({}))
        .send()
        .await;
    assert_problem(res, 401, "unauthorized").await;
}
