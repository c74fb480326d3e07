//! A tenant database copied to another server with no file in between: `pg_dump -Fc` of
//! the source piped straight into `pg_restore` into the target, both logged in as the
//! tenant's role (so the copy holds exactly what the tenant owns, and owns all of it), the
//! password only in the tools' environment.

use super::{EXCLUDED_SCHEMA, tools, tools_for};
use crate::provisioner::Provisioner;
use crate::state::AppState;
use anyhow::Context;
use secrecy::SecretString;
use std::process::Stdio;

/// The databases of a copy and the role both tools log in as.
pub(crate) struct CopyJob<'a> {
    pub source: &'a Provisioner,
    pub source_db: &'a str,
    pub target: &'a Provisioner,
    pub target_db: &'a str,
    pub role: &'a str,
    pub password: &'a SecretString,
}

/// A copy that failed in `pg_dump` or `pg_restore`: the tools' own complaint, final for
/// the move (it rolls back rather than trying the same copy again).
#[derive(Debug, thiserror::Error)]
#[error("copying the database failed")]
pub(crate) struct CopyFailed;

/// Copies `source_db` into the empty `target_db` (one `pg_restore` transaction).
pub(crate) async fn copy(state: &AppState, job: CopyJob<'_>) -> anyhow::Result<()> {
    let tools = tools_for(state, job.source).await?;
    tools_for(state, job.target).await?;
    let dump_env = job
        .source
        .libpq_env(job.source_db, job.role, job.password)?;
    let restore_env = job
        .target
        .libpq_env(job.target_db, job.role, job.password)?;
    let mut dump = tools.spawn(
        "pg_dump",
        &[
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            EXCLUDED_SCHEMA,
        ],
        &dump_env,
        Stdio::null(),
        Stdio::piped(),
    )?;
    let out: Stdio = dump
        .stdout
        .take()
        .context("pg_dump has no stdout")?
        .try_into()
        .context("handing pg_dump's output to pg_restore")?;
    let restore = tools.spawn(
        "pg_restore",
        &[
            "--dbname",
            job.target_db,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
        ],
        &restore_env,
        out,
        Stdio::null(),
    )?;
    let (dumped, restored) = tokio::join!(
        tools::finish("pg_dump", dump),
        tools::finish("pg_restore", restore)
    );
    // pg_restore's complaint first: a pg_dump killed by the closed pipe says less.
    restored.context(CopyFailed)?;
    dumped.context(CopyFailed)?;
    Ok(())
}
