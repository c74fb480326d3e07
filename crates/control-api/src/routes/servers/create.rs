//! `POST /v1/servers`: registers a database server new tenants may be placed on.

use crate::audit;
use crate::auth::SuperAdmin;
use crate::routes::views::ServerView;
use crate::servers::ops::{self, NewServer};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, post, web};
use secrecy::SecretString;
use serde::Deserialize;
use tenancy_core::ApiError;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateServer {
    #[schema(
        example = "eu-2",
        min_length = 1,
        max_length = 30,
        pattern = "^[a-z](-?[a-z0-9])*$"
    )]
    pub name: String,
    /// The host apps connect to for its tenant databases (PostgreSQL or pgbouncer).
    #[schema(example = "10.0.0.12", min_length = 1, max_length = 253)]
    pub host: String,
    #[schema(example = 5432, minimum = 1, maximum = 65535)]
    pub port: i64,
    /// A role with CREATEDB and CREATEROLE on the server: stored sealed, never shown again.
    #[schema(value_type = String, format = Password, example = "postgres://admin:secret@10.0.0.12:5432/postgres")]
    pub admin_url: SecretString,
    /// How many tenants it may hold (default 1000).
    #[schema(minimum = 0, maximum = 2147483647)]
    pub capacity: Option<i64>,
}

/// Registers a database server, `accepting` new tenants, after checking its admin URL
/// connects (5 s at most) with a role that may create databases and roles.
#[utoipa::path(
    operation_id = "create_server",
    request_body = CreateServer,
    responses(
        (status = 201, body = ServerView, headers(("Location" = String, description = "The server: `/v1/servers/{name}`"))),
        (status = 409, description = "a server with this name exists"),
        (status = 422, description = "validation_failed: a malformed field, or an admin URL that does not connect with a role that may create databases and roles on PostgreSQL 15+"),
    ),
    security(("bearer" = [])),
    tag = "servers"
)]
#[post("/v1/servers")]
#[tracing::instrument(skip_all)]
pub async fn create(
    admin: SuperAdmin,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CreateServer>,
) -> Result<HttpResponse, ApiError> {
    let (server, _) = ops::add(
        &state.db,
        &audit::Context::admin(&req, &admin),
        &state.settings.keyring,
        NewServer {
            name: &body.name,
            host: &body.host,
            port: body.port,
            admin_url: &body.admin_url,
            capacity: body.capacity,
        },
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/v1/servers/{}", server.name)))
        .json(ServerView::try_from(&server)?))
}
