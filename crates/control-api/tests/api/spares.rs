//! Spare databases (`PROVISION_SPARES`): a tenant provisioned from one is as if copied
//! (every object its role's, the full history, its marker, its admin logs in), the refill
//! replaces what was taken, a job stopped right after its claim converges, spares of a
//! rebuilt template are dropped, and neither purge nor the test's cleanup leaves any behind.

use control_api::jobs::{Fault, FaultKind, Step};
use platform_harness::{Platform, control_plane, pg_admin_url, pg_connect, platform};
use std::sync::Arc;
use std::time::Duration;

const SPARES: &str = "2";

/// This test's ready spares: (oid, name), by the provisioner's naming and marker.
async fn ready_spares(app: &Platform) -> Vec<(u32, String)> {
    let like = format!("{}_sp_", app.names.tenant_prefix).replace('_', "\\_") + "%";
    app.pg("postgres")
        .await
        .query(
            "SELECT oid, datname FROM pg_database WHERE datname LIKE $1 AND NOT datallowconn
               AND shobj_description(oid, 'pg_database') LIKE 'tenancy:spare=%' ORDER BY oid",
            &[&like],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Waits until exactly `n` spares are ready and none of `gone` is among them.
async fn spares_settle(app: &Platform, n: usize, gone: &[u32]) -> Vec<(u32, String)> {
    for _ in 0..600 {
        let now = ready_spares(app).await;
        if now.len() == n && now.iter().all(|(oid, _)| !gone.contains(oid)) {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("spares never settled at {n}: {:?}", ready_spares(app).await);
}

/// The tenant database's oid, owner, marker, whether it takes connections, and whether
/// PUBLIC may connect.
async fn database_facts(app: &Platform, db: &str) -> (u32, String, Option<String>, bool, bool) {
    let row = app
        .pg("postgres")
        .await
        .query_one(
            "SELECT oid, pg_get_userbyid(datdba)::text, shobj_description(oid, 'pg_database'),
                    datallowconn, has_database_privilege('public', oid, 'CONNECT')
               FROM pg_database WHERE datname = $1",
            &[&db],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4))
}

/// Objects in `db` (relations, types, functions) owned by anyone but `role`.
async fn foreign_objects(app: &Platform, db: &str, role: &str) -> Vec<String> {
    app.pg(db)
        .await
        .query(
            "SELECT kind || ' ' || name || ' owned by ' || owner FROM (
               SELECT 'relation' AS kind, c.relname::text AS name, pg_get_userbyid(c.relowner)::text AS owner, c.relnamespace AS ns FROM pg_class c
               UNION ALL SELECT 'type', t.typname::text, pg_get_userbyid(t.typowner)::text, t.typnamespace FROM pg_type t
               UNION ALL SELECT 'function', p.proname::text, pg_get_userbyid(p.proowner)::text, p.pronamespace FROM pg_proc p
             ) o JOIN pg_namespace n ON n.oid = o.ns
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
               AND owner <> $1",
            &[&role],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The tenant database's migration history, in order.
async fn history(app: &Platform, db: &str) -> Vec<String> {
    app.pg(db)
        .await
        .query("SELECT version FROM seaql_migrations ORDER BY version", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn migrations() -> Vec<String> {
    use sea_orm_migration::MigratorTrait;
    migrations_tenant::Migrator::migrations()
        .iter()
        .map(|m| m.name().to_string())
        .collect()
}

/// Everything a tenant made from a spare must be: the spare's database, renamed, wholly
/// its role's, with its marker and history, connectable by its role only.
async fn assert_claimed(app: &Platform, tenant_id: &str, db: &str, spares: &[u32]) -> u32 {
    let (oid, owner, marker, allowconn, public) = database_facts(app, db).await;
    assert!(spares.contains(&oid), "{db} is a claimed spare");
    assert_eq!(owner, db, "owned by the tenant's role");
    assert_eq!(marker, Some(format!("tenancy:tenant={tenant_id}")));
    assert!(allowconn && !public, "its role connects, PUBLIC does not");
    assert_eq!(foreign_objects(app, db, db).await, Vec::<String>::new());
    assert_eq!(history(app, db).await, migrations());
    oid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_from_a_spare_is_wholly_its_own_logs_in_and_the_spare_is_replaced() {
    let app = platform().env("PROVISION_SPARES", SPARES).spawn().await;
    let before: Vec<u32> = spares_settle(&app, 2, &[])
        .await
        .iter()
        .map(|s| s.0)
        .collect();

    let t = app.tenant("spare").await; // logged in on app-api as its seeded admin
    let me = t.as_admin().get("/v1/users/me").send().await;
    assert_eq!(me.status(), 200);
    let claimed = assert_claimed(&app, &t.id, &t.db_name, &before).await;

    // Replaced: two ready spares again, the claimed one not among them.
    spares_settle(&app, 2, &[claimed]).await;
    // Spares are not tenants: not in the counts, nor on the server's tally.
    assert_eq!(app.tenant_databases_and_roles().await, (1, 1));
    let server = app.root().get("/v1/servers/default").read().await;
    assert_eq!(server["tenants"], 1, "{server}");
    // A tenant role cannot reach a spare (nobody can: connections are refused).
    let (_, spare) = ready_spares(&app).await.remove(0);
    let mut url =
        url::Url::parse(&platform_harness::with_database(&pg_admin_url(), &spare)).unwrap();
    url.set_username(&t.db_name).unwrap();
    assert!(
        pg_connect(url.as_str()).await.is_err(),
        "a spare refused its tenant"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_stopped_right_after_its_claim_is_finished_by_another_process() {
    let hang = Arc::new(Fault::new(Step::RevokePublic, FaultKind::Hang));
    let mut first = control_plane()
        .env("PROVISION_SPARES", SPARES)
        .fault(hang)
        .spawn()
        .await;
    let spares: Vec<u32> = spares_settle(&first, 2, &[])
        .await
        .iter()
        .map(|s| s.0)
        .collect();
    let slug = first.slug("claimkill");
    let created: serde_json::Value = first
        .create_tenant(&slug, "claim-admin-pw")
        .await
        .json()
        .await
        .unwrap();
    let job = created["job"]["id"].as_str().unwrap().to_string();
    first
        .wait_for_job(&job, |j| j["step"] == "revoke_public")
        .await;
    first.kill().await;

    let second = first.another_instance(None).await;
    let tenant = second.wait_for_status(&slug, "active").await;
    let db = tenant["db_name"].as_str().unwrap();
    let claimed = assert_claimed(&second, tenant["id"].as_str().unwrap(), db, &spares).await;
    spares_settle(&second, 2, &[claimed]).await;
    assert_eq!(second.tenant_databases_and_roles().await, (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spares_of_a_rebuilt_template_are_dropped_never_claimed() {
    let app = control_plane()
        .env("PROVISION_SPARES", SPARES)
        .spawn()
        .await;
    let old: Vec<u32> = spares_settle(&app, 2, &[])
        .await
        .iter()
        .map(|s| s.0)
        .collect();
    // As if the migration set had changed: the template's recorded version is another.
    let like = format!("{}_tpl_%", app.names.tenant_prefix).replace('_', "\\_");
    let pg = app.pg("postgres").await;
    let tpl: String = pg
        .query_one(
            "SELECT datname FROM pg_database WHERE datname LIKE $1",
            &[&like],
        )
        .await
        .unwrap()
        .get(0);
    pg.batch_execute(&format!(
        "COMMENT ON DATABASE \"{tpl}\" IS 'tenancy:template=000000000000'"
    ))
    .await
    .unwrap();

    let slug = app.slug("rebuilt");
    assert_eq!(
        app.create_tenant(&slug, "rebuilt-admin-pw").await.status(),
        202
    );
    let tenant = app.wait_for_status(&slug, "active").await;
    let db = tenant["db_name"].as_str().unwrap();
    let (oid, owner, ..) = database_facts(&app, db).await;
    assert!(
        !old.contains(&oid),
        "a spare of the old template was claimed"
    );
    assert_eq!(owner, db);
    assert_eq!(history(&app, db).await, migrations());
    // The old spares are gone, new ones made from the rebuilt template.
    spares_settle(&app, 2, &old).await;
    let gone: i64 = pg
        .query_one(
            "SELECT count(*) FROM pg_database WHERE oid = ANY($1)",
            &[&old],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(gone, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_and_the_harness_cleanup_leave_no_database_behind() {
    let app = control_plane()
        .env("PROVISION_SPARES", SPARES)
        .spawn()
        .await;
    spares_settle(&app, 2, &[]).await;
    let slug = app.slug("purged");
    app.create_tenant(&slug, "purged-admin-pw").await;
    app.wait_for_status(&slug, "active").await;
    let res = app
        .root()
        .delete(&format!("/v1/tenants/{slug}?purge=true"))
        .send()
        .await;
    assert_eq!(res.status(), 202);
    let purge: serde_json::Value = res.json().await.unwrap();
    let job = purge["job"]["id"].as_str().unwrap().to_string();
    app.wait_for_job(&job, |j| j["state"] == "succeeded").await;
    assert_eq!(app.tenant_databases_and_roles().await, (0, 0));

    let like = app.names.tenant_like();
    drop(app);
    let left: i64 = pg_connect(&pg_admin_url())
        .await
        .unwrap()
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname LIKE $1",
            &[&like],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the cleanup dropped the spares and the template");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_claiming_at_once_never_share_a_spare() {
    let app = control_plane().env("PROVISION_SPARES", "3").spawn().await;
    let other = app.another_instance(None).await;
    spares_settle(&app, 3, &[]).await;
    let slugs: Vec<String> = (0..6).map(|i| app.slug(&format!("claim{i}"))).collect();
    let creates = slugs.iter().enumerate().map(|(i, s)| {
        let target = if i % 2 == 0 { &app } else { &other };
        target.create_tenant(s, "claim-admin-pw")
    });
    for res in futures::future::join_all(creates).await {
        assert_eq!(res.status(), 202);
    }
    for s in &slugs {
        let t = app.wait_for_status(s, "active").await;
        let db = t["db_name"].as_str().unwrap();
        assert_eq!(foreign_objects(&app, db, db).await, Vec::<String>::new());
        assert_eq!(history(&app, db).await, migrations());
    }
    assert_eq!(app.tenant_databases_and_roles().await, (6, 6));
    spares_settle(&app, 3, &[]).await;
}
