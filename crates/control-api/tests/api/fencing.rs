//! Fenced jobs and ownership markers: a purge racing provisioning never leaves a database or
//! role behind, and objects the platform did not make are refused and left untouched.

use platform_harness::{Platform, spawn_control};
use serde_json::Value;
use std::time::Duration;
use tenancy_core::domain::TenantSlug;

fn db_name(app: &Platform, slug: &str) -> String {
    let ident = TenantSlug::parse(slug).unwrap().as_identifier();
    format!("{}{ident}", app.names.tenant_prefix)
}

/// Databases and roles named `name` on the server.
async fn objects_named(app: &Platform, name: &str) -> (i64, i64) {
    let pg = app.pg("postgres").await;
    let dbs: i64 = pg
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .await
        .unwrap()
        .get(0);
    let roles: i64 = pg
        .query_one("SELECT count(*) FROM pg_roles WHERE rolname = $1", &[&name])
        .await
        .unwrap()
        .get(0);
    (dbs, roles)
}

/// Polls a job until it is finished; returns it.
async fn finished(app: &Platform, id: &str) -> Value {
    app.wait_for_job(id, |j| {
        matches!(
            j["state"].as_str(),
            Some("succeeded" | "failed" | "cancelled")
        )
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_racing_provisioning_never_leaves_a_database_or_role_and_the_slug_starts_empty() {
    const ROUNDS: u64 = 24;
    let app = spawn_control().await;
    let slug = app.slug("race");
    let name = db_name(&app, &slug);
    let (mut leftovers, mut cancelled, mut provisioned_first) = (0, 0, 0);
    let mut steps = Vec::new();
    for round in 0..ROUNDS {
        let res = app
            .create_tenant(&slug, &format!("race-admin-pw-{round}"))
            .await;
        assert_eq!(res.status(), 202, "round {round}");
        let created: Value = res.json().await.unwrap();
        let provision_job = created["job"]["id"].as_str().unwrap().to_string();
        // The purge lands before, during (at every step) or after provisioning.
        tokio::time::sleep(Duration::from_millis((round * 71) % 1200)).await;
        let res = app
            .root()
            .delete(&format!("/v1/tenants/{slug}?purge=true"))
            .send()
            .await;
        assert_eq!(res.status(), 202, "round {round}");
        let purge: Value = res.json().await.unwrap();
        let purge_job = finished(&app, purge["job"]["id"].as_str().unwrap()).await;
        assert_eq!(
            purge_job["state"], "succeeded",
            "round {round}: {purge_job}"
        );
        let provision = finished(&app, &provision_job).await;
        match provision["state"].as_str() {
            Some("cancelled") => {
                cancelled += 1;
                steps.push(provision["step"].as_str().unwrap_or("none").to_string());
            }
            Some("succeeded") => provisioned_first += 1,
            _ => panic!("round {round}: provisioning ended {provision}"),
        }
        let found = objects_named(&app, &name).await;
        if found != (0, 0) {
            leftovers += 1;
        }
        assert_eq!(
            app.root()
                .get(&format!("/v1/tenants/{slug}"))
                .send()
                .await
                .status(),
            404,
            "round {round}: the purged tenant frees its slug"
        );
    }
    println!(
        "purge race: {ROUNDS} rounds, {leftovers} leftovers, {cancelled} provisioning jobs \
         cancelled (last step reached: {steps:?}), {provisioned_first} finished before the purge"
    );
    assert_eq!(leftovers, 0, "a purged tenant left its database or role");

    // The slug, created once more, starts empty with only its new admin.
    let res = app.create_tenant(&slug, "the-new-owner-pw").await;
    assert_eq!(res.status(), 202);
    let tenant = app.wait_for_status(&slug, "active").await;
    let tdb = app.pg(tenant["db_name"].as_str().unwrap()).await;
    let users = tdb
        .query("SELECT password_hash FROM users", &[])
        .await
        .unwrap();
    assert_eq!(users.len(), 1, "only the new admin");
    assert!(tenancy_core::password::verify(
        &secrecy::SecretString::from("the-new-owner-pw".to_string()),
        &users[0].get::<_, String>(0)
    ));
    let tickets: i64 = tdb
        .query_one("SELECT count(*) FROM tickets", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(tickets, 0);
}

/// What a foreign role and database look like: password verifier, connection limit and
/// comment of the role; owner and comment of the database; its rows.
type Snapshot = (
    Option<String>,
    i32,
    Option<String>,
    String,
    Option<String>,
    Vec<String>,
);

async fn snapshot(app: &Platform, name: &str) -> Snapshot {
    let pg = app.pg("postgres").await;
    let role = pg
        .query_one(
            "SELECT rolpassword, rolconnlimit, shobj_description(oid, 'pg_authid')
             FROM pg_authid WHERE rolname = $1",
            &[&name],
        )
        .await
        .unwrap();
    let db = pg
        .query_one(
            "SELECT pg_get_userbyid(datdba)::text, shobj_description(oid, 'pg_database')
             FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .await
        .unwrap();
    let rows: Vec<String> = app
        .pg(name)
        .await
        .query("SELECT v FROM precious ORDER BY v", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    (
        role.get(0),
        role.get(1),
        role.get(2),
        db.get(0),
        db.get(1),
        rows,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_role_and_database_with_the_generated_name_fail_the_job_and_stay_untouched() {
    let app = spawn_control().await;
    let slug = app.slug("squat");
    let name = db_name(&app, &slug);
    let pg = app.pg("postgres").await;
    pg.batch_execute(&format!(
        "CREATE ROLE \"{name}\" LOGIN PASSWORD 'someone-elses-password'"
    ))
    .await
    .unwrap();
    pg.batch_execute(&format!("CREATE DATABASE \"{name}\" OWNER \"{name}\""))
        .await
        .unwrap();
    let foreign = app.pg(&name).await;
    foreign
        .batch_execute(&format!(
            "CREATE TABLE precious (v text); INSERT INTO precious VALUES ('a'), ('b');
             ALTER TABLE precious OWNER TO \"{name}\""
        ))
        .await
        .unwrap();
    let before = snapshot(&app, &name).await;

    let created: Value = app
        .create_tenant(&slug, "squat-admin-pw")
        .await
        .json()
        .await
        .unwrap();
    app.wait_for_status(&slug, "failed").await;
    let job = finished(&app, created["job"]["id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["attempts"], 1, "a foreign object is not retried: {job}");
    let error = job["last_error"].as_str().unwrap();
    assert!(
        error.contains(&format!(
            "role `{name}` already exists and was not created for this tenant"
        )),
        "{error}"
    );
    assert_eq!(
        snapshot(&app, &name).await,
        before,
        "the foreign objects changed"
    );

    // Purging the failed tenant drops nothing that is not its own.
    let res = app
        .root()
        .delete(&format!("/v1/tenants/{slug}?purge=true"))
        .send()
        .await;
    assert_eq!(res.status(), 202);
    let purge: Value = res.json().await.unwrap();
    let purge = finished(&app, purge["job"]["id"].as_str().unwrap()).await;
    assert_eq!(purge["state"], "succeeded", "{purge}");
    assert_eq!(
        snapshot(&app, &name).await,
        before,
        "the purge touched foreign objects"
    );
    drop(foreign);
}
