//! `DELETE /v1/tenants/{slug}` (soft: the database is kept) and `?purge=true` (queued drop
//! of the database and its role).

use crate::auth::SuperAdmin;
use crate::events;
use crate::jobs::enqueue_after_commit;
use crate::repo::jobs::{self, JobKind};
use crate::repo::{db_error, tenants};
use crate::routes::views::{JobView, TenantView, TenantWithJob};
use crate::state::AppState;
use actix_web::{HttpResponse, delete, web};
use sea_orm::TransactionTrait;
use serde::Deserialize;
use tenancy_core::ApiError;
use tenancy_core::domain::TenantStatus;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub struct DeleteQuery {
    /// Also drop the tenant's database and role (irreversible; runs as a job).
    #[serde(default)]
    pub purge: bool,
}

/// Soft-deletes a tenant, or purges it.
#[utoipa::path(
    params(("slug" = String, Path), DeleteQuery),
    responses(
        (status = 200, body = TenantView, description = "soft-deleted"),
        (status = 202, body = TenantWithJob, description = "purge queued"),
        (status = 404), (status = 409)
    ),
    security(("bearer" = [])),
    tag = "tenants"
)]
#[delete("/v1/tenants/{slug}")]
#[tracing::instrument(skip_all, fields(tenant.slug = tracing::field::Empty, purge = query.purge))]
pub async fn delete(
    _admin: SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<DeleteQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = super::load(&state, &path).await?;
    let all_but_deleted = [
        TenantStatus::Provisioning,
        TenantStatus::Active,
        TenantStatus::Suspended,
        TenantStatus::Failed,
    ];
    if !query.purge {
        if tenant.status == TenantStatus::Deleted.as_str() {
            return Ok(HttpResponse::Ok().json(TenantView::from(&tenant)));
        }
        let deleted = tenants::transition(
            &state.db,
            tenant.id,
            &all_but_deleted,
            TenantStatus::Deleted,
        )
        .await
        .map_err(db_error)?
        .ok_or_else(|| ApiError::conflict("tenant changed concurrently; retry"))?;
        tracing::info!(tenant.id = %tenant.id, "tenant soft-deleted");
        events::publish(&state, &deleted).await;
        return Ok(HttpResponse::Ok().json(TenantView::from(&deleted)));
    }

    let existing = jobs::for_tenant(&state.db, tenant.id, 20)
        .await
        .map_err(db_error)?;
    if existing
        .iter()
        .any(|j| j.kind == "purge" && matches!(j.state.as_str(), "queued" | "running" | "retrying"))
    {
        return Err(ApiError::conflict(
            "a purge is already queued for this tenant",
        ));
    }
    let txn = state.db.begin().await.map_err(db_error)?;
    let deleted =
        match tenants::transition(&txn, tenant.id, &all_but_deleted, TenantStatus::Deleted)
            .await
            .map_err(db_error)?
        {
            Some(t) => t,
            None => tenant,
        };
    let job = jobs::insert(
        &txn,
        deleted.id,
        JobKind::Purge,
        state.settings.job_max_attempts,
    )
    .await
    .map_err(db_error)?;
    txn.commit().await.map_err(db_error)?;
    enqueue_after_commit(&state, &job).await;
    events::publish(&state, &deleted).await;
    tracing::info!(tenant.id = %deleted.id, job.id = %job.id, "tenant purge queued");
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/v1/jobs/{}", job.id)))
        .json(TenantWithJob {
            tenant: TenantView::from(&deleted),
            job: JobView::from(&job),
        }))
}
