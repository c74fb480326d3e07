//! Reading and validating secrets and plain settings from the environment.
//!
//! Every plane builds its own typed settings struct from these helpers, once, at start-up;
//! a missing or weak secret is an error naming the variable, never a silent default.

pub mod keys;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use std::collections::HashMap;

/// Minimum length of a JWT signing secret, in bytes (HS256 wants at least its hash size).
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// A configuration problem found at start-up; the message names the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

/// A source of variables: the process environment, or a map in tests.
pub trait Env {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment (after `.env` has been loaded by the binary).
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl Env for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        self.get(name).cloned().filter(|v| !v.trim().is_empty())
    }
}

pub fn required(env: &dyn Env, var: &'static str) -> Result<String, ConfigError> {
    env.get(var).ok_or(ConfigError::Missing(var))
}

pub fn optional<T: std::str::FromStr>(
    env: &dyn Env,
    var: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match env.get(var) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e: T::Err| ConfigError::Invalid {
                var,
                reason: e.to_string(),
            }),
    }
}

/// Placeholder words that mean "nobody chose a secret" (compared case-blind, after removing
/// everything but letters and digits).
const PLACEHOLDERS: [&str; 10] = [
    "changeme",
    "changemechangeme",
    "replaceme",
    "password",
    "secret",
    "yoursecret",
    "yoursecrethere",
    "example",
    "default",
    "todo",
];

/// Why `bytes` cannot be a secret, if they cannot; never mentions the value itself.
/// `min_distinct`: fewest different byte values a real secret of this kind shows.
pub fn weakness(bytes: &[u8], min_distinct: usize) -> Option<&'static str> {
    if bytes.iter().all(|b| *b == 0) {
        return Some("is all zero bytes");
    }
    let letters: String = bytes
        .iter()
        .filter(|b| b.is_ascii_alphanumeric())
        .map(|b| b.to_ascii_lowercase() as char)
        .collect();
    if PLACEHOLDERS.iter().any(|p| letters == *p) {
        return Some("is a placeholder, not a secret");
    }
    // A short unit repeated (`aaaa...`, `changemechangeme...`, `abcabc...`).
    let n = bytes.len();
    if (1..=n / 2).any(|p| bytes.iter().enumerate().all(|(i, b)| *b == bytes[i % p])) {
        return Some("is a short pattern repeated");
    }
    let mut seen = [false; 256];
    bytes.iter().for_each(|b| seen[usize::from(*b)] = true);
    if seen.iter().filter(|s| **s).count() < min_distinct {
        return Some("has too few distinct characters to be random");
    }
    None
}

/// A signing secret: present and at least [`MIN_JWT_SECRET_BYTES`] long.
pub fn jwt_secret(env: &dyn Env, var: &'static str) -> Result<SecretString, ConfigError> {
    let raw = required(env, var)?;
    if raw.len() < MIN_JWT_SECRET_BYTES {
        return Err(ConfigError::Invalid {
            var,
            reason: format!("must be at least {MIN_JWT_SECRET_BYTES} bytes long"),
        });
    }
    if let Some(why) = weakness(raw.as_bytes(), 8) {
        return Err(ConfigError::Invalid {
            var,
            reason: format!("{why}; use e.g. `openssl rand -base64 48`"),
        });
    }
    Ok(SecretString::from(raw))
}

/// `TRUSTED_PROXIES`: comma-separated addresses and CIDR ranges whose `Forwarded` /
/// `X-Forwarded-*` headers are believed (empty: none). One wrong entry stops start-up, so
/// a typo never silently leaves a proxy untrusted or trusts the world.
pub fn trusted_proxies(env: &dyn Env) -> Result<crate::forwarded::TrustedProxies, ConfigError> {
    crate::forwarded::TrustedProxies::parse(&env.get("TRUSTED_PROXIES").unwrap_or_default())
        .map_err(|reason| ConfigError::Invalid {
            var: "TRUSTED_PROXIES",
            reason,
        })
}

