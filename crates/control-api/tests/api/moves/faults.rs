//! A move interrupted: its worker killed at every step (another process resumes it, and
//! the tenant ends on exactly one server with all its data and no database left behind),
//! a step failing until the attempts are spent and a worker killed on the last attempt
//! (both roll back: the tenant stays on its source, writable, the target gone), and a
//! restore killed between its switch and its old database's drop. One real worker process
//! is killed with SIGKILL mid-copy, orphaning its `pg_dump` and `pg_restore`.

use super::{counts, leftovers, move_to, seeded_tenant, start_move};
use control_api::jobs::{Fault, FaultKind, Step};
use platform_harness::{PgServer, Platform, control_plane, pg_admin_url};
use serde_json::{Value, json};
use std::sync::Arc;

const STEPS: [Step; 7] = [
    Step::FenceSource,
    Step::CreateRole,
    Step::CreateDatabase,
    Step::CopyData,
    Step::VerifyCopy,
    Step::SwitchServer,
    Step::DropSource,
];

fn finished(j: &Value) -> bool {
    !matches!(j["state"].as_str(), Some("queued" | "running" | "retrying"))
}

/// Hangs the first process at `step` of a move, kills it there, lets a second finish.
async fn killed_at(step: Step, second: &PgServer) {
    let at = step.as_str();
    // Armed once the tenant is provisioned: the provisioning job has steps of these names.
    let hang = Arc::new(Fault::new(step, FaultKind::Hang));
    hang.disarm();
    let mut first = control_plane().fault(hang.clone()).spawn().await;
    first.add_server("second", second, 10).await;
    let t = seeded_tenant(&first, "killed", 10).await;
    hang.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    let slug = t["slug"].as_str().unwrap();
    let body = start_move(&first, slug, "second").await;
    let id = body["job"]["id"].as_str().unwrap().to_string();
    first.wait_for_job(&id, |j| j["step"] == at).await;
    first.kill().await;

    let p = first.another_instance(None).await;
    let job = p.wait_for_job(&id, finished).await;
    assert_eq!(job["state"], "succeeded", "killed at {at}: {job}");
    assert!(job["attempts"].as_i64() > Some(1), "killed at {at}: {job}");
    let now = p.root().get(&format!("/v1/tenants/{slug}")).read().await;
    assert_eq!(
        (&now["status"], &now["server"]),
        (&json!("active"), &json!("second")),
        "killed at {at}: {now}"
    );
    let db = now["db_name"].as_str().unwrap().to_string();
    assert_eq!(
        counts(&second.admin_url(), &db).await,
        (10, 30),
        "killed at {at}"
    );
    assert_eq!(
        leftovers(&p, &pg_admin_url()).await,
        (vec![], vec![]),
        "killed at {at}: the source is gone"
    );
    assert_eq!(
        leftovers(&p, &second.admin_url()).await.0,
        vec![db],
        "killed at {at}: one database on the target"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_killed_at_every_step_ends_on_one_server_with_all_its_data() {
    let second = PgServer::start().await;
    // One step at a time: each round is two control planes and a copy on a shared machine.
    for step in STEPS {
        killed_at(step, &second).await;
    }
}

/// The tenant is `active` on default with its data and its database writable, and nothing
/// of it is left on the second server.
async fn rolled_back(p: &Platform, before: &Value, second: &PgServer) {
    let slug = before["slug"].as_str().unwrap();
    let now = p.wait_for_status(slug, "active").await;
    assert_eq!(
        (&now["server"], &now["db_name"]),
        (&before["server"], &before["db_name"]),
        "{now}"
    );
    let db = now["db_name"].as_str().unwrap();
    assert_eq!(counts(&pg_admin_url(), db).await, (4, 12));
    // Writable again: the read-only default is reset (it binds the superuser too).
    p.pg(db)
        .await
        .batch_execute("CREATE TEMP TABLE probe (x int); INSERT INTO settings (key, value) VALUES ('probe', '1')")
        .await
        .unwrap();
    assert_eq!(leftovers(p, &second.admin_url()).await, (vec![], vec![]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_failing_until_its_attempts_are_spent_rolls_back_to_the_source() {
    let fail = Arc::new(Fault::new(Step::VerifyCopy, FaultKind::Fail));
    let p = control_plane().fault(fail).spawn().await;
    let second = PgServer::start().await;
    p.add_server("second", &second, 10).await;
    let t = seeded_tenant(&p, "rollback", 4).await;
    let job = move_to(&p, t["slug"].as_str().unwrap(), "second").await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["attempts"], 3, "{job}");
    rolled_back(&p, &t, &second).await;
    let metrics = p.root().get("/metrics").text().await;
    assert!(
        metrics.contains("tenant_moves_total{outcome=\"failed\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_whose_worker_dies_on_its_last_attempt_rolls_back_to_the_source() {
    let hang = Arc::new(Fault::new(Step::CopyData, FaultKind::Hang));
    let mut first = control_plane()
        .env("PROVISION_MAX_ATTEMPTS", "1")
        .fault(hang)
        .spawn()
        .await;
    let second = PgServer::start().await;
    first.add_server("second", &second, 10).await;
    let t = seeded_tenant(&first, "lastgasp", 4).await;
    let body = start_move(&first, t["slug"].as_str().unwrap(), "second").await;
    let id = body["job"]["id"].as_str().unwrap().to_string();
    first.wait_for_job(&id, |j| j["step"] == "copy_data").await;
    first.kill().await;

    let p = first.another_instance(None).await;
    let job = p.wait_for_job(&id, finished).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        job["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("no attempts left"),
        "{job}"
    );
    rolled_back(&p, &t, &second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_killed_between_its_switch_and_its_drop_drops_the_old_database_on_resume() {
    let hang = Arc::new(Fault::new(Step::DropDatabase, FaultKind::Hang));
    let mut first = control_plane().fault(hang).spawn().await;
    let t = seeded_tenant(&first, "restorekill", 3).await;
    let slug = t["slug"].as_str().unwrap();
    let old = t["db_name"].as_str().unwrap().to_string();
    let res = first
        .root()
        .post(&format!("/v1/tenants/{slug}/backups"))
        .send()
        .await;
    assert_eq!(res.status(), 202);
    let backup: Value = res.json().await.unwrap();
    let done = first
        .wait_for_job(backup["job"]["id"].as_str().unwrap(), finished)
        .await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let res = first
        .root()
        .post(&format!("/v1/tenants/{slug}/restore"))
        .json(&json!({"backup_id": backup["id"]}))
        .send()
        .await;
    assert_eq!(res.status(), 202);
    let restore: Value = res.json().await.unwrap();
    let id = restore["job"]["id"].as_str().unwrap().to_string();
    first
        .wait_for_job(&id, |j| j["step"] == "drop_database")
        .await;
    // Switched, the old database still there: the worker dies now.
    let switched = first
        .root()
        .get(&format!("/v1/tenants/{slug}"))
        .read()
        .await;
    assert_eq!(switched["status"], "active", "{switched}");
    assert_ne!(switched["db_name"], old);
    first.kill().await;

    let p = first.another_instance(None).await;
    let job = p.wait_for_job(&id, finished).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let (dbs, _) = leftovers(&p, &pg_admin_url()).await;
    assert_eq!(dbs, vec![switched["db_name"].as_str().unwrap().to_string()]);
    assert_eq!(
        counts(&pg_admin_url(), switched["db_name"].as_str().unwrap()).await,
        (3, 9)
    );
}

/// A real `control-api worker` process killed with SIGKILL while it copies: its `pg_dump`
/// and `pg_restore` are orphaned mid-copy, nothing cleans up. Another worker resumes the
/// move (the target made afresh ends the orphan's session) and it converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_process_killed_with_sigkill_mid_copy_is_resumed_by_another() {
    let p = control_plane().without_worker().spawn().await;
    let second = PgServer::start().await;
    p.add_server("second", &second, 10).await;
    let slug = p.slug("sigkill");
    let res = p
        .create_tenant_placed(
            &slug,
            "pro",
            platform_harness::TENANT_ADMIN_PASSWORD,
            Some("default"),
        )
        .await;
    assert_eq!(res.status(), 202);
    let mut worker = crate::sigkill::start_worker(&p.env);
    let t = p.wait_for_status(&slug, "active").await;
    // Enough rows that the copy takes a while.
    super::seed(&p.pg(t["db_name"].as_str().unwrap()).await, 20_000).await;
    let body = start_move(&p, &slug, "second").await;
    let id = body["job"]["id"].as_str().unwrap().to_string();
    p.wait_for_job(&id, |j| j["step"] == "copy_data").await;
    worker.kill().expect("SIGKILL delivered");
    worker.wait().expect("worker reaped");

    let mut last = crate::sigkill::start_worker(&p.env);
    let job = p.wait_for_job(&id, finished).await;
    last.kill().ok();
    last.wait().ok();
    assert_eq!(job["state"], "succeeded", "{job}");
    assert!(job["attempts"].as_i64() > Some(1), "{job}");
    let now = p.root().get(&format!("/v1/tenants/{slug}")).read().await;
    assert_eq!(now["server"], "second", "{now}");
    let db = now["db_name"].as_str().unwrap().to_string();
    assert_eq!(counts(&second.admin_url(), &db).await, (20_000, 60_000));
    assert_eq!(leftovers(&p, &pg_admin_url()).await, (vec![], vec![]));
    assert_eq!(leftovers(&p, &second.admin_url()).await.0, vec![db]);
}
