//! A tenant whose database is being moved or restored: reads are served from the current
//! database, writes wait (503 `tenant_moving`), and the database server itself refuses a
//! write from a replica that has not heard of the move yet.

use platform_harness::{assert_problem, spawn_platform};
use serde_json::json;
use tenancy_core::domain::TenantSlug;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moving_tenant_is_read_but_not_written_and_its_fenced_database_refuses_writes() {
    let p = spawn_platform().await;
    let t = p.tenant("moving").await;
    let admin = t.as_admin();
    let ticket = json!({"title": "Before the move", "description": "kept"});
    let res = admin.post("/v1/tickets").json(&ticket).send().await;
    assert_eq!(res.status(), 201);
    let id = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The server fences the database the way a move does; this replica still sees the
    // tenant `active` and tries to write: the database refuses, the client hears 503
    // `tenant_moving` (not a 500). The fence ends the pool's sessions, so the first try
    // may meet a closed connection (503 too) before a new, read-only one.
    let admin_db = p.pg("postgres").await;
    admin_db
        .batch_execute(&format!(
            "ALTER DATABASE \"{db}\" SET default_transaction_read_only = on;
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}';",
            db = t.db_name
        ))
        .await
        .unwrap();
    let mut refused = None;
    for _ in 0..5 {
        let res = admin.post("/v1/tickets").json(&ticket).send().await;
        assert_eq!(res.status(), 503, "a write to a read-only database");
        let body: serde_json::Value = res.json().await.unwrap();
        if body["code"] == "tenant_moving" {
            refused = Some(body);
            break;
        }
        assert_eq!(body["code"], "service_unavailable", "{body}");
    }
    assert!(
        refused.is_some(),
        "the read-only database's refusal never reached the client"
    );
    assert_eq!(
        admin
            .get(&format!("/v1/tickets/{id}"))
            .send()
            .await
            .status(),
        200
    );

    // The registry says `moving` and this replica hears of it: reads (and login, which
    // writes nothing) are served, every write is refused before it reaches the database.
    let ctl = p.pg(&p.names.control_db).await;
    ctl.execute(
        "UPDATE tenants SET status = 'moving' WHERE slug = $1",
        &[&t.slug],
    )
    .await
    .unwrap();
    let slug = TenantSlug::parse(&t.slug).unwrap();
    p.app_state().directory.invalidate(slug.as_str()).await;
    assert_eq!(
        admin
            .get(&format!("/v1/tickets/{id}"))
            .send()
            .await
            .status(),
        200
    );
    assert_eq!(admin.get("/v1/tickets").send().await.status(), 200);
    let login = t
        .anonymous()
        .post("/v1/auth/login")
        .json(&json!({"email": format!("owner@{}.test", t.slug), "password": platform_harness::TENANT_ADMIN_PASSWORD}))
        .send()
        .await;
    assert_eq!(login.status(), 200);
    let writes = [
        admin.post("/v1/tickets").json(&ticket).send().await,
        admin
            .patch(&format!("/v1/tickets/{id}"))
            .json(&json!({"status": "closed"}))
            .send()
            .await,
        admin
            .post(&format!("/v1/tickets/{id}/comments"))
            .json(&json!({"body": "lost?"}))
            .send()
            .await,
        admin.delete(&format!("/v1/tickets/{id}")).send().await,
    ];
    for res in writes {
        assert!(res.headers().get("retry-after").is_some());
        assert_problem(res, 503, "tenant_moving").await;
    }

    // Nothing was written meanwhile: one ticket, still open.
    admin_db
        .batch_execute(&format!(
            "ALTER DATABASE \"{}\" RESET default_transaction_read_only",
            t.db_name
        ))
        .await
        .unwrap();
    let list: serde_json::Value = admin.get("/v1/tickets").send().await.json().await.unwrap();
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["status"], "open", "{list}");
}
