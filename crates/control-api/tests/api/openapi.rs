//! The OpenAPI document is complete (unique operation ids, every error answer a `Problem`),
//! and a known path called with a method it does not take answers 405 with `Allow`.

use platform_harness::{assert_problem, spawn_control};
use reqwest::Method;
use serde_json::Value;
use std::collections::HashSet;

/// Every `/v1` operation: a unique id, and each 4xx/5xx answer a `Problem` naming its codes.
pub(crate) fn assert_complete(spec: &Value) -> Vec<(String, Value)> {
    let mut ids = HashSet::new();
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str();
            assert!(id.is_some(), "{method} {path} has no operationId");
            assert!(ids.insert(id.unwrap().to_string()), "duplicate id {id:?}");
            if !path.starts_with("/v1/") {
                continue;
            }
            for (status, res) in op["responses"].as_object().unwrap() {
                if status.as_str() < "400" {
                    continue;
                }
                let schema = &res["content"]["application/problem+json"]["schema"]["$ref"];
                assert_eq!(
                    schema, "#/components/schemas/Problem",
                    "{method} {path} {status}: {res}"
                );
                assert!(
                    res["description"].as_str().unwrap().contains('`'),
                    "{method} {path} {status} names no code: {res}"
                );
            }
            ops.push((format!("{method} {path}"), op.clone()));
        }
    }
    let problem = &spec["components"]["schemas"]["Problem"];
    for field in ["type", "title", "status", "detail", "code"] {
        assert!(
            problem["required"]
                .as_array()
                .unwrap()
                .contains(&field.into()),
            "Problem must require {field}: {problem}"
        );
    }
    ops
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_complete() {
    let app = spawn_control().await;
    let spec: Value = app.control().get("/openapi.json").read().await;
    let ops = assert_complete(&spec);
    assert!(ops.len() >= 11, "{} /v1 operations", ops.len());
    for (name, op) in &ops {
        if op["security"].is_array() {
            assert!(op["responses"]["401"].is_object(), "{name} lacks 401");
        }
    }
    let create = &spec["paths"]["/v1/tenants"]["post"]["responses"];
    assert!(create["202"]["headers"]["Location"].is_object(), "{create}");
    assert!(
        create["503"]["headers"]["Retry-After"].is_object(),
        "{create}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_method_on_a_known_path_is_405_with_allow() {
    let app = spawn_control().await;
    let api = app.root();
    for (method, path, allow) in [
        (Method::TRACE, "/v1/tenants", "GET, POST"),
        (Method::PUT, "/v1/tenants/some-slug", "DELETE, GET, PATCH"),
        (Method::DELETE, "/health", "GET"),
    ] {
        let res = api.request(method.clone(), path).send().await;
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
