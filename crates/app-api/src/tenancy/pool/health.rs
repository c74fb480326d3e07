//! The health check the factory's maintenance runs on every pool holding idle connections.

use super::checkout::TenantPool;
use super::manager::{ConnError, describe};
use deadpool::managed::PoolError;
use std::sync::Arc;
use std::time::Duration;

/// How long the health check's `SELECT 1` may take before the pool counts as failed.
const HEALTH_PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Pings one of the pool's connections. No connection to spare for the ping (the budget
/// is spent) says nothing of health and passes.
pub(super) async fn health_check(pool: &Arc<TenantPool>) -> Result<(), String> {
    let ping = async {
        let conn = match pool.checkout().await {
            Ok(conn) => conn,
            Err(PoolError::Backend(
                ConnError::Budget | ConnError::Busy | ConnError::ServerFull,
            )) => {
                return Ok(());
            }
            Err(e) => return Err(e.to_string()),
        };
        conn.simple_query("SELECT 1")
            .await
            .map(drop)
            .map_err(|e| describe(&e))
    };
    tokio::time::timeout(HEALTH_PING_TIMEOUT, ping)
        .await
        .unwrap_or_else(|_| Err("timed out".to_string()))
}
