//! Encrypted per-tenant backups and restore, end to end: tickets written through the app
//! plane, backups and restores through the control API and the CLI, files checked on disk.

mod cli;
mod old_tools;
mod secrets;

use control_api::jobs::{Fault, FaultKind, Step};
use platform_harness::{Platform, TestTenant, assert_problem, platform};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

async fn ticket(t: &TestTenant, title: &str) -> String {
    let res = t
        .as_admin()
        .post("/v1/tickets")
        .json(&json!({"title": title, "description": format!("{title}, described")}))
        .send()
        .await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = t
        .as_admin()
        .post(&format!("/v1/tickets/{id}/comments"))
        .json(&json!({"body": format!("a comment on {title}")}))
        .send()
        .await;
    assert_eq!(res.status(), 201);
    id
}

/// The tenant's ticket titles, sorted, as the app plane serves them.
async fn titles(t: &TestTenant) -> Vec<String> {
    let list = t.as_admin().get("/v1/tickets?per_page=100").read().await;
    let mut titles: Vec<String> = list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {list}"))
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect();
    titles.sort();
    titles
}

/// Backs the tenant up through the API; the finished backup as listed.
async fn backup(p: &Platform, slug: &str) -> Value {
    let res = p
        .root()
        .post(&format!("/v1/tenants/{slug}/backups"))
        .send()
        .await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    let job = body["job"]["id"].as_str().unwrap().to_string();
    let done = p
        .wait_for_job(&job, |j| j["state"] != "queued" && j["state"] != "running")
        .await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let list = p
        .root()
        .get(&format!("/v1/tenants/{slug}/backups"))
        .read()
        .await;
    list.as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == body["id"])
        .cloned()
        .unwrap()
}

/// Restores through the API and waits for the job's end; the job.
async fn restore(p: &Platform, slug: &str, backup_id: &str) -> Value {
    let res = p
        .root()
        .post(&format!("/v1/tenants/{slug}/restore"))
        .json(&json!({"backup_id": backup_id}))
        .send()
        .await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "moving");
    let job = body["job"]["id"].as_str().unwrap().to_string();
    p.wait_for_job(&job, |j| j["state"] != "queued" && j["state"] != "running")
        .await
}

fn file_of(p: &Platform, backup: &Value) -> PathBuf {
    p.names
        .backup_dir
        .join(format!("{}.tbk", backup["id"].as_str().unwrap()))
}

