//! The connection budget under pressure, seen from outside: a pool gives up connections
//! down to its last idle one before any tenant loses its last, so `POOL_MAX_TOTAL`
//! connections keep that many tenants warm.

use platform_harness::{Platform, TestTenant, platform, wait_until};
use std::collections::BTreeMap;
use std::time::Duration;

/// The tenant databases holding app-api connections, with how many each.
pub(crate) async fn connections_per_database(p: &Platform) -> BTreeMap<String, i64> {
    p.pg("postgres")
        .await
        .query(
            "SELECT datname, count(*) FROM pg_stat_activity WHERE usename LIKE $1 \
             AND application_name = 'app-api' GROUP BY datname",
            &[&p.names.tenant_like()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Waits until app-api's connections are exactly `want` (database -> count).
pub(crate) async fn expect_connections(p: &Platform, want: &[(&TestTenant, i64)]) {
    let want: BTreeMap<String, i64> = want.iter().map(|(t, n)| (t.db_name.clone(), *n)).collect();
    wait_until(
        "app-api's connections per tenant database",
        Duration::from_secs(20),
        Duration::from_millis(50),
        || async {
            let seen = connections_per_database(p).await;
            if seen == want {
                Ok(())
            } else {
                Err(format!("{seen:?}, want {want:?}"))
            }
        },
    )
    .await
}

/// Two requests of `t` at once, both held on a table lock until released: its pool then
/// holds two connections, both idle once the lock is gone.
async fn open_two_connections(p: &Platform, t: &TestTenant) {
    let mut db = p.pg(&t.db_name).await;
    let lock = db.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE tickets IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let requests =
        futures::future::join_all((0..2).map(|_| t.as_admin().get("/v1/tickets").send()));
    let release = async {
        let watcher = p.pg("postgres").await;
        wait_until(
            "both requests waiting on the lock",
            Duration::from_secs(20),
            Duration::from_millis(20),
            || async {
                let waiting: i64 = watcher
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 \
                         AND application_name = 'app-api' AND wait_event_type = 'Lock'",
                        &[&t.db_name],
                    )
                    .await
                    .unwrap()
                    .get(0);
                if waiting == 2 {
                    Ok(())
                } else {
                    Err(format!("{waiting} waiting"))
                }
            },
        )
        .await;
        lock.commit().await.unwrap();
    };
    let (responses, ()) = tokio::join!(requests, release);
    for res in responses {
        assert_eq!(res.status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_budget_shrinks_pools_to_one_connection_before_a_tenant_goes_cold() {
    let p = platform()
        .env("POOL_MAX_TOTAL", "4")
        .env("POOL_MAX_PER_TENANT", "2")
        .env("POOL_HEALTH_MS", "100")
        .spawn()
        .await;
    let mut tenants = Vec::new();
    for i in 0..5 {
        tenants.push(p.tenant(&format!("press{i}")).await);
    }
    // Logging the admins in opened connections; start from none.
    for t in &tenants {
        p.app_state()
            .pools
            .evict(t.id.parse().unwrap(), "test")
            .await;
    }
    expect_connections(&p, &[]).await;
    let [a, b, c, d, e] = &tenants[..] else {
        unreachable!()
    };

    // Two tenants spend the whole budget, two connections each.
    open_two_connections(&p, a).await;
    open_two_connections(&p, b).await;
    expect_connections(&p, &[(a, 2), (b, 2)]).await;

    // Two more tenants: each takes one of a pool's two idle connections, not a last one.
    for t in [c, d] {
        assert_eq!(t.as_admin().get("/v1/tickets").send().await.status(), 200);
    }
    expect_connections(&p, &[(a, 1), (b, 1), (c, 1), (d, 1)]).await;

    // With every pool at one connection, a fifth tenant takes one tenant's last: the
    // budget still keeps four tenants warm, e among them. (Which one went cold depends on
    // idle times the health pings also touch.)
    assert_eq!(e.as_admin().get("/v1/tickets").send().await.status(), 200);
    wait_until(
        "four tenants with one connection each, e among them",
        Duration::from_secs(20),
        Duration::from_millis(50),
        || async {
            let seen = connections_per_database(&p).await;
            if seen.len() == 4 && seen.values().all(|n| *n == 1) && seen.contains_key(&e.db_name) {
                Ok(())
            } else {
                Err(format!("{seen:?}"))
            }
        },
    )
    .await;

    // No pool was closed for any of this: the emptied one stays cached, ready to reconnect.
    // (Read from this app's factory: /metrics is one recorder for every test in this
    // process, so its gauges and counters mix other tests' platforms in.)
    let pools = &p.app_state().pools;
    wait_until(
        "five pools cached, four connections open",
        Duration::from_secs(20),
        Duration::from_millis(50),
        || async {
            match (pools.pools(), pools.connections()) {
                (5, 4) => Ok(()),
                seen => Err(format!("{seen:?}")),
            }
        },
    )
    .await;
    assert!(
        p.app()
            .get("/metrics")
            .text()
            .await
            .contains("tenant_pools_active"),
        "the gauge is exported"
    );
}
