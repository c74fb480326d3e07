//! What on-call reads on the app plane.

use platform_harness::{assert_problem, spawn_platform};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_metrics_and_openapi_answer() {
    let p = spawn_platform().await;
    let t = p.tenant("ops").await;
    t.as_admin().get("/v1/tickets").send().await;
    p.app()
        .as_user(&t.admin_token)
        .on("unknown-slug-zz")
        .get("/v1/tickets")
        .send()
        .await;

    let health: Value = p.app().get("/health").read().await;
    assert_eq!(health["status"], "ok");
    let res = p.app().get("/health/ready").send().await;
    assert_eq!(res.status(), 200);
    let ready: Value = res.json().await.unwrap();
    for dep in ["control_db", "redis", "pool_factory"] {
        assert_eq!(ready["checks"][dep]["status"], "ok", "{ready}");
    }
    assert!(ready["checks"]["pool_factory"]["pools"].as_u64().unwrap() >= 1);

    let metrics = p.app().get("/metrics").text().await;
    for name in [
        "tenant_pools_active",
        "tenant_pool_connections",
        "tenant_pool_created_total",
        "tenant_resolution_total{outcome=\"resolved\"}",
        "tenant_resolution_total{outcome=\"not_found\"}",
        "http_requests_total{",
        "http_request_duration_seconds_bucket",
    ] {
        assert!(metrics.contains(name), "metrics lack {name}");
    }
    assert!(
        !metrics.contains(&t.slug),
        "no per-tenant label: bounded label sets"
    );

    let spec: Value = p.app().get("/openapi.json").read().await;
    for path in [
        "/v1/tickets",
        "/v1/tickets/{id}",
        "/v1/tickets/{id}/comments",
        "/v1/users/me",
        "/v1/auth/login",
    ] {
        assert!(spec["paths"][path].is_object(), "openapi lacks {path}");
    }
    assert_problem(p.app().get("/nope").send().await, 404, "not_found").await;
}
