//! The harness's only contact with control-api's start-up: settings from the env map, the
//! test hooks, build, start, the root super-admin, and the three ways to stop. When
//! control-api's start-up changes, this file is the one to adapt.

use crate::env::Env;
use control_api::startup::{Application, Running};
use secrecy::SecretString;
use std::sync::Arc;
use tenancy_core::domain::Email;

pub use control_api::jobs::Fault;
pub use control_api::state::AppState;

/// Test hooks a control-plane process boots with.
#[derive(Default, Clone)]
pub(crate) struct Hooks {
    /// Fail or hang a provisioning step.
    pub fault: Option<Arc<Fault>>,
    /// Serve the API without the in-process worker.
    pub no_worker: bool,
}

/// A running control plane (API and, unless hooked off, the worker); aborted when dropped.
pub(crate) struct ControlProcess(Option<Running>);

impl ControlProcess {
    pub async fn start(env: &Env, hooks: Hooks) -> Self {
        let mut settings =
            control_api::settings::Settings::from_env(env).expect("valid control settings");
        settings.run_worker = !hooks.no_worker;
        let hooks = control_api::jobs::Hooks { fault: hooks.fault };
        let app = Application::build_with_hooks(settings, hooks)
            .await
            .expect("control-api builds");
        Self(Some(app.start()))
    }

    fn running(&self) -> &Running {
        self.0.as_ref().expect("the control plane is running")
    }

    pub fn port(&self) -> u16 {
        self.running().port
    }

    pub fn state(&self) -> &AppState {
        &self.running().state
    }

    /// Writes the super-admin straight into the registry, as `control-api admin create` does.
    pub async fn create_root(&self, email: &str, password: &str) {
        let hash = tenancy_core::password::hash(&SecretString::from(password.to_string()))
            .expect("password hashes");
        let email = Email::parse(email).expect("a valid email");
        control_api::repo::admins::upsert(&self.state().db, &email, hash)
            .await
            .expect("super-admin stored");
    }

    /// Stops gracefully: in-flight requests and jobs finish.
    pub async fn stop(&mut self) {
        if let Some(r) = self.0.take() {
            r.stop().await;
        }
    }

    /// Stops as if the process were killed: running jobs keep their lease.
    pub async fn kill(&mut self) {
        if let Some(r) = self.0.take() {
            r.kill().await;
        }
    }
}

impl Drop for ControlProcess {
    fn drop(&mut self) {
        // The worker must stop before the databases are dropped under it.
        if let Some(r) = self.0.take() {
            r.abort();
        }
    }
}
