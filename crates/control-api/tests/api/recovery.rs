//! Jobs survive dying workers and failing steps.

use control_api::jobs::{Fault, FaultKind, Step};
use platform_harness::{assert_problem, control_plane};
use serde_json::Value;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_whose_worker_dies_half_way_is_finished_by_another_with_one_database_role_and_admin() {
    // The first worker "dies" after the seed, just before marking the tenant active: the
    // most work there is to repeat.
    let hang = Arc::new(Fault::new(Step::Activate, FaultKind::Hang));
    let mut first = control_plane().fault(hang).spawn().await;
    let slug = first.slug("phoenix");
    let created: Value = first
        .create_tenant(&slug, "phoenix-admin-pw")
        .await
        .json()
        .await
        .unwrap();
    let job_id = created["job"]["id"].as_str().unwrap().to_string();
    first
        .wait_for_job(&job_id, |j| j["step"] == "activate")
        .await;
    first.kill().await;

    let second = first.another_instance(None).await;
    let tenant = second.wait_for_status(&slug, "active").await;
    let job = second
        .wait_for_job(&job_id, |j| j["state"] == "succeeded")
        .await;
    assert_eq!(
        job["attempts"], 2,
        "the job ran again after its lease expired: {job}"
    );

    let db_name = tenant["db_name"].as_str().unwrap();
    let (dbs, roles) = second.tenant_databases_and_roles().await;
    assert_eq!((dbs, roles), (1, 1));
    let users: i64 = second
        .pg(db_name)
        .await
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users, 1, "the admin is seeded once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_provisioning_ends_failed_and_a_retry_makes_it_active() {
    let fault = Arc::new(Fault::new(Step::CreateDatabase, FaultKind::Fail));
    let app = control_plane()
        .fault(fault.clone())
        .env("PROVISION_MAX_ATTEMPTS", "2")
        .spawn()
        .await;
    let slug = app.slug("flaky");
    let created: Value = app
        .create_tenant(&slug, "flaky-admin-pw")
        .await
        .json()
        .await
        .unwrap();
    let first_job = created["job"]["id"].as_str().unwrap().to_string();

    app.wait_for_status(&slug, "failed").await;
    let job = app
        .wait_for_job(&first_job, |j| j["state"] == "failed")
        .await;
    assert_eq!(job["attempts"], 2);
    assert!(
        job["last_error"]
            .as_str()
            .unwrap()
            .contains("injected failure at step create_database"),
        "{job}"
    );
    assert!(job["finished_at"].is_string());

    // Retrying a tenant that is not failed is refused.
    let other = app.slug("steady");
    fault.disarm();
    app.active_tenant(&other).await;
    assert_problem(
        app.root()
            .post(&format!("/v1/tenants/{other}/provision"))
            .send()
            .await,
        409,
        "conflict",
    )
    .await;

    let res = app
        .root()
        .post(&format!("/v1/tenants/{slug}/provision"))
        .send()
        .await;
    assert_eq!(res.status(), 202);
    let retried: Value = res.json().await.unwrap();
    assert_eq!(retried["status"], "provisioning");
    app.wait_for_status(&slug, "active").await;

    let jobs: Vec<Value> = app
        .root()
        .get(&format!("/v1/tenants/{slug}/jobs"))
        .send()
        .await
        .json()
        .await
        .unwrap();
    let states: Vec<&str> = jobs.iter().map(|j| j["state"].as_str().unwrap()).collect();
    assert_eq!(states, vec!["succeeded", "failed"], "newest first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_job_lost_from_redis_is_requeued_when_a_worker_starts() {
    let mut api_only = control_plane().without_worker().spawn().await;
    let slug = api_only.slug("orphan");
    let created: Value = api_only
        .create_tenant(&slug, "orphan-admin-pw")
        .await
        .json()
        .await
        .unwrap();
    let job_id = created["job"]["id"].as_str().unwrap().to_string();
    // Redis loses everything (flush, failover without persistence).
    platform_harness::drop_redis_keys(&api_only.names.redis_prefix)
        .await
        .unwrap();
    api_only.stop().await;

    let worker = api_only.another_instance(None).await;
    worker.wait_for_status(&slug, "active").await;
    let job = worker
        .wait_for_job(&job_id, |j| j["state"] == "succeeded")
        .await;
    assert_eq!(job["attempts"], 1);
}
