//! Outages: Redis stopped and restarted under a running control-api, and a tenant database
//! server that is unreachable when control-api starts. Both are real: a `redis-server` the
//! test owns on its own port, and a TCP proxy the test opens only later.

use control_api::settings::Settings;
use control_api::startup::{Application, Running};
use platform_harness::{Platform, control_plane};
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `redis-server` of this test's own, on `port`, persisting nothing.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    async fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server runs");
        let redis = Self {
            port,
            child: Some(child),
        };
        let client = redis::Client::open(redis.url()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while client.get_multiplexed_async_connection().await.is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// `kill -9`: Redis vanishes at once, with everything it held.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The readiness body of an app.
async fn readiness(app: &Platform) -> Value {
    app.control().get("/health/ready").read().await
}

/// Polls readiness until `check` has `status` (panics after 60 s).
async fn wait_for_check(app: &Platform, check: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = readiness(app).await;
        if body["checks"][check]["status"] == status {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "readiness `{check}` never became {status}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A second control-api on the same control database and queue that runs no worker: its
/// tenants can only be provisioned by the other process's worker.
async fn api_only(app: &Platform) -> (Running, String) {
    let mut settings = Settings::from_env(&app.env).unwrap();
    settings.run_worker = false;
    let running = Application::build(settings).await.unwrap().start();
    let address = format!("http://127.0.0.1:{}", running.port);
    (running, address)
}

async fn create_via(app: &Platform, address: &str, slug: &str) {
    let body = serde_json::json!({
        "slug": slug, "name": slug, "admin_email": format!("owner@{slug}.test"),
        "admin_password": "outage-admin-pw",
    });
    let res = reqwest::Client::new()
        .post(format!("{address}/v1/tenants"))
        .bearer_auth(&app.root_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202, "creating {slug}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_and_restarted_stops_no_provisioning_and_the_worker_comes_back() {
    let port = free_port();
    let mut redis = OwnRedis::start(port).await;
    let worker = control_plane().env("REDIS_URL", &redis.url()).spawn().await;
    let (api, api_address) = api_only(&worker).await;
    wait_for_check(&worker, "worker", "ok").await;

    let before = worker.slug("before");
    create_via(&worker, &api_address, &before).await;
    worker.wait_for_status(&before, "active").await;

    // (`job_worker_up` follows the same state, but the metrics recorder is global to this
    // test binary, so parallel tests' workers would race an assertion on it.)
    redis.kill();
    let down = wait_for_check(&worker, "worker", "error").await;
    assert_eq!(down["checks"]["redis"]["status"], "error", "{down}");
    let during = worker.slug("during");
    create_via(&worker, &api_address, &during).await;
    // Longer than apalis' heartbeat threshold and several worker restarts.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let _redis = OwnRedis::start(port).await;
    wait_for_check(&worker, "worker", "ok").await;
    let after = worker.slug("after");
    create_via(&worker, &api_address, &after).await;
    for slug in [&before, &during, &after] {
        worker.wait_for_status(slug, "active").await;
    }
    api.stop().await;
}

/// Forwards `port` to the local PostgreSQL: the tenant database server "comes back".
fn proxy_to_postgres(port: u16) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:5432").await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_api_starts_without_the_tenant_server_and_provisions_once_it_answers() {
    let port = free_port();
    let admin_url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let app = control_plane()
        .env("TENANT_DB_ADMIN_URL", &admin_url)
        .spawn()
        .await;
    assert_eq!(app.root().get("/v1/tenants").send().await.status(), 200);
    let res = app.control().get("/health/ready").send().await;
    assert_eq!(res.status(), 200, "the registry stays in service");
    let ready: Value = res.json().await.unwrap();
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert_eq!(ready["checks"]["tenant_db"]["status"], "error", "{ready}");
    assert_eq!(ready["checks"]["control_db"]["status"], "ok", "{ready}");

    let slug = app.slug("patient");
    let created: Value = app
        .create_tenant(&slug, "patient-admin-pw")
        .await
        .json()
        .await
        .unwrap();
    let job_id = created["job"]["id"].as_str().unwrap().to_string();
    let job = app
        .wait_for_job(&job_id, |j| j["last_error"].is_string())
        .await;
    assert_eq!(job["state"], "retrying", "{job}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let waiting: Value = app.root().get(&format!("/v1/tenants/{slug}")).read().await;
    assert_eq!(
        waiting["status"], "provisioning",
        "an outage does not fail the tenant"
    );

    let proxy = proxy_to_postgres(port);
    app.wait_for_status(&slug, "active").await;
    let job = app
        .wait_for_job(&job_id, |j| j["state"] == "succeeded")
        .await;
    assert_eq!(
        job["attempts"], 1,
        "waiting for the server spends no attempt: {job}"
    );
    wait_for_check(&app, "tenant_db", "ok").await;
    drop(app);
    proxy.abort();
}
