//! The `purge-tenant` job: end the database's sessions, drop the database, drop the role.

use crate::repo::jobs::{self, Job};
use crate::repo::tenants::{self, Tenant};
use crate::state::AppState;
use sea_orm::TransactionTrait;

#[tracing::instrument(skip_all, fields(tenant.slug = %tenant.slug, job.id = %job.id, job.attempt = job.attempts))]
pub async fn run(state: &AppState, job: &Job, tenant: &Tenant) -> anyhow::Result<()> {
    jobs::heartbeat(&state.db, job.id, "drop_database", state.settings.job_lease).await?;
    state
        .provisioner
        .drop_database_and_role(&tenant.db_name, &tenant.db_role)
        .await?;
    let txn = state.db.begin().await?;
    tenants::mark_purged(&txn, tenant.id).await?;
    jobs::finish(&txn, job.id, "succeeded", None).await?;
    txn.commit().await?;
    tracing::info!("tenant purged: database and role dropped");
    Ok(())
}
