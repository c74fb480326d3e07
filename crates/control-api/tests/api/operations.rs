//! What on-call reads: health, readiness, metrics, the OpenAPI document.

use platform_harness::{Platform, assert_problem, spawn_control};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_metrics_and_openapi_answer() {
    let app = spawn_control().await;
    let health: Value = app.control().get("/health").read().await;
    assert_eq!(health["status"], "ok");

    let res = app.control().get("/health/ready").send().await;
    assert_eq!(res.status(), 200);
    let ready: Value = res.json().await.unwrap();
    assert_eq!(ready["checks"]["control_db"]["status"], "ok");
    assert_eq!(ready["checks"]["redis"]["status"], "ok");

    let slug = app.slug("metered");
    app.active_tenant(&slug).await;
    let metrics = app.control().get("/metrics").text().await;
    for needle in [
        "tenants{status=\"active\"} 1",
        "provisioning_jobs_total{outcome=\"succeeded\"}",
        "provisioning_duration_seconds_bucket",
        "provisioning_queue_depth",
        "http_requests_total{",
        "http_request_duration_seconds_bucket",
    ] {
        assert!(
            metrics.contains(needle),
            "metrics lack {needle}:\n{metrics}"
        );
    }
    assert!(
        metrics.contains("route=\"/v1/tenants/{slug}\""),
        "routes are labelled by pattern, not raw path"
    );

    let spec: Value = app.control().get("/openapi.json").read().await;
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/tenants",
        "/v1/tenants/{slug}",
        "/v1/jobs/{id}",
        "/v1/auth/login",
        "/v1/tenants/{slug}/provision",
    ] {
        assert!(spec["paths"][path].is_object(), "openapi lacks {path}");
    }

    assert_problem(app.control().get("/nope").send().await, 404, "not_found").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_turns_503_while_the_control_database_is_unreachable_and_recovers() {
    let app = spawn_control().await;
    let ready = |app: &Platform| app.control().get("/health/ready").send();
    let pg = app.pg("postgres").await;
    let db = &app.names.control_db;
    pg.batch_execute(&format!(
        "ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS false;
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
    ))
    .await
    .unwrap();

    let res = ready(&app).await;
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["checks"]["control_db"]["status"], "error");
    assert_eq!(body["checks"]["redis"]["status"], "ok");
    // Liveness touches no dependency.
    assert_eq!(app.control().get("/health").send().await.status(), 200);
    // A registry call gets a clean 503, not a 500.
    assert_problem(
        app.root().get("/v1/tenants").send().await,
        503,
        "service_unavailable",
    )
    .await;

    pg.batch_execute(&format!("ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    let mut last = 0;
    for _ in 0..50 {
        last = ready(&app).await.status().as_u16();
        if last == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(last, 200, "readiness recovers once the database is back");
}
