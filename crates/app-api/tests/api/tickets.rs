//! The helpdesk: tickets and comments, with tenant isolation.

use crate::helpers::{assert_problem, spawn_platform};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_goes_from_customer_to_agent_to_resolved_and_is_deleted_by_an_admin() {
    let p = spawn_platform().await;
    let t = p.tenant("works").await;
    let (agent_id, agent) = p.user(&t, "agent", "ann").await;
    let (customer_id, customer) = p.user(&t, "customer", "cody").await;
    let (_, other_customer) = p.user(&t, "customer", "olga").await;
    let call = |m: Method, path: String, token: &str, body: Option<Value>| {
        let token = token.to_string();
        let p = &p;
        let slug = t.slug.clone();
        async move { p.call(m, &path, &slug, Some(&token), body).await }
    };

    // The customer opens a ticket.
    let res = call(
        Method::POST,
        "/v1/tickets".into(),
        &customer,
        Some(json!({"title": "Printer on fire", "description": "Smoke.", "priority": "urgent"})),
    )
    .await;
    assert_eq!(res.status(), 201);
    let ticket: Value = res.json().await.unwrap();
    let id = ticket["id"].as_str().unwrap().to_string();
    assert_eq!(
        (ticket["status"].as_str(), ticket["requester_id"].as_str()),
        (Some("open"), Some(customer_id.as_str()))
    );

    // Another customer neither sees nor touches it.
    assert_problem(
        call(
            Method::GET,
            format!("/v1/tickets/{id}"),
            &other_customer,
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let list: Value = call(Method::GET, "/v1/tickets".into(), &other_customer, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);
    // Customers cannot assign.
    let res = call(
        Method::PATCH,
        format!("/v1/tickets/{id}"),
        &customer,
        Some(json!({"assignee_id": agent_id})),
    )
    .await;
    assert_problem(res, 403, "forbidden").await;

    // The agent takes it; only staff may be assignees.
    let res = call(
        Method::PATCH,
        format!("/v1/tickets/{id}"),
        &agent,
        Some(json!({"assignee_id": customer_id})),
    )
    .await;
    assert_problem(res, 422, "validation_failed").await;
    let res = call(
        Method::PATCH,
        format!("/v1/tickets/{id}"),
        &agent,
        Some(json!({"assignee_id": agent_id, "status": "in_progress"})),
    )
    .await;
    assert_eq!(res.status(), 200);
    let taken: Value = res.json().await.unwrap();
    assert_eq!(
        (taken["status"].as_str(), taken["assignee_id"].as_str()),
        (Some("in_progress"), Some(agent_id.as_str()))
    );

    // A public reply and an internal note; the customer sees only the reply.
    let res = call(
        Method::POST,
        format!("/v1/tickets/{id}/comments"),
        &agent,
        Some(json!({"body": "On it."})),
    )
    .await;
    assert_eq!(res.status(), 201);
    let res = call(
        Method::POST,
        format!("/v1/tickets/{id}/comments"),
        &agent,
        Some(json!({"body": "Customer unplugged nothing.", "internal": true})),
    )
    .await;
    assert_eq!(res.status(), 201);
    let res = call(
        Method::POST,
        format!("/v1/tickets/{id}/comments"),
        &customer,
        Some(json!({"body": "sneaky", "internal": true})),
    )
    .await;
    assert_problem(res, 403, "forbidden").await;
    let res = call(
        Method::POST,
        format!("/v1/tickets/{id}/comments"),
        &customer,
        Some(json!({"body": "Thanks!"})),
    )
    .await;
    assert_eq!(res.status(), 201);
    let seen: Vec<Value> = call(
        Method::GET,
        format!("/v1/tickets/{id}/comments"),
        &customer,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let bodies: Vec<&str> = seen.iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, vec!["On it.", "Thanks!"]);
    let staff: Vec<Value> = call(
        Method::GET,
        format!("/v1/tickets/{id}/comments"),
        &agent,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(staff.len(), 3);

    // Filters: by assignee and status.
    let mine: Value = call(
        Method::GET,
        format!("/v1/tickets?assignee_id={agent_id}&status=in_progress"),
        &agent,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(mine["total"], 1);
    let none: Value = call(
        Method::GET,
        "/v1/tickets?status=closed".into(),
        &agent,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(none["total"], 0);

    // Resolved; the agent may not delete; the admin does, once.
    let res = call(
        Method::PATCH,
        format!("/v1/tickets/{id}"),
        &agent,
        Some(json!({"status": "resolved"})),
    )
    .await;
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "resolved");
    assert_problem(
        call(Method::DELETE, format!("/v1/tickets/{id}"), &agent, None).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        call(
            Method::DELETE,
            format!("/v1/tickets/{id}"),
            &t.admin_token,
            None
        )
        .await
        .status(),
        204
    );
    assert_problem(
        call(
            Method::DELETE,
            format!("/v1/tickets/{id}"),
            &t.admin_token,
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        call(
            Method::GET,
            format!("/v1/tickets/{id}/comments"),
            &agent,
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_of_one_tenant_is_invisible_from_another() {
    let p = spawn_platform().await;
    let a = p.tenant("apple").await;
    let b = p.tenant("berry").await;
    let res = p
        .call(
            Method::POST,
            "/v1/tickets",
            &a.slug,
            Some(&a.admin_token),
            Some(json!({"title": "A's secret", "description": ""})),
        )
        .await;
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = p
        .call(
            Method::GET,
            &format!("/v1/tickets/{id}"),
            &b.slug,
            Some(&b.admin_token),
            None,
        )
        .await;
    assert_problem(res, 404, "not_found").await;
    let list: Value = p
        .call(
            Method::GET,
            "/v1/tickets",
            &b.slug,
            Some(&b.admin_token),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);
    let res = p
        .call(
            Method::PATCH,
            &format!("/v1/tickets/{id}"),
            &b.slug,
            Some(&b.admin_token),
            Some(json!({"title": "pwned"})),
        )
        .await;
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_and_queries_get_clear_errors_and_50_parallel_creates_all_succeed() {
    let p = spawn_platform().await;
    let t = p.tenant("strict").await;
    let tok = Some(t.admin_token.as_str());
    let bad = json!({"title": "", "description": "x", "priority": "whenever"});
    let body = assert_problem(
        p.call(Method::POST, "/v1/tickets", &t.slug, tok, Some(bad))
            .await,
        422,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["title", "priority"]);
    assert_problem(
        p.call(
            Method::POST,
            "/v1/tickets",
            &t.slug,
            tok,
            Some(json!({"title": 5})),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        p.call(
            Method::POST,
            "/v1/tickets",
            &t.slug,
            tok,
            Some(json!({"title": "t", "description": "d", "extra": 1})),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    let raw = p
        .client
        .post(format!("{}/v1/tickets", p.app))
        .header("x-tenant-slug", &t.slug)
        .bearer_auth(&t.admin_token)
        .header("content-type", "application/json")
        .body("{\"title\": \"unterminated")
        .send()
        .await
        .unwrap();
    assert_problem(raw, 400, "bad_request").await;
    let huge = p
        .client
        .post(format!("{}/v1/tickets", p.app))
        .header("x-tenant-slug", &t.slug)
        .bearer_auth(&t.admin_token)
        .json(&json!({"title": "big", "description": "x".repeat(2 * 1024 * 1024)}))
        .send()
        .await
        .unwrap();
    assert_problem(huge, 413, "payload_too_large").await;
    for q in [
        "per_page=101",
        "per_page=0",
        "page=0",
        "status=nope",
        "priority=meh",
        "assignee_id=not-a-uuid",
        "page=x",
    ] {
        let res = p
            .call(Method::GET, &format!("/v1/tickets?{q}"), &t.slug, tok, None)
            .await;
        assert!(
            matches!(res.status().as_u16(), 400 | 422),
            "{q}: {}",
            res.status()
        );
    }
    assert_problem(
        p.call(Method::GET, "/v1/tickets/not-a-uuid", &t.slug, tok, None)
            .await,
        404,
        "not_found",
    )
    .await;

    let creates = (0..50).map(|i| {
        p.call(
            Method::POST,
            "/v1/tickets",
            &t.slug,
            tok,
            Some(json!({"title": format!("Parallel {i}"), "description": "load"})),
        )
    });
    let statuses: Vec<u16> = futures::future::join_all(creates)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 429),
        "{statuses:?}"
    );
    let created = statuses.iter().filter(|s| **s == 201).count() as i64;
    let list: Value = p
        .call(Method::GET, "/v1/tickets?per_page=100", &t.slug, tok, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["total"].as_i64().unwrap(),
        created,
        "nothing half-created"
    );
    assert_eq!(
        list["items"].as_array().unwrap().len() as i64,
        created.min(100)
    );
    assert!(
        created >= 45,
        "most parallel creates succeed on a pro plan: {statuses:?}"
    );
}
