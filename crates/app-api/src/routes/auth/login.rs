//! `POST /v1/auth/login`: checked against the resolved tenant's own database.

use crate::repo::users;
use crate::state::AppState;
use crate::tenancy::Tenant;
use actix_web::{HttpRequest, HttpResponse, post, web};
use tenancy_core::http::login::{LoginRequest, MAX_EMAIL_LEN, TokenResponse};
use tenancy_core::jwt::{APP_AUDIENCE, AppClaims};
use tenancy_core::throttle::LoginThrottle;
use tenancy_core::{ApiError, password};

/// Logs a tenant user in.
#[utoipa::path(
    operation_id = "login",
    request_body = LoginRequest,
    params(("X-Tenant-Slug" = String, Header)),
    responses((status = 200, body = TokenResponse), (status = 401), (status = 422), (status = 429, description = "too many failed logins"), (status = 503, description = "too many password checks at once")),
    tag = "auth"
)]
#[post("/auth/login")]
#[tracing::instrument(skip_all)]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    body.check_text()?;
    let LoginRequest { email, password } = body.into_inner();
    if email.len() > MAX_EMAIL_LEN {
        return Err(ApiError::unauthorized("invalid email or password"));
    }
    // Behind a trusted proxy, the address it vouches for; otherwise the TCP peer.
    let client = tenancy_core::forwarded::client_ip(&req);
    let throttle = LoginThrottle::new(
        &state.redis,
        &state.settings.redis_prefix,
        &format!("app:{}", tenant.id()),
        &email,
        client,
    );
    throttle.check().await?;
    let found = {
        let conn = tenant.conn().await?;
        users::credentials(&conn, email.trim()).await?
    };
    let hash = found.as_ref().map_or_else(
        || password::dummy_hash().to_string(),
        |f| f.password_hash.clone(),
    );
    let ok = password::verify_bounded(password, hash).await?;
    let Some(user) = found.filter(|f| ok && f.active) else {
        throttle.failed().await;
        tracing::info!(client.address = %client, "login refused");
        return Err(ApiError::unauthorized("invalid email or password"));
    };
    throttle.succeeded().await;
    let id = user.id;
    let (iat, exp) = state.jwt.lifetime();
    let token = state.jwt.sign(&AppClaims {
        sub: id,
        tid: tenant.id(),
        role: user.role.as_str().to_string(),
        ver: user.token_version,
        aud: APP_AUDIENCE.to_string(),
        iat,
        exp,
    });
    tracing::info!(user.id = %id, client.address = %client, "user logged in");
    Ok(HttpResponse::Ok().json(TokenResponse::bearer(token, state.jwt.ttl_secs)))
}
