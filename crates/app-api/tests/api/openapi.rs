//! The OpenAPI document is complete (unique operation ids, every error answer a `Problem`,
//! the tenant and its errors on every `/v1` route), and a known path called with a method
//! it does not take answers 405 with `Allow`.

use platform_harness::{assert_problem, spawn_platform};
use reqwest::Method;
use serde_json::Value;
use std::collections::HashSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_complete() {
    let p = spawn_platform().await;
    let spec: Value = p.app().get("/openapi.json").read().await;
    let mut ids = HashSet::new();
    let mut v1 = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default().to_string();
            assert!(!id.is_empty(), "{method} {path} has no operationId");
            assert!(ids.insert(id.clone()), "duplicate operationId {id}");
            if !path.starts_with("/v1/") {
                continue;
            }
            v1 += 1;
            let responses = &op["responses"];
            for (status, res) in responses.as_object().unwrap() {
                if status.as_str() >= "400" {
                    assert_eq!(
                        res["content"]["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/Problem",
                        "{method} {path} {status}: {res}"
                    );
                }
            }
            let security = op["security"].as_array().unwrap();
            assert!(
                security.iter().all(|s| s.get("tenant").is_some()),
                "{method} {path} does not name the tenant: {security:?}"
            );
            for (status, code) in [
                ("400", "tenant_required"),
                ("400", "invalid_tenant_slug"),
                ("400", "ambiguous_tenant"),
                ("401", "unauthorized"),
                ("403", "tenant_inactive"),
                ("404", "tenant_not_found"),
                ("429", "connection_limit"),
                ("503", "tenant_provisioning"),
            ] {
                let said = responses[status]["description"]
                    .as_str()
                    .unwrap_or_default();
                assert!(said.contains(code), "{method} {path} {status} lacks {code}");
            }
            for status in ["429", "503"] {
                assert!(
                    responses[status]["headers"]["Retry-After"].is_object(),
                    "{method} {path} {status} lacks Retry-After"
                );
            }
        }
    }
    assert_eq!(v1, 13, "every /v1 operation is documented");
    let scheme = &spec["components"]["securitySchemes"]["tenant"];
    assert_eq!(scheme["in"], "header");
    assert_eq!(scheme["name"], "X-Tenant-Slug");
    let created = &spec["paths"]["/v1/tickets"]["post"]["responses"]["201"];
    assert!(created["headers"]["Location"].is_object(), "{created}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_method_on_a_known_path_is_405_with_allow() {
    let p = spawn_platform().await;
    let t = p.tenant("methods").await;
    let api = t.as_admin();
    let id = "00000000-0000-0000-0000-000000000001";
    for (method, path, allow) in [
        (
            Method::TRACE,
            format!("/v1/tickets/{id}"),
            "DELETE, GET, PATCH",
        ),
        (Method::PUT, "/v1/tickets".to_string(), "GET, POST"),
        // `/v1/users/me` is concrete, so it wins over `/v1/users/{id}` (which takes
        // PATCH): PATCH on it is 405, not a lookup of the user `me`.
        (Method::DELETE, "/v1/users/me".to_string(), "GET"),
        (Method::PATCH, "/v1/users/me".to_string(), "GET"),
        (Method::GET, format!("/v1/users/{id}"), "PATCH"),
        (Method::POST, "/metrics".to_string(), "GET"),
    ] {
        let res = api.request(method.clone(), &path).send().await;
        let got = res
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_string());
        assert_eq!(got.as_deref(), Some(allow), "{method} {path}");
        assert_problem(res, 405, "method_not_allowed").await;
    }
    let res = api.request(Method::TRACE, "/v1/nothing-here").send().await;
    assert_problem(res, 404, "not_found").await;
}
