//! `control-api tenants migrate` deciding per tenant from what its database records: up to
//! date (nothing opened but the read), a pending migration applied and reported, a database
//! migrated by a newer build reported as failed with a non-zero exit, and a rerun resuming.

use platform_harness::{Platform, spawn_control};
use serde_json::Value;

/// The last tenant migration: idempotent (`ADD COLUMN IF NOT EXISTS`), so its record can be
/// removed to make it pending again.
const LAST: &str = "m20261205_000005_add_token_version";

fn migrate(p: &Platform) -> (bool, String) {
    let out = crate::cli_run::control_api(p, &["tenants", "migrate"], "");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn db_of(p: &Platform, name: &str) -> (String, String) {
    let slug = p.slug(name);
    let t: Value = p.active_tenant(&slug).await;
    (slug, t["db_name"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_applies_what_a_database_lacks_and_fails_on_what_it_does_not_know() {
    let p = spawn_control().await;
    let (fresh, _) = db_of(&p, "mig-fresh").await;
    let (behind, behind_db) = db_of(&p, "mig-behind").await;

    let (ok, out) = migrate(&p);
    assert!(ok, "{out}");
    for slug in [&fresh, &behind] {
        assert!(
            out.contains(&format!("{slug}\tdefault\tup to date")),
            "{out}"
        );
    }

    // One tenant's record of the last migration is gone: only it is migrated, and only
    // that migration is applied (the column stays, as the migration is idempotent).
    let db = p.pg(&behind_db).await;
    db.execute("DELETE FROM seaql_migrations WHERE version = $1", &[&LAST])
        .await
        .unwrap();
    let (ok, out) = migrate(&p);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("{behind}\tdefault\tapplied {LAST}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("{fresh}\tdefault\tup to date")),
        "{out}"
    );
    assert!(out.contains("2 tenants on 1 server(s): 1 migrated (1 migrations applied), 1 already up to date, 0 failed"), "{out}");
    let recorded: i64 = db
        .query_one(
            "SELECT count(*) FROM seaql_migrations WHERE version = $1",
            &[&LAST],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded, 1);

    // A migration this build does not know (the database was migrated by a newer one):
    // that tenant fails, the other is still checked, and the exit is non-zero.
    db.execute(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20991231_000001_newer', 0)",
        &[],
    )
    .await
    .unwrap();
    let (ok, out) = migrate(&p);
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("{behind}\tdefault\tfailed")), "{out}");
    assert!(out.contains("m20991231_000001_newer"), "{out}");
    assert!(
        out.contains(&format!("{fresh}\tdefault\tup to date")),
        "{out}"
    );
    assert!(out.contains("1 failed"), "{out}");

    // Resumable: with the cause gone, a rerun finds both up to date.
    db.execute(
        "DELETE FROM seaql_migrations WHERE version = 'm20991231_000001_newer'",
        &[],
    )
    .await
    .unwrap();
    let (ok, out) = migrate(&p);
    assert!(ok, "{out}");
    assert!(
        out.contains("2 tenants on 1 server(s): 0 migrated"),
        "{out}"
    );
}
