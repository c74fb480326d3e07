//! Features on the app plane: `GET /v1/tenant` shows the effective features, each feature
//! changes what the helpdesk does, and a change made on the control plane reaches every
//! app-api replica within the contract's 5 seconds.

use crate::rate_limit::replica;
use platform_harness::{Platform, TestTenant, assert_problem, platform, spawn_platform};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The contract's bound for a control-plane change to reach every app-api replica.
const PROPAGATION: Duration = Duration::from_secs(5);

async fn set_features(p: &Platform, slug: &str, features: Value) {
    let res = p
        .root()
        .patch(&format!("/v1/tenants/{slug}"))
        .json(&json!({ "features": features }))
        .send()
        .await;
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
}

/// `GET /v1/tenant` on the replica at `base`, as the holder of `token`.
async fn tenant_info(base: &str, slug: &str, token: &str) -> Value {
    let res = reqwest::Client::new()
        .get(format!("{base}/v1/tenant"))
        .header("x-tenant-slug", slug)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Polls every replica until each shows `feature` as `on`; fails once `PROPAGATION` has
/// passed since `since` (taken before the change was sent).
async fn seen_everywhere(
    bases: &[String],
    t: &TestTenant,
    feature: &str,
    on: bool,
    since: Instant,
) {
    for base in bases {
        loop {
            let info = tenant_info(base, &t.slug, &t.admin_token).await;
            if info["features"][feature] == on {
                break;
            }
            assert!(
                since.elapsed() < PROPAGATION,
                "{base} still shows {feature} = {} after {PROPAGATION:?}",
                info["features"][feature]
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn open_ticket(api: &platform_harness::Api, title: &str, description: &str) -> String {
    let res = api
        .post("/v1/tickets")
        .json(&json!({"title": title, "description": description}))
        .send()
        .await;
    assert_eq!(res.status(), 201);
    let ticket: Value = res.json().await.unwrap();
    ticket["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenant_route_shows_slug_name_plan_and_effective_features_to_its_users_only() {
    let p = spawn_platform().await;
    let t = p.tenant_on_plan("whoami", "free").await;
    let (_, customer) = p.user(&t, "customer", "cleo").await;

    let info: Value = t.as_user(&customer).get("/v1/tenant").read().await;
    assert_eq!(
        info,
        json!({
            "slug": t.slug, "name": format!("Tenant {}", t.slug), "plan": "free",
            "features": {"internal_notes": true, "ticket_search": false},
        })
    );
    // Through the path prefix too, the same tenant.
    let res = p
        .app()
        .as_user(&t.admin_token)
        .get(&format!("/t/{}/v1/tenant", t.slug))
        .send()
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["slug"], t.slug.as_str());
    // Like every /v1 route: a token of this tenant, and a tenant named.
    assert_problem(
        t.anonymous().get("/v1/tenant").send().await,
        401,
        "unauthorized",
    )
    .await;
    let other = p.tenant("elsewhere").await;
    let res = other.as_user(&t.admin_token).get("/v1/tenant").send().await;
    assert_problem(res, 403, "tenant_mismatch").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_notes_turned_off_refuses_new_notes_and_turned_on_again_allows_them() {
    let p = spawn_platform().await;
    let t = p.tenant("notes").await;
    let (_, agent) = p.user(&t, "agent", "ana").await;
    let (agent, bases) = (t.as_user(&agent), [p.app().url("")]);
    let id = open_ticket(&agent, "VPN down", "Since Monday.").await;
    let comments = format!("/v1/tickets/{id}/comments");
    let note = json!({"body": "Escalate to networking.", "internal": true});
    assert_eq!(agent.post(&comments).json(&note).send().await.status(), 201);

    let since = Instant::now();
    set_features(&p, &t.slug, json!({"internal_notes": false})).await;
    seen_everywhere(&bases, &t, "internal_notes", false, since).await;
    let res = agent.post(&comments).json(&note).send().await;
    let problem = assert_problem(res, 403, "forbidden").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("internal_notes"),
        "the refusal names the feature: {problem}"
    );
    // Public replies are untouched, and staff still read the notes written before.
    let reply = json!({"body": "Looking into it."});
    assert_eq!(
        agent.post(&comments).json(&reply).send().await.status(),
        201
    );
    let seen: Vec<Value> = agent.get(&comments).send().await.json().await.unwrap();
    assert_eq!(seen.iter().filter(|c| c["internal"] == true).count(), 1);

    // Removing the override gives the plan's default back: on.
    let since = Instant::now();
    set_features(&p, &t.slug, json!({"internal_notes": null})).await;
    seen_everywhere(&bases, &t, "internal_notes", true, since).await;
    assert_eq!(agent.post(&comments).json(&note).send().await.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_search_is_refused_on_the_free_plan_until_an_override_turns_it_on() {
    let p = spawn_platform().await;
    let t = p.tenant_on_plan("search", "free").await;
    let (_, cody) = p.user(&t, "customer", "cody").await;
    let (admin, cody, bases) = (t.as_admin(), t.as_user(&cody), [p.app().url("")]);
    let first = open_ticket(&admin, "Printer on fire", "Smoke everywhere.").await;
    let mine = open_ticket(&cody, "Paper jam", "The PRINTER eats 100% of pages.").await;
    open_ticket(&admin, "Desk wobbles", "Third floor.").await;

    let res = admin.get("/v1/tickets?q=printer").send().await;
    let problem = assert_problem(res, 403, "forbidden").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("ticket_search")
    );

    let since = Instant::now();
    set_features(&p, &t.slug, json!({"ticket_search": true})).await;
    seen_everywhere(&bases, &t, "ticket_search", true, since).await;
    let ids = |page: Value| -> Vec<String> {
        let items = page["items"].as_array().unwrap();
        let mut ids: Vec<_> = items
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    // Title or description, any case; a customer finds only their own tickets.
    let mut both = vec![first, mine.clone()];
    both.sort();
    assert_eq!(ids(admin.get("/v1/tickets?q=PRINTER").read().await), both);
    assert_eq!(
        ids(cody.get("/v1/tickets?q=printer").read().await),
        vec![mine.clone()]
    );
    // The text is matched as written: `%` is a character, not a wildcard.
    assert_eq!(
        ids(admin.get("/v1/tickets?q=100%25").read().await),
        vec![mine]
    );
    assert_eq!(
        ids(admin.get("/v1/tickets?q=o%25e").read().await),
        Vec::<String>::new()
    );
    let res = admin.get("/v1/tickets?q=").send().await;
    assert_problem(res, 422, "validation_failed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feature_change_reaches_two_replicas_within_five_seconds() {
    // A cached tenant lives ten minutes here: only the change event can be this quick.
    let p = platform()
        .env("TENANT_CACHE_TTL_MS", "600000")
        .spawn()
        .await;
    let t = p.tenant("spread").await;
    let b = replica(&p, &[]).await;
    let bases = [p.app().url(""), format!("http://127.0.0.1:{}", b.port)];
    // Both replicas have the tenant cached with the plan's defaults.
    for base in &bases {
        let info = tenant_info(base, &t.slug, &t.admin_token).await;
        assert_eq!(info["features"]["internal_notes"], true, "{base}");
    }

    let since = Instant::now();
    set_features(&p, &t.slug, json!({"internal_notes": false})).await;
    seen_everywhere(&bases, &t, "internal_notes", false, since).await;
    // And replica b acts on it, not only shows it.
    let id = open_ticket(&t.as_admin(), "Replica b", "Checks the feature.").await;
    let res = reqwest::Client::new()
        .post(format!("{}/v1/tickets/{id}/comments", bases[1]))
        .header("x-tenant-slug", &t.slug)
        .bearer_auth(&t.admin_token)
        .json(&json!({"body": "note", "internal": true}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;

    let since = Instant::now();
    set_features(&p, &t.slug, json!({"internal_notes": null})).await;
    seen_everywhere(&bases, &t, "internal_notes", true, since).await;
    b.abort();
}
