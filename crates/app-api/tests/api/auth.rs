//! Logins happen inside the tenant's own database; tokens only work on their tenant.

use platform_harness::{TENANT_ADMIN_PASSWORD, assert_problem, spawn_platform};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_and_tokens_are_bound_to_their_tenant() {
    let p = spawn_platform().await;
    let a = p.tenant("acorn").await;
    let b = p.tenant("birch").await;

    let me: Value = a.as_admin().get("/v1/users/me").read().await;
    assert_eq!(me["role"], "admin");
    assert_eq!(me["email"], format!("owner@{}.test", a.slug));
    assert!(me.get("password_hash").is_none());

    // Wrong password; unknown email; A's admin on B.
    for (slug, email, pw) in [
        (&a.slug, format!("owner@{}.test", a.slug), "wrong-password"),
        (
            &a.slug,
            "ghost@nowhere.test".to_string(),
            TENANT_ADMIN_PASSWORD,
        ),
        (
            &b.slug,
            format!("owner@{}.test", a.slug),
            TENANT_ADMIN_PASSWORD,
        ),
    ] {
        let res = p
            .app()
            .on(slug)
            .post("/v1/auth/login")
            .json(&json!({"email": email, "password": pw}))
            .send()
            .await;
        assert_problem(res, 401, "unauthorized").await;
    }
    // A's token on B.
    let res = b.as_user(&a.admin_token).get("/v1/users/me").send().await;
    assert_problem(res, 403, "tenant_mismatch").await;
    // A control-plane token is not an app token; nor is garbage; nor is nothing.
    let res = a.as_user(&p.root_token).get("/v1/users/me").send().await;
    assert_problem(res, 401, "unauthorized").await;
    let res = a.as_user("not.a.jwt").get("/v1/tickets").send().await;
    assert_problem(res, 401, "unauthorized").await;
    assert_problem(
        a.anonymous().get("/v1/tickets").send().await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_decide_what_a_user_may_do_and_deactivation_takes_effect() {
    let p = spawn_platform().await;
    let t = p.tenant("roles").await;
    let (agent_id, agent) = p.user(&t, "agent", "alice").await;
    let (_, customer) = p.user(&t, "customer", "carol").await;
    let (agent, customer, admin) = (t.as_user(&agent), t.as_user(&customer), t.as_admin());

    assert_eq!(agent.get("/v1/users").send().await.status(), 200);
    assert_problem(customer.get("/v1/users").send().await, 403, "forbidden").await;
    let new_user =
        json!({"email": "x@y.test", "name": "X", "role": "agent", "password": "password-123"});
    assert_problem(
        agent.post("/v1/users").json(&new_user).send().await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        admin
            .post("/v1/users")
            .json(&new_user)
            .send()
            .await
            .status(),
        201
    );
    assert_problem(
        admin.post("/v1/users").json(&new_user).send().await,
        409,
        "conflict",
    )
    .await;
    let bad = json!({"email": "nope", "name": "", "role": "boss", "password": "short"});
    let body = assert_problem(
        admin.post("/v1/users").json(&bad).send().await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 4);

    // An admin cannot lock themselves out.
    let me: Value = admin.get("/v1/users/me").read().await;
    let res = admin
        .patch(&format!("/v1/users/{}", me["id"].as_str().unwrap()))
        .json(&json!({"active": false}))
        .send()
        .await;
    assert_problem(res, 409, "conflict").await;

    // Deactivating the agent locks their token out.
    let res = admin
        .patch(&format!("/v1/users/{agent_id}"))
        .json(&json!({"active": false}))
        .send()
        .await;
    assert_eq!(res.status(), 200);
    assert_problem(agent.get("/v1/users/me").send().await, 401, "unauthorized").await;
    let res = admin
        .patch(&format!("/v1/users/{}", uuid::Uuid::new_v4()))
        .json(&json!({"name": "Z"}))
        .send()
        .await;
    assert_problem(res, 404, "not_found").await;
}
