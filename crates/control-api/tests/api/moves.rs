//! Moving a tenant's database to another server and back, end to end through the API and
//! the CLI: the data copied whole (tickets and comments counted on each side), the source
//! dropped after the grace period, the refusals (404, 409, 422).

mod faults;
mod load;

use platform_harness::{
    PgServer, Platform, TENANT_ADMIN_PASSWORD, assert_problem, pg_connect, spawn_control,
    with_database,
};
use serde_json::{Value, json};

/// Fills the tenant database with `n` tickets, three comments each, behind the API's
/// back (as the superuser, into the tenant's own tables).
pub(crate) async fn seed(pg: &tokio_postgres::Client, n: i64) {
    pg.batch_execute(&format!(
        "INSERT INTO tickets (title, description, requester_id)
             SELECT 'ticket ' || g, 'seeded', (SELECT id FROM users LIMIT 1)
             FROM generate_series(1, {n}) g;
         INSERT INTO comments (ticket_id, author_id, body)
             SELECT t.id, t.requester_id, 'comment ' || c
             FROM tickets t, generate_series(1, 3) c;"
    ))
    .await
    .unwrap();
}

/// (tickets, comments) in database `db` of the server `admin_url` points at.
pub(crate) async fn counts(admin_url: &str, db: &str) -> (i64, i64) {
    let pg = pg_connect(&with_database(admin_url, db)).await.unwrap();
    let row = pg
        .query_one(
            "SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM comments)",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// This test's tenant databases and roles on the server `admin_url` points at.
pub(crate) async fn leftovers(p: &Platform, admin_url: &str) -> (Vec<String>, Vec<String>) {
    let pg = pg_connect(admin_url).await.unwrap();
    let names = |sql: &'static str| {
        let (pg, like) = (&pg, p.names.tenant_like());
        async move {
            pg.query(sql, &[&like])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
        }
    };
    (
        names("SELECT datname FROM pg_database WHERE datname LIKE $1 AND NOT datistemplate ORDER BY 1")
            .await,
        names(
            "SELECT rolname::text FROM pg_roles WHERE rolname LIKE $1
             AND shobj_description(oid, 'pg_authid') IS DISTINCT FROM 'tenancy:template-owner'
             ORDER BY 1",
        )
        .await,
    )
}

/// An active tenant on `default` with `n` tickets; its registry entry.
pub(crate) async fn seeded_tenant(p: &Platform, name: &str, n: i64) -> Value {
    let slug = p.slug(name);
    let res = p
        .create_tenant_placed(&slug, "pro", TENANT_ADMIN_PASSWORD, Some("default"))
        .await;
    assert_eq!(res.status(), 202);
    let t = p.wait_for_status(&slug, "active").await;
    seed(&p.pg(t["db_name"].as_str().unwrap()).await, n).await;
    t
}

/// Asks for the move; the 202 answer.
pub(crate) async fn start_move(p: &Platform, slug: &str, server: &str) -> Value {
    let res = p
        .root()
        .post(&format!("/v1/tenants/{slug}/move"))
        .json(&json!({ "server": server }))
        .send()
        .await;
    let status = res.status();
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        location.as_deref(),
        Some(format!("/v1/jobs/{}", body["job"]["id"].as_str().unwrap()).as_str())
    );
    body
}

