//! The `provision` job's steps: credentials -> role -> database -> revoke PUBLIC ->
//! migrations and seed -> active. Each is idempotent and fenced (`Fence::step`): the job
//! can die anywhere and rerun, and stops at the next step once its tenant moved on.
//!
//! The first admin's password arrives sealed (`registry::seed_aad`); its argon2 hash is
//! computed on a blocking thread from the first step on, beside the database work, and
//! recorded (the sealed copy erased in the same statement) just before the seed.

use super::runner::{Fence, Halt};
use crate::hooks::Step;
use crate::provisioner::Provisioner;
use crate::repo::tenants::{self, Tenant};
use crate::state::AppState;
use anyhow::Context;
use sea_orm::TransactionTrait;
use secrecy::SecretString;
use tenancy_core::crypto::Sealed;
use tokio::task::JoinHandle;

/// Connections a tenant role may hold; room for several app-api replicas' pools.
pub(super) const ROLE_CONNECTION_LIMIT: u32 = 50;

/// The tenant's database password: generated and sealed on the first run, reused after.
/// `tenant` is the row the fence just read.
async fn credentials(state: &AppState, tenant: Tenant) -> anyhow::Result<SecretString> {
    let keyring = &state.settings.keyring;
    let stored = if tenant.db_password_sealed.is_some() {
        tenant
    } else {
        let sealed = keyring.seal(tenant.id, &crate::provisioner::generate_password());
        match tenants::set_credentials_once(&state.db, tenant.id, sealed.bytes, sealed.key_version)
            .await?
        {
            Some(stored) => stored,
            // A concurrent run stored its password first, and that one wins.
            None => tenants::find(&state.db, tenant.id)
                .await?
                .context("tenant vanished")?,
        }
    };
    let sealed = Sealed {
        key_version: stored
            .db_key_version
            .context("sealed password without key version")?,
        bytes: stored
            .db_password_sealed
            .context("sealed password missing")?,
    };
    keyring
        .open(stored.id, &sealed)
        .context("decrypting the tenant's database password")
}

/// The first admin's password hash being computed, if there is one to compute.
type PendingHash = Option<JoinHandle<anyhow::Result<String>>>;

/// Starts hashing the sealed first-admin password of `tenant`, if it has one.
fn start_seed_hash(state: &AppState, tenant: &Tenant) -> PendingHash {
    let (Some(bytes), Some(key_version)) = (
        tenant.seed_admin_password_sealed.clone(),
        tenant.seed_admin_key_version,
    ) else {
        return None;
    };
    let (settings, id) = (state.settings.clone(), tenant.id);
    Some(tokio::task::spawn_blocking(move || {
        let sealed = Sealed { key_version, bytes };
        let password = settings
            .keyring
            .open_for(&crate::registry::seed_aad(id), &sealed)
            .context("opening the first admin's sealed password")?;
        tenancy_core::password::hash(&password).context("hashing the first admin's password")
    }))
}

/// The hash to seed with: recorded by an earlier run, or `pending`'s, recorded now with the
/// sealed password erased in the same statement.
async fn seed_hash(
    state: &AppState,
    tenant: Tenant,
    pending: PendingHash,
) -> anyhow::Result<Option<String>> {
    if tenant.seed_admin_password_sealed.is_none() {
        return Ok(tenant.seed_admin_password_hash);
    }
    let Some(pending) = pending.or_else(|| start_seed_hash(state, &tenant)) else {
        return Ok(tenant.seed_admin_password_hash);
    };
    let hash = pending.await.context("the hashing task")??;
    let stored = match tenants::record_seed_hash(&state.db, tenant.id, hash).await? {
        Some(stored) => stored,
        // A concurrent run recorded its hash first, and that one wins.
        None => tenants::find(&state.db, tenant.id)
            .await?
            .context("tenant vanished")?,
    };
    Ok(stored.seed_admin_password_hash)
}

/// Runs every step; returns the tenant once it is `active`.
#[tracing::instrument(skip_all, fields(tenant.slug = %tenant.slug, job.id = %fence.job.id, job.attempt = fence.job.attempts))]
pub(super) async fn run(
    fence: &Fence<'_>,
    tenant: &Tenant,
    p: &Provisioner,
) -> anyhow::Result<Tenant> {
    let state = fence.state;
    let tenant = fence.step(Step::Credentials).await?;
    let pending = start_seed_hash(state, &tenant);
    let password = credentials(state, tenant).await?;

    let tenant = fence.step(Step::CreateRole).await?;
    p.ensure_role(tenant.id, &tenant.db_role, &password, ROLE_CONNECTION_LIMIT)
        .await?;

    fence.step(Step::CreateDatabase).await?;
    p.ensure_database(tenant.id, &tenant.db_name, &tenant.db_role)
        .await?;
    // Whether it took a spare or not: the refill tops the pool up (a no-op when full).
    state.servers.spare_claimed.notify_one();

    // The last two steps share one admin session in the new database.
    fence.step(Step::RevokePublic).await?;
    let session = p.session_in(&tenant.db_name).await?;
    let finished = async {
        p.revoke_public(&session, &tenant.db_name, &tenant.db_role)
            .await?;
        let current = fence.step(Step::MigrateAndSeed).await?;
        let email = current.seed_admin_email.clone();
        let hash = seed_hash(state, current, pending).await?;
        let seed = email.as_deref().zip(hash.as_deref());
        p.seed_in(&session, &tenant.db_name, &tenant.db_role, &password, seed)
            .await
    }
    .await;
    session.close().await;
    finished?;

    fence.step(Step::Activate).await?;
    let txn = state.db.begin().await?;
    fence.succeed(&txn).await?;
    let Some(active) = tenants::mark_active(&txn, tenant.id, fence.job.generation).await? else {
        return Err(Halt::Cancelled("the tenant moved on before activation".into()).into());
    };
    txn.commit().await?;
    tracing::info!(plan = active.plan.as_str(), "tenant provisioned and active");
    Ok(active)
}
