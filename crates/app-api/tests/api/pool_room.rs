//! More tenants than the connection budget, seen from outside: each tenant keeps one warm
//! connection while the budget allows, a request to a tenant without one is served by
//! closing another tenant's idle connection (the least recently used), and a pool holding
//! several busy connections gives one back before any tenant loses its last.

use super::pool_pressure::{connections_per_database, expect_connections};
use platform_harness::{Platform, TestTenant, platform, wait_until};
use std::time::Duration;

/// A platform with `POOL_MAX_TOTAL=total`, two connections per tenant, and a wait long
/// enough that no request here ever answers 429 on a slow machine, with `count` tenants
/// whose pools start empty.
async fn budget_platform(total: &str, name: &str, count: usize) -> (Platform, Vec<TestTenant>) {
    let p = platform()
        .env("POOL_MAX_TOTAL", total)
        .env("POOL_MAX_PER_TENANT", "2")
        .env("POOL_ACQUIRE_WAIT_MS", "20000")
        // No health pings: they check connections out, which makes them recently used.
        .env("POOL_HEALTH_MS", "3600000")
        .spawn()
        .await;
    let mut tenants = Vec::new();
    for i in 0..count {
        tenants.push(p.tenant(&format!("{name}{i}")).await);
    }
    // Logging the admins in opened connections; start from none.
    for t in &tenants {
        p.app_state()
            .pools
            .evict(t.id.parse().unwrap(), "test")
            .await;
    }
    expect_connections(&p, &[]).await;
    (p, tenants)
}

async fn read(t: &TestTenant) {
    let res = t.as_admin().get("/v1/tickets").send().await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_tenants_than_the_budget_keep_one_warm_connection_each_and_evict_the_least_recent() {
    let (p, tenants) = budget_platform("3", "warm", 5).await;
    let [a, b, c, d, e] = &tenants[..] else {
        unreachable!()
    };
    let pools = &p.app_state().pools;

    // Three tenants fill the budget, one connection each, then are served again and again
    // without opening another: a is the least recently used at the end.
    for t in [a, b, c] {
        read(t).await;
    }
    expect_connections(&p, &[(a, 1), (b, 1), (c, 1)]).await;
    let opened = pools.opened();
    for _ in 0..3 {
        for t in [a, b, c] {
            read(t).await;
        }
    }
    assert_eq!(pools.opened(), opened, "warm tenants opened connections");

    // A fourth tenant is served by closing the least recently used idle connection (a's),
    // a fifth by closing the next (b's): one connection opened each.
    read(d).await;
    expect_connections(&p, &[(b, 1), (c, 1), (d, 1)]).await;
    read(e).await;
    expect_connections(&p, &[(c, 1), (d, 1), (e, 1)]).await;
    assert_eq!(pools.opened(), opened + 2);

    // All five at once, several times over: every request is served, none waits past the
    // budget, and the budget is never exceeded.
    for _ in 0..3 {
        let burst = tenants
            .iter()
            .cycle()
            .take(10)
            .map(|t| t.as_admin().get("/v1/tickets").send());
        for res in futures::future::join_all(burst).await {
            let status = res.status();
            assert_eq!(status, 200, "{}", res.text().await.unwrap());
        }
        let held: i64 = connections_per_database(&p).await.values().sum();
        assert!(held <= 3, "{held} connections with POOL_MAX_TOTAL=3");
    }
    assert!(pools.connections() <= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_pool_gives_a_connection_back_before_another_tenant_loses_its_last() {
    let (p, tenants) = budget_platform("4", "shrink", 4).await;
    let [a, b, c, d] = &tenants[..] else {
        unreachable!()
    };
    let pools = &p.app_state().pools;
    read(b).await;
    read(c).await;

    // a's two requests wait on a table lock, holding two connections: the budget is spent.
    let mut db = p.pg(&a.db_name).await;
    let lock = db.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE tickets IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let held = tokio::spawn({
        let (x, y) = (a.as_admin(), a.as_admin());
        async move {
            let (r1, r2) = tokio::join!(x.get("/v1/tickets").send(), y.get("/v1/tickets").send());
            (r1.status(), r2.status())
        }
    });
    expect_connections(&p, &[(a, 2), (b, 1), (c, 1)]).await;

    // d has no connection: it waits for room instead of closing b's or c's last one.
    let waiting = tokio::spawn({
        let d = d.as_admin();
        async move { d.get("/v1/tickets").send().await.status() }
    });
    wait_until(
        "d waiting for room",
        Duration::from_secs(20),
        Duration::from_millis(20),
        || async {
            match pools.waiting_for_room() {
                1 => Ok(()),
                n => Err(format!("{n} waiting")),
            }
        },
    )
    .await;
    assert_eq!(
        connections_per_database(&p).await.len(),
        3,
        "nobody lost a connection while a held two"
    );

    // a's requests finish: one of its connections is closed for d, the other kept.
    lock.commit().await.unwrap();
    let (s1, s2) = held.await.unwrap();
    assert_eq!((s1.as_u16(), s2.as_u16()), (200, 200));
    assert_eq!(waiting.await.unwrap().as_u16(), 200);
    expect_connections(&p, &[(a, 1), (b, 1), (c, 1), (d, 1)]).await;
    assert_eq!(pools.waiting_for_room(), 0);
}
