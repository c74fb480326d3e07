//! What on-call reads on the app plane.

use crate::helpers::{assert_problem, spawn_platform};
use reqwest::Method;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_metrics_and_openapi_answer() {
    let p = spawn_platform().await;
    let t = p.tenant("ops").await;
    p.call(
        Method::GET,
        "/v1/tickets",
        &t.slug,
        Some(&t.admin_token),
        None,
    )
    .await;
    p.call(
        Method::GET,
        "/v1/tickets",
        "unknown-slug-zz",
        Some(&t.admin_token),
        None,
    )
    .await;

    let health: Value = p
        .client
        .get(format!("{}/health", p.app))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let res = p
        .client
        .get(format!("{}/health/ready", p.app))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let ready: Value = res.json().await.unwrap();
    for dep in ["control_db", "redis", "pool_factory"] {
        assert_eq!(ready["checks"][dep]["status"], "ok", "{ready}");
    }
    assert!(ready["checks"]["pool_factory"]["pools"].as_u64().unwrap() >= 1);

    let metrics = p.metrics().await;
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

    let spec: Value = p
        .client
        .get(format!("{}/openapi.json", p.app))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/v1/tickets",
        "/v1/tickets/{id}",
        "/v1/tickets/{id}/comments",
        "/v1/users/me",
        "/v1/auth/login",
    ] {
        assert!(spec["paths"][path].is_object(), "openapi lacks {path}");
    }
    assert_problem(
        p.client
            .get(format!("{}/nope", p.app))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
}
