//! A move under load: a client keeps writing and reading through two app-api replicas
//! while the tenant moves to another server. Every acknowledged write is on the target,
//! no read fails, a write is only ever created (201) or refused as `tenant_moving` (503),
//! and nothing of the tenant is left on the source (no session, no database).

use super::{leftovers, start_move};
use platform_harness::{Api, PgServer, pg_admin_url, pg_connect, platform, with_database};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What the client saw: writes acknowledged, and every other answer by status and code.
#[derive(Default)]
struct Seen {
    acked: Vec<String>,
    writes: BTreeMap<String, usize>,
    reads: BTreeMap<String, usize>,
}

async fn answer(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    let code = body["code"].as_str().unwrap_or("").to_string();
    (status, code)
}

/// Writes and reads in turn, alternating replicas, until `stop`.
async fn client(replicas: [Api; 2], stop: Arc<AtomicBool>) -> Seen {
    let mut seen = Seen::default();
    let mut i = 0usize;
    while !stop.load(Ordering::SeqCst) {
        let api = &replicas[i % 2];
        let title = format!("load {i}");
        let res = api
            .post("/v1/tickets")
            .json(&json!({"title": title, "description": "written during a move"}))
            .send()
            .await;
        match answer(res).await {
            (201, _) => seen.acked.push(title),
            (status, code) => *seen.writes.entry(format!("{status} {code}")).or_default() += 1,
        }
        let res = replicas[(i + 1) % 2]
            .get("/v1/tickets?per_page=5")
            .send()
            .await;
        let (status, code) = answer(res).await;
        if status != 200 {
            *seen.reads.entry(format!("{status} {code}")).or_default() += 1;
        }
        i += 1;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_under_reads_and_writes_through_two_replicas_loses_no_acknowledged_write() {
    // The client sends as fast as it can: far above a plan's rate.
    let p = platform().env("RATE_LIMIT_SCALE", "10000").spawn().await;
    let second = PgServer::start().await;
    p.add_server("second", &second, 10).await;
    let t = p.tenant_on_server("load", "default").await;
    let b = p.another_app().await;
    let replicas = [t.as_admin(), b.api.on(&t.slug).as_user(&t.admin_token)];
    let role: String = p
        .pg("postgres")
        .await
        .query_one(
            "SELECT datdba::regrole::text FROM pg_database WHERE datname = $1",
            &[&t.db_name],
        )
        .await
        .unwrap()
        .get(0);

    let stop = Arc::new(AtomicBool::new(false));
    let running = tokio::spawn(client(replicas.clone(), stop.clone()));
    // Some traffic before, then the move, then traffic on the target through both replicas.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let body = start_move(&p, &t.slug, "second").await;
    let id = body["job"]["id"].as_str().unwrap().to_string();
    let job = p
        .wait_for_job(&id, |j| {
            !matches!(j["state"].as_str(), Some("queued" | "running" | "retrying"))
        })
        .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let seen = running.await.unwrap();

    // Reads are served throughout: from the source while the tenant moves (the event
    // reaches the replicas before the job fences, and a moving tenant's connection is
    // proven before it is used), from the target after the switch.
    assert!(seen.reads.is_empty(), "failed reads: {:?}", seen.reads);
    let unexpected: Vec<_> = seen
        .writes
        .keys()
        .filter(|k| k.as_str() != "503 tenant_moving")
        .collect();
    assert!(unexpected.is_empty(), "writes answered {:?}", seen.writes);
    assert!(
        seen.writes.contains_key("503 tenant_moving"),
        "no write was refused: the move was not under load ({} acked)",
        seen.acked.len()
    );

    let moved = p
        .root()
        .get(&format!("/v1/tenants/{}", t.slug))
        .read()
        .await;
    assert_eq!(moved["server"], "second", "{moved}");
    let target = pg_connect(&with_database(
        &second.admin_url(),
        moved["db_name"].as_str().unwrap(),
    ))
    .await
    .unwrap();
    let stored: Vec<String> = target
        .query("SELECT title FROM tickets ORDER BY created_at", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut acked = seen.acked.clone();
    let mut found = stored.clone();
    acked.sort();
    found.sort();
    assert_eq!(
        found, acked,
        "the target holds exactly the acknowledged writes"
    );

    // Nothing of the tenant on the source: no session of its role, no database.
    let sessions: i64 = p
        .pg("postgres")
        .await
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 OR datname = $2",
            &[&role, &t.db_name],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(sessions, 0);
    assert_eq!(leftovers(&p, &pg_admin_url()).await, (vec![], vec![]));
}
