//! The super-admin extractor: a handler that takes `SuperAdmin` cannot run without a valid
//! control-plane token of an admin that still exists and has not been reset since.

use crate::repo::admins;
use crate::state::AppState;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures::future::LocalBoxFuture;
use tenancy_core::ApiError;
use tenancy_core::http::bearer::bearer;
use tenancy_core::jwt::ControlClaims;
use uuid::Uuid;

/// An authenticated super-admin.
#[derive(Debug, Clone)]
pub struct SuperAdmin {
    pub id: Uuid,
    /// Who the audit log names as the actor.
    pub email: String,
}

impl FromRequest for SuperAdmin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verified = (|| {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::internal("application state missing"))?
                .clone();
            let claims: ControlClaims = state
                .jwt
                .verify(bearer(req)?)
                .map_err(|_| ApiError::unauthorized("invalid or expired token"))?;
            Ok::<_, ApiError>((state, claims))
        })();
        Box::pin(async move {
            let (state, claims) = verified?;
            // One indexed read per request: the control plane is not a hot path, and a
            // removed or reset admin must lose access at once, on every replica.
            let email = match admins::token_version(&state.db, claims.sub).await? {
                Some((version, email)) if version == claims.ver => email,
                Some(_) => {
                    return Err(ApiError::unauthorized(
                        "the token was revoked (the admin was reset)",
                    ));
                }
                None => {
                    return Err(ApiError::unauthorized("the admin no longer exists"));
                }
            };
            tracing::Span::current().record("admin.id", tracing::field::display(claims.sub));
            Ok(SuperAdmin {
                id: claims.sub,
                email,
            })
        })
    }
}
