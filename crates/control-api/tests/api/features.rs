//! Plans and features on the control plane: every tenant shows its effective features and
//! its overrides; a plan sets the defaults; an override wins until it is removed; an
//! unknown feature is refused field by field.

use platform_harness::{Platform, assert_field_refused, assert_problem, control_plane};
use serde_json::{Value, json};

/// The features an answer shows, as (effective, overrides).
fn features(tenant: &Value) -> (Value, Value) {
    (
        tenant["features"].clone(),
        tenant["feature_overrides"].clone(),
    )
}

async fn patch(app: &Platform, slug: &str, body: Value) -> Value {
    let res = app
        .root()
        .patch(&format!("/v1/tenants/{slug}"))
        .json(&body)
        .send()
        .await;
    let status = res.status();
    let answer: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{answer}");
    answer
}

/// A tenant registered on `plan` (left `provisioning`: features need no database).
async fn register(app: &Platform, slug: &str, plan: &str) -> Value {
    let body = json!({
        "slug": slug, "name": "Features", "plan": plan,
        "admin_email": format!("owner@{slug}.test"), "admin_password": "features-admin-pw",
    });
    let res = app.root().post("/v1/tenants").json(&body).send().await;
    assert_eq!(res.status(), 202);
    res.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_plan_sets_its_default_features_and_an_override_wins_until_removed() {
    let app = control_plane().without_worker().spawn().await;
    let slug = app.slug("plans");

    // Free: internal notes (which every tenant had before features existed), no search.
    let created = register(&app, &slug, "free").await;
    let free = json!({"internal_notes": true, "ticket_search": false});
    assert_eq!(features(&created), (free.clone(), json!({})));
    let shown: Value = app.root().get(&format!("/v1/tenants/{slug}")).read().await;
    assert_eq!(features(&shown), (free.clone(), json!({})));
    let listed: Value = app.root().get("/v1/tenants").read().await;
    assert_eq!(features(&listed["items"][0]), (free, json!({})));

    // Pro and enterprise: both.
    let all_on = json!({"internal_notes": true, "ticket_search": true});
    for plan in ["pro", "enterprise"] {
        let t = patch(&app, &slug, json!({"plan": plan})).await;
        assert_eq!(t["plan"], plan);
        assert_eq!(features(&t), (all_on.clone(), json!({})), "{plan}");
    }

    // An override off beats the plan, and stays through a plan change.
    let t = patch(&app, &slug, json!({"features": {"internal_notes": false}})).await;
    let notes_off = json!({"internal_notes": false, "ticket_search": true});
    assert_eq!(
        features(&t),
        (notes_off.clone(), json!({"internal_notes": false}))
    );
    let t = patch(&app, &slug, json!({"plan": "free"})).await;
    assert_eq!(
        features(&t),
        (
            json!({"internal_notes": false, "ticket_search": false}),
            json!({"internal_notes": false})
        )
    );
    // An override on gives a free tenant what its plan does not; the other override stays.
    let t = patch(&app, &slug, json!({"features": {"ticket_search": true}})).await;
    assert_eq!(
        features(&t),
        (
            notes_off,
            json!({"internal_notes": false, "ticket_search": true})
        )
    );
    // Null removes an override: the plan's default applies again.
    let t = patch(
        &app,
        &slug,
        json!({"features": {"internal_notes": null, "ticket_search": null}}),
    )
    .await;
    assert_eq!(
        features(&t),
        (
            json!({"internal_notes": true, "ticket_search": false}),
            json!({})
        )
    );
    // Kept in the registry, not only in the answer.
    let shown: Value = app.root().get(&format!("/v1/tenants/{slug}")).read().await;
    assert_eq!(shown["feature_overrides"], json!({}));
    assert_eq!(shown["plan"], "free");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_features_and_non_boolean_values_are_refused_and_change_nothing() {
    let app = control_plane().without_worker().spawn().await;
    let slug = app.slug("unknown");
    register(&app, &slug, "pro").await;
    let path = format!("/v1/tenants/{slug}");

    let res = app
        .root()
        .patch(&path)
        .json(&json!({"name": "Kept?", "features": {"teleport": true}}))
        .send()
        .await;
    assert_field_refused(res, "features.teleport").await;
    let res = app
        .root()
        .patch(&path)
        .json(&json!({"features": {"internal_notes": "off", "ticket_search": false}}))
        .send()
        .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    let fields: Vec<_> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["features.internal_notes"], "{body}");
    let res = app
        .root()
        .patch(&path)
        .json(&json!({"features": ["internal_notes"]}))
        .send()
        .await;
    assert_problem(res, 422, "validation_failed").await;

    let shown: Value = app.root().get(&path).read().await;
    assert_eq!(
        shown["name"], "Features",
        "nothing of a refused body was applied"
    );
    assert_eq!(shown["feature_overrides"], json!({}));
    // An empty change is valid and changes nothing.
    let t = patch(&app, &slug, json!({"features": {}})).await;
    assert_eq!(t["updated_at"], shown["updated_at"]);
}
