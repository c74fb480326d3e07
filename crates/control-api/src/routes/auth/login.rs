//! `POST /v1/auth/login`: email and password in, short-lived control token out.

use crate::repo::{admins, db_error};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, post, web};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tenancy_core::ApiError;
use tenancy_core::domain::Email;
use tenancy_core::jwt::{CONTROL_AUDIENCE, ControlClaims};
use tenancy_core::password;
use tenancy_core::throttle::LoginThrottle;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

/// Logs a super-admin in.
#[utoipa::path(
    request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, description = "wrong email or password"), (status = 429, description = "too many failed logins")),
    tag = "auth"
)]
#[post("/v1/auth/login")]
#[tracing::instrument(skip_all)]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest { email, password } = body.into_inner();
    let refused = || ApiError::unauthorized("invalid email or password");
    let throttle = LoginThrottle::new(
        &state.redis,
        &state.settings.redis_prefix,
        "control",
        &email,
        tenancy_core::forwarded::peer_ip(&req),
    );
    throttle.check().await?;
    let admin = match Email::parse(&email) {
        Ok(email) => admins::find_by_email(&state.db, &email)
            .await
            .map_err(db_error)?,
        Err(_) => None,
    };
    // Verify against a dummy hash when the account is unknown, so timing does not tell.
    let hash = admin.as_ref().map_or_else(
        || password::dummy_hash().to_string(),
        |a| a.password_hash.clone(),
    );
    let ok = password::verify_bounded(password, hash).await?;
    let Some(admin) = admin.filter(|_| ok) else {
        throttle.failed().await;
        return Err(refused());
    };
    throttle.succeeded().await;
    let (iat, exp) = state.jwt.lifetime();
    let token = state.jwt.sign(&ControlClaims {
        sub: admin.id,
        aud: CONTROL_AUDIENCE.to_string(),
        iat,
        exp,
    });
    tracing::info!(admin.id = %admin.id, "super-admin logged in");
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token: token,
        token_type: "Bearer",
        expires_in: state.jwt.ttl_secs,
    }))
}
