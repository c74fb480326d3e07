//! The `purge` job: end the database's sessions, drop the database, drop the role (only
//! this tenant's: see `provisioner`), then mark the tenant purged. It runs under the
//! tenant's job lock, so a provisioning job of the same tenant is finished or stopped first.

use super::runner::{Fence, Halt};
use crate::hooks::Step;
use crate::repo::tenants::{self, Tenant};
use sea_orm::TransactionTrait;

#[tracing::instrument(skip_all, fields(tenant.slug = tracing::field::Empty, job.id = %fence.job.id, job.attempt = fence.job.attempts))]
pub(super) async fn run(fence: &Fence<'_>) -> anyhow::Result<Tenant> {
    let tenant = fence.step(Step::DropDatabase).await?;
    tracing::Span::current().record("tenant.slug", tenant.slug.as_str());
    fence
        .state
        .servers
        .provisioner(&tenant.server)
        .await?
        .drop_database_and_role(tenant.id, &tenant.db_name, &tenant.db_role)
        .await?;
    let txn = fence.state.db.begin().await?;
    fence.succeed(&txn).await?;
    if !tenants::mark_purged(&txn, tenant.id, fence.job.generation).await? {
        return Err(Halt::Cancelled("the tenant moved on before the purge finished".into()).into());
    }
    txn.commit().await?;
    tracing::info!("tenant purged: database and role dropped");
    Ok(tenant)
}
