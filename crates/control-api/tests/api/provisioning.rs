//! A tenant goes from a POST to an isolated, migrated, seeded database.

use platform_harness::{assert_problem, control_plane, spawn_control};
use secrecy::ExposeSecret;
use serde_json::Value;
use tenancy_core::crypto::Sealed;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_tenant_gets_its_own_locked_down_database_with_schema_and_admin() {
    let app = spawn_control().await;
    let slug = app.slug("acme");

    let res = app.create_tenant(&slug, "first-admin-pw").await;
    assert_eq!(res.status(), 202);
    assert_eq!(
        res.headers()["location"],
        format!("/v1/tenants/{slug}").as_str()
    );
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["status"], "provisioning");
    assert_eq!(created["plan"], "pro");
    assert_eq!(created["job"]["state"], "queued");
    let job_id = created["job"]["id"].as_str().unwrap().to_string();

    let tenant = app.wait_for_status(&slug, "active").await;
    let db_name = tenant["db_name"].as_str().unwrap().to_string();
    assert!(db_name.starts_with(&app.names.tenant_prefix));

    // The job record tells the story, with timings.
    let job = app
        .wait_for_job(&job_id, |j| j["state"] == "succeeded")
        .await;
    assert_eq!(job["attempts"], 1);
    assert!(job["started_at"].is_string() && job["finished_at"].is_string());
    assert!(job["duration_ms"].as_i64().unwrap() >= 0);

    let pg = app.pg("postgres").await;
    // Owned by its own role, which has no elevated rights.
    let row = pg
        .query_one(
            "SELECT r.rolname, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolcanlogin, r.rolbypassrls
             FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = $1",
            &[&db_name],
        )
        .await
        .unwrap();
    let owner: String = row.get(0);
    assert_eq!(owner, db_name, "the database is owned by the tenant's role");
    assert_eq!(
        (
            row.get::<_, bool>(1),
            row.get::<_, bool>(2),
            row.get::<_, bool>(3),
            row.get::<_, bool>(4),
            row.get::<_, bool>(5)
        ),
        (false, false, false, true, false)
    );
    // PUBLIC may not connect: a brand-new role without grants is refused.
    let public_can: bool = pg
        .query_one(
            "SELECT has_database_privilege('pg_monitor', $1, 'CONNECT')",
            &[&db_name],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!public_can, "a role relying on PUBLIC must not connect");
    let acl: String = pg
        .query_one(
            "SELECT coalesce(datacl::text, '') FROM pg_database WHERE datname = $1",
            &[&db_name],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        !acl.contains("=c") && !acl.contains("=Tc"),
        "PUBLIC has CONNECT in {acl}"
    );

    // Schema and seed, inside the tenant's own database.
    let tdb = app.pg(&db_name).await;
    let tables: Vec<String> = tdb
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for t in ["comments", "settings", "tickets", "users"] {
        assert!(
            tables.contains(&t.to_string()),
            "missing table {t}: {tables:?}"
        );
    }
    let owners: Vec<String> = tdb
        .query(
            "SELECT DISTINCT tableowner::text FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        owners,
        vec![db_name.clone()],
        "every table belongs to the tenant role"
    );
    let admins = tdb
        .query("SELECT email, role, password_hash FROM users", &[])
        .await
        .unwrap();
    assert_eq!(admins.len(), 1);
    assert_eq!(admins[0].get::<_, String>(0), format!("owner@{slug}.test"));
    assert_eq!(admins[0].get::<_, String>(1), "admin");
    let hash: String = admins[0].get(2);
    assert!(tenancy_core::password::verify(
        &secrecy::SecretString::from("first-admin-pw".to_string()),
        &hash
    ));

    // The seed hash is forgotten once seeded; the credentials stay sealed.
    let ctl = app.pg(&app.names.control_db).await;
    let row = ctl
        .query_one(
            "SELECT seed_admin_password_hash, db_password_sealed, seed_admin_password_sealed
             FROM tenants WHERE slug = $1",
            &[&slug],
        )
        .await
        .unwrap();
    assert!(row.get::<_, Option<String>>(0).is_none());
    assert!(row.get::<_, Option<Vec<u8>>>(1).is_some());
    assert!(row.get::<_, Option<Vec<u8>>>(2).is_none());
}

