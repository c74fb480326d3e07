//! The harness's only contact with app-api's start-up: settings from the env map, build,
//! start, stop. When app-api's start-up changes, this file is the one to adapt.

use crate::env::Env;
use app_api::startup::{Application, Running};

pub use app_api::state::AppState;

/// A running app plane (API, event listener, pool maintenance); aborted when dropped.
pub(crate) struct AppProcess(Option<Running>);

impl AppProcess {
    pub async fn start(env: &Env) -> Self {
        let settings = app_api::settings::Settings::from_env(env).expect("valid app settings");
        let app = Application::build(settings).await.expect("app-api builds");
        Self(Some(app.start()))
    }

    fn running(&self) -> &Running {
        self.0.as_ref().expect("the app plane is running")
    }

    pub fn port(&self) -> u16 {
        self.running().port
    }

    pub fn state(&self) -> &AppState {
        &self.running().state
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        if let Some(r) = self.0.take() {
            r.abort();
        }
    }
}
