//! Tenant users' authentication: the `AuthUser` extractor verifies the app-plane token,
//! checks it was issued for the resolved tenant, and reads the user's current role.

pub use crate::access::Role;
use crate::access::UserAccess;
use crate::state::AppState;
use crate::tenancy::Tenant;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures::future::LocalBoxFuture;
use tenancy_core::http::bearer::bearer;
use tenancy_core::jwt::AppClaims;
use tenancy_core::{ApiError, ErrorCode};
use uuid::Uuid;

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
            let claims: AppClaims = state
                .jwt
                .verify(&token)
                .map_err(|_| ApiError::unauthorized("invalid or expired token"))?;
            if claims.tid != record.id {
                return Err(ApiError::new(
                    ErrorCode::TenantMismatch,
                    "the token was issued for another tenant",
                ));
            }
            let access = match state.users.get(&(record.id, claims.sub)).await {
                Some(a) => a,
                None => {
                    let db = tenant.conn().await?;
                    let access = crate::repo::users::access(&db, claims.sub).await?;
                    let access = access.unwrap_or(UserAccess {
                        role: Role::Customer,
                        active: false,
                        token_version: -1,
                    });
                    state
                        .users
                        .insert((record.id, claims.sub), access.clone())
                        .await;
                    access
                }
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
