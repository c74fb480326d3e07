//! The super-admin extractor: a handler that takes `SuperAdmin` cannot run without a valid
//! control-plane token.

use crate::state::AppState;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use std::future::{Ready, ready};
use tenancy_core::ApiError;
use tenancy_core::http::bearer::bearer;
use tenancy_core::jwt::ControlClaims;
use uuid::Uuid;

/// An authenticated super-admin.
#[derive(Debug, Clone, Copy)]
pub struct SuperAdmin {
    pub id: Uuid,
}

impl FromRequest for SuperAdmin {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = (|| {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::internal("application state missing"))?;
            let claims: ControlClaims = state
                .jwt
                .verify(bearer(req)?)
                .map_err(|_| ApiError::unauthorized("invalid or expired token"))?;
            tracing::Span::current().record("admin.id", tracing::field::display(claims.sub));
            Ok(SuperAdmin { id: claims.sub })
        })();
        ready(result)
    }
}
