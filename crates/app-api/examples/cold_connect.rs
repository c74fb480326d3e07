//! The baseline of the cold-tenant figure (`scripts/bench.sh`, figure 4): what the first
//! request to a tenant with no pool cannot do without, measured in-process so no process
//! start is counted. Per line of standard input (`DATABASE TICKET_ID`) it opens a
//! tokio-postgres connection to that database (same options as app-api's tenant pools),
//! prepares and runs the app's ticket SELECT, closes, and prints the milliseconds taken.
//!
//!     cold_connect 'postgres://postgres@127.0.0.1:5432' < tenants.txt

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::BufRead;
use std::time::{Duration, Instant};
use tokio_postgres::NoTls;
use tokio_postgres::types::Type;
use uuid::Uuid;

/// The app's SELECT for one ticket (`repo::tickets::find`), as staff sees it.
const SELECT: &str = "SELECT id, title, description, status, priority, requester_id, assignee_id, \
     created_at, updated_at FROM tickets WHERE id = $1 AND ($2::uuid IS NULL OR requester_id = $2)";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let base = std::env::args()
        .nth(1)
        .expect("usage: cold_connect SUPERUSER_URL < 'DATABASE TICKET_ID' lines");
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = line.unwrap();
        let Some((db, ticket)) = line.split_once(' ') else {
            continue;
        };
        let ticket: Uuid = ticket.trim().parse().unwrap();
        let mut cfg: tokio_postgres::Config = base.parse().unwrap();
        cfg.dbname(db)
            .application_name("cold-connect")
            .connect_timeout(Duration::from_secs(5))
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .options("-c statement_timeout=5000");
        let t0 = Instant::now();
        let (client, connection) = cfg.connect(NoTls).await.unwrap();
        let task = tokio::spawn(connection);
        let stmt = client
            .prepare_typed(SELECT, &[Type::UUID, Type::UUID])
            .await
            .unwrap();
        let row = client
            .query_opt(&stmt, &[&ticket, &None::<Uuid>])
            .await
            .unwrap();
        let elapsed = t0.elapsed();
        assert!(row.is_some(), "no ticket {ticket} in {db}");
        drop(client);
        let _ = task.await;
        println!("{:.3}", elapsed.as_secs_f64() * 1000.0);
    }
}
