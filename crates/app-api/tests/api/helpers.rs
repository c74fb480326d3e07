//! `spawn_platform()`: a control plane (API and worker) and an app plane, booted from the
//! libraries exactly as the binaries boot them, sharing one fresh control database and one
//! Redis prefix; tenants are created through the control plane's HTTP API.

use base64::Engine as _;
use reqwest::{Method, Response};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenancy_core::domain::Email;
use test_support::{Cleanup, LogCapture, TestNames, pg_admin_url, pg_connect, with_database};

pub const ROOT_EMAIL: &str = "root@platform.test";
pub const ROOT_PASSWORD: &str = "correct horse battery staple";
pub const TENANT_ADMIN_PASSWORD: &str = "tenant-admin-pw";

pub struct Platform {
    pub app: String,
    pub control: String,
    pub client: reqwest::Client,
    pub control_token: String,
    pub names: TestNames,
    /// The environment both planes were booted from (for booting another replica).
    pub env: HashMap<String, String>,
    control_app: Option<control_api::startup::Running>,
    app_api: Option<app_api::startup::Running>,
    _cleanup: Arc<Cleanup>,
}

/// A provisioned tenant and its first admin's token.
pub struct TestTenant {
    pub slug: String,
    pub id: String,
    pub db_name: String,
    pub admin_token: String,
}

pub async fn spawn_platform() -> Platform {
    spawn_platform_with(&[]).await
}

pub async fn spawn_platform_with(overrides: &[(&str, &str)]) -> Platform {
    tenancy_core::observability::init_tracing("info,app_api=debug", LogCapture::global().clone());
    let names = TestNames::new();
    let cleanup = Arc::new(Cleanup(names.clone()));
    test_support::create_database(&names.control_db)
        .await
        .expect("control db");
    let key = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
    let mut env: HashMap<String, String> = [
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
        ("APP_API_ADDR", "127.0.0.1:0".into()),
        ("APP_DOMAIN", "helpdesk.test".into()),
        ("PROVISION_BACKOFF_MS", "50".into()),
        ("RECONCILE_SECS", "5".into()),
        ("POOL_HEALTH_MS", "500".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in overrides {
        env.insert(k.to_string(), v.to_string());
    }
    let control_settings =
        control_api::settings::Settings::from_env(&env).expect("control settings");
    let control_app = control_api::startup::Application::build(control_settings)
        .await
        .expect("control-api")
        .start();
    let hash =
        tenancy_core::password::hash(&SecretString::from(ROOT_PASSWORD.to_string())).unwrap();
    control_api::repo::admins::upsert(
        &control_app.state.db,
        &Email::parse(ROOT_EMAIL).unwrap(),
        hash,
    )
    .await
    .unwrap();
    let app_settings = app_api::settings::Settings::from_env(&env).expect("app settings");
    let app_api = app_api::startup::Application::build(app_settings)
        .await
        .expect("app-api")
        .start();

    let client = reqwest::Client::new();
    let control = format!("http://127.0.0.1:{}", control_app.port);
    let res = client
        .post(format!("{control}/v1/auth/login"))
        .json(&json!({"email": ROOT_EMAIL, "password": ROOT_PASSWORD}))
        .send()
        .await
        .unwrap();
    let control_token = res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    Platform {
        app: format!("http://127.0.0.1:{}", app_api.port),
        control,
        client,
        control_token,
        names,
        env,
        control_app: Some(control_app),
        app_api: Some(app_api),
        _cleanup: cleanup,
    }
}

impl Platform {
    pub fn app_state(&self) -> &app_api::state::AppState {
        &self.app_api.as_ref().unwrap().state
    }

    pub fn slug(&self, name: &str) -> String {
        format!("{name}-{}", self.names.suffix)
    }

    pub async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.control))
            .bearer_auth(&self.control_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    /// Creates a tenant through the control plane, waits until active, logs its admin in.
    pub async fn tenant(&self, name: &str) -> TestTenant {
        self.tenant_on_plan(name, "pro").await
    }

    pub async fn tenant_on_plan(&self, name: &str, plan: &str) -> TestTenant {
        let slug = self.slug(name);
        let body = json!({"slug": slug, "name": name, "plan": plan, "admin_email": format!("admin@{slug}.test"), "admin_password": TENANT_ADMIN_PASSWORD});
        let res = self.control(Method::POST, "/v1/tenants", Some(body)).await;
        assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        let tenant = loop {
            let t: Value = self
                .control(Method::GET, &format!("/v1/tenants/{slug}"), None)
                .await
                .json()
                .await
                .unwrap();
            if t["status"] == "active" {
                break t;
            }
            assert!(Instant::now() < deadline, "tenant {slug} not active: {t}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let admin_token = self
            .login(&slug, &format!("admin@{slug}.test"), TENANT_ADMIN_PASSWORD)
            .await;
        TestTenant {
            id: tenant["id"].as_str().unwrap().to_string(),
            db_name: tenant["db_name"].as_str().unwrap().to_string(),
            slug,
            admin_token,
        }
    }

    pub async fn login(&self, slug: &str, email: &str, password: &str) -> String {
        let res = self
            .call(
                Method::POST,
                "/v1/auth/login",
                slug,
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(res.status(), 200, "login of {email} on {slug}");
        res.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// An app-plane request naming the tenant by header.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        slug: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.app))
            .header("x-tenant-slug", slug);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    /// Adds a user through the app plane as the tenant's admin; returns (id, token).
    pub async fn user(&self, t: &TestTenant, role: &str, name: &str) -> (String, String) {
        let email = format!("{name}@{}.test", t.slug);
        let body =
            json!({"email": email, "name": name, "role": role, "password": "user-password-1"});
        let res = self
            .call(
                Method::POST,
                "/v1/users",
                &t.slug,
                Some(&t.admin_token),
                Some(body),
            )
            .await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let id = res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        (id, self.login(&t.slug, &email, "user-password-1").await)
    }

    pub async fn pg(&self, db: &str) -> tokio_postgres::Client {
        pg_connect(&with_database(&pg_admin_url(), db))
            .await
            .unwrap()
    }

    /// Connections currently open by this test's tenant roles.
    pub async fn tenant_connections(&self) -> i64 {
        let pg = self.pg("postgres").await;
        let like = format!("{}%", self.names.tenant_prefix.replace('_', "\\_"));
        pg.query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE usename LIKE $1",
            &[&like],
        )
        .await
        .unwrap()
        .get(0)
    }

    pub async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.app))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        if let Some(a) = self.app_api.take() {
            a.abort();
        }
        if let Some(c) = self.control_app.take() {
            c.abort();
        }
    }
}

/// Asserts a problem+json answer with this status and code; returns the body.
pub async fn assert_problem(res: Response, status: u16, code: &str) -> Value {
    let got = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "unexpected status; body {body}");
    assert!(
        ct.starts_with("application/problem+json"),
        "content-type was {ct}"
    );
    assert_eq!(body["code"], code, "body: {body}");
    body
}
