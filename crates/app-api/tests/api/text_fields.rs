//! Text PostgreSQL cannot store (a NUL byte) is refused at the edge for every text field of
//! the app plane: a 422 naming the field, nothing written, and no ERROR line for it.

use platform_harness::{LogCapture, assert_field_refused, spawn_platform};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_in_any_text_field_is_a_422_naming_it_and_writes_nothing() {
    let p = spawn_platform().await;
    let t = p.tenant("nul-fields").await;
    let admin = t.as_admin();
    let mut request_ids = Vec::new();

    for (field, body) in [
        ("title", json!({"title": "a\u{0}b", "description": "d"})),
        (
            "description",
            json!({"title": "t", "description": "d\u{0}"}),
        ),
    ] {
        request_ids.push(
            assert_field_refused(admin.post("/v1/tickets").json(&body).send().await, field).await,
        );
    }
    let ticket: Value = admin
        .post("/v1/tickets")
        .json(&json!({"title": "kept", "description": "kept"}))
        .read()
        .await;
    let ticket_path = format!("/v1/tickets/{}", ticket["id"].as_str().unwrap());
    for (field, body) in [
        ("title", json!({"title": "\u{0}"})),
        ("description", json!({"description": "x\u{0}y"})),
    ] {
        request_ids.push(
            assert_field_refused(admin.patch(&ticket_path).json(&body).send().await, field).await,
        );
    }
    let comments = format!("{ticket_path}/comments");
    let res = admin
        .post(&comments)
        .json(&json!({"body": "x\u{0}y"}))
        .send()
        .await;
    request_ids.push(assert_field_refused(res, "body").await);

    let good_user =
        json!({"email": "nul@x.test", "name": "N", "role": "agent", "password": "password-123"});
    for field in ["email", "name", "password"] {
        let mut body = good_user.clone();
        body[field] = json!(format!("{}\u{0}", body[field].as_str().unwrap()));
        request_ids.push(
            assert_field_refused(admin.post("/v1/users").json(&body).send().await, field).await,
        );
    }
    let (user_id, _) = p.user(&t, "agent", "agnes").await;
    let user_path = format!("/v1/users/{user_id}");
    for (field, body) in [
        ("name", json!({"name": "A\u{0}"})),
        ("password", json!({"password": "password-\u{0}-123"})),
    ] {
        request_ids.push(
            assert_field_refused(admin.patch(&user_path).json(&body).send().await, field).await,
        );
    }

    // No token needed to reach these: the login's email and password.
    for (field, body) in [
        (
            "email",
            json!({"email": "admin\u{0}@x.test", "password": "whatever-123"}),
        ),
        (
            "password",
            json!({"email": "admin@x.test", "password": "what\u{0}ever"}),
        ),
    ] {
        let res = t
            .anonymous()
            .post("/v1/auth/login")
            .json(&body)
            .send()
            .await;
        request_ids.push(assert_field_refused(res, field).await);
    }

    let pg = p.pg(&t.db_name).await;
    let row = pg
        .query_one(
            "SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM comments),
                    (SELECT count(*) FROM users WHERE email = 'nul@x.test'),
                    (SELECT count(*) FROM tickets WHERE title = 'kept' AND description = 'kept'),
                    (SELECT count(*) FROM users WHERE id::text = $1 AND name = 'agnes')",
            &[&user_id],
        )
        .await
        .unwrap();
    let counts: Vec<i64> = (0..5).map(|i| row.get(i)).collect();
    assert_eq!(counts, [1, 0, 0, 1, 1], "nothing written, nothing changed");

    let logs = LogCapture::global().contents();
    for id in request_ids.iter().filter(|id| !id.is_empty()) {
        let errors: Vec<_> = logs
            .lines()
            .filter(|l| l.contains(id.as_str()) && l.contains("ERROR"))
            .collect();
        assert!(
            errors.is_empty(),
            "request {id} logged an ERROR: {errors:?}"
        );
    }
    assert!(
        !request_ids.iter().any(String::is_empty),
        "every answer has a request id"
    );
}
