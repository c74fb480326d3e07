//! `control-api tenants migrate [--concurrency N]`: applies pending tenant-schema
//! migrations to every active or suspended tenant. Resumable: each database records what it
//! has applied, so a rerun continues where one stopped. Prints one line per tenant with the
//! migrations it applied, then a summary.

use crate::repo::tenants::Tenant;
use crate::settings::Settings;
use crate::startup;
use crate::state::AppState;
use anyhow::Context;
use futures::StreamExt;
use migrations_tenant::Migrator;
use sea_orm::{ConnectOptions, Database, DbBackend, FromQueryResult, Statement};
use sea_orm_migration::MigratorTrait;
use secrecy::{ExposeSecret, SecretString};
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
    let results: Vec<Option<usize>> = futures::stream::iter(tenants)
        .map(|t| {
            let state = state.clone();
            async move {
                match migrate_one(&state, &t).await {
                    Ok(applied) if applied.is_empty() => {
                        println!("{}\tup to date", t.slug);
                        Some(0)
                    }
                    Ok(applied) => {
                        println!("{}\tapplied {}", t.slug, applied.join(", "));
                        Some(applied.len())
                    }
                    Err(e) => {
                        println!("{}\tfailed: {e:#}", t.slug);
                        None
                    }
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let failed = results.iter().filter(|r| r.is_none()).count();
    let changed = results
        .iter()
        .filter(|r| matches!(r, Some(n) if *n > 0))
        .count();
    let applied: usize = results.iter().flatten().sum();
    println!(
        "{total} tenants: {changed} migrated ({applied} migrations applied), {} already up to date, {failed} failed",
        total - failed - changed
    );
    if failed > 0 {
        // The per-tenant lines above carry the causes; main prints this summary once.
        anyhow::bail!("{failed} tenant(s) failed to migrate; rerun to resume");
    }
    Ok(())
}

/// Migrates one tenant database; returns the names of the migrations it applied.
async fn migrate_one(state: &AppState, t: &Tenant) -> anyhow::Result<Vec<String>> {
    let sealed = Sealed {
        key_version: t.db_key_version.context("no credentials")?,
        bytes: t.db_password_sealed.clone().context("no credentials")?,
    };
    let pw = state.settings.keyring.open(t.id, &sealed)?;
    let pending = pending_migrations(state, &t.db_name, &t.db_role, &pw).await?;
    state
        .provisioner
        .migrate_and_seed(&t.db_name, &t.db_role, &pw, None)
        .await?;
    Ok(pending)
}

/// What `migrate_and_seed` is about to apply, read as the tenant role without changing
/// anything (a database never migrated reports every migration).
async fn pending_migrations(
    state: &AppState,
    db: &str,
    role: &str,
    pw: &SecretString,
) -> anyhow::Result<Vec<String>> {
    let url = state.provisioner.tenant_url(db, role, pw)?;
    let mut opts = ConnectOptions::new(url.expose_secret().to_string());
    opts.max_connections(1).sqlx_logging(false);
    let conn = Database::connect(opts)
        .await
        .context("connecting to the tenant database as its role")?;
    let pending = Migrator::get_pending_migrations_read_only(&conn).await;
    let _ = conn.close().await;
    Ok(pending
        .context("reading the tenant's applied migrations")?
        .iter()
        .map(|m| m.name().to_string())
        .collect())
}
