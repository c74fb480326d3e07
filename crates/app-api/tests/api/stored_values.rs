//! Values the database refuses or should never hold: a NUL byte from a client is that
//! client's mistake (422), a stored word outside its enum is ours (500, logged with the word).

use platform_harness::{LogCapture, assert_problem, spawn_platform};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_byte_in_text_is_a_validation_failure_not_a_server_error() {
    let p = spawn_platform().await;
    let t = p.tenant("nul-bytes").await;
    let post = |path: &'static str, body: Value| {
        let api = t.as_admin();
        async move { api.post(path).json(&body).send().await }
    };

    assert_problem(
        post(
            "/v1/tickets",
            json!({"title": "a\u{0}b", "description": "d"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        post(
            "/v1/users",
            json!({"email": "nul@x.test", "name": "N\u{0}L", "role": "agent", "password": "password-123"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;

    let res = post("/v1/tickets", json!({"title": "fine", "description": "d"})).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let comments = format!("/v1/tickets/{id}/comments");
    assert_problem(
        t.as_admin()
            .post(&comments)
            .json(&json!({"body": "x\u{0}y"}))
            .send()
            .await,
        422,
        "validation_failed",
    )
    .await;
    // Nothing half-written: the ticket is there, the comment and user are not.
    let pg = p.pg(&t.db_name).await;
    let counts = pg
        .query_one(
            "SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM comments),
                    (SELECT count(*) FROM users WHERE email = 'nul@x.test')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            counts.get::<_, i64>(0),
            counts.get::<_, i64>(1),
            counts.get::<_, i64>(2)
        ),
        (1, 0, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_stored_status_or_role_is_a_logged_500_never_a_default() {
    let p = spawn_platform().await;
    let t = p.tenant("bad-words").await;
    let res = t
        .as_admin()
        .post("/v1/tickets")
        .json(&json!({"title": "t", "description": "d"}))
        .send()
        .await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (user_id, _) = p.user(&t, "agent", "agnes").await;

    // As a superuser, past the check constraints the migrations put there.
    let pg = p.pg(&t.db_name).await;
    pg.batch_execute(&format!(
        "ALTER TABLE tickets DROP CONSTRAINT tickets_status_check;
         UPDATE tickets SET status = 'escalated' WHERE id = '{id}';
         ALTER TABLE users DROP CONSTRAINT users_role_check;
         UPDATE users SET role = 'overlord' WHERE id = '{user_id}';"
    ))
    .await
    .unwrap();

    for path in [format!("/v1/tickets/{id}"), "/v1/tickets".to_string()] {
        let body = assert_problem(t.as_admin().get(&path).send().await, 500, "internal").await;
        assert!(!body.to_string().contains("escalated"), "{body}");
    }
    let body = assert_problem(t.as_admin().get("/v1/users").send().await, 500, "internal").await;
    assert!(!body.to_string().contains("overlord"), "{body}");

    let logs = LogCapture::global().contents();
    assert!(
        logs.contains("unknown ticket status `escalated`"),
        "the log names the bad status"
    );
    assert!(
        logs.contains("unknown role `overlord`"),
        "the log names the bad role"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_enum_word() {
    let p = spawn_platform().await;
    let spec: Value = p.app().get("/openapi.json").read().await;
    let schemas = &spec["components"]["schemas"];
    for (name, words) in [
        (
            "TicketStatus",
            json!(["open", "in_progress", "resolved", "closed"]),
        ),
        ("TicketPriority", json!(["low", "medium", "high", "urgent"])),
        ("Role", json!(["admin", "agent", "customer"])),
    ] {
        assert_eq!(schemas[name]["enum"], words, "{name} in {schemas}");
    }
}
