//! Login throttling on the app plane: per account and per client address, with growing
//! delays, shared by every replica, reset by a success.

use crate::rate_limit::replica;
use platform_harness::{TENANT_ADMIN_PASSWORD, assert_problem, spawn_platform};
use serde_json::json;
use std::time::Duration;

async fn login(base: &str, slug: &str, email: &str, pw: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/v1/auth/login"))
        .header("x-tenant-slug", slug)
        .json(&json!({"email": email, "password": pw}))
        .send()
        .await
        .unwrap()
}

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn failed_logins_of_one_account_earn_growing_delays_on_every_replica_until_a_success() {
    let p = spawn_platform().await;
    let t = p.tenant("throttled").await;
    let b = replica(&p, &[]).await;
    let b_url = format!("http://127.0.0.1:{}", b.port);
    let email = format!("owner@{}.test", t.slug);

    // Five free failures, spread over both replicas, then a sixth that earns a delay.
    for i in 0..6 {
        let base = if i % 2 == 0 { &p.app().url("") } else { &b_url };
        let res = login(base, &t.slug, &email, "wrong-password").await;
        assert_problem(res, 401, "unauthorized").await;
    }
    // Even the right password waits, on either replica.
    let res = login(&b_url, &t.slug, &email, TENANT_ADMIN_PASSWORD).await;
    let first = retry_after(&res);
    assert!(first >= 1);
    assert_problem(res, 429, "rate_limited").await;
    let res = login(&p.app().url(""), &t.slug, &email, TENANT_ADMIN_PASSWORD).await;
    assert_problem(res, 429, "rate_limited").await;

    // The next failure after the wait earns a longer one.
    tokio::time::sleep(Duration::from_secs(first)).await;
    let res = login(&p.app().url(""), &t.slug, &email, "wrong-password").await;
    assert_problem(res, 401, "unauthorized").await;
    let res = login(&p.app().url(""), &t.slug, &email, TENANT_ADMIN_PASSWORD).await;
    let second = retry_after(&res);
    assert!(second > first, "delays grow: {first} then {second}");
    assert_problem(res, 429, "rate_limited").await;

    // A success after the wait clears the account's count: failures are free again.
    tokio::time::sleep(Duration::from_secs(second)).await;
    let res = login(&b_url, &t.slug, &email, TENANT_ADMIN_PASSWORD).await;
    assert_eq!(res.status(), 200);
    for _ in 0..3 {
        let res = login(&p.app().url(""), &t.slug, &email, "wrong-password").await;
        assert_problem(res, 401, "unauthorized").await;
    }
    assert_eq!(
        login(&p.app().url(""), &t.slug, &email, TENANT_ADMIN_PASSWORD)
            .await
            .status(),
        200
    );
    b.abort();
}

#[tokio::test]
async fn one_address_failing_across_many_accounts_is_slowed_down() {
    let p = spawn_platform().await;
    let t = p.tenant("sprayed").await;
    // Password spraying: one failure per account, never five on any one of them.
    for i in 0..21 {
        let email = format!("nobody{i}@{}.test", t.slug);
        let res = login(&p.app().url(""), &t.slug, &email, "Winter2026!").await;
        assert_problem(res, 401, "unauthorized").await;
    }
    let email = format!("owner@{}.test", t.slug);
    let res = login(&p.app().url(""), &t.slug, &email, TENANT_ADMIN_PASSWORD).await;
    assert!(retry_after(&res) >= 1);
    assert_problem(res, 429, "rate_limited").await;
}
