//! `POST /v1/auth/login`: email and password in, short-lived control token out.

use crate::audit::{self, Action, Context, Entry};
use crate::repo::admins;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, post, web};
use tenancy_core::ApiError;
use tenancy_core::domain::Email;
use tenancy_core::http::login::{LoginRequest, TokenResponse};
use tenancy_core::jwt::{CONTROL_AUDIENCE, ControlClaims};
use tenancy_core::password;
use tenancy_core::throttle::LoginThrottle;

/// Logs a super-admin in.
#[utoipa::path(
    operation_id = "login",
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
    body.check_text()?;
    let LoginRequest { email, password } = body.into_inner();
    let refused = || ApiError::unauthorized("invalid email or password");
    // Behind a trusted proxy, the address it vouches for; otherwise the TCP peer.
    let client = tenancy_core::forwarded::client_ip(&req);
    let throttle = LoginThrottle::new(
        &state.redis,
        &state.settings.redis_prefix,
        "control",
        &email,
        client,
    );
    throttle.check().await?;
    let admin = match Email::parse(&email) {
        Ok(email) => admins::find_by_email(&state.db, &email).await?,
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
        // Only an address-shaped attempt is kept: a password typed into the email field
        // would not be one. Throttled attempts are not recorded, so the log cannot be
        // flooded faster than the throttle allows.
        let actor =
            Email::parse(&email).map_or_else(|_| "anonymous".to_string(), |e| e.to_string());
        audit::record(
            &state.db,
            &Context::request(&req, actor),
            Entry::new(Action::AuthLoginFailed),
        )
        .await?;
        tracing::info!(client.address = %client, "super-admin login refused");
        return Err(refused());
    };
    throttle.succeeded().await;
    audit::record(
        &state.db,
        &Context::request(&req, admin.email.clone()),
        Entry::new(Action::AuthLogin),
    )
    .await?;
    let (iat, exp) = state.jwt.lifetime();
    let token = state.jwt.sign(&ControlClaims {
        sub: admin.id,
        ver: admin.token_version,
        aud: CONTROL_AUDIENCE.to_string(),
        iat,
        exp,
    });
    tracing::info!(admin.id = %admin.id, client.address = %client, "super-admin logged in");
    Ok(HttpResponse::Ok().json(TokenResponse::bearer(token, state.jwt.ttl_secs)))
}
