//! Tenant databases copied from the migrated template: the copy is the tenant's in every
//! object, its migration history is a from-scratch one, and the template is nobody's.

use platform_harness::{Platform, control_plane, spawn_control};

/// The template database(s) of this test's prefix: (name, oid, marker).
async fn templates(app: &Platform) -> Vec<(String, u32, Option<String>)> {
    let like = format!("{}_tpl_%", app.names.tenant_prefix).replace('_', "\\_");
    app.pg("postgres")
        .await
        .query(
            "SELECT datname, oid, shobj_description(oid, 'pg_database') FROM pg_database
             WHERE datname LIKE $1 ORDER BY datname",
            &[&like],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// Versions recorded in a database's migration history, in order.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_copied_from_the_template_owns_every_object_and_has_the_full_history() {
    let app = spawn_control().await;
    let slug = app.slug("tpl");
    assert_eq!(app.create_tenant(&slug, "tpl-admin-pw").await.status(), 202);
    let tenant = app.wait_for_status(&slug, "active").await;
    let db = tenant["db_name"].as_str().unwrap();

    let conn = app.pg(db).await;
    // Nothing in the tenant's database belongs to anyone but its role (catalog objects of
    // the bootstrap superuser aside): relations, types, functions, schemas, and no
    // dependency of any kind (ownership or grant) left on another non-system role.
    let foreign: Vec<String> = conn
        .query(
            "SELECT kind || ' ' || name || ' owned by ' || owner FROM (
               SELECT 'relation' AS kind, c.relname::text AS name, pg_get_userbyid(c.relowner)::text AS owner
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
               UNION ALL
               SELECT 'type', t.typname::text, pg_get_userbyid(t.typowner)::text
                 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
               UNION ALL
               SELECT 'function', p.proname::text, pg_get_userbyid(p.proowner)::text
                 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
             ) o WHERE owner <> $1",
            &[&db],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(foreign, Vec::<String>::new());
    let tables: i64 = conn
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = $1",
            &[&db],
        )
        .await
        .unwrap()
        .get(0);
    assert!(tables >= 4, "the schema is there: {tables} tables");
    let deps_on_template_owner: i64 = conn
        .query_one(
            "SELECT count(*) FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
             WHERE d.datname = current_database()
               AND shobj_description(s.refobjid, 'pg_authid') = 'tenancy:template-owner'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(deps_on_template_owner, 0);

    // The history equals a from-scratch migration's: a database created empty and migrated
    // by the same code (a second control plane on an empty template0 copy would do the
    // same; the CLI-free way is to compare with the migrator's own list, recorded when the
    // migrations ran in the template).
    let recorded = history(&app, db).await;
    let expected: Vec<String> = {
        use sea_orm_migration::MigratorTrait;
        migrations_tenant::Migrator::migrations()
            .iter()
            .map(|m| m.name().to_string())
            .collect()
    };
    assert_eq!(recorded, expected);
    let fresh: bool = conn
        .query_one(
            "SELECT min(applied_at) >= extract(epoch FROM now())::bigint - 600 FROM seaql_migrations",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(fresh, "the history is dated at the tenant's creation");

    // The seed ran: one admin.
    let admins: i64 = conn
        .query_one("SELECT count(*) FROM users WHERE role = 'admin'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(admins, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_template_is_never_connectable_nor_a_tenant_database() {
    let app = spawn_control().await;
    let slug = app.slug("tplc");
    app.create_tenant(&slug, "tpl-admin-pw").await;
    let tenant = app.wait_for_status(&slug, "active").await;
    let role = tenant["db_name"].as_str().unwrap();

    let tpls = templates(&app).await;
    assert_eq!(tpls.len(), 1, "one template: {tpls:?}");
    let (name, _, marker) = &tpls[0];
    assert!(marker.as_deref().unwrap().starts_with("tenancy:template="));
    let pg = app.pg("postgres").await;
    let row = pg
        .query_one(
            "SELECT datistemplate, datallowconn, has_database_privilege($2, oid, 'CONNECT'),
                    pg_get_userbyid(datdba)::text
             FROM pg_database WHERE datname = $1",
            &[name, &role],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0), "marked as a template");
    assert!(!row.get::<_, bool>(1), "connections refused");
    assert!(!row.get::<_, bool>(2), "the tenant role has no CONNECT");
    let owner: String = row.get(3);
    assert_ne!(owner, role);
    assert!(!owner.contains("_tpl_"), "not owned by the template owner");

    // The tenant listing knows nothing of it.
    let list: serde_json::Value = app
        .root()
        .get("/v1/tenants")
        .send()
        .await
        .json()
        .await
        .unwrap();
    assert!(!list.to_string().contains(name.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_template_is_rebuilt_and_superseded_versions_are_dropped() {
    let app = spawn_control().await;
    let first = app.slug("tpla");
    app.create_tenant(&first, "tpl-admin-pw").await;
    app.wait_for_status(&first, "active").await;
    let before = templates(&app).await;
    let (name, oid, marker) = before[0].clone();

    // As if the migration set had changed: the recorded version no longer matches, and a
    // template of an older version is lying around.
    let pg = app.pg("postgres").await;
    pg.batch_execute(&format!(
        "COMMENT ON DATABASE \"{name}\" IS 'tenancy:template=000000000000'"
    ))
    .await
    .unwrap();
    let old = format!("{}_tpl_default_000000000001", app.names.tenant_prefix);
    pg.batch_execute(&format!("CREATE DATABASE \"{old}\" TEMPLATE template0"))
        .await
        .unwrap();
    pg.batch_execute(&format!(
        "ALTER DATABASE \"{old}\" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false;
         COMMENT ON DATABASE \"{old}\" IS 'tenancy:template=000000000001'"
    ))
    .await
    .unwrap();

    let second = app.slug("tplb");
    app.create_tenant(&second, "tpl-admin-pw").await;
    let tenant = app.wait_for_status(&second, "active").await;
    let after = templates(&app).await;
    assert_eq!(
        after.len(),
        1,
        "the superseded template is dropped: {after:?}"
    );
    assert_eq!(after[0].0, name);
    assert_ne!(after[0].1, oid, "rebuilt, not reused");
    assert_eq!(after[0].2, marker);
    let first_db = format!("{}{}", app.names.tenant_prefix, first.replace('-', "_"));
    assert_eq!(
        history(&app, tenant["db_name"].as_str().unwrap()).await,
        history(&app, &first_db).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_building_the_first_template_at_once_both_succeed() {
    let app = control_plane().spawn().await;
    let other = app.another_instance(None).await;
    let slugs: Vec<String> = (0..6).map(|i| app.slug(&format!("race{i}"))).collect();
    let creates = slugs.iter().enumerate().map(|(i, s)| {
        let target = if i % 2 == 0 { &app } else { &other };
        target.create_tenant(s, "race-admin-pw")
    });
    let responses = futures::future::join_all(creates).await;
    assert!(responses.iter().all(|r| r.status() == 202));
    let mut histories = Vec::new();
    for s in &slugs {
        let t = app.wait_for_status(s, "active").await;
        histories.push(history(&app, t["db_name"].as_str().unwrap()).await);
    }
    assert!(histories.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(templates(&app).await.len(), 1);
}
