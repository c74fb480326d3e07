//! `GET /v1/audit`: its filters, its pages (newest first) and its validation.

use super::behind_proxy;
use platform_harness::{ROOT_EMAIL, TENANT_ADMIN_PASSWORD, assert_field_refused, assert_problem};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_filters_by_tenant_actor_action_and_time_and_pages_newest_first() {
    let app = behind_proxy().spawn().await;
    let (a, b) = (app.slug("first"), app.slug("second"));
    for slug in [&a, &b] {
        assert_eq!(
            app.create_tenant(slug, TENANT_ADMIN_PASSWORD)
                .await
                .status(),
            202
        );
    }
    app.wait_for_status(&a, "active").await;
    app.wait_for_status(&b, "active").await;
    let root = app.root();

    let page: Value = root.get(&format!("/v1/audit?tenant={a}")).read().await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["tenant_slug"], a.as_str());
    assert_eq!((&page["page"], &page["per_page"]), (&json!(1), &json!(20)));

    let creates: Value = root.get("/v1/audit?action=tenant.create").read().await;
    assert_eq!(creates["total"], 2);
    let order: Vec<&Value> = creates["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["tenant_slug"])
        .collect();
    assert_eq!(order, [&json!(b), &json!(a)], "newest first");
    let second: Value = root
        .get("/v1/audit?action=tenant.create&per_page=1&page=2")
        .read()
        .await;
    assert_eq!(second["total"], 2);
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["items"][0]["tenant_slug"], a.as_str());
    let beyond: Value = root
        .get("/v1/audit?action=tenant.create&page=3&per_page=1")
        .read()
        .await;
    assert_eq!(
        (
            beyond["total"].clone(),
            beyond["items"].as_array().unwrap().len()
        ),
        (json!(2), 0)
    );

    // The harness's own login, then two creates: all by the root admin.
    let by_root: Value = root
        .get(&format!("/v1/audit?actor={ROOT_EMAIL}"))
        .read()
        .await;
    assert_eq!(by_root["total"], 3, "{by_root}");
    let nobody: Value = root
        .get("/v1/audit?actor=nobody@platform.test")
        .read()
        .await;
    assert_eq!(nobody["total"], 0);

    // `since` is inclusive: from the newer create on, the older one is left out.
    let since = creates["items"][0]["at"]
        .as_str()
        .unwrap()
        .replace('+', "%2B");
    let newer: Value = root
        .get(&format!("/v1/audit?action=tenant.create&since={since}"))
        .read()
        .await;
    assert_eq!(newer["total"], 1, "{newer}");
    assert_eq!(newer["items"][0]["tenant_slug"], b.as_str());
    let future: Value = root.get("/v1/audit?since=2099-01-01").read().await;
    assert_eq!(future["total"], 0);
    let everything: Value = root.get("/v1/audit").read().await;
    let past: Value = root
        .get("/v1/audit?since=2000-01-01T00:00:00Z")
        .read()
        .await;
    assert_eq!(past["total"], everything["total"]);

    // Every bad parameter is named, all at once.
    assert_field_refused(root.get("/v1/audit?since=yesterday").send().await, "since").await;
    assert_field_refused(
        root.get("/v1/audit?action=tenant.explode").send().await,
        "action",
    )
    .await;
    assert_field_refused(
        root.get("/v1/audit?tenant=Not_A_Slug").send().await,
        "tenant",
    )
    .await;
    assert_field_refused(root.get("/v1/audit?tenant=admin").send().await, "tenant").await;
    assert_field_refused(root.get("/v1/audit?per_page=0").send().await, "per_page").await;
    let body = assert_problem(
        root.get("/v1/audit?since=soon&action=nope").send().await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 2, "{body}");
    assert_problem(
        app.control().get("/v1/audit").send().await,
        401,
        "unauthorized",
    )
    .await;
}