/// Sets a backup's recorded size and checksum to those of its file as it now is, as an
/// intruder with write access to both would: only the chunks' authentication is left.
async fn record_file_as_is(p: &Platform, backup: &Value) {
    let bytes = std::fs::read(file_of(p, backup)).unwrap();
    use sha2::Digest;
    let sha = sha2::Sha256::digest(&bytes).to_vec();
    let id: uuid::Uuid = backup["id"].as_str().unwrap().parse().unwrap();
    p.pg(&p.names.control_db)
        .await
        .execute(
            "UPDATE backups SET sha256 = $2, size_bytes = $3 WHERE id = $1",
            &[&id, &sha, &(bytes.len() as i64)],
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_brings_back_the_backup_and_drops_what_came_after() {
    let p = platform().spawn().await;
    let t = p.tenant("bkup").await;
    ticket(&t, "before one").await;
    ticket(&t, "before two").await;

    let b = backup(&p, &t.slug).await;
    assert_eq!(b["state"], "complete");
    assert!(b["size_bytes"].as_i64().unwrap() > 0);
    assert_eq!(b["checksum"].as_str().unwrap().len(), 64);
    assert_eq!(b["schema_version"], "m20261205_000005_add_token_version");
    ticket(&t, "after").await;
    assert_eq!(titles(&t).await, ["after", "before one", "before two"]);

    let job = restore(&p, &t.slug, b["id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let tenant = p.wait_for_status(&t.slug, "active").await;
    let new_db = tenant["db_name"].as_str().unwrap();
    assert_ne!(new_db, t.db_name);

    // The app plane serves the restored database: the later ticket is gone, the rest and
    // their comments are intact, and the admin's token still works (same users).
    assert_eq!(titles(&t).await, ["before one", "before two"]);
    let list = t.as_admin().get("/v1/tickets").read().await;
    let first = list["items"][0]["id"].as_str().unwrap().to_string();
    let comments = t
        .as_admin()
        .get(&format!("/v1/tickets/{first}/comments"))
        .read()
        .await;
    assert_eq!(comments.as_array().map(Vec::len), Some(1), "{comments}");
    // Writes work, as the tenant role owns everything restored.
    ticket(&t, "after restore").await;

    // The old database is gone; only the new one is left.
    let pg = p.pg("postgres").await;
    let old = pg
        .query_opt(
            "SELECT 1 FROM pg_database WHERE datname = $1",
            &[&t.db_name],
        )
        .await
        .unwrap();
    assert!(old.is_none(), "the old database was not dropped");
    assert_eq!(p.tenant_databases_and_roles().await, (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_or_truncated_backup_is_refused_and_the_tenant_keeps_its_data() {
    let p = platform().spawn().await;
    let t = p.tenant("tamper").await;
    ticket(&t, "kept one").await;
    let b = backup(&p, &t.slug).await;
    ticket(&t, "kept two").await;
    let path = file_of(&p, &b);
    let original = std::fs::read(&path).unwrap();

    // The file is no dump pg_restore can read, and holds no plain dump or ticket text.
    let listed = Command::new("pg_restore")
        .arg("--list")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!listed.status.success(), "pg_restore read the backup file");
    assert!(!original.windows(5).any(|w| w == b"PGDMP"));
    assert!(!original.windows(8).any(|w| w == b"kept one"));

    let refused = async |what: &str| {
        let job = restore(&p, &t.slug, b["id"].as_str().unwrap()).await;
        assert_eq!(job["state"], "failed", "{what}: {job}");
        let tenant = p.wait_for_status(&t.slug, "active").await;
        assert_eq!(tenant["db_name"], t.db_name.as_str(), "{what}");
        assert_eq!(titles(&t).await, ["kept one", "kept two"], "{what}");
        assert_eq!(p.tenant_databases_and_roles().await, (1, 1), "{what}");
        job["last_error"].as_str().unwrap().to_string()
    };

    // One flipped byte: the checksum catches it.
    let mut flipped = original.clone();
    flipped[original.len() / 2] ^= 0x20;
    std::fs::write(&path, &flipped).unwrap();
    let error = refused("flipped byte").await;
    assert!(error.contains("SHA-256"), "{error}");

    // The same with the checksum forged to match: the chunk's authentication catches it.
    record_file_as_is(&p, &b).await;
    let error = refused("flipped byte, forged checksum").await;
    assert!(error.contains("failed authentication"), "{error}");

    // Cut short, checksum forged to match: the new last chunk was not sealed as last.
    std::fs::write(&path, &original[..original.len() - 100]).unwrap();
    record_file_as_is(&p, &b).await;
    let error = refused("truncated").await;
    assert!(error.contains("failed authentication"), "{error}");

    // Intact again, it restores (so the refusals above were the tampering's doing).
    std::fs::write(&path, &original).unwrap();
    record_file_as_is(&p, &b).await;
    let job = restore(&p, &t.slug, b["id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    p.wait_for_status(&t.slug, "active").await;
    assert_eq!(titles(&t).await, ["kept one"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_restore_leaves_the_tenant_on_its_data_and_a_newer_schema_is_refused() {
    let fail = Arc::new(Fault::new(Step::SwitchDatabase, FaultKind::Fail));
    let p = platform().fault(fail.clone()).spawn().await;
    let t = p.tenant("failing").await;
    ticket(&t, "one").await;
    let b = backup(&p, &t.slug).await;
    ticket(&t, "two").await;

    // Restored, migrated, then failing just before the switch: the new database is dropped.
    let job = restore(&p, &t.slug, b["id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        job["last_error"]
            .as_str()
            .unwrap()
            .contains("keeps its current data"),
        "{job}"
    );
    let tenant = p.wait_for_status(&t.slug, "active").await;
    assert_eq!(tenant["db_name"], t.db_name.as_str());
    assert_eq!(titles(&t).await, ["one", "two"]);
    assert_eq!(p.tenant_databases_and_roles().await, (1, 1));

    // A backup from a schema this build does not know is refused before the fence.
    let id: uuid::Uuid = b["id"].as_str().unwrap().parse().unwrap();
    p.pg(&p.names.control_db)
        .await
        .execute(
            "UPDATE backups SET schema_version = 'm29991231_000099_from_the_future' WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let res = p
        .root()
        .post(&format!("/v1/tenants/{}/restore", t.slug))
        .json(&json!({"backup_id": id}))
        .send()
        .await;
    let problem = assert_problem(res, 409, "conflict").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("newer"),
        "{problem}"
    );
    assert_eq!(
        p.wait_for_status(&t.slug, "active").await["status"],
        "active"
    );

    // Unknown backups, malformed ids and unknown tenants are answered, not 5xx.
    let restore_with = |body: Value| {
        p.root()
            .post(&format!("/v1/tenants/{}/restore", t.slug))
            .json(&body)
            .send()
    };
    assert_problem(
        restore_with(json!({"backup_id": uuid::Uuid::new_v4()})).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        restore_with(json!({"backup_id": "not-a-uuid"})).await,
        422,
        "validation_failed",
    )
    .await;
    let res = p
        .root()
        .get("/v1/tenants/no-such-tenant/backups")
        .send()
        .await;
    assert_problem(res, 404, "tenant_not_found").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_being_restored_is_answered_503_tenant_moving() {
    let hang = Arc::new(Fault::new(Step::VerifyBackup, FaultKind::Hang));
    let p = platform().fault(hang).spawn().await;
    let t = p.tenant("fenced").await;
    let b = backup(&p, &t.slug).await;
    let res = p
        .root()
        .post(&format!("/v1/tenants/{}/restore", t.slug))
        .json(&json!({"backup_id": b["id"]}))
        .send()
        .await;
    assert_eq!(res.status(), 202);
    let wait = platform_harness::WAIT_LIMIT;
    let res = platform_harness::wait_until(
        "the app plane fencing the tenant",
        wait,
        std::time::Duration::from_millis(50),
        || async {
            // A write: reads of a moving tenant are served from its current database.
            let res = t
                .as_admin()
                .post("/v1/tickets")
                .json(&json!({"title": "during the restore", "description": "refused"}))
                .send()
                .await;
            if res.status() == 503 {
                Ok(res)
            } else {
                Err(res.status().to_string())
            }
        },
    )
    .await;
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, 503, "tenant_moving").await;
    // Neither a second restore, a backup nor a suspension gets through the fence.
    let path = format!("/v1/tenants/{}", t.slug);
    for res in [
        p.root()
            .post(&format!("{path}/restore"))
            .json(&json!({"backup_id": b["id"]}))
            .send()
            .await,
        p.root().post(&format!("{path}/backups")).send().await,
        p.root().post(&format!("{path}/suspend")).send().await,
    ] {
        assert_problem(res, 409, "conflict").await;
    }
}
