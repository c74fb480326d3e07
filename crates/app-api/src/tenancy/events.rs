//! Listens for the control plane's tenant-change messages on Redis and drops the tenant's
//! cached record (and its pool, when it may no longer be served) so a suspension reaches
//! this replica within moments. If the subscription drops, everything cached is forgotten
//! and the subscription is re-established; the cache TTL covers the gap.

use super::{Directory, PoolFactory};
use futures::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Deserialize)]
struct TenantChanged {
    tenant_id: Uuid,
    slug: String,
    status: String,
}

pub async fn listen(
    redis_url: SecretString,
    channel: String,
    directory: Directory,
    pools: PoolFactory,
    shutdown: CancellationToken,
) {
    loop {
        let session = async {
            let client = redis::Client::open(redis_url.expose_secret())?;
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            // Anything may have changed while we were not listening.
            directory.invalidate_all();
            tracing::info!(%channel, "listening for tenant changes");
            let mut messages = pubsub.on_message();
            while let Some(msg) = messages.next().await {
                let Ok(payload) = msg.get_payload::<String>() else {
                    continue;
                };
                let Ok(change) = serde_json::from_str::<TenantChanged>(&payload) else {
                    tracing::warn!("ignoring malformed tenant-change message");
                    continue;
                };
                directory.invalidate(&change.slug).await;
                if change.status != "active" {
                    pools.evict(change.tenant_id, "inactive").await;
                }
                tracing::info!(tenant.slug = %change.slug, status = %change.status, "tenant changed; cache dropped");
            }
            Ok::<(), redis::RedisError>(())
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            outcome = session => {
                if let Err(e) = outcome {
                    tracing::warn!(error = %e, "tenant-change subscription lost; retrying");
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
