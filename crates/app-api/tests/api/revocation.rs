//! A token stops working when its user's password changes or the user is deactivated: at
//! once on the replica that made the change, on the others within the access cache's TTL.

use crate::rate_limit::replica;
use platform_harness::{USER_PASSWORD, assert_problem, spawn_platform};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_or_deactivation_revokes_the_users_tokens() {
    let p = spawn_platform().await;
    let t = p.tenant("revoke").await;
    let me = |token: &str| t.as_user(token).get("/v1/users/me").send();

    // Password change: the old token is refused at once, a new login works.
    let (id, token) = p.user(&t, "agent", "ann").await;
    assert_eq!(me(&token).await.status(), 200);
    let res = t
        .as_admin()
        .patch(&format!("/v1/users/{id}"))
        .json(&json!({"password": "a-brand-new-password"}))
        .send()
        .await;
    assert_eq!(res.status(), 200);
    assert_problem(me(&token).await, 401, "unauthorized").await;
    let email = format!("ann@{}.test", t.slug);
    let fresh = t.anonymous().login(&email, "a-brand-new-password").await;
    assert_eq!(me(&fresh).await.status(), 200);

    // A name change revokes nothing.
    let res = t
        .as_admin()
        .patch(&format!("/v1/users/{id}"))
        .json(&json!({"name": "Ann B."}))
        .send()
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(me(&fresh).await.status(), 200);

    // Deactivation: refused; and reactivating does not bring the old token back.
    let (id, token) = p.user(&t, "customer", "bob").await;
    assert_eq!(me(&token).await.status(), 200);
    for active in [false, true] {
        let res = t
            .as_admin()
            .patch(&format!("/v1/users/{id}"))
            .json(&json!({"active": active}))
            .send()
            .await;
        assert_eq!(res.status(), 200);
        assert_problem(me(&token).await, 401, "unauthorized").await;
    }
    let bob = t
        .anonymous()
        .login(&format!("bob@{}.test", t.slug), USER_PASSWORD)
        .await;
    assert_eq!(me(&bob).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_replica_refuses_a_revoked_token_once_its_cache_entry_expires() {
    let p = spawn_platform().await;
    let t = p.tenant("revoke-far").await;
    let (id, token) = p.user(&t, "agent", "cy").await;
    let b = replica(&p, &[]).await;
    let on_b = || {
        reqwest::Client::new()
            .get(format!("http://127.0.0.1:{}/v1/users/me", b.port))
            .header("x-tenant-slug", &t.slug)
            .bearer_auth(&token)
            .send()
    };
    // Replica b has the user's access cached.
    assert_eq!(on_b().await.unwrap().status(), 200);
    let res = t
        .as_admin()
        .patch(&format!("/v1/users/{id}"))
        .json(&json!({"password": "another-new-password"}))
        .send()
        .await;
    assert_eq!(res.status(), 200);
    // Not a timing assertion: the wait limit only keeps a broken build from hanging.
    let limit = Instant::now() + Duration::from_secs(60);
    loop {
        let res = on_b().await.unwrap();
        if res.status() == 401 {
            assert_problem(res, 401, "unauthorized").await;
            break;
        }
        assert_eq!(res.status(), 200);
        assert!(
            Instant::now() < limit,
            "replica b never refused the revoked token"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.abort();
}
