//! Access tokens of both planes: HS256, a distinct secret and audience per plane, so a
//! control-plane token is worthless on the app plane and the other way round.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use uuid::Uuid;

pub const CONTROL_AUDIENCE: &str = "control";
pub const APP_AUDIENCE: &str = "app";

/// Claims of a super-admin token on the control plane.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ControlClaims {
    /// The super-admin's id.
    pub sub: Uuid,
    /// `super_admins.token_version` when issued: a reset bumps it and revokes the token.
    #[serde(default)]
    pub ver: i32,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
}

/// Claims of a tenant user's token on the app plane.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AppClaims {
    /// The user's id inside the tenant database.
    pub sub: Uuid,
    /// The tenant the token was issued for.
    pub tid: Uuid,
    pub role: String,
    /// `users.token_version` when issued: a password change or deactivation bumps it.
    #[serde(default)]
    pub ver: i32,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
}

/// Signs and verifies tokens for one audience.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    audience: &'static str,
    pub ttl_secs: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid token")]
pub struct InvalidToken(#[source] jsonwebtoken::errors::Error);

impl JwtKeys {
    pub fn new(secret: &SecretString, audience: &'static str, ttl_secs: u64) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[audience]);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            audience,
            ttl_secs,
        }
    }

    pub fn audience(&self) -> &'static str {
        self.audience
    }

    /// `(iat, exp)` for a token issued now.
    pub fn lifetime(&self) -> (u64, u64) {
        let now = jsonwebtoken::get_current_timestamp();
        (now, now + self.ttl_secs)
    }

    pub fn sign<C: Serialize>(&self, claims: &C) -> String {
        // HS256 signing of a serialisable struct cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing")
    }

    pub fn verify<C: DeserializeOwned>(&self, token: &str) -> Result<C, InvalidToken> {
        jsonwebtoken::decode::<C>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(InvalidToken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str, aud: &'static str) -> JwtKeys {
        JwtKeys::new(&SecretString::from(secret.to_string()), aud, 60)
    }

    #[test]
    fn verifies_own_tokens_and_refuses_others() {
        let control = keys("c".repeat(40).as_str(), CONTROL_AUDIENCE);
        let (iat, exp) = control.lifetime();
        let claims = ControlClaims {
            sub: Uuid::new_v4(),
            ver: 0,
            aud: CONTROL_AUDIENCE.into(),
            iat,
            exp,
        };
        let token = control.sign(&claims);
        assert_eq!(control.verify::<ControlClaims>(&token).unwrap(), claims);

        let other_secret = keys("d".repeat(40).as_str(), CONTROL_AUDIENCE);
        assert!(other_secret.verify::<ControlClaims>(&token).is_err());
        let other_aud = keys("c".repeat(40).as_str(), APP_AUDIENCE);
        assert!(other_aud.verify::<ControlClaims>(&token).is_err());

        let mut tampered = token.clone();
        tampered.insert(tampered.len() - 3, 'x');
        assert!(control.verify::<ControlClaims>(&tampered).is_err());
    }

    #[test]
    fn expired_tokens_are_refused() {
        let control = keys("c".repeat(40).as_str(), CONTROL_AUDIENCE);
        let claims = ControlClaims {
            sub: Uuid::new_v4(),
            ver: 0,
            aud: CONTROL_AUDIENCE.into(),
            iat: 1,
            exp: 2,
        };
        assert!(
            control
                .verify::<ControlClaims>(&control.sign(&claims))
                .is_err()
        );
    }
}
