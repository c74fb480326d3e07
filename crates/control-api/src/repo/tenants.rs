//! The tenant registry.

use crate::entity::tenants::{self, Entity as Tenants};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use tenancy_core::domain::{Plan, TenantStatus};
use uuid::Uuid;

pub use tenants::Model as Tenant;

/// The tenant that currently owns `slug` (a purged tenant's row frees the slug).
#[tracing::instrument(skip_all, fields(tenant.slug = %slug))]
pub async fn find_by_slug(db: &DatabaseConnection, slug: &str) -> Result<Option<Tenant>, DbErr> {
    Tenants::find()
        .filter(tenants::Column::Slug.eq(slug))
        .filter(tenants::Column::PurgedAt.is_null())
        .one(db)
        .await
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Tenant>, DbErr> {
    Tenants::find_by_id(id).one(db).await
}

/// One page of tenants, newest first, and the total matching.
#[tracing::instrument(skip_all)]
pub async fn list(
    db: &DatabaseConnection,
    status: Option<TenantStatus>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<Tenant>, u64), DbErr> {
    let mut query = Tenants::find().filter(tenants::Column::PurgedAt.is_null());
    if let Some(status) = status {
        query = query.filter(tenants::Column::Status.eq(status.as_str()));
    }
    let total = query.clone().count(db).await?;
    let items = query
        .order_by_desc(tenants::Column::CreatedAt)
        .order_by_asc(tenants::Column::Id)
        .offset((page - 1) * per_page)
        .limit(per_page)
        .all(db)
        .await?;
    Ok((items, total))
}

/// Moves a tenant from one of `from` to `to`, atomically; `None` when its status was
/// not one of `from` (or it does not exist).
#[tracing::instrument(skip_all, fields(tenant.id = %id, to = to.as_str()))]
pub async fn transition(
    db: &impl ConnectionTrait,
    id: Uuid,
    from: &[TenantStatus],
    to: TenantStatus,
) -> Result<Option<Tenant>, DbErr> {
    let from: Vec<String> = from.iter().map(|s| s.as_str().to_string()).collect();
    let deleted_at = if to == TenantStatus::Deleted {
        ", deleted_at = coalesce(deleted_at, now())"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE tenants SET status = $2, updated_at = now(){deleted_at}
         WHERE id = $1 AND status = ANY($3) AND purged_at IS NULL RETURNING *"
    );
    Tenant::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [id.into(), to.as_str().into(), from.into()],
    ))
    .one(db)
    .await
}

/// Changes name and/or plan; `None` when the tenant is gone.
pub async fn update_details(
    db: &DatabaseConnection,
    id: Uuid,
    name: Option<&str>,
    plan: Option<Plan>,
) -> Result<Option<Tenant>, DbErr> {
    Tenant::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE tenants SET name = coalesce($2, name), plan = coalesce($3, plan), updated_at = now()
         WHERE id = $1 RETURNING *",
        [id.into(), name.map(str::to_string).into(), plan.map(|p| p.as_str().to_string()).into()],
    ))
    .one(db)
    .await
}

/// Stores sealed credentials unless some are stored already (a re-run keeps the first).
pub async fn set_credentials_once(
    db: &DatabaseConnection,
    id: Uuid,
    sealed: Vec<u8>,
    key_version: i16,
) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE tenants SET db_password_sealed = $2, db_key_version = $3, updated_at = now()
         WHERE id = $1 AND db_password_sealed IS NULL",
        [id.into(), sealed.into(), key_version.into()],
    ))
    .await?;
    Ok(())
}

/// Provisioning finished: the tenant goes live and the seed hash is forgotten.
pub async fn mark_active(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    let res = db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE tenants SET status = 'active', seed_admin_password_hash = NULL, updated_at = now()
             WHERE id = $1 AND status = 'provisioning'",
            [id.into()],
        ))
        .await?;
    Ok(res.rows_affected() == 1)
}

/// Purge finished: the database and role are gone, and so are the credentials.
pub async fn mark_purged(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE tenants SET purged_at = now(), db_password_sealed = NULL, db_key_version = NULL,
             seed_admin_password_hash = NULL, updated_at = now()
         WHERE id = $1",
        [id.into()],
    ))
    .await?;
    Ok(())
}

#[derive(FromQueryResult)]
struct StatusCount {
    status: String,
    n: i64,
}

/// Tenants per status (purged rows excluded), for the `tenants` gauge.
pub async fn count_by_status(db: &DatabaseConnection) -> Result<Vec<(String, i64)>, DbErr> {
    let rows = StatusCount::find_by_statement(Statement::from_string(
        DbBackend::Postgres,
        "SELECT status, count(*) AS n FROM tenants WHERE purged_at IS NULL GROUP BY status",
    ))
    .all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.status, r.n)).collect())
}

/// Tenants stuck in `provisioning` with no open job (e.g. the API died between commit and
/// enqueue); the reconciler gives them a new job.
pub async fn provisioning_without_open_job(db: &DatabaseConnection) -> Result<Vec<Tenant>, DbErr> {
    Tenant::find_by_statement(Statement::from_string(
        DbBackend::Postgres,
        "SELECT t.* FROM tenants t
         WHERE t.status = 'provisioning' AND t.purged_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM provisioning_jobs j
                           WHERE j.tenant_id = t.id AND j.state IN ('queued', 'running', 'retrying'))",
    ))
    .all(db)
    .await
}
