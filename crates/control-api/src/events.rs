//! Tells app-api replicas that a tenant changed, so they drop it from their caches within
//! seconds rather than at TTL expiry. Best effort: a lost message is covered by the TTL.

use crate::repo::tenants::Tenant;
use crate::state::AppState;
use redis::AsyncCommands;
use serde::Serialize;
use tenancy_core::domain::TenantStatus;
use uuid::Uuid;

/// The message published on `{prefix}:tenant-events`.
#[derive(Serialize)]
pub(crate) struct TenantChanged<'a> {
    pub tenant_id: Uuid,
    pub slug: &'a str,
    pub status: TenantStatus,
}

/// How long a change event may take before it is given up.
const PUBLISH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

pub(crate) async fn publish(state: &AppState, tenant: &Tenant) {
    let msg = TenantChanged {
        tenant_id: tenant.id,
        slug: &tenant.slug,
        status: tenant.status,
    };
    let Ok(payload) = serde_json::to_string(&msg) else {
        return;
    };
    let mut conn = state.redis.clone();
    // Bounded: during a Redis outage a request must not wait for the connection's retries.
    let sent = tokio::time::timeout(
        PUBLISH_TIMEOUT,
        conn.publish::<_, _, i64>(state.events_channel(), payload),
    )
    .await;
    match sent {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::warn!(tenant.slug = %tenant.slug, error = %e, "could not publish tenant change; replicas will catch up on TTL")
        }
        Err(_) => {
            tracing::warn!(tenant.slug = %tenant.slug, "publishing the tenant change timed out; replicas will catch up on TTL")
        }
    }
}
