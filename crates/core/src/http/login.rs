//! The body of `POST /v1/auth/login` and its answer, the same on both planes.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest email accepted (RFC 5321 path limit); longer ones are refused before any lookup.
pub const MAX_EMAIL_LEN: usize = 254;

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

impl TokenResponse {
    pub fn bearer(access_token: String, expires_in: u64) -> Self {
        Self {
            access_token,
            token_type: "Bearer",
            expires_in,
        }
    }
}
