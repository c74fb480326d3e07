//! The pool factory: one pool per tenant, hard caps, idle eviction, recovery.

use platform_harness::{Platform, TestTenant, assert_problem, platform, spawn_platform};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_requests_build_exactly_one_pool() {
    let p = spawn_platform().await;
    let t = p.tenant("single").await;
    // Login built the pool; evict it so the tenant is cold again.
    let id: uuid::Uuid = t.id.parse().unwrap();
    p.app_state().pools.evict(id, "test").await;
    let before = p.app_state().pools.created();
    let calls = (0..20).map(|_| t.as_admin().get("/v1/tickets").send());
    let statuses: Vec<u16> = futures::future::join_all(calls)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(p.app_state().pools.created() - before, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_over_five_tenants_never_exceeds_the_global_cap_and_never_500s() {
    let (p, tenants) = capped_platform("6", "load", 5).await;
    let peak = Arc::new(AtomicI64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        let pg = p.pg("postgres").await;
        let like = p.names.tenant_like();
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                let n: i64 = pg
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity WHERE usename LIKE $1",
                        &[&like],
                    )
                    .await
                    .unwrap()
                    .get(0);
                peak.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    // 8 concurrent clients, 40 requests each, round-robin over the five tenants.
    let statuses = round_robin(&tenants, 8, 40, true).await;
    done.store(true, Ordering::SeqCst);
    sampler.await.unwrap();

    assert!(
        statuses.iter().all(|s| *s < 500),
        "a 5xx under load: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 201 | 429)),
        "{statuses:?}"
    );
    let ok = statuses.iter().filter(|s| **s < 300).count();
    assert!(
        ok > statuses.len() / 2,
        "most requests are served: {ok} of {}",
        statuses.len()
    );
    let peak = peak.load(Ordering::SeqCst);
    assert!(
        peak <= 6,
        "saw {peak} tenant connections with POOL_MAX_TOTAL=6"
    );
    assert!(peak > 0, "the sampler saw the load");
    assert!(
        p.app_state().pools.pools() <= 3,
        "at most POOL_MAX_TENANTS pools are kept"
    );
    assert!(p.app_state().pools.connections() <= 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_budget_shares_connections_without_reconnecting_every_tenant() {
    // Three tenants fit the pool cache, but their pools (2 each) do not fit the budget (4):
    // a busy tenant must wait for its own connection, not close another tenant's, or every
    // tenant ends up reconnecting in turn (a new server process per request).
    let (p, tenants) = capped_platform("4", "share", 3).await;
    let opened_before = p.app_state().pools.opened();
    let statuses = round_robin(&tenants, 6, 30, false).await;
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 429)),
        "{statuses:?}"
    );
    let opened = p.app_state().pools.opened() - opened_before;
    assert!(
        opened <= 10,
        "{opened} connections opened for {} requests over 3 tenants with a budget of 4",
        statuses.len()
    );
    assert!(p.app_state().pools.connections() <= 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_pool_is_evicted_and_its_connections_really_close() {
    let p = platform()
        .env("POOL_IDLE_SECS", "1")
        .env("POOL_HEALTH_MS", "200")
        .spawn()
        .await;
    let t = p.tenant("sleepy").await;
    assert_eq!(t.as_admin().get("/v1/tickets").send().await.status(), 200);
    assert!(
        p.tenant_connections().await >= 1,
        "a connection is open after a request"
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while p.tenant_connections().await > 0 {
        assert!(
            Instant::now() < deadline,
            "idle pool's connections never closed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(p.app_state().pools.pools(), 0);
    assert!(
        p.app()
            .get("/metrics")
            .text()
            .await
            .contains("tenant_pool_evicted_total{reason=\"idle\"}")
    );
    // The tenant is served again, on a fresh pool.
    assert_eq!(t.as_admin().get("/v1/tickets").send().await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_whose_backends_are_killed_recovers_without_500s() {
    let p = spawn_platform().await;
    let t = p.tenant("phoenix").await;
    let warm = (0..10).map(|_| t.as_admin().get("/v1/tickets").send());
    futures::future::join_all(warm).await;
    let pg = p.pg("postgres").await;
    // With a timeout, pg_terminate_backend returns once the backends have exited: the
    // connections are dead, not dying, when the next requests come.
    let killed: i64 = pg
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = $1) k",
            &[&t.db_name],
        )
        .await
        .unwrap()
        .get(0);
    assert!(killed >= 1, "there were connections to kill");
    for _ in 0..20 {
        let res = t.as_admin().get("/v1/tickets").send().await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    let body: Value = t
        .as_admin()
        .post("/v1/tickets")
        .json(&json!({"title": "after", "description": ""}))
        .read()
        .await;
    assert_eq!(body["title"], "after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_or_database_connection_limit_answers_429_and_never_shrinks_the_budget() {
    // The server refuses the tenant's role, then its database, by `CONNECTION LIMIT 0`. Only a
    // full server shrinks the budget; these limits are told apart from it by the routine the
    // server reports (`InitializeSessionUserId`, `CheckMyDatabase`), not by its English text.
    let p = platform().env("POOL_ACQUIRE_WAIT_MS", "300").spawn().await;
    let t = p.tenant("limited").await;
    let id: uuid::Uuid = t.id.parse().unwrap();
    let budget = p.app_state().pools.budget();
    let pg = p.pg("postgres").await;
    // The tenant's role and database share its name.
    let name = &t.db_name;
    for object in ["ROLE", "DATABASE"] {
        pg.batch_execute(&format!("ALTER {object} \"{name}\" CONNECTION LIMIT 0"))
            .await
            .unwrap();
        p.app_state().pools.evict(id, "test").await;
        let res = t.as_admin().get("/v1/tickets").send().await;
        assert_problem(res, 429, "connection_limit").await;
        assert_eq!(
            p.app_state().pools.budget(),
            budget,
            "a {object} limit shrank the budget"
        );
        pg.batch_execute(&format!("ALTER {object} \"{name}\" CONNECTION LIMIT -1"))
            .await
            .unwrap();
    }
    assert!(
        p.app()
            .get("/metrics")
            .text()
            .await
            .contains("tenant_pool_server_refusals_total"),
        "the server refused connections"
    );
    let res = t.as_admin().get("/v1/tickets").send().await;
    assert_eq!(res.status(), 200, "served again once the limits are lifted");
}

/// A platform with `POOL_MAX_TOTAL=total`, 2 connections per tenant and 3 pools cached,
/// and `count` tenants named `{name}{i}`.
async fn capped_platform(total: &str, name: &str, count: usize) -> (Platform, Vec<TestTenant>) {
    let p = platform()
        .env("POOL_MAX_TOTAL", total)
        .env("POOL_MAX_PER_TENANT", "2")
        .env("POOL_MAX_TENANTS", "3")
        .spawn()
        .await;
    let mut tenants = Vec::new();
    for i in 0..count {
        tenants.push(p.tenant(&format!("{name}{i}")).await);
    }
    (p, tenants)
}

/// `workers` concurrent clients sending `requests` each, round-robin over the tenants:
/// ticket lists, and with `writes` a ticket created every fourth request. The statuses.
async fn round_robin(
    tenants: &[TestTenant],
    workers: usize,
    requests: usize,
    writes: bool,
) -> Vec<u16> {
    let workers = (0..workers).map(|w| async move {
        let mut statuses = Vec::new();
        for i in 0..requests {
            let t = &tenants[(w + i) % tenants.len()];
            let admin = t.as_admin();
            let res = if writes && i % 4 == 0 {
                admin
                    .post("/v1/tickets")
                    .json(&json!({"title": "load", "description": ""}))
                    .send()
                    .await
            } else {
                admin.get("/v1/tickets").send().await
            };
            statuses.push(res.status().as_u16());
        }
        statuses
    });
    futures::future::join_all(workers).await.concat()
}
