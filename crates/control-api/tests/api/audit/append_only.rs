//! The database itself keeps the log append-only, also against the platform's own role.

use super::behind_proxy;
use platform_harness::pg_connect;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_role_can_append_but_never_change_or_delete_an_entry() {
    let app = behind_proxy().spawn().await;
    // The role and database the platform itself runs with.
    let db = pg_connect(&app.env["CONTROL_DATABASE_URL"]).await.unwrap();
    let count = || async {
        db.query_one("SELECT count(*) FROM audit_log", &[])
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    let before = count().await;
    assert!(before >= 1, "the harness's login is recorded");
    for sql in [
        "UPDATE audit_log SET actor = 'someone else'",
        "UPDATE audit_log SET changes = '{}' WHERE id = -1",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE false",
        "TRUNCATE audit_log",
    ] {
        let err = db.batch_execute(sql).await.expect_err(sql);
        assert!(format!("{err:?}").contains("append-only"), "{sql}: {err:?}");
    }
    // Not even with ordinary triggers switched off for replication.
    let err = db
        .batch_execute("SET session_replication_role = replica; DELETE FROM audit_log")
        .await
        .expect_err("a replica-mode delete");
    assert!(format!("{err:?}").contains("append-only"), "{err:?}");
    db.batch_execute("SET session_replication_role = origin")
        .await
        .unwrap();
    assert_eq!(count().await, before);
    db.execute(
        "INSERT INTO audit_log (actor, action) VALUES ('system', 'server.add')",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(count().await, before + 1, "appending still works");
}
