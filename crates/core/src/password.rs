//! Password hashing with argon2id. Both calls are CPU-heavy: run them on a blocking thread.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use secrecy::{ExposeSecret, SecretString};

/// Shortest password we accept anywhere.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest, so hashing cost stays bounded.
pub const MAX_PASSWORD_LEN: usize = 128;

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// A PHC string (`$argon2id$v=19$...`) with a fresh random salt.
pub fn hash(password: &SecretString) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// True when `password` matches `phc`; a malformed stored hash never matches.
pub fn verify(password: &SecretString, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A PHC hash of a random password, verified against when the account does not exist, so
/// a login for an unknown email costs the same time as one with a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let random: [u8; 16] = rand::random();
        let pw = SecretString::from(format!("{random:?}"));
        hash(&pw).unwrap_or_default()
    })
}

/// Length rules shared by every password field.
pub fn check_length(password: &SecretString) -> Result<(), &'static str> {
    let len = password.expose_secret().chars().count();
    if len < MIN_PASSWORD_LEN {
        Err("must be at least 8 characters")
    } else if len > MAX_PASSWORD_LEN {
        Err("must be at most 128 characters")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_by_salt() {
        let pw = SecretString::from("correct horse".to_string());
        let a = hash(&pw).unwrap();
        let b = hash(&pw).unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$"));
        assert!(verify(&pw, &a));
        assert!(!verify(&SecretString::from("wrong horse".to_string()), &a));
        assert!(!verify(&pw, "not a hash"));
    }
}
