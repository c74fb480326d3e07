//! Bad input gets a clear problem+json answer and creates nothing.

use platform_harness::{assert_problem, spawn_control};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_reserved_and_overlong_slugs_are_refused_before_anything_is_created() {
    let app = spawn_control().await;
    let long = "a".repeat(51);
    for slug in [
        "Acme",
        "-acme",
        "acme-",
        "ac--me",
        "ac_me",
        "ab",
        long.as_str(),
        "admin",
        "www",
        "metrics",
        "a'b; drop",
        "ünï",
    ] {
        let res = app.create_tenant(slug, "some-admin-pw").await;
        assert_problem(res, 400, "invalid_tenant_slug").await;
        let res = app
            .root()
            .get(&format!("/v1/tenants/{}", urlencode(slug)))
            .send()
            .await;
        assert!(matches!(res.status().as_u16(), 400 | 404), "{slug}");
    }
    let list: Value = app
        .root()
        .get("/v1/tenants")
        .send()
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0, "nothing was registered");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_bodies_list_every_field_problem() {
    let app = spawn_control().await;
    let slug = app.slug("valid");
    let body = json!({"slug": slug, "name": " ", "plan": "gold", "admin_email": "nope", "admin_password": "short"});
    let res = app.root().post("/v1/tenants").json(&body).send().await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec!["name", "plan", "admin_email", "admin_password"]
    );

    // Missing fields, wrong types and unknown fields are 422; broken JSON is 400.
    let res = app
        .root()
        .post("/v1/tenants")
        .json(&json!({"slug": slug}))
        .send()
        .await;
    assert_problem(res, 422, "validation_failed").await;
    let res = app
        .root()
        .post("/v1/tenants")
        .json(&json!({"slug": 42}))
        .send()
        .await;
    assert_problem(res, 422, "validation_failed").await;
    let res = app
        .root()
        .post("/v1/tenants")
        .header("content-type", "application/json")
        .body("{\"slug\": ")
        .send()
        .await;
    assert_problem(res, 400, "bad_request").await;
    let res = app
        .root()
        .post("/v1/tenants")
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await;
    assert_problem(res, 413, "payload_too_large").await;
    for q in [
        "per_page=0",
        "per_page=101",
        "page=0",
        "status=sleeping",
        "page=abc",
    ] {
        let res = app.root().get(&format!("/v1/tenants?{q}")).send().await;
        assert!(
            matches!(res.status().as_u16(), 400 | 422),
            "{q}: {}",
            res.status()
        );
    }
    let list: Value = app
        .root()
        .get("/v1/tenants")
        .send()
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0, "nothing was registered");
}
