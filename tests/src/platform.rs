//! `Platform`: one test's deployment, booted from the libraries exactly as the binaries
//! boot them, on port 0, against its own control database, tenant prefix and Redis prefix.
//! The control plane always runs (tenants are made through it); the app plane on request.

use crate::boot::app::{self, AppProcess};
use crate::boot::control::{self, ControlProcess, Fault, Hooks};
use crate::cleanup::{Cleanup, create_database};
use crate::env::{Env, TestNames, pg_admin_url, test_env, with_database};
use crate::http::Api;
use crate::store::pg_connect;
use std::sync::Arc;

/// The platform's super-admin, created in every test's registry.
pub const ROOT_EMAIL: &str = "root@platform.test";
pub const ROOT_PASSWORD: &str = "correct horse battery staple";

/// Only the control plane (API and worker).
pub fn control_plane() -> Builder {
    Builder::default()
}

/// Both planes on one registry and one Redis prefix.
pub fn platform() -> Builder {
    Builder {
        app_plane: true,
        ..Builder::default()
    }
}

/// `control_plane().spawn()`.
pub async fn spawn_control() -> Platform {
    control_plane().spawn().await
}

/// `platform().spawn()`.
pub async fn spawn_platform() -> Platform {
    platform().spawn().await
}

/// What a test may change before boot.
#[derive(Default)]
pub struct Builder {
    app_plane: bool,
    hooks: Hooks,
    env: Vec<(String, String)>,
}

impl Builder {
    /// Overrides one variable of the environment both planes read.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// Injects a fault into the control plane's provisioning steps.
    pub fn fault(mut self, fault: Arc<Fault>) -> Self {
        self.hooks.fault = Some(fault);
        self
    }

    /// Serves the control API without the in-process worker.
    pub fn without_worker(mut self) -> Self {
        self.hooks.no_worker = true;
        self
    }

    pub async fn spawn(self) -> Platform {
        crate::logs::init();
        let names = TestNames::new();
        // Before anything is created, so a failing boot still drops what it made.
        let cleanup = Arc::new(Cleanup(names.clone()));
        create_database(&names.control_db)
            .await
            .expect("control database created");
        let mut env = test_env(&names);
        env.extend(self.env);
        let control = ControlProcess::start(&env, self.hooks).await;
        control.create_root(ROOT_EMAIL, ROOT_PASSWORD).await;
        let app = if self.app_plane {
            Some(AppProcess::start(&env).await)
        } else {
            None
        };
        let control_api = Api::new(control.port());
        let root_token = control_api.login(ROOT_EMAIL, ROOT_PASSWORD).await;
        Platform {
            app_api: app.as_ref().map(|a| Api::new(a.port())),
            control_api,
            root_token,
            names,
            env,
            app,
            control,
            _cleanup: cleanup,
        }
    }
}

/// A further app-api replica ([`Platform::another_app`]).
pub struct AppReplica {
    /// Its API, anonymous and for no tenant yet.
    pub api: Api,
    _process: AppProcess,
}

pub struct Platform {
    pub names: TestNames,
    /// The environment both planes booted from (secrets included: tests sign tokens with them).
    pub env: Env,
    /// The super-admin's control-plane token.
    pub root_token: String,
    control_api: Api,
    app_api: Option<Api>,
    // Dropped in this order: the app plane, the control plane, then (last user) the data.
    app: Option<AppProcess>,
    control: ControlProcess,
    _cleanup: Arc<Cleanup>,
}

impl Platform {
    /// The control plane's API, anonymous.
    pub fn control(&self) -> &Api {
        &self.control_api
    }

    /// The control plane's API as the super-admin.
    pub fn root(&self) -> Api {
        self.control_api.as_user(&self.root_token)
    }

    /// The app plane's API, anonymous and for no tenant yet.
    pub fn app(&self) -> &Api {
        self.app_api
            .as_ref()
            .expect("booted with platform(), not control_plane()")
    }

    pub fn control_state(&self) -> &control::AppState {
        self.control.state()
    }

    pub fn app_state(&self) -> &app::AppState {
        self.app
            .as_ref()
            .expect("booted with platform(), not control_plane()")
            .state()
    }

    /// `name` made unique to this test.
    pub fn slug(&self, name: &str) -> String {
        format!("{name}-{}", self.names.suffix)
    }

    /// A second control-plane process on the same registry and queue (another replica,
    /// or the same service restarted); it shares this one's cleanup.
    pub async fn another_instance(&self, fault: Option<Arc<Fault>>) -> Platform {
        let hooks = Hooks {
            fault,
            no_worker: false,
        };
        let control = ControlProcess::start(&self.env, hooks).await;
        Platform {
            names: self.names.clone(),
            env: self.env.clone(),
            root_token: self.root_token.clone(),
            control_api: Api::new(control.port()),
            app_api: None,
            app: None,
            control,
            _cleanup: self._cleanup.clone(),
        }
    }

    /// Another app-api replica on this deployment's registry and Redis; aborted when dropped.
    pub async fn another_app(&self) -> AppReplica {
        let process = AppProcess::start(&self.env).await;
        AppReplica {
            api: Api::new(process.port()),
            _process: process,
        }
    }

    /// Stops the control plane gracefully.
    pub async fn stop(&mut self) {
        self.control.stop().await;
    }

    /// Stops the control plane as if its process were killed.
    pub async fn kill(&mut self) {
        self.control.kill().await;
    }

    /// A superuser connection to a database.
    pub async fn pg(&self, db: &str) -> tokio_postgres::Client {
        pg_connect(&with_database(&pg_admin_url(), db))
            .await
            .expect("superuser connects")
    }

    /// Tenant databases and login roles this test's deployment made, as (databases, roles):
    /// the migrated template, its spare copies and its owner role carry the prefix too but
    /// are not tenants.
    pub async fn tenant_databases_and_roles(&self) -> (i64, i64) {
        let pg = self.pg("postgres").await;
        let like = self.names.tenant_like();
        let count = |sql: &'static str| {
            let (pg, like) = (&pg, like.clone());
            async move {
                let row = pg.query_one(sql, &[&like]).await.expect("count query");
                row.get::<_, i64>(0)
            }
        };
        let dbs =
            count("SELECT count(*) FROM pg_database WHERE datname LIKE $1 AND NOT datistemplate
                   AND coalesce(shobj_description(oid, 'pg_database'), '') NOT LIKE 'tenancy:spare=%'")
                .await;
        let roles = count(
            "SELECT count(*) FROM pg_roles WHERE rolname LIKE $1
             AND shobj_description(oid, 'pg_authid') IS DISTINCT FROM 'tenancy:template-owner'",
        )
        .await;
        (dbs, roles)
    }

    /// Connections currently open by this test's tenant roles.
    pub async fn tenant_connections(&self) -> i64 {
        self.pg("postgres")
            .await
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE usename LIKE $1",
                &[&self.names.tenant_like()],
            )
            .await
            .expect("pg_stat_activity readable")
            .get(0)
    }
}
