//! `TRUSTED_PROXIES`: forwarded host, client address and request id count only from a
//! trusted peer; and the `/t/{slug}/v1/...` path strategy.

use platform_harness::{LogCapture, Platform, TENANT_ADMIN_PASSWORD, assert_problem, platform};
use serde_json::json;

/// A failed login on `slug` claiming `xff` as the client chain; returns the log line of
/// the refusal (found by the response's request id).
async fn refused_login_line(p: &Platform, slug: &str, xff: &str) -> String {
    let res = p
        .app()
        .post("/v1/auth/login")
        .header("x-tenant-slug", slug)
        .header("x-forwarded-for", xff)
        // A new account each time: only the address's count may grow.
        .json(&json!({"email": format!("nobody{}@{slug}.test", rand::random::<u32>()), "password": "wrong-password"}))
        .send()
        .await;
    let rid = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_problem(res, 401, "unauthorized").await;
    LogCapture::global()
        .contents()
        .lines()
        .find(|l| l.contains(&rid) && l.contains("login refused"))
        .unwrap_or_else(|| panic!("no refusal line for {rid}"))
        .to_string()
}

async fn tenant_via_host(p: &Platform, token: &str, header: (&str, &str)) -> reqwest::Response {
    p.app()
        .as_user(token)
        .get("/v1/users/me")
        .header(header.0, header.1)
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
    let p = platform().spawn().await;
    let t = p.tenant("untrusted").await;
    let host = format!("{}.helpdesk.test", t.slug);
    // The forwarded host does not name a tenant, nor make a header ambiguous.
    for h in [
        ("x-forwarded-host", host.clone()),
        ("forwarded", format!("host={host}")),
    ] {
        let res = tenant_via_host(&p, &t.admin_token, (h.0, &h.1)).await;
        assert_problem(res, 400, "tenant_required").await;
        let res = t
            .as_admin()
            .get("/v1/users/me")
            .header(h.0, &h.1.replace(&t.slug, "someone-else"))
            .send()
            .await;
        assert_eq!(res.status(), 200);
    }
    // The client address is the TCP peer, whatever X-Forwarded-For claims.
    let line = refused_login_line(&p, &t.slug, "203.0.113.50").await;
    assert!(
        line.contains("127.0.0.1") && !line.contains("203.0.113.50"),
        "{line}"
    );
    // So rotating forged addresses does not escape the per-address throttle (20 free
    // failures, this is the 21st).
    for i in 0..20 {
        refused_login_line(&p, &t.slug, &format!("198.51.100.{i}")).await;
    }
    let res = t
        .anonymous()
        .post("/v1/auth/login")
        .header("x-forwarded-for", "198.51.100.99")
        .json(
            &json!({"email": format!("owner@{}.test", t.slug), "password": TENANT_ADMIN_PASSWORD}),
        )
        .send()
        .await;
    assert_problem(res, 429, "rate_limited").await;
    // The request id is ours, not the client's.
    let res = p
        .app()
        .get("/health")
        .header("x-request-id", "from-client")
        .send()
        .await;
    assert_ne!(res.headers()["x-request-id"], "from-client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_headers_from_a_trusted_proxy_are_honoured() {
    let p = platform()
        .env("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1, ::1")
        .spawn()
        .await;
    let t = p.tenant("trusted").await;
    let host = format!("{}.helpdesk.test", t.slug);
    for h in [
        ("x-forwarded-host", host.clone()),
        (
            "forwarded",
            format!("for=192.0.2.1;host={host};proto=https"),
        ),
    ] {
        let res = tenant_via_host(&p, &t.admin_token, (h.0, &h.1)).await;
        assert_eq!(res.status(), 200);
        // Now the forwarded host counts, so it can disagree with the header.
        let res = t
            .as_admin()
            .get("/v1/users/me")
            .header(h.0, &h.1.replace(&t.slug, "someone-else"))
            .send()
            .await;
        assert_problem(res, 400, "ambiguous_tenant").await;
    }
    // The client is the right-most hop that is not a trusted proxy: a forged left-most
    // entry does not win over what the proxies saw.
    let line = refused_login_line(&p, &t.slug, "6.6.6.6, 198.51.100.7, 10.1.2.3").await;
    assert!(
        line.contains("198.51.100.7") && !line.contains("6.6.6.6"),
        "{line}"
    );
    // Each forwarded address has its own throttle count: 21 addresses failing once each
    // leave the 22nd free to log in.
    for i in 0..21 {
        refused_login_line(&p, &t.slug, &format!("198.51.100.{i}")).await;
    }
    let res = t
        .anonymous()
        .post("/v1/auth/login")
        .header("x-forwarded-for", "198.51.100.99")
        .json(
            &json!({"email": format!("owner@{}.test", t.slug), "password": TENANT_ADMIN_PASSWORD}),
        )
        .send()
        .await;
    assert_eq!(res.status(), 200);
    // The proxy's request id is kept.
    let res = p
        .app()
        .get("/health")
        .header("x-request-id", "from-proxy")
        .send()
        .await;
    assert_eq!(res.headers()["x-request-id"], "from-proxy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_path_names_the_tenant() {
    let p = platform().spawn().await;
    let t = p.tenant("pathed").await;
    let on_path = p.app().as_user(&t.admin_token);
    let base = format!("/t/{}/v1", t.slug);
    let me = on_path.get(&format!("{base}/users/me")).send().await;
    assert_eq!(me.status(), 200);
    let email = format!("owner@{}.test", t.slug);
    assert_eq!(
        me.json::<serde_json::Value>().await.unwrap()["email"],
        email.as_str()
    );
    // Every route: login, create, read back by id, a query string.
    let login = p
        .app()
        .post(&format!("{base}/auth/login"))
        .json(
            &json!({"email": format!("owner@{}.test", t.slug), "password": TENANT_ADMIN_PASSWORD}),
        )
        .send()
        .await;
    assert_eq!(login.status(), 200);
    let created = on_path
        .post(&format!("{base}/tickets"))
        .json(&json!({"title": "by path", "description": "d"}))
        .send()
        .await;
    assert_eq!(created.status(), 201);
    let id = created.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        on_path
            .get(&format!("{base}/tickets/{id}"))
            .send()
            .await
            .status(),
        200
    );
    let page = on_path
        .get(&format!("{base}/tickets?status=open&per_page=1"))
        .send()
        .await;
    assert_eq!(page.status(), 200);
    // The same validation as the other sources, and the ambiguity rule across all three.
    for bad in ["Bad_Slug", "admin", "ab"] {
        let res = on_path.get(&format!("/t/{bad}/v1/users/me")).send().await;
        assert_problem(res, 400, "invalid_tenant_slug").await;
    }
    let res = on_path
        .get(&format!("{base}/users/me"))
        .header("x-tenant-slug", &t.slug)
        .send()
        .await;
    assert_eq!(res.status(), 200);
    let res = on_path
        .get(&format!("{base}/users/me"))
        .header("x-tenant-slug", "someone-else")
        .send()
        .await;
    assert_problem(res, 400, "ambiguous_tenant").await;
    let res = on_path
        .get(&format!("{base}/users/me"))
        .header("host", "someone-else.helpdesk.test")
        .send()
        .await;
    assert_problem(res, 400, "ambiguous_tenant").await;
    // One route label per pattern: the prefixed requests count under `/v1/...`.
    let metrics = p.app().get("/metrics").send().await.text().await.unwrap();
    assert!(metrics.contains("route=\"/v1/tickets/{id}\""), "{metrics}");
    assert!(!metrics.contains("route=\"/t/"), "{metrics}");
}