/// Moves and waits for the job's end; the job.
pub(crate) async fn move_to(p: &Platform, slug: &str, server: &str) -> Value {
    let body = start_move(p, slug, server).await;
    assert_eq!(body["status"], "moving", "{body}");
    assert_eq!(body["job"]["kind"], "move", "{body}");
    let id = body["job"]["id"].as_str().unwrap().to_string();
    p.wait_for_job(&id, |j| {
        !matches!(j["state"].as_str(), Some("queued" | "running" | "retrying"))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_moves_to_another_server_and_back_with_all_its_data() {
    let p = spawn_control().await;
    let second = PgServer::start().await;
    p.add_server("second", &second, 10).await;
    let main_url = platform_harness::pg_admin_url();
    let t = seeded_tenant(&p, "mover", 20).await;
    let slug = t["slug"].as_str().unwrap();
    let first_db = t["db_name"].as_str().unwrap().to_string();

    let job = move_to(&p, slug, "second").await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["step"], "drop_source", "{job}");
    assert_eq!(
        (&job["source_server"], &job["target_server"]),
        (&json!("default"), &json!("second"))
    );
    let moved = p.root().get(&format!("/v1/tenants/{slug}")).read().await;
    assert_eq!(
        (&moved["status"], &moved["server"]),
        (&json!("active"), &json!("second")),
        "{moved}"
    );
    let db = moved["db_name"].as_str().unwrap().to_string();
    assert_ne!(db, first_db);
    assert_eq!(counts(&second.admin_url(), &db).await, (20, 60));
    assert_eq!(
        leftovers(&p, &main_url).await,
        (vec![], vec![]),
        "source database and role dropped"
    );
    let (dbs, roles) = leftovers(&p, &second.admin_url()).await;
    assert_eq!((dbs, roles.len()), (vec![db.clone()], 1));

    // And back: the role is made again on default, the database named after the new job.
    let job = move_to(&p, slug, "default").await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let back = p.root().get(&format!("/v1/tenants/{slug}")).read().await;
    assert_eq!(back["server"], "default", "{back}");
    let db = back["db_name"].as_str().unwrap().to_string();
    assert_eq!(counts(&main_url, &db).await, (20, 60));
    assert_eq!(leftovers(&p, &second.admin_url()).await, (vec![], vec![]));
    assert_eq!(leftovers(&p, &main_url).await.0, vec![db]);

    // Recorded: two audit entries, two successes in the metric.
    let page = p
        .root()
        .get(&format!("/v1/audit?action=tenant.move&tenant={slug}"))
        .read()
        .await;
    let entries = page["items"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{page}");
    let first = &entries[1]["changes"];
    assert_eq!(
        (&first["from_server"], &first["to_server"]),
        (&json!("default"), &json!("second")),
        "{first}"
    );
    assert_eq!(first["after"]["status"], "moving", "{first}");
    let metrics = p.root().get("/metrics").text().await;
    assert!(
        metrics.contains("tenant_moves_total{outcome=\"succeeded\"} 2"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_is_refused_to_an_unknown_the_same_or_a_draining_server_and_for_a_bad_body() {
    let p = spawn_control().await;
    let second = PgServer::start().await;
    p.add_server("second", &second, 10).await;
    let t = seeded_tenant(&p, "refused", 1).await;
    let slug = t["slug"].as_str().unwrap();
    let path = format!("/v1/tenants/{slug}/move");
    let post = |body: Value| p.root().post(&path).json(&body).send();

    assert_problem(post(json!({"server": "nowhere"})).await, 404, "not_found").await;
    assert_problem(post(json!({"server": "default"})).await, 409, "conflict").await;
    for bad in [
        json!({}),
        json!({"server": "Not A Name"}),
        json!({"server": 7}),
        json!({"server": "second", "extra": true}),
    ] {
        assert_problem(post(bad).await, 422, "validation_failed").await;
    }
    let res = p
        .root()
        .post(&format!("/v1/tenants/{}/move", p.slug("ghost")))
        .json(&json!({"server": "second"}))
        .send()
        .await;
    assert_problem(res, 404, "tenant_not_found").await;

    // Not active: suspended.
    p.root()
        .post(&format!("/v1/tenants/{slug}/suspend"))
        .send()
        .await;
    p.wait_for_status(slug, "suspended").await;
    assert_problem(post(json!({"server": "second"})).await, 409, "conflict").await;
    p.root()
        .post(&format!("/v1/tenants/{slug}/activate"))
        .send()
        .await;
    p.wait_for_status(slug, "active").await;

    // Draining.
    p.root()
        .patch("/v1/servers/second")
        .json(&json!({"state": "draining"}))
        .read()
        .await;
    assert_problem(post(json!({"server": "second"})).await, 409, "conflict").await;

    // Nothing moved, nothing was made on the second server.
    let now = p.root().get(&format!("/v1/tenants/{slug}")).read().await;
    assert_eq!(
        (&now["server"], &now["status"]),
        (&json!("default"), &json!("active"))
    );
    assert_eq!(leftovers(&p, &second.admin_url()).await, (vec![], vec![]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_moves_a_tenant_with_progress_and_fails_loudly() {
    let p = spawn_control().await;
    let second = PgServer::start().await;
    p.add_server("second", &second, 10).await;
    let t = seeded_tenant(&p, "climove", 5).await;
    let slug = t["slug"].as_str().unwrap();

    let out = crate::cli_run::control_api(&p, &["tenants", "move", slug, "--to", "second"], "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("step: ") && stdout.contains("done") && stdout.contains("server second"),
        "{stdout}"
    );
    let moved = p.root().get(&format!("/v1/tenants/{slug}")).read().await;
    assert_eq!(moved["server"], "second", "{moved}");
    assert_eq!(
        counts(&second.admin_url(), moved["db_name"].as_str().unwrap()).await,
        (5, 15)
    );

    // Refused: already there.
    let out = crate::cli_run::control_api(&p, &["tenants", "move", slug, "--to", "second"], "");
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("already on server"), "{said}");
}
