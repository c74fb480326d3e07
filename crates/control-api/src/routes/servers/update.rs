//! `PATCH /v1/servers/{name}`: drain a server (or accept again) and change its capacity.

use crate::audit;
use crate::auth::SuperAdmin;
use crate::routes::views::ServerView;
use crate::servers::{ServerState, ops};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, patch, web};
use serde::Deserialize;
use tenancy_core::ApiError;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateServer {
    /// `draining`: no new tenant is placed here (its tenants stay); `accepting`: again.
    #[schema(value_type = Option<ServerState>)]
    pub state: Option<String>,
    #[schema(minimum = 0, maximum = 2147483647)]
    pub capacity: Option<i64>,
}

/// Changes a database server's state and/or capacity.
#[utoipa::path(
    operation_id = "update_server",
    params(("name" = String, Path, description = "The server's name")),
    request_body = UpdateServer,
    responses((status = 200, body = ServerView), (status = 404, description = "not_found"), (status = 422, description = "validation_failed")),
    security(("bearer" = [])),
    tag = "servers"
)]
#[patch("/v1/servers/{name}")]
#[tracing::instrument(skip_all, fields(server = %path))]
pub async fn update(
    admin: SuperAdmin,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<UpdateServer>,
) -> Result<HttpResponse, ApiError> {
    let server = ops::update(
        &state.db,
        &audit::Context::admin(&req, &admin),
        &path,
        body.state.as_deref(),
        body.capacity,
    )
    .await?;
    Ok(HttpResponse::Ok().json(ServerView::try_from(&server)?))
}
