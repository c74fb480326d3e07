//! `control-api tenants migrate [--concurrency N]`: applies pending tenant-schema
//! migrations to every active or suspended tenant. Resumable: each database records what it
//! has applied, so a rerun continues where one stopped. Prints one line per tenant.

use crate::repo::tenants::Tenant;
use crate::settings::Settings;
use crate::startup;
use anyhow::Context;
use futures::StreamExt;
use sea_orm::{DbBackend, FromQueryResult, Statement};
use tenancy_core::config::ProcessEnv;
use tenancy_core::crypto::Sealed;

pub async fn run(concurrency: usize) -> anyhow::Result<()> {
    let settings = Settings::from_env(&ProcessEnv)?;
    let state = startup::build_state(settings).await?;
    let tenants = Tenant::find_by_statement(Statement::from_string(
        DbBackend::Postgres,
        "SELECT * FROM tenants WHERE status IN ('active', 'suspended') AND purged_at IS NULL ORDER BY slug",
    ))
    .all(&state.db)
    .await?;
    let total = tenants.len();
    let results: Vec<bool> = futures::stream::iter(tenants)
        .map(|t| {
            let state = state.clone();
            async move {
                let outcome = async {
                    let sealed = Sealed {
                        key_version: t.db_key_version.context("no credentials")?,
                        bytes: t.db_password_sealed.clone().context("no credentials")?,
                    };
                    let pw = state.settings.keyring.open(t.id, &sealed)?;
                    state
                        .provisioner
                        .migrate_and_seed(&t.db_name, &t.db_role, &pw, None)
                        .await
                }
                .await;
                match &outcome {
                    Ok(()) => println!("{}\tok", t.slug),
                    Err(e) => println!("{}\tfailed: {e:#}", t.slug),
                }
                outcome.is_ok()
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let failed = results.iter().filter(|ok| !**ok).count();
    println!(
        "{} of {total} tenants migrated, {failed} failed",
        total - failed
    );
    if failed > 0 {
        anyhow::bail!("{failed} tenant(s) failed to migrate; rerun to resume");
    }
    Ok(())
}
