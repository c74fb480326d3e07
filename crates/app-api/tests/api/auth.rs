//! Logins happen inside the tenant's own database; tokens only work on their tenant.

use crate::helpers::{TENANT_ADMIN_PASSWORD, assert_problem, spawn_platform};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_and_tokens_are_bound_to_their_tenant() {
    let p = spawn_platform().await;
    let a = p.tenant("acorn").await;
    let b = p.tenant("birch").await;

    let me: Value = p
        .call(
            Method::GET,
            "/v1/users/me",
            &a.slug,
            Some(&a.admin_token),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin");
    assert_eq!(me["email"], format!("admin@{}.test", a.slug));
    assert!(me.get("password_hash").is_none());

    // Wrong password; unknown email; A's admin on B.
    for (slug, email, pw) in [
        (&a.slug, format!("admin@{}.test", a.slug), "wrong-password"),
        (
            &a.slug,
            "ghost@nowhere.test".to_string(),
            TENANT_ADMIN_PASSWORD,
        ),
        (
            &b.slug,
            format!("admin@{}.test", a.slug),
            TENANT_ADMIN_PASSWORD,
        ),
    ] {
        let res = p
            .call(
                Method::POST,
                "/v1/auth/login",
                slug,
                None,
                Some(json!({"email": email, "password": pw})),
            )
            .await;
        assert_problem(res, 401, "unauthorized").await;
    }
    // A's token on B.
    let res = p
        .call(
            Method::GET,
            "/v1/users/me",
            &b.slug,
            Some(&a.admin_token),
            None,
        )
        .await;
    assert_problem(res, 403, "tenant_mismatch").await;
    // A control-plane token is not an app token; nor is garbage; nor is nothing.
    let res = p
        .call(
            Method::GET,
            "/v1/users/me",
            &a.slug,
            Some(&p.control_token),
            None,
        )
        .await;
    assert_problem(res, 401, "unauthorized").await;
    let res = p
        .call(Method::GET, "/v1/tickets", &a.slug, Some("not.a.jwt"), None)
        .await;
    assert_problem(res, 401, "unauthorized").await;
    assert_problem(
        p.call(Method::GET, "/v1/tickets", &a.slug, None, None)
            .await,
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

    assert_eq!(
        p.call(Method::GET, "/v1/users", &t.slug, Some(&agent), None)
            .await
            .status(),
        200
    );
    assert_problem(
        p.call(Method::GET, "/v1/users", &t.slug, Some(&customer), None)
            .await,
        403,
        "forbidden",
    )
    .await;
    let new_user =
        json!({"email": "x@y.test", "name": "X", "role": "agent", "password": "password-123"});
    assert_problem(
        p.call(
            Method::POST,
            "/v1/users",
            &t.slug,
            Some(&agent),
            Some(new_user.clone()),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        p.call(
            Method::POST,
            "/v1/users",
            &t.slug,
            Some(&t.admin_token),
            Some(new_user.clone())
        )
        .await
        .status(),
        201
    );
    assert_problem(
        p.call(
            Method::POST,
            "/v1/users",
            &t.slug,
            Some(&t.admin_token),
            Some(new_user),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    let bad = json!({"email": "nope", "name": "", "role": "boss", "password": "short"});
    let body = assert_problem(
        p.call(
            Method::POST,
            "/v1/users",
            &t.slug,
            Some(&t.admin_token),
            Some(bad),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 4);

    // An admin cannot lock themselves out.
    let me: Value = p
        .call(
            Method::GET,
            "/v1/users/me",
            &t.slug,
            Some(&t.admin_token),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let res = p
        .call(
            Method::PATCH,
            &format!("/v1/users/{}", me["id"].as_str().unwrap()),
            &t.slug,
            Some(&t.admin_token),
            Some(json!({"active": false})),
        )
        .await;
    assert_problem(res, 409, "conflict").await;

    // Deactivating the agent locks their token out.
    let res = p
        .call(
            Method::PATCH,
            &format!("/v1/users/{agent_id}"),
            &t.slug,
            Some(&t.admin_token),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_problem(
        p.call(Method::GET, "/v1/users/me", &t.slug, Some(&agent), None)
            .await,
        401,
        "unauthorized",
    )
    .await;
    let res = p
        .call(
            Method::PATCH,
            &format!("/v1/users/{}", uuid::Uuid::new_v4()),
            &t.slug,
            Some(&t.admin_token),
            Some(json!({"name": "Z"})),
        )
        .await;
    assert_problem(res, 404, "not_found").await;
}
