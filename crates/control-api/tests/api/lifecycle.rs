//! Registry operations and status transitions.

use futures::StreamExt;
use platform_harness::{assert_problem, spawn_control};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_activate_soft_delete_and_purge() {
    let app = spawn_control().await;
    let slug = app.slug("cycle");
    let tenant = app.active_tenant(&slug).await;
    let db_name = tenant["db_name"].as_str().unwrap().to_string();

    // Subscribe to the channel app-api replicas listen on.
    let client = redis::Client::open(platform_harness::redis_url()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub
        .subscribe(format!("{}:tenant-events", app.names.redis_prefix))
        .await
        .unwrap();

    let res = app
        .root()
        .post(&format!("/v1/tenants/{slug}/suspend"))
        .send()
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "suspended");
    let msg = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        pubsub.on_message().next(),
    )
    .await
    .unwrap()
    .unwrap();
    let event: Value = serde_json::from_str(&msg.get_payload::<String>().unwrap()).unwrap();
    assert_eq!(
        (event["slug"].as_str(), event["status"].as_str()),
        (Some(slug.as_str()), Some("suspended"))
    );

    // Suspending again is a no-op; activating brings it back.
    assert_eq!(
        app.root()
            .post(&format!("/v1/tenants/{slug}/suspend"))
            .send()
            .await
            .status(),
        200
    );
    let res = app
        .root()
        .post(&format!("/v1/tenants/{slug}/activate"))
        .send()
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "active");

    // Soft delete keeps the database; a deleted tenant cannot be activated.
    let res = app
        .root()
        .delete(&format!("/v1/tenants/{slug}"))
        .send()
        .await;
    assert_eq!(res.status(), 200);
    let deleted: Value = res.json().await.unwrap();
    assert_eq!(deleted["status"], "deleted");
    assert!(deleted["deleted_at"].is_string());
    assert_problem(
        app.root()
            .post(&format!("/v1/tenants/{slug}/activate"))
            .send()
            .await,
        409,
        "conflict",
    )
    .await;
    assert_problem(
        app.root()
            .post(&format!("/v1/tenants/{slug}/suspend"))
            .send()
            .await,
        409,
        "conflict",
    )
    .await;
    let pg = app.pg("postgres").await;
    let db_exists = pg
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&db_name])
        .await
        .unwrap()
        .is_some();
    assert!(db_exists, "soft delete keeps the database");

    // Purge drops the database and the role, through a job.
    let res = app
        .root()
        .delete(&format!("/v1/tenants/{slug}?purge=true"))
        .send()
        .await;
    assert_eq!(res.status(), 202);
    let purge: Value = res.json().await.unwrap();
    assert_eq!(purge["job"]["kind"], "purge");
    let job_id = purge["job"]["id"].as_str().unwrap();
    app.wait_for_job(job_id, |j| j["state"] == "succeeded")
        .await;
    let db_exists = pg
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&db_name])
        .await
        .unwrap()
        .is_some();
    let role_exists = pg
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&db_name])
        .await
        .unwrap()
        .is_some();
    assert!(!db_exists && !role_exists, "purge drops database and role");
    assert_problem(
        app.root().get(&format!("/v1/tenants/{slug}")).send().await,
        404,
        "tenant_not_found",
    )
    .await;

    // The slug is free again.
    assert_eq!(
        app.create_tenant(&slug, "reborn-admin-pw").await.status(),
        202
    );
    app.wait_for_status(&slug, "active").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_by_status_and_paginates_and_patch_changes_name_and_plan() {
    let app = spawn_control().await;
    let slugs: Vec<String> = (0..3).map(|i| app.slug(&format!("list{i}"))).collect();
    for s in &slugs {
        app.active_tenant(s).await;
    }
    app.root()
        .post(&format!("/v1/tenants/{}/suspend", slugs[0]))
        .send()
        .await;

    let page: Value = app.root().get("/v1/tenants?per_page=2&page=1").read().await;
    assert_eq!(
        (
            page["total"].as_u64(),
            page["items"].as_array().unwrap().len()
        ),
        (Some(3), 2)
    );
    let page2: Value = app.root().get("/v1/tenants?per_page=2&page=2").read().await;
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    let suspended: Value = app.root().get("/v1/tenants?status=suspended").read().await;
    assert_eq!(suspended["total"], 1);
    assert_eq!(suspended["items"][0]["slug"], slugs[0].as_str());

    let res = app
        .root()
        .patch(&format!("/v1/tenants/{}", slugs[1]))
        .json(&json!({"name": "Renamed", "plan": "enterprise"}))
        .send()
        .await;
    assert_eq!(res.status(), 200);
    let t: Value = res.json().await.unwrap();
    assert_eq!(
        (t["name"].as_str(), t["plan"].as_str()),
        (Some("Renamed"), Some("enterprise"))
    );

    let res = app
        .root()
        .patch(&format!("/v1/tenants/{}", slugs[1]))
        .json(&json!({"plan": "platinum"}))
        .send()
        .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "plan");
    assert_problem(
        app.root()
            .get(&format!("/v1/tenants/{}", app.slug("ghost")))
            .send()
            .await,
        404,
        "tenant_not_found",
    )
    .await;
    assert_problem(
        app.root().get("/v1/jobs/not-a-uuid").send().await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.root()
            .get(&format!("/v1/jobs/{}", uuid::Uuid::new_v4()))
            .send()
            .await,
        404,
        "not_found",
    )
    .await;
}
