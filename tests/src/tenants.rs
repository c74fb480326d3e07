//! Tenants and their users, made through the planes' own APIs as an operator would, and
//! the waits for what happens behind them (provisioning, jobs).

use crate::http::Api;
use crate::platform::Platform;
use crate::wait::{WAIT_LIMIT, wait_until};
use reqwest::Response;
use serde_json::{Value, json};
use std::time::Duration;

/// The first admin's password of every tenant made by `active_tenant` and `tenant`.
pub const TENANT_ADMIN_PASSWORD: &str = "tenant-admin-pw";
/// The password of every user made by `Platform::user`.
pub const USER_PASSWORD: &str = "user-password-1";

const POLL: Duration = Duration::from_millis(50);

/// A provisioned tenant and its first admin, on the app plane.
pub struct TestTenant {
    pub slug: String,
    pub id: String,
    pub db_name: String,
    pub admin_token: String,
    api: Api,
}

impl TestTenant {
    /// The app plane for this tenant, anonymous.
    pub fn anonymous(&self) -> Api {
        self.api.clone()
    }

    /// The app plane for this tenant, as the holder of `token`.
    pub fn as_user(&self, token: &str) -> Api {
        self.api.as_user(token)
    }

    /// The app plane for this tenant, as its first admin.
    pub fn as_admin(&self) -> Api {
        self.api.as_user(&self.admin_token)
    }
}

impl Platform {
    /// Asks the control plane for a tenant on plan `pro` whose first admin is
    /// `owner@{slug}.test`; the answer as it comes.
    pub async fn create_tenant(&self, slug: &str, admin_password: &str) -> Response {
        self.create_tenant_on(slug, "pro", admin_password).await
    }

    async fn create_tenant_on(&self, slug: &str, plan: &str, admin_password: &str) -> Response {
        self.create_tenant_placed(slug, plan, admin_password, None)
            .await
    }

    /// `create_tenant` on the database server named `server` (`None`: placed by the platform).
    pub async fn create_tenant_placed(
        &self,
        slug: &str,
        plan: &str,
        admin_password: &str,
        server: Option<&str>,
    ) -> Response {
        let mut body = json!({
            "slug": slug, "name": format!("Tenant {slug}"), "plan": plan,
            "admin_email": format!("owner@{slug}.test"), "admin_password": admin_password,
        });
        if let Some(server) = server {
            body["server"] = json!(server);
        }
        self.root().post("/v1/tenants").json(&body).send().await
    }

    /// Registers `server` as database server `name` through `POST /v1/servers`; the answer.
    pub async fn add_server(&self, name: &str, server: &crate::PgServer, capacity: i64) -> Value {
        self.add_server_with_url(name, server, &server.admin_url(), capacity)
            .await
    }

    /// `add_server` with the admin URL given (a test may put a password in it).
    pub async fn add_server_with_url(
        &self,
        name: &str,
        server: &crate::PgServer,
        admin_url: &str,
        capacity: i64,
    ) -> Value {
        let body = json!({
            "name": name, "host": "127.0.0.1", "port": server.port(),
            "admin_url": admin_url, "capacity": capacity,
        });
        let res = self.root().post("/v1/servers").json(&body).send().await;
        let status = res.status();
        let created: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 201, "{created}");
        created
    }

    /// An active tenant `{name}-{suffix}` on plan `pro` on database server `server`, its
    /// admin logged in on the app plane.
    pub async fn tenant_on_server(&self, name: &str, server: &str) -> TestTenant {
        let slug = self.slug(name);
        let res = self
            .create_tenant_placed(&slug, "pro", TENANT_ADMIN_PASSWORD, Some(server))
            .await;
        let status = res.status();
        assert_eq!(status, 202, "{}", res.text().await.unwrap_or_default());
        self.wait_for_status(&slug, "active").await;
        self.logged_in(slug).await
    }

    /// Polls the tenant until its status is `want`; its registry entry.
    pub async fn wait_for_status(&self, slug: &str, want: &str) -> Value {
        let what = format!("tenant {slug} becoming {want}");
        let root = self.root();
        let path = format!("/v1/tenants/{slug}");
        wait_until(&what, WAIT_LIMIT, POLL, || async {
            let body = root.get(&path).read().await;
            if body["status"] == want {
                Ok(body)
            } else {
                Err(body.to_string())
            }
        })
        .await
    }

    /// Polls a job until `pred` holds; the job.
    pub async fn wait_for_job(&self, id: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let what = format!("job {id} reaching the expected state");
        let root = self.root();
        let path = format!("/v1/jobs/{id}");
        wait_until(&what, WAIT_LIMIT, POLL, || async {
            let body = root.get(&path).read().await;
            if pred(&body) {
                Ok(body)
            } else {
                Err(body.to_string())
            }
        })
        .await
    }

    /// Creates a tenant and waits until it is active; its registry entry.
    pub async fn active_tenant(&self, slug: &str) -> Value {
        self.active_tenant_on(slug, "pro").await
    }

    async fn active_tenant_on(&self, slug: &str, plan: &str) -> Value {
        let res = self
            .create_tenant_on(slug, plan, TENANT_ADMIN_PASSWORD)
            .await;
        let status = res.status();
        assert_eq!(status, 202, "{}", res.text().await.unwrap_or_default());
        self.wait_for_status(slug, "active").await
    }

    /// An active tenant `{name}-{suffix}` on plan `pro`, its admin logged in on the app plane.
    pub async fn tenant(&self, name: &str) -> TestTenant {
        self.tenant_on_plan(name, "pro").await
    }

    pub async fn tenant_on_plan(&self, name: &str, plan: &str) -> TestTenant {
        let slug = self.slug(name);
        self.active_tenant_on(&slug, plan).await;
        self.logged_in(slug).await
    }

    /// The active tenant `slug` with its first admin logged in on the app plane.
    async fn logged_in(&self, slug: String) -> TestTenant {
        let tenant = self.root().get(&format!("/v1/tenants/{slug}")).read().await;
        let api = self.app().on(&slug);
        let admin_token = api
            .login(&format!("owner@{slug}.test"), TENANT_ADMIN_PASSWORD)
            .await;
        let text = |field: &str| {
            tenant[field]
                .as_str()
                .unwrap_or_else(|| panic!("tenant lacks {field}: {tenant}"))
                .to_string()
        };
        TestTenant {
            id: text("id"),
            db_name: text("db_name"),
            slug,
            admin_token,
            api,
        }
    }

    /// Adds a user `{name}@{slug}.test` through the app plane as the tenant's admin and logs
    /// them in; returns (id, token).
    pub async fn user(&self, t: &TestTenant, role: &str, name: &str) -> (String, String) {
        let email = format!("{name}@{}.test", t.slug);
        let body = json!({"email": email, "name": name, "role": role, "password": USER_PASSWORD});
        let res = t.as_admin().post("/v1/users").json(&body).send().await;
        let status = res.status();
        let created: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_str().expect("a user id").to_string();
        (id, t.anonymous().login(&email, USER_PASSWORD).await)
    }
}
