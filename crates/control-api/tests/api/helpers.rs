//! `spawn_app()`: boots exactly what `control-api` boots, on port 0, against a fresh control
//! database, its own tenant-database prefix and its own Redis prefix.

use base64::Engine as _;
use control_api::jobs::{Fault, Hooks};
use control_api::repo::admins;
use control_api::settings::Settings;
use control_api::startup::{Application, Running};
use reqwest::Response;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenancy_core::domain::Email;
use test_support::{Cleanup, LogCapture, TestNames, pg_admin_url, pg_connect, with_database};

pub const ADMIN_EMAIL: &str = "root@platform.test";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// The environment a deployment would have, for this test's names.
pub fn test_env(names: &TestNames) -> HashMap<String, String> {
    let key = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
    [
        (
            "CONTROL_DATABASE_URL",
            with_database(&pg_admin_url(), &names.control_db),
        ),
        ("TENANT_DB_ADMIN_URL", pg_admin_url()),
        ("TENANT_DB_HOST", "127.0.0.1".into()),
        ("TENANT_DB_PORT", "5432".into()),
        ("REDIS_URL", test_support::redis_url()),
        ("REDIS_PREFIX", names.redis_prefix.clone()),
        ("TENANT_DB_PREFIX", names.tenant_prefix.clone()),
        ("MASTER_KEY", key),
        (
            "CONTROL_JWT_SECRET",
            format!("control-secret-{}", uuid::Uuid::new_v4()),
        ),
        (
            "APP_JWT_SECRET",
            format!("app-secret-{}", uuid::Uuid::new_v4()),
        ),
        ("CONTROL_API_ADDR", "127.0.0.1:0".into()),
        ("PROVISION_MAX_ATTEMPTS", "3".into()),
        ("PROVISION_BACKOFF_MS", "50".into()),
        ("PROVISION_LEASE_SECS", "3".into()),
        ("RECONCILE_SECS", "1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Knobs a test may turn before boot.
#[derive(Default)]
pub struct Options {
    pub fault: Option<Arc<Fault>>,
    pub max_attempts: Option<i32>,
    pub env: Vec<(&'static str, String)>,
    /// Serve the API without the in-process worker.
    pub no_worker: bool,
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub token: String,
    pub names: TestNames,
    pub env: HashMap<String, String>,
    pub running: Option<Running>,
    // Last field: dropped after the app has stopped.
    _cleanup: Arc<Cleanup>,
}

fn init_logs() {
    // `debug` for our crates so "never logged" tests see as much as an operator could.
    let filter = "info,control_api=debug,tenancy_core=debug,apalis=info";
    tenancy_core::observability::init_tracing(filter, LogCapture::global().clone());
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    init_logs();
    let names = TestNames::new();
    let cleanup = Arc::new(Cleanup(names.clone()));
    test_support::create_database(&names.control_db)
        .await
        .expect("create control db");
    let mut env = test_env(&names);
    for (k, v) in options.env {
        env.insert(k.to_string(), v);
    }
    if let Some(n) = options.max_attempts {
        env.insert("PROVISION_MAX_ATTEMPTS".into(), n.to_string());
    }
    let app = boot(&env, options.fault, !options.no_worker, names, cleanup).await;
    app.create_admin().await;
    let mut app = app;
    app.token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app
}

async fn boot(
    env: &HashMap<String, String>,
    fault: Option<Arc<Fault>>,
    worker: bool,
    names: TestNames,
    cleanup: Arc<Cleanup>,
) -> TestApp {
    let mut settings = Settings::from_env(env).expect("valid settings");
    settings.run_worker = worker;
    let app = Application::build_with_hooks(settings, Hooks { fault })
        .await
        .expect("app builds");
    let running = app.start();
    TestApp {
        address: format!("http://127.0.0.1:{}", running.port),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        token: String::new(),
        names,
        env: env.clone(),
        running: Some(running),
        _cleanup: cleanup,
    }
}

impl TestApp {
    /// A second process on the same control database and queue (another replica, or the
    /// same service restarted).
    pub async fn another_instance(&self, fault: Option<Arc<Fault>>) -> TestApp {
        let mut app = boot(
            &self.env,
            fault,
            true,
            self.names.clone(),
            self._cleanup.clone(),
        )
        .await;
        app.token = self.token.clone();
        app
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().expect("app is running")
    }

    pub fn state(&self) -> &control_api::state::AppState {
        &self.running().state
    }

    async fn create_admin(&self) {
        let hash =
            tenancy_core::password::hash(&SecretString::from(ADMIN_PASSWORD.to_string())).unwrap();
        admins::upsert(&self.state().db, &Email::parse(ADMIN_EMAIL).unwrap(), hash)
            .await
            .unwrap();
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let res = self
            .post_json(
                "/v1/auth/login",
                &json!({"email": email, "password": password}),
                None,
            )
            .await;
        assert_eq!(res.status(), 200, "login failed");
        let body: Value = res.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn post_json(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        let mut req = self
            .client
            .post(format!("{}{path}", self.address))
            .json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request sent")
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str) -> Response {
        self.request(reqwest::Method::POST, path, None).await
    }

    pub async fn create_tenant(&self, slug: &str, admin_password: &str) -> Response {
        let body = json!({
            "slug": slug, "name": format!("Tenant {slug}"), "plan": "pro",
            "admin_email": format!("owner@{slug}.test"), "admin_password": admin_password,
        });
        self.post_json("/v1/tenants", &body, Some(&self.token))
            .await
    }

    /// Polls the tenant until its status is `want` (panics after 60 s).
    pub async fn wait_for_status(&self, slug: &str, want: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let res = self.get(&format!("/v1/tenants/{slug}")).await;
            let body: Value = res.json().await.unwrap();
            if body["status"] == want {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "tenant {slug} never became {want}: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls a job until `pred` holds (panics after 60 s).
    pub async fn wait_for_job(&self, id: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let body: Value = self
                .get(&format!("/v1/jobs/{id}"))
                .await
                .json()
                .await
                .unwrap();
            if pred(&body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} never reached the expected state: {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Creates a tenant and waits until it is active.
    pub async fn active_tenant(&self, slug: &str) -> Value {
        let res = self.create_tenant(slug, "tenant-admin-pw-1").await;
        assert_eq!(res.status(), 202);
        self.wait_for_status(slug, "active").await
    }

    /// A superuser connection to a database.
    pub async fn pg(&self, db: &str) -> tokio_postgres::Client {
        pg_connect(&with_database(&pg_admin_url(), db))
            .await
            .unwrap()
    }

    pub fn slug(&self, name: &str) -> String {
        format!("{name}-{}", self.names.suffix)
    }

    /// Stops the app gracefully.
    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }

    /// Stops the app as if its process were killed.
    pub async fn kill(&mut self) {
        if let Some(r) = self.running.take() {
            r.kill().await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop the worker before the databases are dropped under it.
        if let Some(r) = self.running.take() {
            r.abort();
        }
    }
}

/// Asserts a problem+json answer with this status and code; returns the body.
pub async fn assert_problem(res: Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "unexpected status");
    let ct = res
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        ct.starts_with("application/problem+json"),
        "content-type was {ct}"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "body: {body}");
    assert_eq!(body["status"], status);
    for field in ["type", "title", "detail"] {
        assert!(body[field].is_string(), "problem lacks {field}: {body}");
    }
    body
}
