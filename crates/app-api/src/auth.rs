//! Tenant users' authentication: the `AuthUser` extractor verifies the app-plane token,
//! checks it was issued for the resolved tenant, and reads the user's current role.

pub use crate::access::Role;
use crate::access::UserAccess;
use crate::state::AppState;
use crate::tenancy::Tenant;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures::future::LocalBoxFuture;
use moka::future::Cache;
use std::sync::Arc;
use std::time::Duration;
use tenancy_core::http::bearer::bearer;
use tenancy_core::jwt::{AppClaims, JwtKeys};
use tenancy_core::{ApiError, ErrorCode};
use uuid::Uuid;

/// Seconds past `exp` a token is still taken, as `JwtKeys` allows.
const EXP_LEEWAY_SECS: u64 = 5;

/// Tokens already verified, by their exact text: a client sends the same token with every
/// request, and verifying it (base64, HMAC-SHA256, two JSON documents) was the largest
/// part of the tenancy layer. Only a token that passed verification is stored, so a hit
/// means these very bytes were signed by us; its expiry is checked again on every use, and
/// revocation is the `token_version` check below, which runs on every request either way.
#[derive(Clone)]
pub struct VerifiedTokens(Cache<String, Arc<AppClaims>>);

impl VerifiedTokens {
    pub fn new() -> Self {
        Self(
            Cache::builder()
                .max_capacity(50_000)
                .time_to_live(Duration::from_secs(300))
                .build(),
        )
    }

    /// The token's claims if it is ours, for this plane and not expired.
    pub async fn verify(&self, keys: &JwtKeys, token: String) -> Result<Arc<AppClaims>, ApiError> {
        if let Some(claims) = self.0.get(token.as_str()).await
            && claims.exp + EXP_LEEWAY_SECS >= unix_now()
        {
            return Ok(claims);
        }
        // Boxed: the rare path's future stays out of every request's.
        Box::pin(self.verify_and_keep(keys, token)).await
    }

    async fn verify_and_keep(
        &self,
        keys: &JwtKeys,
        token: String,
    ) -> Result<Arc<AppClaims>, ApiError> {
        let claims: Arc<AppClaims> = match keys.verify(&token) {
            Ok(claims) => Arc::new(claims),
            Err(_) => {
                // An expired entry, if that is what it was, goes with the refusal.
                self.0.invalidate(token.as_str()).await;
                return Err(ApiError::unauthorized("invalid or expired token"));
            }
        };
        self.0.insert(token, claims.clone()).await;
        Ok(claims)
    }
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        Self::new()
    }
}

/// Seconds since the epoch, as token expiry counts them.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// An authenticated user of the resolved tenant.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub role: Role,
}

impl AuthUser {
    pub fn require(&self, allowed: &[Role]) -> Result<(), ApiError> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "a {} may not do this",
                self.role.as_str()
            )))
        }
    }
}

/// The user's current access, read from the tenant database and cached.
async fn read_access(
    state: &AppState,
    tenant: &Tenant,
    user: Uuid,
) -> Result<UserAccess, ApiError> {
    let db = tenant.conn().await?;
    let access = crate::repo::users::access(&db, user).await?;
    let access = access.unwrap_or(UserAccess {
        role: Role::Customer,
        active: false,
        token_version: -1,
    });
    state
        .users
        .insert((tenant.record.id, user), access.clone())
        .await;
    Ok(access)
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(req).map(str::to_owned);
        let tenant = Tenant::of(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let token = token?;
            let tenant = tenant?;
            let record = &tenant.record;
            let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
            let claims = state.tokens.verify(&state.jwt, token).await?;
            if claims.tid != record.id {
                return Err(ApiError::new(
                    ErrorCode::TenantMismatch,
                    "the token was issued for another tenant",
                ));
            }
            let access = match state.users.get(&(record.id, claims.sub)).await {
                Some(a) => a,
                // Boxed: reading the user is the rare path, and its large future would
                // otherwise be allocated and moved with every request's.
                None => Box::pin(read_access(&state, &tenant, claims.sub)).await?,
            };
            if !access.active {
                return Err(ApiError::unauthorized(
                    "the account is disabled or no longer exists",
                ));
            }
            // Compared with the cached row the request reads anyway: no extra round trip.
            if claims.ver != access.token_version {
                return Err(ApiError::unauthorized(
                    "the token was revoked (password changed or account deactivated)",
                ));
            }
            tracing::Span::current().record("user.id", tracing::field::display(claims.sub));
            Ok(AuthUser {
                id: claims.sub,
                tenant_id: record.id,
                role: access.role,
            })
        })
    }
}