/// `MASTER_KEY`: base64 of exactly 32 bytes.
pub fn master_key(env: &dyn Env, var: &'static str) -> Result<SecretBox<[u8; 32]>, ConfigError> {
    let raw = SecretString::from(required(env, var)?);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw.expose_secret().trim())
        .map_err(|_| ConfigError::Invalid {
            var,
            reason: "must be base64 (e.g. `openssl rand -base64 32`)".into(),
        })?;
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|b: Vec<u8>| ConfigError::Invalid {
            var,
            reason: format!("must decode to 32 bytes, got {}", b.len()),
        })?;
    // 32 random bytes show about 30 distinct values; fewer than 16 is not random.
    if let Some(why) = weakness(&key, 16) {
        return Err(ConfigError::Invalid {
            var,
            reason: format!("{why}; use e.g. `openssl rand -base64 32`"),
        });
    }
    Ok(SecretBox::new(Box::new(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn master_key_must_be_32_bytes_of_base64() {
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 16]);
        let err = master_key(&env(&[("MASTER_KEY", &short)]), "MASTER_KEY").err();
        assert!(err.is_some_and(|e| e.to_string().contains("MASTER_KEY")));
        assert!(master_key(&env(&[]), "MASTER_KEY").is_err());
        assert!(master_key(&env(&[("MASTER_KEY", "not base64!")]), "MASTER_KEY").is_err());
        let good = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
        assert!(master_key(&env(&[("MASTER_KEY", &good)]), "MASTER_KEY").is_ok());
    }

    #[test]
    fn weak_secrets_are_refused_without_echoing_them() {
        let zero = base64::engine::general_purpose::STANDARD.encode([0u8; 32]);
        let few = base64::engine::general_purpose::STANDARD.encode([1u8, 2, 3, 4].repeat(8));
        for (var, value) in [("MASTER_KEY", zero.as_str()), ("MASTER_KEY", few.as_str())] {
            let e = master_key(&env(&[(var, value)]), var)
                .err()
                .unwrap()
                .to_string();
            assert!(e.starts_with("MASTER_KEY is invalid"), "{e}");
            assert!(!e.contains(value), "{e}");
        }
        let a32 = "a".repeat(32);
        let changeme = "changeme".repeat(4);
        let abc = "abcdefg".repeat(6);
        for value in [
            a32.as_str(),
            changeme.as_str(),
            abc.as_str(),
            "CHANGE-ME-CHANGE-ME-CHANGE-ME-CHANGE-ME",
            "your-secret-here________________________",
            "ababababcdcdcdcdababababcdcdcdcdeeee",
        ] {
            let e = jwt_secret(&env(&[("APP_JWT_SECRET", value)]), "APP_JWT_SECRET")
                .err()
                .unwrap_or_else(|| panic!("{value} passed"))
                .to_string();
            assert!(e.starts_with("APP_JWT_SECRET is invalid"), "{e}");
            assert!(!e.contains(value), "{e}");
        }
        let good = format!("app-secret-{}", uuid::Uuid::new_v4());
        assert!(jwt_secret(&env(&[("S", &good)]), "S").is_ok());
        let random = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
        assert!(master_key(&env(&[("K", &random)]), "K").is_ok());
    }

    #[test]
    fn a_wrong_trusted_proxy_stops_start_up() {
        let e = trusted_proxies(&env(&[("TRUSTED_PROXIES", "10.0.0.0/8, proxy.local")]))
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("TRUSTED_PROXIES is invalid: `proxy.local` is not an IP address or CIDR range")
        );
        assert!(trusted_proxies(&env(&[])).is_ok_and(|t| t.is_empty()));
    }

    #[test]
    fn short_jwt_secret_is_refused() {
        let e = jwt_secret(&env(&[("S", "short")]), "S").err();
        assert!(e.is_some_and(|e| e.to_string().starts_with("S is invalid")));
    }
}
