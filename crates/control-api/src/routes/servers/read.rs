//! `GET /v1/servers` and `GET /v1/servers/{name}`.

use crate::auth::SuperAdmin;
use crate::repo::servers;
use crate::routes::views::{ServerList, ServerView};
use crate::servers::ops;
use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use tenancy_core::ApiError;

/// Every database server, by name, with its tenant count.
#[utoipa::path(operation_id = "list_servers", responses((status = 200, body = ServerList)), security(("bearer" = [])), tag = "servers")]
#[get("/v1/servers")]
#[tracing::instrument(skip_all)]
pub async fn list(
    _admin: SuperAdmin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let items = servers::list(&state.db)
        .await?
        .iter()
        .map(ServerView::try_from)
        .collect::<Result<_, _>>()?;
    Ok(HttpResponse::Ok().json(ServerList { items }))
}

/// One database server with its tenant count.
#[utoipa::path(
    operation_id = "get_server",
    params(("name" = String, Path, description = "The server's name")),
    responses((status = 200, body = ServerView), (status = 404, description = "not_found")),
    security(("bearer" = [])),
    tag = "servers"
)]
#[get("/v1/servers/{name}")]
#[tracing::instrument(skip_all, fields(server = %path))]
pub async fn get(
    _admin: SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let server = ops::get(&state.db, &path).await?;
    Ok(HttpResponse::Ok().json(ServerView::try_from(&server)?))
}
