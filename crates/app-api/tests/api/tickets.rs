//! The helpdesk: tickets and comments, with tenant isolation.

use platform_harness::{assert_problem, spawn_platform};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_goes_from_customer_to_agent_to_resolved_and_is_deleted_by_an_admin() {
    let p = spawn_platform().await;
    let t = p.tenant("works").await;
    let (agent_id, agent) = p.user(&t, "agent", "ann").await;
    let (customer_id, customer) = p.user(&t, "customer", "cody").await;
    let (_, other_customer) = p.user(&t, "customer", "olga").await;
    let (agent, customer, other_customer, admin) = (
        t.as_user(&agent),
        t.as_user(&customer),
        t.as_user(&other_customer),
        t.as_admin(),
    );

    // The customer opens a ticket.
    let res = customer
        .post("/v1/tickets")
        .json(&json!({"title": "Printer on fire", "description": "Smoke.", "priority": "urgent"}))
        .send()
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
        other_customer
            .get(&format!("/v1/tickets/{id}"))
            .send()
            .await,
        404,
        "not_found",
    )
    .await;
    let list: Value = other_customer
        .get("/v1/tickets")
        .send()
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);
    // Customers cannot assign.
    let res = customer
        .patch(&format!("/v1/tickets/{id}"))
        .json(&json!({"assignee_id": agent_id}))
        .send()
        .await;
    assert_problem(res, 403, "forbidden").await;

    // The agent takes it; only staff may be assignees.
    let res = agent
        .patch(&format!("/v1/tickets/{id}"))
        .json(&json!({"assignee_id": customer_id}))
        .send()
        .await;
    assert_problem(res, 422, "validation_failed").await;
    let res = agent
        .patch(&format!("/v1/tickets/{id}"))
        .json(&json!({"assignee_id": agent_id, "status": "in_progress"}))
        .send()
        .await;
    assert_eq!(res.status(), 200);
    let taken: Value = res.json().await.unwrap();
    assert_eq!(
        (taken["status"].as_str(), taken["assignee_id"].as_str()),
        (Some("in_progress"), Some(agent_id.as_str()))
    );

    // A public reply and an internal note; the customer sees only the reply.
    let res = agent
        .post(&format!("/v1/tickets/{id}/comments"))
        .json(&json!({"body": "On it."}))
        .send()
        .await;
    assert_eq!(res.status(), 201);
    let res = agent
        .post(&format!("/v1/tickets/{id}/comments"))
        .json(&json!({"body": "Customer unplugged nothing.", "internal": true}))
        .send()
        .await;
    assert_eq!(res.status(), 201);
    let res = customer
        .post(&format!("/v1/tickets/{id}/comments"))
        .json(&json!({"body": "sneaky", "internal": true}))
        .send()
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = customer
        .post(&format!("/v1/tickets/{id}/comments"))
        .json(&json!({"body": "Thanks!"}))
        .send()
        .await;
    assert_eq!(res.status(), 201);
    let seen: Vec<Value> = customer
        .get(&format!("/v1/tickets/{id}/comments"))
        .send()
        .await
        .json()
        .await
        .unwrap();
    let bodies: Vec<&str> = seen.iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, vec!["On it.", "Thanks!"]);
    let staff: Vec<Value> = agent
        .get(&format!("/v1/tickets/{id}/comments"))
        .send()
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(staff.len(), 3);

    // Filters: by assignee and status.
    let mine: Value = agent
        .get(&format!(
            "/v1/tickets?assignee_id={agent_id}&status=in_progress"
        ))
        .send()
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 1);
    let none: Value = agent
        .get("/v1/tickets?status=closed")
        .send()
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["total"], 0);

    // Resolved; the agent may not delete; the admin does, once.
    let res = agent
        .patch(&format!("/v1/tickets/{id}"))
        .json(&json!({"status": "resolved"}))
        .send()
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "resolved");
    assert_problem(
        agent.delete(&format!("/v1/tickets/{id}")).send().await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        admin
            .delete(&format!("/v1/tickets/{id}"))
            .send()
            .await
            .status(),
        204
    );
    assert_problem(
        admin.delete(&format!("/v1/tickets/{id}")).send().await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        agent
            .get(&format!("/v1/tickets/{id}/comments"))
            .send()
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
    let res = a
        .as_admin()
        .post("/v1/tickets")
        .json(&json!({"title": "A's secret", "description": ""}))
        .send()
        .await;
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = b.as_admin().get(&format!("/v1/tickets/{id}")).send().await;
    assert_problem(res, 404, "not_found").await;
    let list: Value = b
        .as_admin()
        .get("/v1/tickets")
        .send()
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0);
    let res = b
        .as_admin()
        .patch(&format!("/v1/tickets/{id}"))
        .json(&json!({"title": "pwned"}))
        .send()
        .await;
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_and_queries_get_clear_errors_and_50_parallel_creates_all_succeed() {
    let p = spawn_platform().await;
    let t = p.tenant("strict").await;
    let bad = json!({"title": "", "description": "x", "priority": "whenever"});
    let body = assert_problem(
        t.as_admin().post("/v1/tickets").json(&bad).send().await,
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
        t.as_admin()
            .post("/v1/tickets")
            .json(&json!({"title": 5}))
            .send()
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        t.as_admin()
            .post("/v1/tickets")
            .json(&json!({"title": "t", "description": "d", "extra": 1}))
            .send()
            .await,
        422,
        "validation_failed",
    )
    .await;
    let raw = t
        .as_admin()
        .post("/v1/tickets")
        .header("content-type", "application/json")
        .body("{\"title\": \"unterminated")
        .send()
        .await;
    assert_problem(raw, 400, "bad_request").await;
    let huge = t
        .as_admin()
        .post("/v1/tickets")
        .json(&json!({"title": "big", "description": "x".repeat(2 * 1024 * 1024)}))
        .send()
        .await;
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
        let res = t.as_admin().get(&format!("/v1/tickets?{q}")).send().await;
        assert!(
            matches!(res.status().as_u16(), 400 | 422),
            "{q}: {}",
            res.status()
        );
    }
    assert_problem(
        t.as_admin().get("/v1/tickets/not-a-uuid").send().await,
        404,
        "not_found",
    )
    .await;

    let creates = (0..50).map(|i| {
        t.as_admin()
            .post("/v1/tickets")
            .json(&json!({"title": format!("Parallel {i}"), "description": "load"}))
            .send()
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
    let list: Value = t
        .as_admin()
        .get("/v1/tickets?per_page=100")
        .send()
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
