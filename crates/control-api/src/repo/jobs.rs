//! Job records. A job is owned by one worker at a time through a lease: `claim` takes a
//! queued job, a retrying one whose delay is over, or a running one whose lease expired
//! (its worker died), and counts an attempt. The attempt number is the owner's token:
//! every later write names it, so a worker that lost its job writes nothing.

use crate::entity::provisioning_jobs::{self, Entity as Jobs};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use std::time::Duration;
use uuid::Uuid;

pub(crate) use super::job_plans::{Plan, insert_planned, plan_of};
pub(crate) use provisioning_jobs::Model as Job;
pub(crate) use provisioning_jobs::{JobKind, JobState};

/// A new `queued` job working for the tenant's `generation`.
pub(crate) async fn insert(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    kind: JobKind,
    generation: i32,
    max_attempts: i32,
) -> Result<Job, DbErr> {
    insert_for_backup(db, tenant_id, kind, generation, max_attempts, None).await
}

/// [`insert`] for a job that writes or reads `backup_id`.
pub(crate) async fn insert_for_backup(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    kind: JobKind,
    generation: i32,
    max_attempts: i32,
    backup_id: Option<Uuid>,
) -> Result<Job, DbErr> {
    Job::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO provisioning_jobs (id, tenant_id, kind, state, generation, max_attempts, backup_id)
         VALUES ($1, $2, $3, 'queued', $4, $5, $6) RETURNING *",
        [
            Uuid::new_v4().into(),
            tenant_id.into(),
            kind.into(),
            generation.into(),
            max_attempts.into(),
            backup_id.into(),
        ],
    ))
    .one(db)
    .await?
    .ok_or_else(|| DbErr::RecordNotInserted)
}

pub(crate) async fn find(db: &DatabaseConnection, id: Uuid) -> Result<Option<Job>, DbErr> {
    Jobs::find_by_id(id).one(db).await
}

/// A tenant's jobs, newest first.
pub(crate) async fn for_tenant(
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

/// Whether the tenant has an unfinished job of this kind.
pub(crate) async fn has_open(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    kind: JobKind,
) -> Result<bool, DbErr> {
    let open = Jobs::find()
        .filter(provisioning_jobs::Column::TenantId.eq(tenant_id))
        .filter(provisioning_jobs::Column::Kind.eq(kind))
        .filter(provisioning_jobs::Column::State.is_in([
            JobState::Queued,
            JobState::Running,
            JobState::Retrying,
        ]))
        .one(db)
        .await?;
    Ok(open.is_some())
}

/// Takes the job for this worker and counts an attempt; `None` if someone else holds it,
/// it is finished, its retry delay is not over, or its attempts are spent (a worker died
/// during the last one: see [`fail_exhausted`]).
pub(crate) async fn claim(
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
                OR (state IN ('running', 'retrying') AND lease_until < now()
                    AND attempts < max_attempts))
         RETURNING *",
        [id.into(), lease.as_secs_f64().into()],
    ))
    .one(db)
    .await
}

/// A job whose worker stopped during its last allowed attempt (its lease expired with the
/// attempts spent, so `claim` no longer takes it) ends `failed` here; `None` when the job
/// is not such a job. Without this, a job that kills its worker every time would be
/// claimed again forever.
pub(crate) async fn fail_exhausted(
    db: &impl ConnectionTrait,
    id: Uuid,
    error: &str,
) -> Result<Option<Job>, DbErr> {
    Job::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE provisioning_jobs
         SET state = 'failed', last_error = $2, lease_until = NULL,
             finished_at = now(), updated_at = now()
         WHERE id = $1 AND state IN ('running', 'retrying') AND lease_until < now()
           AND attempts >= max_attempts
         RETURNING *",
        [id.into(), error.into()],
    ))
    .one(db)
    .await
}

/// Records the step being run (or `None`: keeps the last) and renews the lease; `false`
/// when this attempt no longer owns the job.
pub(crate) async fn heartbeat(
    db: &DatabaseConnection,
    job: &Job,
    step: Option<&str>,
    lease: Duration,
) -> Result<bool, DbErr> {
    let res = db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE provisioning_jobs SET step = coalesce($3, step),
                 lease_until = now() + make_interval(secs => $4), updated_at = now()
             WHERE id = $1 AND attempts = $2 AND state = 'running'",
            [
                job.id.into(),
                job.attempts.into(),
                step.map(str::to_string).into(),
                lease.as_secs_f64().into(),
            ],
        ))
        .await?;
    Ok(res.rows_affected() == 1)
}

/// [`heartbeat`] and a read of the job's tenant in one round trip (the fence before every
/// step): whether this attempt still owns the job, and the tenant row, if any.
pub(crate) async fn heartbeat_and_tenant(
    db: &DatabaseConnection,
    job: &Job,
    step: &str,
    lease: Duration,
) -> Result<(bool, Option<crate::repo::tenants::Tenant>), DbErr> {
    use sea_orm::FromQueryResult;
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "WITH renewed AS (
                 UPDATE provisioning_jobs SET step = $3,
                     lease_until = now() + make_interval(secs => $4), updated_at = now()
                 WHERE id = $1 AND attempts = $2 AND state = 'running' RETURNING 1)
             SELECT EXISTS (SELECT 1 FROM renewed) AS owned, t.*
             FROM (SELECT 1) one LEFT JOIN tenants t ON t.id = $5",
            [
                job.id.into(),
                job.attempts.into(),
                step.into(),
                lease.as_secs_f64().into(),
                job.tenant_id.into(),
            ],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("fence row".into()))?;
    let owned: bool = row.try_get("", "owned")?;
    let found: Option<Uuid> = row.try_get("", "id")?;
    let tenant = match found {
        Some(_) => Some(crate::repo::tenants::Tenant::from_query_result(&row, "")?),
        None => None,
    };
    Ok((owned, tenant))
}

/// Ends this attempt's job in a final `state`; `false` when the attempt had lost the job
/// (the caller then rolls back whatever it wrote with it).
pub(crate) async fn finish(
    db: &impl ConnectionTrait,
    job: &Job,
    state: JobState,
    error: Option<&str>,
) -> Result<bool, DbErr> {
    let res = db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE provisioning_jobs SET state = $3, last_error = coalesce($4, last_error),
                 lease_until = NULL, finished_at = now(), updated_at = now()
             WHERE id = $1 AND attempts = $2 AND state = 'running'",
            [
                job.id.into(),
                job.attempts.into(),
                state.into(),
                error.map(str::to_string).into(),
            ],
        ))
        .await?;
    Ok(res.rows_affected() == 1)
}

/// An attempt failed and another follows after `delay`. The lease is pushed past the delay
/// so the reconciler does not take the job over meanwhile. `counted: false` gives the
/// attempt back: the job never got to try (the tenant database server was unreachable).
pub(crate) async fn retry_later(
    db: &DatabaseConnection,
    job: &Job,
    error: &str,
    delay: Duration,
    counted: bool,
) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE provisioning_jobs SET state = 'retrying', last_error = $3,
             attempts = attempts - CASE WHEN $5 THEN 0 ELSE 1 END,
             lease_until = now() + make_interval(secs => $4), updated_at = now()
         WHERE id = $1 AND attempts = $2 AND state = 'running'",
        [
            job.id.into(),
            job.attempts.into(),
            error.into(),
            delay.as_secs_f64().into(),
            counted.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Jobs that should be running but whose queue message or worker may be lost: queued for
/// a while, or holding an expired lease.
pub(crate) async fn orphaned(
    db: &DatabaseConnection,
    queued_for: Duration,
) -> Result<Vec<Job>, DbErr> {
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
