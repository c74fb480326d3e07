//! The session a provisioning job opens in each new database (tokio-postgres over rustls,
//! for its `TCP_NODELAY`) keeps TLS: when the server offers it under the default
//! `sslmode=prefer`, and when the admin URL requires it.

use control_api::jobs::{Fault, FaultKind, Step};
use platform_harness::{PgServer, control_plane, pg_admin_url};
use serde_json::Value;
use std::sync::Arc;

/// Provisions one tenant with the admin URL ending in `query`, held at the step that runs
/// in the new database: whether that session is encrypted, and who opened it.
async fn job_session_with(query: &str) -> Option<(String, bool)> {
    let hang = Arc::new(Fault::new(Step::MigrateAndSeed, FaultKind::Hang));
    let app = control_plane()
        .fault(hang)
        .env("TENANT_DB_ADMIN_URL", &format!("{}{query}", pg_admin_url()))
        .spawn()
        .await;
    let pg = app.pg("postgres").await;
    let ssl: String = pg.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    if ssl != "on" {
        eprintln!("the test PostgreSQL has ssl = off: nothing to check");
        return None;
    }
    let slug = app.slug("tls");
    let created: Value = app
        .create_tenant(&slug, "tls-admin-pw")
        .await
        .json()
        .await
        .unwrap();
    let job = created["job"]["id"].as_str().unwrap().to_string();
    app.wait_for_job(&job, |j| j["step"] == Step::MigrateAndSeed.as_str())
        .await;
    let db: String = app.root().get(&format!("/v1/tenants/{slug}")).read().await["db_name"]
        .as_str()
        .unwrap()
        .into();
    let rows = pg
        .query(
            "SELECT a.application_name, s.ssl FROM pg_stat_activity a
               JOIN pg_stat_ssl s USING (pid)
              WHERE a.datname = $1 AND a.backend_type = 'client backend'",
            &[&db],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one session in {db} while the job is held");
    Some((rows[0].get(0), rows[0].get(1)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_session_in_a_new_database_is_encrypted_when_tls_is_offered_or_required() {
    for query in ["", "?sslmode=require"] {
        let Some((app_name, ssl)) = job_session_with(query).await else {
            return;
        };
        assert_eq!(app_name, "control-api", "sslmode {query:?}");
        assert!(ssl, "the job's session is encrypted with sslmode {query:?}");
    }
}

/// A server with password logins and TLS, as a production one has: the job's session
/// authenticates with SCRAM over TLS (binding the channel when the server offers it), and
/// the tenant it provisions is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_is_provisioned_and_served_on_a_server_with_scram_over_tls() {
    let app = platform_harness::spawn_platform().await;
    let secret = format!("pw-{}-tls", uuid::Uuid::new_v4().simple());
    let second = PgServer::start_with_password_and_tls(&secret).await;
    app.add_server("secure", &second, 10).await;
    let tenant = app.tenant_on_server("scram", "secure").await;
    let res = tenant.as_admin().get("/v1/tickets").send().await;
    assert_eq!(res.status(), 200);
}
