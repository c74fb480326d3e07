//! `control-api tenants move SLUG --to SERVER`: the API's registry operation and job, run
//! here and followed to the end with a line per step. Exits non-zero unless it succeeded.

use super::tenants_backup::{follow, open, refused};
use crate::audit;
use crate::registry;
use crate::repo::tenants;
use crate::servers::ServerName;
use anyhow::Context;

pub async fn run(slug: &str, to: &str) -> anyhow::Result<()> {
    let server = ServerName::parse(to.trim()).map_err(|rule| anyhow::anyhow!("--to {rule}"))?;
    let (state, tenant) = open(slug).await?;
    let (_, job) = registry::move_tenant(&state, &audit::Context::cli(), &tenant, &server)
        .await
        .map_err(refused)?;
    println!(
        "move of {slug} from server {} to {server}: tenant fenced (moving), job {}",
        tenant.server, job.id
    );
    follow(&state, job.id).await?;
    let now = tenants::find(&state.db, tenant.id)
        .await?
        .context("the tenant vanished")?;
    println!(
        "move of {slug}: done, tenant {} on server {}, database {}",
        now.status.as_str(),
        now.server,
        now.db_name
    );
    Ok(())
}
