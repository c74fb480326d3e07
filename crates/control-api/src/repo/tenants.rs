//! The tenant registry's SQL. Status changes go through `set_status`, which checks the
//! lifecycle's legal moves (`TenantStatus::can_become`) and counts a generation; the jobs'
//! own end states (`mark_*`) are fenced by the generation they worked for.

use crate::entity::tenants::{self, Entity as Tenants};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use tenancy_core::domain::{Plan, TenantStatus};
use uuid::Uuid;

pub(crate) use tenants::Model as Tenant;

/// The tenant that currently owns `slug` (a purged tenant's row frees the slug).
#[tracing::instrument(skip_all, fields(tenant.slug = %slug))]
pub(crate) async fn find_by_slug(
    db: &DatabaseConnection,
    slug: &str,
) -> Result<Option<Tenant>, DbErr> {
    Tenants::find()
        .filter(tenants::Column::Slug.eq(slug))
        .filter(tenants::Column::PurgedAt.is_null())
        .one(db)
        .await
}

pub(crate) async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Tenant>, DbErr> {
    Tenants::find_by_id(id).one(db).await
}

/// The live (not purged) tenant, its row locked until the transaction ends, so status
/// changes of one tenant happen one at a time.
pub(crate) async fn lock(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Tenant>, DbErr> {
    Tenant::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT * FROM tenants WHERE id = $1 AND purged_at IS NULL FOR UPDATE",
        [id.into()],
    ))
    .one(db)
    .await
}

/// `text` as a case-insensitive substring pattern: its own `%`, `_` and `\` match
/// literally, escaped with PostgreSQL's default LIKE escape, the backslash (sea-query's
/// explicit `ESCAPE` clause does not render with a bound pattern).
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Which tenants a list keeps; `None` keeps all. Named fields, since `search` and `server`
/// are both text and swapping them would still compile.
#[derive(Default)]
pub(crate) struct ListFilter<'a> {
    pub status: Option<TenantStatus>,
    /// A substring of the slug or the name, in any case.
    pub search: Option<&'a str>,
    /// The database server's name.
    pub server: Option<&'a str>,
}

/// One page of tenants, newest first, and the total matching.
#[tracing::instrument(skip_all)]
pub(crate) async fn list(
    db: &DatabaseConnection,
    filter: ListFilter<'_>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<Tenant>, u64), DbErr> {
    let mut query = Tenants::find().filter(tenants::Column::PurgedAt.is_null());
    if let Some(status) = filter.status {
        query = query.filter(tenants::Column::Status.eq(status));
    }
    if let Some(search) = filter.search {
        query = query.filter(
            Condition::any()
                .add(tenants::Column::Slug.ilike(contains_pattern(search)))
                .add(tenants::Column::Name.ilike(contains_pattern(search))),
        );
    }
    if let Some(server) = filter.server {
        query = query.filter(tenants::Column::Server.eq(server));
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

/// Sets a new status (or the same one: `deleted` again for a purge) and counts a new
/// generation, which fences every job queued before. Call on a row from `lock`.
pub(crate) async fn set_status(
    db: &impl ConnectionTrait,
    id: Uuid,
    to: TenantStatus,
) -> Result<Tenant, DbErr> {
    Tenant::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE tenants SET status = $2, generation = generation + 1, updated_at = now(),
             deleted_at = CASE WHEN $2 = 'deleted' THEN coalesce(deleted_at, now()) END
         WHERE id = $1 AND purged_at IS NULL RETURNING *",
        [id.into(), to.into()],
    ))
    .one(db)
    .await?
    .ok_or_else(|| DbErr::RecordNotFound(format!("tenant {id}")))
}

/// Writes name, plan and feature overrides (the caller computed them on a locked row);
/// `None` when the tenant is gone.
pub(crate) async fn update_details(
    db: &impl ConnectionTrait,
    id: Uuid,
    name: &str,
    plan: Plan,
    features: serde_json::Value,
) -> Result<Option<Tenant>, DbErr> {
    Tenant::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE tenants SET name = $2, plan = $3, features = $4, updated_at = now()
         WHERE id = $1 AND purged_at IS NULL RETURNING *",
        [id.into(), name.into(), plan.into(), features.into()],
    ))
    .one(db)
    .await
}

/// Stores sealed credentials unless some are stored already (a re-run keeps the first);
/// `None` when some were (then read them).
pub(crate) async fn set_credentials_once(
    db: &DatabaseConnection,
    id: Uuid,
    sealed: Vec<u8>,
    key_version: i16,
) -> Result<Option<Tenant>, DbErr> {
    Tenant::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE tenants SET db_password_sealed = $2, db_key_version = $3, updated_at = now()
         WHERE id = $1 AND db_password_sealed IS NULL RETURNING *",
        [id.into(), sealed.into(), key_version.into()],
    ))
    .one(db)
    .await
}

