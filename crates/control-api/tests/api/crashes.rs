//! A worker killed at every provisioning step: the job is finished by another process with
//! one database, one role and one admin, whatever step the first one died in.

use control_api::jobs::{Fault, FaultKind, Step};
use platform_harness::control_plane;
use serde_json::Value;
use std::sync::Arc;

const STEPS: [Step; 6] = [
    Step::Credentials,
    Step::CreateRole,
    Step::CreateDatabase,
    Step::RevokePublic,
    Step::MigrateAndSeed,
    Step::Activate,
];

/// Hangs the first process at `step`, kills it there, lets a second one finish.
async fn killed_at(step: Step) {
    let hang = Arc::new(Fault::new(step, FaultKind::Hang));
    let mut first = control_plane().fault(hang).spawn().await;
    let slug = first.slug("crash");
    let created: Value = first
        .create_tenant(&slug, "crash-admin-pw")
        .await
        .json()
        .await
        .unwrap();
    let job_id = created["job"]["id"].as_str().unwrap().to_string();
    first
        .wait_for_job(&job_id, |j| j["step"] == step.as_str())
        .await;
    first.kill().await;

    let second = first.another_instance(None).await;
    let tenant = second.wait_for_status(&slug, "active").await;
    let db_name = tenant["db_name"].as_str().unwrap();
    let (dbs, roles) = second.tenant_databases_and_roles().await;
    assert_eq!((dbs, roles), (1, 1), "killed at {}", step.as_str());
    let users: i64 = second
        .pg(db_name)
        .await
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 1, "killed at {}: one admin", step.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_killed_at_every_provisioning_step_leaves_one_database_role_and_admin() {
    futures::future::join_all(STEPS.map(killed_at)).await;
}
