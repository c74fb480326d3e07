//! Several database servers: tenants placed by room relative to capacity, pinned by
//! `server`, never on a draining server; the admin URL never leaves the registry; the CLI
//! (`servers add|list|drain`, `tenants migrate`) over two servers. Each test starts a real
//! second PostgreSQL server of its own (`PgServer`).

use platform_harness::{LogCapture, PgServer, Platform, assert_problem, pg_connect, spawn_control};
use serde_json::{Value, json};

/// The tenant databases this test made on `server` (through its own superuser).
async fn databases_on(p: &Platform, server: &PgServer) -> Vec<String> {
    let pg = pg_connect(&server.admin_url()).await.unwrap();
    pg.query(
        "SELECT datname FROM pg_database WHERE datname LIKE $1 AND NOT datistemplate ORDER BY 1",
        &[&p.names.tenant_like()],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

async fn create(p: &Platform, name: &str, server: Option<&str>) -> Value {
    let slug = p.slug(name);
    let res = p
        .create_tenant_placed(&slug, "free", "place-admin-pw", server)
        .await;
    assert_eq!(res.status(), 202);
    let created: Value = res.json().await.unwrap();
    let active = p.wait_for_status(&slug, "active").await;
    assert_eq!(active["server"], created["server"], "{active}");
    created["server"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_spread_by_room_for_capacity_pinned_by_server_and_never_on_a_draining_server() {
    let p = spawn_control().await;
    let second = PgServer::start().await;
    // A password in the admin URL (trust auth accepts it): it must never come back out.
    let secret = format!("srv-{}-never-show", uuid::Uuid::new_v4().simple());
    let url = format!(
        "postgres://postgres:{secret}@127.0.0.1:{}/postgres",
        second.port()
    );
    let added = p.add_server_with_url("second", &second, &url, 6).await;
    assert_eq!(added["state"], "accepting", "{added}");
    assert_eq!(
        (added["tenants"].clone(), added["capacity"].clone()),
        (json!(0), json!(6))
    );
    let patched = p
        .root()
        .patch("/v1/servers/default")
        .json(&json!({"capacity": 2}))
        .read()
        .await;
    assert_eq!(patched["capacity"], 2, "{patched}");

    // Room relative to capacity: default 2/2 ties second 6/6 (first by name), then second
    // has more room each time (6/6 > 1/2, 5/6 > 1/2, 4/6 > 1/2).
    let mut placed = Vec::new();
    for i in 0..4 {
        placed.push(create(&p, &format!("spread{i}"), None).await);
    }
    assert_eq!(placed, ["default", "second", "second", "second"]);
    assert_eq!(
        databases_on(&p, &second).await.len(),
        3,
        "the databases are on the second server"
    );

    // Pinned: on default although second has more room; a full server refuses a pin.
    assert_eq!(create(&p, "pinned", Some("default")).await, "default");
    let res = p
        .create_tenant_placed(
            &p.slug("overfull"),
            "free",
            "place-admin-pw",
            Some("default"),
        )
        .await;
    assert_problem(res, 409, "conflict").await;

    // Draining: no new tenant, pinned or not; an unknown server is a 422.
    p.root()
        .patch("/v1/servers/default")
        .json(&json!({"capacity": 10}))
        .read()
        .await;
    let drained = p
        .root()
        .patch("/v1/servers/second")
        .json(&json!({"state": "draining"}))
        .read()
        .await;
    assert_eq!(drained["state"], "draining", "{drained}");
    assert_eq!(create(&p, "after-drain", None).await, "default");
    let res = p
        .create_tenant_placed(
            &p.slug("to-drained"),
            "free",
            "place-admin-pw",
            Some("second"),
        )
        .await;
    assert_problem(res, 409, "conflict").await;
    let res = p
        .create_tenant_placed(
            &p.slug("nowhere"),
            "free",
            "place-admin-pw",
            Some("nowhere"),
        )
        .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "server", "{body}");
    assert_eq!(databases_on(&p, &second).await.len(), 3);

    // The registry's view: counts per server, the tenant filter, the metric.
    let listed = p.root().get("/v1/servers").read().await;
    let counts: Vec<(Value, Value)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].clone(), s["tenants"].clone()))
        .collect();
    assert_eq!(
        counts,
        [(json!("default"), json!(3)), (json!("second"), json!(3))]
    );
    let one = p.root().get("/v1/servers/second").read().await;
    assert_eq!(one["tenants"], 3, "{one}");
    let on_second = p.root().get("/v1/tenants?server=second").read().await;
    assert_eq!(on_second["total"], 3, "{on_second}");
    assert!(
        on_second["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["server"] == "second")
    );
    let metrics = p.control().get("/metrics").text().await;
    assert!(
        metrics.contains("db_server_tenants{server=\"second\"} 3"),
        "{metrics}"
    );
    let ready = p.control().get("/health/ready").read().await;
    assert_eq!(
        ready["checks"]["db_servers"]["second"]["status"], "ok",
        "{ready}"
    );

    // The admin URL (and its password) is in no response, Redis entry or log line.
    let mut bodies = vec![
        added.to_string(),
        listed.to_string(),
        one.to_string(),
        drained.to_string(),
    ];
    bodies.push(ready.to_string());
    // Registering and draining are audited, with the server's name and never its admin URL.
    let audit = p.root().get("/v1/audit?per_page=100").read().await;
    let actions: Vec<(String, String)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("server."))
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["changes"].to_string(),
            )
        })
        .collect();
    assert!(
        actions
            .iter()
            .any(|(a, c)| a == "server.add" && c.contains("\"second\"")),
        "{actions:?}"
    );
    assert!(
        actions
            .iter()
            .any(|(a, c)| a == "server.update" && c.contains("draining")),
        "{actions:?}"
    );
    bodies.push(audit.to_string());
    for body in &bodies {
        assert!(
            !body.contains(&secret),
            "the admin URL's password in a response: {body}"
        );
        assert!(
            !body.contains("admin_url"),
            "an admin URL field in a response: {body}"
        );
    }
    let redis = platform_harness::redis_dump(&p.names.redis_prefix)
        .await
        .unwrap();
    assert!(
        !redis
            .iter()
            .any(|(k, v)| k.contains(&secret) || v.contains(&secret)),
        "in Redis"
    );
    assert!(
        !LogCapture::global().contents().contains(&secret),
        "the admin URL in a log line"
    );
    assert!(!metrics.contains(&secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_requests_are_validated_and_need_a_super_admin() {
    let p = spawn_control().await;
    assert_problem(
        p.control().get("/v1/servers").send().await,
        401,
        "unauthorized",
    )
    .await;
    let bad = json!({"name": "Bad Name", "host": "", "port": 0, "admin_url": "mysql://x", "capacity": -1});
    let body = assert_problem(
        p.root().post("/v1/servers").json(&bad).send().await,
        422,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["name", "host", "port", "admin_url", "capacity"],
        "{body}"
    );
    let taken =
        json!({"name": "default", "host": "h", "port": 5432, "admin_url": "postgres://h/postgres"});
    assert_problem(
        p.root().post("/v1/servers").json(&taken).send().await,
        409,
        "conflict",
    )
    .await;
    assert_problem(
        p.root().get("/v1/servers/nope").send().await,
        404,
        "not_found",
    )
    .await;
    let res = p
        .root()
        .patch("/v1/servers/default")
        .json(&json!({"state": "closed"}))
        .send()
        .await;
    assert_problem(res, 422, "validation_failed").await;
    let res = p.root().get("/v1/tenants?server=No!").send().await;
    assert_problem(res, 422, "validation_failed").await;
    let default = p.root().get("/v1/servers/default").read().await;
    assert_eq!(
        (default["host"].clone(), default["port"].clone()),
        (json!("127.0.0.1"), json!(5432))
    );
}

/// Runs `control-api ARGS` with `stdin`; (success, stdout and stderr).
fn cli(p: &Platform, args: &[&str], stdin: &str) -> (bool, String) {
    let out = crate::cli_run::control_api(p, args, stdin);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.success(), format!("{stdout}{stderr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_adds_lists_and_drains_servers_and_migrates_tenants_on_every_server() {
    let p = spawn_control().await;
    let second = PgServer::start().await;
    let port = second.port().to_string();
    let args = [
        "servers",
        "add",
        "second",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--admin-url-stdin",
        "--capacity",
        "5",
    ];
    let (ok, out) = cli(&p, &args, &format!("{}\n", second.admin_url()));
    assert!(ok, "{out}");
    assert!(!out.contains(&second.admin_url()), "{out}");
    let a = create(&p, "mig-a", Some("default")).await;
    let b = create(&p, "mig-b", Some("second")).await;
    assert_eq!((a, b), (json!("default"), json!("second")));

    let (ok, out) = cli(&p, &["tenants", "migrate", "--concurrency", "2"], "");
    assert!(ok, "{out}");
    for (slug, server) in [(p.slug("mig-a"), "default"), (p.slug("mig-b"), "second")] {
        assert!(
            out.contains(&format!("{slug}\t{server}\tup to date")),
            "{slug} on {server}: {out}"
        );
    }
    assert!(out.contains("2 tenants on 2 server(s)"), "{out}");
    let (ok, out) = cli(&p, &["tenants", "migrate", "--server", "second"], "");
    assert!(
        ok && out.contains("1 tenants on 1 server(s)") && !out.contains(&p.slug("mig-a")),
        "{out}"
    );
    let (ok, out) = cli(&p, &["tenants", "migrate", "--server", "nowhere"], "");
    assert!(!ok && out.contains("no database server `nowhere`"), "{out}");

    let (ok, out) = cli(&p, &["servers", "drain", "second"], "");
    assert!(ok, "{out}");
    let (ok, out) = cli(&p, &["servers", "list"], "");
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("second\t127.0.0.1\t{port}\tdraining\t1\t5")),
        "{out}"
    );
    assert!(
        out.contains("default\t127.0.0.1\t5432\taccepting\t1\t"),
        "{out}"
    );
}
