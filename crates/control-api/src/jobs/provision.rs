//! The `provision-tenant` job's steps: credentials -> role -> database -> revoke PUBLIC ->
//! migrations and seed -> active. Each is idempotent; the job can die anywhere and rerun.

use super::fault::Step;
use crate::repo::jobs::{self, Job};
use crate::repo::tenants::{self, Tenant};
use crate::state::AppState;
use anyhow::Context;
use sea_orm::TransactionTrait;
use secrecy::SecretString;
use tenancy_core::crypto::Sealed;

/// Connections a tenant role may hold; room for several app-api replicas' pools.
const ROLE_CONNECTION_LIMIT: u32 = 50;

async fn step(state: &AppState, job: &Job, step: Step) -> anyhow::Result<()> {
    jobs::heartbeat(&state.db, job.id, step.as_str(), state.settings.job_lease).await?;
    if let Some(fault) = &state.settings.fault {
        fault.check(step).await?;
    }
    Ok(())
}

/// The tenant's database password: generated and sealed on the first run, reused after.
async fn credentials(state: &AppState, tenant: &Tenant) -> anyhow::Result<SecretString> {
    let keyring = &state.settings.keyring;
    if tenant.db_password_sealed.is_none() {
        let sealed = keyring.seal(tenant.id, &crate::provisioner::generate_password());
        tenants::set_credentials_once(&state.db, tenant.id, sealed.bytes, sealed.key_version)
            .await?;
    }
    // Re-read: a concurrent run may have stored its password first, and that one wins.
    let stored = tenants::find(&state.db, tenant.id)
        .await?
        .context("tenant vanished")?;
    let sealed = Sealed {
        key_version: stored
            .db_key_version
            .context("sealed password without key version")?,
        bytes: stored
            .db_password_sealed
            .context("sealed password missing")?,
    };
    keyring
        .open(tenant.id, &sealed)
        .context("decrypting the tenant's database password")
}

/// Runs every step; returns once the tenant is `active`.
#[tracing::instrument(skip_all, fields(tenant.slug = %tenant.slug, job.id = %job.id, job.attempt = job.attempts))]
pub async fn run(state: &AppState, job: &Job, tenant: &Tenant) -> anyhow::Result<()> {
    let p = &state.provisioner;
    step(state, job, Step::Credentials).await?;
    let password = credentials(state, tenant).await?;

    step(state, job, Step::CreateRole).await?;
    p.ensure_role(&tenant.db_role, &password, ROLE_CONNECTION_LIMIT)
        .await?;

    step(state, job, Step::CreateDatabase).await?;
    p.ensure_database(&tenant.db_name, &tenant.db_role).await?;

    step(state, job, Step::RevokePublic).await?;
    p.revoke_public(&tenant.db_name).await?;

    step(state, job, Step::MigrateAndSeed).await?;
    let seed = tenant
        .seed_admin_email
        .as_deref()
        .zip(tenant.seed_admin_password_hash.as_deref());
    p.migrate_and_seed(&tenant.db_name, &tenant.db_role, &password, seed)
        .await?;

    step(state, job, Step::Activate).await?;
    let txn = state.db.begin().await?;
    tenants::mark_active(&txn, tenant.id).await?;
    jobs::finish(&txn, job.id, "succeeded", None).await?;
    txn.commit().await?;
    tracing::info!(plan = %tenant.plan, "tenant provisioned and active");
    Ok(())
}
