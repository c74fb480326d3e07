//! Tells app-api replicas that a tenant changed, so they drop it from their caches within
//! seconds rather than at TTL expiry. Best effort: a lost message is covered by the TTL.

use crate::repo::tenants::Tenant;
use crate::state::AppState;
use redis::AsyncCommands;
use serde::Serialize;
use uuid::Uuid;

/// The message published on `{prefix}:tenant-events`.
#[derive(Serialize)]
pub struct TenantChanged<'a> {
    pub tenant_id: Uuid,
    pub slug: &'a str,
    pub status: &'a str,
}

pub async fn publish(state: &AppState, tenant: &Tenant) {
    let msg = TenantChanged {
        tenant_id: tenant.id,
        slug: &tenant.slug,
        status: &tenant.status,
    };
    let Ok(payload) = serde_json::to_string(&msg) else {
        return;
    };
    let mut conn = state.redis.clone();
    let sent: Result<i64, _> = conn.publish(state.events_channel(), payload).await;
    if let Err(e) = sent {
        tracing::warn!(tenant.slug = %tenant.slug, error = %e, "could not publish tenant change; replicas will catch up on TTL");
    }
}
