//! `GET /health/ready` (control DB, Redis, pool factory, each database server).

use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tenancy_core::http::health::{Check, Readiness};

/// Dependencies answer; the pool factory reports its load (which never fails readiness:
/// a full budget is back-pressure, not an outage). Each database server (`db_servers`, by
/// name) is reported with whether it accepts connections and this process's connections
/// to it; one that does not makes the answer `degraded` (still 200): its tenants get 503
/// while every other tenant is served.
#[utoipa::path(operation_id = "ready", responses((status = 200, body = Readiness), (status = 503, body = Readiness)), tag = "operations")]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let (mut conn, ping) = (state.redis.clone(), redis::cmd("PING"));
    let (db, redis, servers) = tokio::join!(
        Check::run(state.directory.ping()),
        Check::run(ping.query_async::<String>(&mut conn)),
        servers(&state),
    );
    let limits = &state.settings.pools;
    let pools = json!({
        "status": "ok",
        "pools": state.pools.pools(),
        "max_pools": limits.max_tenants,
        "connections": state.pools.connections(),
        "max_connections": limits.max_total,
        "budget": state.pools.budget(),
    });
    let report = Readiness::default()
        .check("control_db", db)
        .check("redis", redis)
        .report("pool_factory", pools);
    match servers {
        Some((ok, by_name)) => report.optional_report("db_servers", ok, by_name),
        // The control database is down: the check above already says so.
        None => report,
    }
    .respond()
}

/// Each registered server: whether it accepts a TCP connection at the address apps use,
/// and this process's connections to it. `None` when the registry cannot be read.
async fn servers(state: &AppState) -> Option<(bool, BTreeMap<String, Value>)> {
    let servers = state.directory.servers().await.ok()?;
    let probes = servers.into_iter().map(|s| async move {
        let addr = (s.host.clone(), s.port);
        let check = Check::run(tokio::net::TcpStream::connect(addr)).await;
        let load = state.pools.server_load(&s.name);
        let entry = json!({
            "status": check.status,
            "latency_ms": check.latency_ms,
            "error": check.error,
            "host": s.host,
            "port": s.port,
            "connections": load.connections,
            "budget": load.budget,
        });
        (s.name, check.is_ok(), entry)
    });
    let results = futures::future::join_all(probes).await;
    let ok = results.iter().all(|(_, ok, _)| *ok);
    Some((ok, results.into_iter().map(|(n, _, e)| (n, e)).collect()))
}
