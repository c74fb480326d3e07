//! `PATCH /v1/users/{id}` (admin): name, role, active (deactivate), password.

use super::create::field;
use crate::auth::{AuthUser, Role};
use crate::repo::users::{self, User};
use crate::state::AppState;
use crate::tenancy::Tenant;
use actix_web::{HttpResponse, patch, web};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tenancy_core::domain::text::{self, MAX_NAME_CHARS};
use tenancy_core::{ApiError, password};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateUser {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(value_type = Option<Role>)]
    pub role: Option<String>,
    pub active: Option<bool>,
    #[schema(value_type = Option<String>, format = Password, min_length = 8, max_length = 128)]
    pub password: Option<SecretString>,
}

/// Changes a user; `active: false` deactivates and a new `password` revokes the user's
/// tokens (at once on this replica, on the others within `USER_CACHE_TTL`, 5 s).
#[utoipa::path(operation_id = "update_user", params(("id" = Uuid, Path)), request_body = UpdateUser, responses((status = 200, body = User), (status = 404), (status = 409), (status = 422)), security(("bearer" = [])), tag = "users")]
#[patch("/users/{id}")]
#[tracing::instrument(skip_all)]
pub(crate) async fn update(
    state: web::Data<AppState>,
    tenant: Tenant,
    user: AuthUser,
    path: web::Path<Uuid>,
    body: web::Json<UpdateUser>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let id = path.into_inner();
    let body = body.into_inner();
    let mut errors = Vec::new();
    let name = body.name.as_deref().map(str::trim);
    if name.is_some_and(|n| n.is_empty() || n.chars().count() > MAX_NAME_CHARS) {
        errors.push(field("name", "must be 1 to 200 characters"));
    }
    let role = match body.role.as_deref().map(Role::parse) {
        Some(Err(e)) => {
            errors.push(field("role", e.must_be()));
            None
        }
        parsed => parsed.and_then(Result::ok),
    };
    if let Some(Err(msg)) = body.password.as_ref().map(password::check_length) {
        errors.push(field("password", msg));
    }
    errors.extend(name.and_then(|n| text::unstorable("name", n)));
    errors.extend(
        body.password
            .as_ref()
            .and_then(|p| text::unstorable("password", p.expose_secret())),
    );
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if id == user.id && (role.is_some_and(|r| r != Role::Admin) || body.active == Some(false)) {
        return Err(ApiError::conflict(
            "an admin cannot demote or deactivate themselves",
        ));
    }
    let hash = match body.password {
        None => None,
        Some(secret) => Some(
            web::block(move || password::hash(&secret))
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::internal)?,
        ),
    };
    let conn = tenant.conn().await?;
    let updated = users::update(&conn, id, name, role, body.active, hash.as_deref())
        .await?
        .ok_or_else(|| ApiError::not_found("no such user"))?;
    // This replica forgets the user's cached access at once; others within seconds.
    state.users.invalidate(&(tenant.id(), id)).await;
    Ok(HttpResponse::Ok().json(updated))
}
