//! `control-api tenants backup SLUG` and `tenants restore SLUG --backup ID`: the same
//! registry operations and jobs as the API's, run here and followed to the end with a line
//! per step. Exits non-zero when the job does not succeed.

use crate::audit;
use crate::registry;
use crate::repo::backups;
use crate::repo::jobs::{self, JobState};
use crate::repo::tenants::{self, Tenant};
use crate::settings::Settings;
use crate::startup;
use crate::state::AppState;
use anyhow::{Context, bail};
use std::time::Duration;
use tenancy_core::ApiError;
use tenancy_core::config::ProcessEnv;
use uuid::Uuid;

const POLL: Duration = Duration::from_millis(200);

pub(super) async fn open(slug: &str) -> anyhow::Result<(AppState, Tenant)> {
    let mut settings = Settings::from_env(&ProcessEnv)?;
    // This process runs the job itself (below), not through an immediate-start slot.
    settings.run_worker = false;
    let state = startup::build_state(settings).await?;
    let tenant = tenants::find_by_slug(&state.db, slug)
        .await?
        .with_context(|| format!("no tenant `{slug}`"))?;
    Ok((state, tenant))
}

pub(super) fn refused(e: ApiError) -> anyhow::Error {
    anyhow::anyhow!("{} ({})", e.detail, e.code.as_str())
}

pub async fn backup(slug: &str) -> anyhow::Result<()> {
    let (state, tenant) = open(slug).await?;
    let (backup, job) = registry::backup(&state, &audit::Context::cli(), &tenant)
        .await
        .map_err(refused)?;
    println!("backup {} of {slug}: queued (job {})", backup.id, job.id);
    follow(&state, job.id).await?;
    let done = backups::find(&state.db, backup.id)
        .await?
        .context("the backup record vanished")?;
    println!(
        "backup {} of {slug}: complete, {} bytes, schema {}",
        done.id,
        done.size_bytes.unwrap_or_default(),
        done.schema_version.as_deref().unwrap_or("?"),
    );
    Ok(())
}

pub async fn restore(slug: &str, backup: &str) -> anyhow::Result<()> {
    let backup_id = Uuid::parse_str(backup.trim()).context("--backup must be a backup id")?;
    let (state, tenant) = open(slug).await?;
    let (_, job) = registry::restore(&state, &audit::Context::cli(), &tenant, backup_id)
        .await
        .map_err(refused)?;
    println!(
        "restore of {slug} from backup {backup_id}: tenant fenced (moving), job {}",
        job.id
    );
    follow(&state, job.id).await?;
    let now = tenants::find(&state.db, tenant.id)
        .await?
        .context("the tenant vanished")?;
    println!(
        "restore of {slug}: done, tenant {} on database {}",
        now.status.as_str(),
        now.db_name
    );
    Ok(())
}

/// Runs the job here (or waits for the worker that claimed it first), printing each step;
/// an error unless it succeeded.
pub(super) async fn follow(state: &AppState, job_id: Uuid) -> anyhow::Result<()> {
    let watch = async {
        let mut last_step = None;
        loop {
            let job = jobs::find(&state.db, job_id)
                .await?
                .context("the job record vanished")?;
            if job.step.is_some() && job.step != last_step {
                println!("  step: {}", job.step.as_deref().unwrap_or_default());
                last_step = job.step.clone();
            }
            if !job.state.is_open() {
                return anyhow::Ok(job);
            }
            tokio::time::sleep(POLL).await;
        }
    };
    let (ran, job) = tokio::join!(crate::jobs::run_here(state, job_id), watch);
    ran?;
    let job = job?;
    if job.state != JobState::Succeeded {
        bail!(
            "job {job_id} {}: {}",
            serde_json::to_value(job.state)?.as_str().unwrap_or("ended"),
            job.last_error.as_deref().unwrap_or("no error recorded")
        );
    }
    Ok(())
}
