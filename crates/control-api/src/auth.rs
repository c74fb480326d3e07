//! The super-admin extractor: a handler that takes `SuperAdmin` cannot run without a valid
//! control-plane token.

use crate::state::AppState;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use std::future::{Ready, ready};
use tenancy_core::ApiError;
use tenancy_core::jwt::ControlClaims;
use uuid::Uuid;

/// An authenticated super-admin.
#[derive(Debug, Clone, Copy)]
pub struct SuperAdmin {
    pub id: Uuid,
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(req: &HttpRequest) -> Result<&str, ApiError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::unauthorized("malformed authorization header"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ApiError::unauthorized("expected a bearer token")),
    }
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
