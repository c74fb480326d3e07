//! What every handler and job shares.

use crate::hooks::Hooks;
use crate::queue::{ImmediateStart, Queue, WorkerHealth};
use crate::servers::Servers;
use crate::settings::Settings;
use redis::aio::ConnectionManager;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use tenancy_core::jwt::JwtKeys;

/// Shared, cheaply clonable application state.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub(crate) redis: ConnectionManager,
    pub(crate) queue: Queue,
    pub(crate) immediate: ImmediateStart,
    /// The database servers' provisioners (one admin pool per server).
    pub(crate) servers: Servers,
    /// A small pool only for the tenants' job locks (each held for a whole job run), so
    /// running jobs never starve handlers of control-database connections.
    pub(crate) locks: DatabaseConnection,
    pub(crate) worker: Arc<WorkerHealth>,
    /// Test hooks (none in production).
    pub(crate) hooks: Hooks,
    pub(crate) jwt: JwtKeys,
    pub settings: Arc<Settings>,
}

impl AppState {
    /// The Redis channel app-api replicas listen on for tenant changes.
    pub(crate) fn events_channel(&self) -> String {
        format!("{}:tenant-events", self.settings.redis_prefix)
    }
}
