//! A server is checked before it is registered: its admin URL must connect, with a role
//! that may create databases and roles. Each refusal is a 422 naming `admin_url`, through
//! the API and the CLI, registers nothing, and never repeats the URL or its password in an
//! answer, the CLI's output or a log line. The servers are real: a second PostgreSQL of the
//! test's own that wants passwords, and a port nothing listens on.

use platform_harness::{LogCapture, PgServer, Platform, assert_problem, pg_connect, spawn_control};
use serde_json::{Value, json};

/// A port of 127.0.0.1 nothing listens on (bound, then let go).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// `POST /v1/servers` for `name` with `url`: the refusal's one `admin_url` message.
async fn refused(p: &Platform, name: &str, port: u16, url: &str) -> (String, String) {
    let body = json!({"name": name, "host": "127.0.0.1", "port": port, "admin_url": url});
    let res = p.root().post("/v1/servers").json(&body).send().await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    let errors = problem["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{problem}");
    assert_eq!(errors[0]["field"], "admin_url", "{problem}");
    (
        errors[0]["message"].as_str().unwrap().to_string(),
        problem.to_string(),
    )
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_that_cannot_hold_tenants_are_refused_without_echoing_their_url() {
    let p = spawn_control().await;
    let secret = format!("pw-{}-never-shown", uuid::Uuid::new_v4().simple());
    let second = PgServer::start_with_password(&secret).await;
    // A login role without CREATEDB, and one with CREATEDB but not CREATEROLE.
    let admin = pg_connect(&second.admin_url()).await.unwrap();
    admin
        .batch_execute(&format!(
            "CREATE ROLE plain LOGIN PASSWORD '{secret}';
             CREATE ROLE dbonly LOGIN CREATEDB PASSWORD '{secret}';"
        ))
        .await
        .unwrap();
    let port = second.port();
    let wrong = second.url_as("postgres", Some(&format!("{secret}-wrong")));
    let unreachable = format!(
        "postgres://postgres:{secret}@127.0.0.1:{}/postgres",
        closed_port()
    );
    let cases = [
        (
            "closed",
            unreachable,
            "could not connect to the server: connection refused",
        ),
        ("wrongpw", wrong, "refused the user name or password"),
        (
            "plain",
            second.url_as("plain", Some(&secret)),
            "the role may not create databases",
        ),
        (
            "dbonly",
            second.url_as("dbonly", Some(&secret)),
            "the role may not create roles",
        ),
        (
            "nodb",
            format!("postgres://postgres:{secret}@127.0.0.1:{port}/nowhere"),
            "the database named in the URL does not exist",
        ),
    ];
    let mut answers = Vec::new();
    for (name, url, expected) in &cases {
        let (message, body) = refused(&p, name, port, url).await;
        assert!(message.contains(expected), "{name}: {message}");
        answers.push(body);
    }

    // Nothing registered, nothing audited; with the right password the same server is.
    let listed = p.root().get("/v1/servers").read().await;
    assert_eq!(names(&listed), ["default"], "{listed}");
    let added = p
        .add_server_with_url("second", &second, &second.admin_url(), 5)
        .await;
    assert_eq!(added["state"], "accepting", "{added}");
    let audit = p.root().get("/v1/audit?action=server.add").read().await;
    let audited: Vec<&Value> = audit["items"].as_array().unwrap().iter().collect();
    assert_eq!(audited.len(), 1, "only the accepted server: {audit}");
    assert_eq!(audited[0]["changes"]["after"]["server"], "second");

    answers.extend([listed.to_string(), added.to_string(), audit.to_string()]);
    for text in &answers {
        assert!(!text.contains(&secret), "the password in {text}");
        assert!(!text.contains("postgres://"), "a URL in {text}");
    }
    assert!(
        !LogCapture::global().contents().contains(&secret),
        "the password in a log line"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_refuses_a_wrong_password_and_registers_nothing() {
    let p = spawn_control().await;
    let secret = format!("pw-{}-cli", uuid::Uuid::new_v4().simple());
    let second = PgServer::start_with_password(&secret).await;
    let port = second.port().to_string();
    let add = |name: &'static str, url: String| {
        let args = [
            "servers",
            "add",
            name,
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--admin-url-stdin",
        ];
        let out = crate::cli_run::control_api(&p, &args, &format!("{url}\n"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let (ok, out) = add("wrongpw", second.url_as("postgres", Some("not-it")));
    assert!(!ok, "{out}");
    assert!(
        out.contains("admin_url could not connect to the server: the server refused the user name or password"),
        "{out}"
    );
    let (ok, out) = add(
        "closed",
        format!(
            "postgres://postgres:{secret}@127.0.0.1:{}/postgres",
            closed_port()
        ),
    );
    assert!(!ok && out.contains("connection refused"), "{out}");
    assert!(
        !out.contains(&secret) && !out.contains("postgres://"),
        "{out}"
    );

    let listed = p.root().get("/v1/servers").read().await;
    assert_eq!(names(&listed), ["default"], "{listed}");
    let (ok, out) = add("second", second.admin_url());
    assert!(ok, "{out}");
    assert!(out.contains("PostgreSQL 1"), "the server's version: {out}");
    assert!(!out.contains(&secret), "{out}");
    let listed = p.root().get("/v1/servers").read().await;
    assert_eq!(names(&listed), ["default", "second"], "{listed}");
}
