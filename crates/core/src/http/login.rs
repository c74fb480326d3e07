//! The body of `POST /v1/auth/login` and its answer, the same on both planes.

use crate::ApiError;
use crate::domain::text;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest email accepted; longer ones are refused before any lookup.
pub use crate::domain::MAX_EMAIL_LEN;

/// The lengths are those no account can exceed (`MAX_EMAIL_LEN`, `MAX_PASSWORD_LEN`):
/// anything longer is refused as a wrong email or password.
#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(max_length = 254)]
    pub email: String,
    #[schema(value_type = String, format = Password, max_length = 128)]
    pub password: SecretString,
}

impl LoginRequest {
    /// Refuses text no account can hold before any lookup, so a NUL byte in the email is a
    /// 422 naming the field and never reaches the database. The password is never stored as
    /// text, but every route that sets one refuses NUL, so no account could match one.
    pub fn check_text(&self) -> Result<(), ApiError> {
        let errors: Vec<_> = text::unstorable("email", &self.email)
            .into_iter()
            .chain(text::unstorable("password", self.password.expose_secret()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(errors))
        }
    }
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
