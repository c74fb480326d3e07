//! What on-call relies on: every contract metric family described from start-up and
//! `promtool`-clean, bounded labels, refusals counted, a request id on every response, one
//! access line per request, and plain-text logs when nobody watches a terminal.

use platform_harness::{LogCapture, assert_families_described, spawn_platform};
use reqwest::Method;
use std::process::Command;

const APP_FAMILIES: &[(&str, &str)] = &[
    ("tenant_pools_active", "gauge"),
    ("tenant_pool_connections", "gauge"),
    ("tenant_pool_created_total", "counter"),
    ("tenant_pool_evicted_total", "counter"),
    ("tenant_pool_health_failures_total", "counter"),
    ("tenant_resolution_total", "counter"),
    ("tenant_rate_limited_total", "counter"),
    ("http_requests_total", "counter"),
    ("http_request_duration_seconds", "histogram"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_before_any_traffic_describe_every_contract_family() {
    let p = spawn_platform().await;
    let text = p.app().get("/metrics").text().await;
    assert_families_described(&text, APP_FAMILIES);
    assert!(text.contains("tenant_pool_evicted_total{reason=\"idle\"} 0"));
    assert!(text.contains("tenant_resolution_total{outcome=\"not_found\"}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_counted_and_made_up_methods_share_one_label() {
    let p = spawn_platform().await;
    let slug = p.slug("nobody");
    // 400 tenant_required and 404 tenant_not_found, refused by the tenancy layer.
    p.app().get("/v1/tickets").send().await;
    p.app().on(&slug).get("/v1/tickets").send().await;
    for i in 0..5 {
        let method = Method::from_bytes(format!("BREW{i}").as_bytes()).unwrap();
        p.app().request(method, "/health").send().await;
    }
    let text = p.app().get("/metrics").text().await;
    for status in ["400", "404"] {
        assert!(
            text.lines().any(|l| l.starts_with("http_requests_total{")
                && l.contains("route=\"/v1/tickets\"")
                && l.contains(&format!("status=\"{status}\""))),
            "refusal {status} not counted"
        );
    }
    assert!(text.contains("method=\"other\""));
    assert!(!text.contains("BREW"), "a made-up method became a label");
    assert_families_described(&text, APP_FAMILIES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_a_request_id_matching_its_access_line() {
    let p = spawn_platform().await;
    let slug = p.slug("ghost");
    let ok = p.app().get("/health").send().await;
    let refused = p.app().on(&slug).get("/v1/tickets").send().await;
    let forged = p
        .app()
        .get("/health")
        .header("x-request-id", "forged-by-client")
        .send()
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(refused.status(), 404);
    let id = |r: &reqwest::Response| {
        r.headers()
            .get("x-request-id")
            .expect("x-request-id on every response")
            .to_str()
            .unwrap()
            .to_string()
    };
    let (ok_id, refused_id, forged_id) = (id(&ok), id(&refused), id(&forged));
    assert_ne!(ok_id, refused_id);
    // The test client is no trusted proxy: its id is replaced.
    assert_ne!(forged_id, "forged-by-client");

    let logs = LogCapture::global().contents();
    let line = |rid: &str| {
        logs.lines()
            .find(|l| l.contains(rid) && l.contains("access"))
            .unwrap_or_else(|| panic!("no access line for {rid}"))
            .to_string()
    };
    let refused_line = line(&refused_id);
    assert!(refused_line.contains("404"), "{refused_line}");
    assert!(refused_line.contains("/v1/tickets"), "{refused_line}");
    assert!(refused_line.contains(&slug), "{refused_line}");
    assert!(refused_line.contains("latency_ms"), "{refused_line}");
    assert!(line(&ok_id).contains("200"));
}

#[test]
fn logs_carry_no_colour_codes_when_stderr_is_not_a_terminal() {
    // The real binary, with its output piped as under systemd or docker; an incomplete
    // environment makes it log its fatal error and exit.
    let out = Command::new(env!("CARGO_BIN_EXE_app-api"))
        .env_clear()
        .env("RUST_LOG", "info")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("app-api stopped"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour codes in: {stderr:?}");
    assert_eq!(
        stderr.matches("app-api stopped").count(),
        1,
        "the error is printed once"
    );
}