/// Records the first admin's password hash and erases its sealed copy, in one statement,
/// unless a concurrent run of the job did first; `None` then (read the row again).
pub(crate) async fn record_seed_hash(
    db: &DatabaseConnection,
    id: Uuid,
    hash: String,
) -> Result<Option<Tenant>, DbErr> {
    Tenant::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE tenants SET seed_admin_password_hash = $2, seed_admin_password_sealed = NULL,
             seed_admin_key_version = NULL, updated_at = now()
         WHERE id = $1 AND seed_admin_password_sealed IS NOT NULL RETURNING *",
        [id.into(), hash.into()],
    ))
    .one(db)
    .await
}

/// Provisioning of `generation` finished: the tenant goes live and the seed hash is
/// forgotten. `None` when the tenant moved on meanwhile (then nothing changes).
pub(crate) async fn mark_active(
    db: &impl ConnectionTrait,
    id: Uuid,
    generation: i32,
) -> Result<Option<Tenant>, DbErr> {
    Tenant::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE tenants SET status = 'active', generation = generation + 1,
             seed_admin_password_hash = NULL, seed_admin_password_sealed = NULL,
             seed_admin_key_version = NULL, updated_at = now()
         WHERE id = $1 AND status = 'provisioning' AND generation = $2 AND purged_at IS NULL
         RETURNING *",
        [id.into(), generation.into()],
    ))
    .one(db)
    .await
}

/// Provisioning of `generation` gave up; `None` when the tenant moved on meanwhile.
pub(crate) async fn mark_failed(
    db: &impl ConnectionTrait,
    id: Uuid,
    generation: i32,
) -> Result<Option<Tenant>, DbErr> {
    Tenant::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE tenants SET status = 'failed', generation = generation + 1, updated_at = now()
         WHERE id = $1 AND status = 'provisioning' AND generation = $2 AND purged_at IS NULL
         RETURNING *",
        [id.into(), generation.into()],
    ))
    .one(db)
    .await
}

/// The purge of `generation` finished: the database and role are gone, and so are the
/// credentials; the row stays for history and frees the slug.
pub(crate) async fn mark_purged(
    db: &impl ConnectionTrait,
    id: Uuid,
    generation: i32,
) -> Result<bool, DbErr> {
    let res = db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE tenants SET purged_at = now(), db_password_sealed = NULL, db_key_version = NULL,
                 seed_admin_password_hash = NULL, seed_admin_password_sealed = NULL,
                 seed_admin_key_version = NULL, updated_at = now()
             WHERE id = $1 AND status = 'deleted' AND generation = $2 AND purged_at IS NULL",
            [id.into(), generation.into()],
        ))
        .await?;
    Ok(res.rows_affected() == 1)
}

/// The job that made the tenant `moving` at `generation` ended: back to `active`, on
/// `db_name` when the job switched databases (a restore), else on the same one. `None`
/// when the tenant moved on meanwhile (then nothing changes).
pub(crate) async fn finish_move(
    db: &impl ConnectionTrait,
    id: Uuid,
    generation: i32,
    db_name: Option<&str>,
) -> Result<Option<Tenant>, DbErr> {
    Tenant::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE tenants SET status = 'active', generation = generation + 1,
             db_name = coalesce($3, db_name), updated_at = now()
         WHERE id = $1 AND status = 'moving' AND generation = $2 AND purged_at IS NULL
         RETURNING *",
        [
            id.into(),
            generation.into(),
            db_name.map(str::to_string).into(),
        ],
    ))
    .one(db)
    .await
}

/// A move of `generation` reached its switch: the tenant is `active` on database `db_name`
/// of server `server`, at a new generation. `None` when the tenant is no longer `moving`
/// at that generation (then nothing changes).
pub(crate) async fn finish_move_to(
    db: &impl ConnectionTrait,
    id: Uuid,
    generation: i32,
    server: &str,
    db_name: &str,
) -> Result<Option<Tenant>, DbErr> {
    Tenant::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE tenants SET status = 'active', generation = generation + 1,
             server = $3, db_name = $4, updated_at = now()
         WHERE id = $1 AND status = 'moving' AND generation = $2 AND purged_at IS NULL
         RETURNING *",
        [id.into(), generation.into(), server.into(), db_name.into()],
    ))
    .one(db)
    .await
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
pub(crate) async fn provisioning_without_open_job(
    db: &DatabaseConnection,
) -> Result<Vec<Tenant>, DbErr> {
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