/// The tenant's first-admin password columns in the registry: (hash, sealed).
async fn seed_columns(
    app: &platform_harness::Platform,
    slug: &str,
) -> (Option<String>, Option<Vec<u8>>) {
    let row = app
        .pg(&app.names.control_db)
        .await
        .query_one(
            "SELECT seed_admin_password_hash, seed_admin_password_sealed FROM tenants
             WHERE slug = $1",
            &[&slug],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_admin_password_waits_sealed_until_the_job_hashes_it_then_is_erased() {
    use control_api::jobs::{Fault, FaultKind, Step};
    let hang = std::sync::Arc::new(Fault::new(Step::CreateDatabase, FaultKind::Hang));
    let mut first = control_plane().fault(hang).spawn().await;
    let slug = first.slug("sealedseed");
    let password = "sealed-seed-admin-pw";
    let created: Value = first
        .create_tenant(&slug, password)
        .await
        .json()
        .await
        .unwrap();
    let job = created["job"]["id"].as_str().unwrap().to_string();
    first
        .wait_for_job(&job, |j| j["step"] == "create_database")
        .await;
    // The request answered without hashing: the registry holds the password sealed only.
    let (hash, sealed) = seed_columns(&first, &slug).await;
    assert!(hash.is_none());
    let sealed = sealed.expect("the password is sealed");
    assert!(
        !sealed
            .windows(password.len())
            .any(|w| w == password.as_bytes())
    );
    first.kill().await;

    // The job runs again elsewhere: it hashes, seeds, and erases the sealed copy.
    let second = first.another_instance(None).await;
    let tenant = second.wait_for_status(&slug, "active").await;
    assert_eq!(seed_columns(&second, &slug).await, (None, None));
    let stored: String = second
        .pg(tenant["db_name"].as_str().unwrap())
        .await
        .query_one("SELECT password_hash FROM users WHERE role = 'admin'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(tenancy_core::password::verify(
        &secrecy::SecretString::from(password.to_string()),
        &stored
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tenants_roles_cannot_reach_each_others_databases() {
    let app = spawn_control().await;
    let (a, b) = (app.slug("alpha"), app.slug("bravo"));
    let (ra, rb) = (
        app.create_tenant(&a, "alpha-admin-pw").await,
        app.create_tenant(&b, "bravo-admin-pw").await,
    );
    assert_eq!((ra.status().as_u16(), rb.status().as_u16()), (202, 202));
    let ta = app.wait_for_status(&a, "active").await;
    let tb = app.wait_for_status(&b, "active").await;

    // Decrypt A's stored password exactly as the app plane will.
    let ctl = app.pg(&app.names.control_db).await;
    let row = ctl
        .query_one(
            "SELECT id, db_key_version, db_password_sealed FROM tenants WHERE slug = $1",
            &[&a],
        )
        .await
        .unwrap();
    let sealed = Sealed {
        key_version: row.get(1),
        bytes: row.get(2),
    };
    let password = app
        .control_state()
        .settings
        .keyring
        .open(row.get(0), &sealed)
        .unwrap();

    let url = |db: &Value| {
        format!(
            "postgres://{}:{}@127.0.0.1:5432/{}",
            ta["db_name"].as_str().unwrap(),
            password.expose_secret(),
            db.as_str().unwrap()
        )
    };
    let own = platform_harness::pg_connect(&url(&ta["db_name"])).await;
    assert!(own.is_ok(), "a tenant role connects to its own database");
    let other = platform_harness::pg_connect(&url(&tb["db_name"])).await;
    let Err(err) = other else {
        panic!("A's role must not connect to B's database");
    };
    let err = format!("{err:?}");
    assert!(err.contains("permission denied"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_slug_is_a_conflict() {
    let app = spawn_control().await;
    let slug = app.slug("dup");
    assert_eq!(
        app.create_tenant(&slug, "first-admin-pw").await.status(),
        202
    );
    let res = app.create_tenant(&slug, "second-admin-pw").await;
    assert_problem(res, 409, "conflict").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_provision_every_tenant_once() {
    let app = control_plane().spawn().await;
    let slugs: Vec<String> = (0..4).map(|i| app.slug(&format!("bulk{i}"))).collect();
    let responses =
        futures::future::join_all(slugs.iter().map(|s| app.create_tenant(s, "bulk-admin-pw")))
            .await;
    assert!(responses.iter().all(|r| r.status() == 202));
    for s in &slugs {
        app.wait_for_status(s, "active").await;
    }
    // Databases and roles of tenants (not the template, its owner or spare databases).
    assert_eq!(app.tenant_databases_and_roles().await, (4, 4));
}
