//! What every handler shares.

use crate::settings::Settings;
use crate::tenancy::rate_limit::RateLimiter;
use crate::tenancy::{Directory, PoolFactory};
use moka::future::Cache;
use std::sync::Arc;
use tenancy_core::jwt::JwtKeys;
use uuid::Uuid;

/// A user's current role and whether the account is active, cached briefly so a role
/// change or deactivation takes effect within seconds without a query per request.
#[derive(Clone, Debug)]
pub struct UserAccess {
    pub role: crate::auth::Role,
    pub active: bool,
}

#[derive(Clone)]
pub struct AppState {
    pub directory: Directory,
    pub pools: PoolFactory,
    pub jwt: JwtKeys,
    pub users: Cache<(Uuid, Uuid), UserAccess>,
    pub redis: redis::aio::ConnectionManager,
    pub limiter: RateLimiter,
    pub settings: Arc<Settings>,
}
