//! Job records. A job is owned by one worker at a time through a lease: `claim` takes a
//! queued job, a retrying one whose delay is over, or a running one whose lease expired
//! (its worker died), so a duplicate queue message can never run a job twice at once.

use crate::entity::provisioning_jobs::{self, Entity as Jobs};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use std::time::Duration;
use uuid::Uuid;

pub use provisioning_jobs::Model as Job;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Provision,
    Purge,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provision => "provision",
            Self::Purge => "purge",
        }
    }
}

pub async fn insert(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    kind: JobKind,
    max_attempts: i32,
) -> Result<Job, DbErr> {
    Job::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO provisioning_jobs (id, tenant_id, kind, state, max_attempts)
         VALUES ($1, $2, $3, 'queued', $4) RETURNING *",
        [
            Uuid::new_v4().into(),
            tenant_id.into(),
            kind.as_str().into(),
            max_attempts.into(),
        ],
    ))
    .one(db)
    .await?
    .ok_or_else(|| DbErr::RecordNotInserted)
}

pub async fn find(db: &DatabaseConnection, id: Uuid) -> Result<Option<Job>, DbErr> {
    Jobs::find_by_id(id).one(db).await
}

/// A tenant's jobs, newest first.
pub async fn for_tenant(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    limit: u64,
) -> Result<Vec<Job>, DbErr> {
    Jobs::find()
        .filter(provisioning_jobs::Column::TenantId.eq(tenant_id))
        .order_by_desc(provisioning_jobs::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await
}

/// Takes the job for this worker and counts an attempt; `None` if someone else holds it,
/// it is finished, or its retry delay is not over.
pub async fn claim(
    db: &DatabaseConnection,
    id: Uuid,
    lease: Duration,
) -> Result<Option<Job>, DbErr> {
    Job::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE provisioning_jobs
         SET state = 'running', attempts = attempts + 1,
             lease_until = now() + make_interval(secs => $2),
             started_at = coalesce(started_at, now()), updated_at = now()
         WHERE id = $1
           AND (state = 'queued'
                OR (state IN ('running', 'retrying') AND lease_until < now()))
         RETURNING *",
        [id.into(), lease.as_secs_f64().into()],
    ))
    .one(db)
    .await
}

/// Records the step being run and renews the lease.
pub async fn heartbeat(
    db: &DatabaseConnection,
    id: Uuid,
    step: &str,
    lease: Duration,
) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE provisioning_jobs SET step = $2, lease_until = now() + make_interval(secs => $3),
             updated_at = now()
         WHERE id = $1 AND state = 'running'",
        [id.into(), step.into(), lease.as_secs_f64().into()],
    ))
    .await?;
    Ok(())
}

/// Ends the job; `state` is `succeeded`, `failed` or `cancelled`.
pub async fn finish(
    db: &impl ConnectionTrait,
    id: Uuid,
    state: &str,
    error: Option<&str>,
) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE provisioning_jobs SET state = $2, last_error = coalesce($3, last_error),
             lease_until = NULL, finished_at = now(), updated_at = now()
         WHERE id = $1",
        [id.into(), state.into(), error.map(str::to_string).into()],
    ))
    .await?;
    Ok(())
}

/// An attempt failed and another will follow after `delay`: the lease is pushed past the
/// delay so the reconciler does not take the job over while this worker waits.
pub async fn retry_later(
    db: &DatabaseConnection,
    id: Uuid,
    error: &str,
    delay: Duration,
) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE provisioning_jobs SET state = 'retrying', last_error = $2,
             lease_until = now() + make_interval(secs => $3), updated_at = now()
         WHERE id = $1",
        [id.into(), error.into(), delay.as_secs_f64().into()],
    ))
    .await?;
    Ok(())
}

/// Jobs that should be running but whose queue message or worker may be lost: queued for
/// a while, or holding an expired lease.
pub async fn orphaned(db: &DatabaseConnection, queued_for: Duration) -> Result<Vec<Job>, DbErr> {
    Job::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT * FROM provisioning_jobs
         WHERE (state = 'queued' AND updated_at < now() - make_interval(secs => $1))
            OR (state IN ('running', 'retrying') AND lease_until < now())
         ORDER BY created_at",
        [queued_for.as_secs_f64().into()],
    ))
    .all(db)
    .await
}

#[derive(FromQueryResult)]
struct Count {
    n: i64,
}

/// Jobs waiting for a worker (queued or between retries).
pub async fn queue_depth(db: &DatabaseConnection) -> Result<i64, DbErr> {
    let row = Count::find_by_statement(Statement::from_string(
        DbBackend::Postgres,
        "SELECT count(*) AS n FROM provisioning_jobs WHERE state IN ('queued', 'retrying')",
    ))
    .one(db)
    .await?;
    Ok(row.map_or(0, |r| r.n))
}
