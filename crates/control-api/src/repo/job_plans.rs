//! Where a `move` or `restore` job copies from and to, recorded with the job when it is
//! queued so a resumed attempt knows what to fence, fill and drop.

use super::jobs::{Job, JobKind};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement};
use uuid::Uuid;

/// The databases a `move` or `restore` works between, recorded with the job.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub source_server: String,
    pub source_db: String,
    pub target_server: String,
    pub target_db: String,
}

/// A new `queued` job with its id chosen by the caller (a move's target database is named
/// after it) and the databases it works between.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_planned(
    db: &impl ConnectionTrait,
    id: Uuid,
    tenant_id: Uuid,
    kind: JobKind,
    generation: i32,
    max_attempts: i32,
    backup_id: Option<Uuid>,
    plan: &Plan,
) -> Result<Job, DbErr> {
    Job::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO provisioning_jobs (id, tenant_id, kind, state, generation, max_attempts,
             backup_id, source_server, source_db, target_server, target_db)
         VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9, $10) RETURNING *",
        [
            id.into(),
            tenant_id.into(),
            kind.into(),
            generation.into(),
            max_attempts.into(),
            backup_id.into(),
            plan.source_server.clone().into(),
            plan.source_db.clone().into(),
            plan.target_server.clone().into(),
            plan.target_db.clone().into(),
        ],
    ))
    .one(db)
    .await?
    .ok_or_else(|| DbErr::RecordNotInserted)
}

/// The job's recorded plan, if it has a whole one.
pub(crate) fn plan_of(job: &Job) -> Option<Plan> {
    Some(Plan {
        source_server: job.source_server.clone()?,
        source_db: job.source_db.clone()?,
        target_server: job.target_server.clone()?,
        target_db: job.target_db.clone()?,
    })
}
