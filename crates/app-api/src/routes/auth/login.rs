//! `POST /v1/auth/login`: checked against the resolved tenant's own database.

use crate::repo::users;
use crate::state::AppState;
use crate::tenancy::Tenant;
use actix_web::{HttpResponse, post, web};
use tenancy_core::http::login::{LoginRequest, MAX_EMAIL_LEN, TokenResponse};
use tenancy_core::jwt::{APP_AUDIENCE, AppClaims};
use tenancy_core::{ApiError, password};

/// Logs a tenant user in.
#[utoipa::path(
    operation_id = "login",
    request_body = LoginRequest,
    params(("X-Tenant-Slug" = String, Header)),
    responses((status = 200, body = TokenResponse), (status = 401)),
    tag = "auth"
)]
#[post("/auth/login")]
#[tracing::instrument(skip_all)]
pub async fn login(
    state: web::Data<AppState>,
    tenant: Tenant,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest { email, password } = body.into_inner();
    if email.len() > MAX_EMAIL_LEN {
        return Err(ApiError::unauthorized("invalid email or password"));
    }
    let found = {
        let db = tenant.db().await?;
        users::credentials(&db, email.trim()).await?
    };
    let hash = found
        .as_ref()
        .map_or_else(|| password::dummy_hash().to_string(), |f| f.1.clone());
    let ok = web::block(move || password::verify(&password, &hash))
        .await
        .map_err(ApiError::internal)?;
    let (id, _, role, active) = found
        .filter(|f| ok && f.3)
        .ok_or_else(|| ApiError::unauthorized("invalid email or password"))?;
    debug_assert!(active);
    let (iat, exp) = state.jwt.lifetime();
    let token = state.jwt.sign(&AppClaims {
        sub: id,
        tid: tenant.id(),
        role: role.as_str().to_string(),
        aud: APP_AUDIENCE.to_string(),
        iat,
        exp,
    });
    tracing::info!(user.id = %id, "user logged in");
    Ok(HttpResponse::Ok().json(TokenResponse::bearer(token, state.jwt.ttl_secs)))
}
