//! What every handler and job shares.

use crate::jobs::{FastPath, Queue};
use crate::provisioner::Provisioner;
use crate::settings::Settings;
use redis::aio::ConnectionManager;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use tenancy_core::jwt::JwtKeys;

/// Shared, cheaply clonable application state.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub redis: ConnectionManager,
    pub queue: Queue,
    pub fast_path: FastPath,
    pub provisioner: Provisioner,
    pub jwt: JwtKeys,
    pub settings: Arc<Settings>,
}

impl AppState {
    /// The Redis channel app-api replicas listen on for tenant changes.
    pub fn events_channel(&self) -> String {
        format!("{}:tenant-events", self.settings.redis_prefix)
    }
}
