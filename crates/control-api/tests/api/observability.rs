//! The control plane's `/metrics` from start-up: every contract family described, the
//! known label values at zero, `promtool`-clean; a request id on every response.

use platform_harness::{assert_families_described, spawn_control};

const CONTROL_FAMILIES: &[(&str, &str)] = &[
    ("tenants", "gauge"),
    ("provisioning_jobs_total", "counter"),
    ("provisioning_duration_seconds", "histogram"),
    ("provisioning_queue_depth", "gauge"),
    ("job_worker_up", "gauge"),
    ("db_server_tenants", "gauge"),
    ("tenant_moves_total", "counter"),
    ("http_requests_total", "counter"),
    ("http_request_duration_seconds", "histogram"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_before_any_traffic_describe_every_contract_family() {
    let app = spawn_control().await;
    let res = app.root().get("/metrics").send().await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-request-id"));
    let text = res.text().await.unwrap();
    assert_families_described(&text, CONTROL_FAMILIES);
    for series in [
        "tenants{status=\"active\"}",
        "provisioning_jobs_total{outcome=\"failed\"}",
        "tenant_moves_total{outcome=\"failed\"}",
    ] {
        assert!(text.contains(series), "no {series}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_carry_a_request_id_too() {
    let app = spawn_control().await;
    // No token.
    let res = app.control().get("/v1/tenants").send().await;
    assert_eq!(res.status(), 401);
    let id = res.headers().get("x-request-id").unwrap().to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
}
