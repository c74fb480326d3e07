//! `control-api tenants migrate [--concurrency N] [--server NAME]`: applies pending
//! tenant-schema migrations to every active or suspended tenant, on every database server
//! (or the one named), at most N at once per server so one slow server does not hold up
//! the others and no server gets more than N migrations at a time. Resumable: each
//! database records what it has applied, so a rerun continues where one stopped. Prints
//! one line per tenant (slug, server, outcome), then a summary.

use crate::repo::tenants::Tenant;
use crate::servers::ServerName;
use crate::settings::Settings;
use crate::startup;
use crate::state::AppState;
use anyhow::Context;
use futures::StreamExt;
use sea_orm::{DbBackend, FromQueryResult, Statement};
use std::collections::HashMap;
use std::sync::Arc;
use tenancy_core::config::ProcessEnv;
use tenancy_core::crypto::Sealed;
use tokio::sync::Semaphore;

pub async fn run(concurrency: usize, server: Option<String>) -> anyhow::Result<()> {
    let server = server
        .map(|raw| ServerName::parse(&raw).map_err(|rule| anyhow::anyhow!("--server {rule}")))
        .transpose()?;
    let settings = Settings::from_env(&ProcessEnv)?;
    let state = startup::build_state(settings).await?;
    if let Some(name) = &server
        && crate::repo::servers::find(&state.db, name.as_str())
            .await?
            .is_none()
    {
        anyhow::bail!("no database server `{name}` (see `control-api servers list`)");
    }
    let tenants = Tenant::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT * FROM tenants WHERE status IN ('active', 'suspended') AND purged_at IS NULL
           AND ($1::text IS NULL OR server = $1) ORDER BY server, slug",
        [server.as_ref().map(|s| s.as_str().to_string()).into()],
    ))
    .all(&state.db)
    .await?;
    let total = tenants.len();
    let tenants = round_robin(tenants);
    let per_server = concurrency.max(1);
    let mut gates: HashMap<String, Arc<Semaphore>> = HashMap::new();
    for t in &tenants {
        gates
            .entry(t.server.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(per_server)));
    }
    // Enough in flight for every server to use its share; each waits for its server's gate.
    let in_flight = per_server * gates.len().max(1);
    let results: Vec<Option<usize>> = futures::stream::iter(tenants)
        .map(|t| {
            let state = state.clone();
            let gate = gates[&t.server].clone();
            async move {
                let _permit = gate.acquire_owned().await;
                let (slug, server) = (&t.slug, &t.server);
                match migrate_one(&state, &t).await {
                    Ok(applied) if applied.is_empty() => {
                        println!("{slug}\t{server}\tup to date");
                        Some(0)
                    }
                    Ok(applied) => {
                        println!("{slug}\t{server}\tapplied {}", applied.join(", "));
                        Some(applied.len())
                    }
                    Err(e) => {
                        println!("{slug}\t{server}\tfailed: {e:#}");
                        None
                    }
                }
            }
        })
        .buffer_unordered(in_flight)
        .collect()
        .await;
    let failed = results.iter().filter(|r| r.is_none()).count();
    let changed = results
        .iter()
        .filter(|r| matches!(r, Some(n) if *n > 0))
        .count();
    let applied: usize = results.iter().flatten().sum();
    println!(
        "{total} tenants on {} server(s): {changed} migrated ({applied} migrations applied), {} already up to date, {failed} failed",
        gates.len(),
        total - failed - changed
    );
    if failed > 0 {
        // The per-tenant lines above carry the causes; main prints this summary once.
        anyhow::bail!("{failed} tenant(s) failed to migrate; rerun to resume");
    }
    Ok(())
}

/// The tenants ordered one per server in turn, so the stream's window holds work for every
/// server rather than a queue of one server's tenants waiting on its gate.
fn round_robin(tenants: Vec<Tenant>) -> Vec<Tenant> {
    let mut by_server: Vec<(String, std::collections::VecDeque<Tenant>)> = Vec::new();
    for t in tenants {
        match by_server.iter_mut().find(|(s, _)| *s == t.server) {
            Some((_, queue)) => queue.push_back(t),
            None => by_server.push((t.server.clone(), [t].into())),
        }
    }
    let mut out = Vec::new();
    while by_server.iter().any(|(_, q)| !q.is_empty()) {
        for (_, queue) in &mut by_server {
            out.extend(queue.pop_front());
        }
    }
    out
}

/// Migrates one tenant database; returns the names of the migrations it applied.
async fn migrate_one(state: &AppState, t: &Tenant) -> anyhow::Result<Vec<String>> {
    let sealed = Sealed {
        key_version: t.db_key_version.context("no credentials")?,
        bytes: t.db_password_sealed.clone().context("no credentials")?,
    };
    let pw = state.settings.keyring.open(t.id, &sealed)?;
    let provisioner = state.servers.provisioner(&t.server).await?;
    // Decided from one read of what the database records: the migrator (a second
    // connection) only runs when there is work.
    let pending = provisioner
        .pending_migrations(&t.db_name, &t.db_role, &pw)
        .await?;
    if !pending.is_empty() {
        provisioner
            .migrate_and_seed(&t.db_name, &t.db_role, &pw, None)
            .await?;
    }
    Ok(pending)
}
