//! app-api across two database servers (the second a real PostgreSQL of the test's own):
//! each tenant is served from its own server, the connection budget is per server, and a
//! stopped server costs only its own tenants (503) while readiness names it.

use platform_harness::{PgServer, TestTenant, assert_problem, pg_connect, platform};
use serde_json::Value;

/// Connections open by this test's tenant roles on the server at `url`.
async fn tenant_connections(url: &str, like: &str) -> i64 {
    let pg = pg_connect(url).await.unwrap();
    pg.query_one(
        "SELECT count(*) FROM pg_stat_activity WHERE usename LIKE $1",
        &[&like],
    )
    .await
    .unwrap()
    .get(0)
}

/// Sends `n` ticket lists for the tenant at once; the statuses.
async fn burst(t: &TestTenant, n: usize) -> Vec<u16> {
    let api = t.as_admin();
    let requests = (0..n).map(|_| {
        let api = api.clone();
        async move { api.get("/v1/tickets").send().await.status().as_u16() }
    });
    futures::future::join_all(requests).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_server_has_its_own_budget_and_a_stopped_server_fails_only_its_tenants() {
    let p = platform()
        .env("POOL_MAX_TOTAL", "2")
        .env("POOL_MAX_PER_TENANT", "2")
        .spawn()
        .await;
    let mut second = PgServer::start().await;
    p.add_server("second", &second, 100).await;
    let a = p.tenant_on_server("here", "default").await;
    let b = p.tenant_on_server("there", "second").await;
    let like = p.names.tenant_like();

    // Both served at once, each within its own server's budget of 2 (4 in all).
    let (sa, sb) = tokio::join!(burst(&a, 8), burst(&b, 8));
    assert!(sa.iter().chain(&sb).all(|s| *s == 200), "{sa:?} {sb:?}");
    assert!(tenant_connections(&second.admin_url(), &like).await <= 2);
    assert!(p.tenant_connections().await <= 2);
    let ready: Value = p.app().get("/health/ready").read().await;
    assert_eq!(ready["status"], "ok", "{ready}");
    let servers = &ready["checks"]["db_servers"];
    assert_eq!(servers["second"]["status"], "ok", "{ready}");
    assert_eq!(servers["second"]["budget"], 2, "{ready}");
    assert_eq!(servers["default"]["budget"], 2, "{ready}");
    assert_eq!(ready["checks"]["pool_factory"]["budget"], 4, "{ready}");

    // The second server stops: its tenant gets 503, the other is served, readiness names it.
    second.stop().await;
    let res = b.as_admin().get("/v1/tickets").send().await;
    assert!(res.headers().contains_key("retry-after"));
    let problem = assert_problem(res, 503, "service_unavailable").await;
    assert!(!problem.to_string().contains("127.0.0.1"), "{problem}");
    assert_eq!(burst(&a, 4).await, [200; 4]);
    let res = p.app().get("/health/ready").send().await;
    assert_eq!(
        res.status(),
        200,
        "the other servers' tenants are still served"
    );
    let ready: Value = res.json().await.unwrap();
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert_eq!(
        ready["checks"]["db_servers"]["second"]["status"], "error",
        "{ready}"
    );
    assert_eq!(
        ready["checks"]["db_servers"]["default"]["status"], "ok",
        "{ready}"
    );

    // Back: its tenant is served again without a restart of app-api.
    second.start_again().await;
    platform_harness::wait_until(
        "the second server's tenant served again",
        platform_harness::WAIT_LIMIT,
        std::time::Duration::from_millis(100),
        || {
            let api = b.as_admin();
            async move {
                match api.get("/v1/tickets").send().await.status().as_u16() {
                    200 => Ok(()),
                    other => Err(other.to_string()),
                }
            }
        },
    )
    .await;
}
