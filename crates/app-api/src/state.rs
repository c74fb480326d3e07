//! What every handler shares.

use crate::access::UserAccess;
use crate::auth::VerifiedTokens;
use crate::settings::Settings;
use crate::tenancy::rate_limit::RateLimiter;
use crate::tenancy::{Directory, PoolFactory};
use moka::future::Cache;
use std::sync::Arc;
use tenancy_core::jwt::JwtKeys;
use uuid::Uuid;

#[derive(Clone)]
pub struct AppState {
    pub directory: Directory,
    pub pools: PoolFactory,
    pub jwt: JwtKeys,
    pub tokens: VerifiedTokens,
    pub users: Cache<(Uuid, Uuid), UserAccess>,
    pub redis: redis::aio::ConnectionManager,
    pub limiter: RateLimiter,
    pub settings: Arc<Settings>,
}
