//! Encryption of secrets at rest (AES-256-GCM): tenant database credentials, and the data keys of tenant backups.
//!
//! Each encryption uses a fresh random nonce and binds the ciphertext to the tenant id as
//! associated data, so a ciphertext copied onto another tenant's row fails to decrypt.
//! The key version is stored beside the ciphertext so keys can be rotated: new values are
//! written with the current key, old ones stay readable while their key is configured.

use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use std::collections::HashMap;
use uuid::Uuid;

const NONCE_LEN: usize = 12;

/// A stored credential: `nonce || ciphertext+tag`, and the version of the key that sealed it.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_version: i16,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Sealed(v{}, {} bytes)",
            self.key_version,
            self.bytes.len()
        )
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("no key with version {0} is configured")]
    UnknownKeyVersion(i16),
    #[error("ciphertext is malformed or was not sealed for this tenant")]
    Rejected,
}

/// The configured keys; encrypts with the current one, decrypts with any.
pub struct Keyring {
    current: i16,
    ciphers: HashMap<i16, Aes256Gcm>,
}

impl Keyring {
    /// A keyring with one key, marked current.
    pub fn new(version: i16, key: &SecretBox<[u8; 32]>) -> Self {
        let mut ring = Self {
            current: version,
            ciphers: HashMap::new(),
        };
        ring.add(version, key);
        ring
    }

    /// Adds an older key that can still decrypt (for rotation).
    pub fn add(&mut self, version: i16, key: &SecretBox<[u8; 32]>) {
        let key = Key::<Aes256Gcm>::from(*key.expose_secret());
        self.ciphers.insert(version, Aes256Gcm::new(&key));
    }

    pub fn current_version(&self) -> i16 {
        self.current
    }

    pub fn seal(&self, tenant_id: Uuid, secret: &SecretString) -> Sealed {
        self.seal_bytes(tenant_id.as_bytes(), secret.expose_secret().as_bytes())
    }

    pub fn open(&self, tenant_id: Uuid, sealed: &Sealed) -> Result<SecretString, CryptoError> {
        let plain = self.open_bytes(tenant_id.as_bytes(), sealed)?;
        String::from_utf8(plain.expose_secret().clone())
            .map(SecretString::from)
            .map_err(|_| CryptoError::Rejected)
    }

    /// Seals a text secret bound to `aad` (associated data): it opens only with the same
    /// `aad`. Tenant credentials use the tenant id; other secrets a text of their own kind
    /// (such as `db-server:<name>`), which can never equal a 16-byte tenant id.
    pub fn seal_for(&self, aad: &[u8], secret: &SecretString) -> Sealed {
        self.seal_bytes(aad, secret.expose_secret().as_bytes())
    }

    /// Opens what [`Keyring::seal_for`] sealed with the same `aad`.
    pub fn open_for(&self, aad: &[u8], sealed: &Sealed) -> Result<SecretString, CryptoError> {
        let plain = self.open_bytes(aad, sealed)?;
        String::from_utf8(plain.expose_secret().clone())
            .map(SecretString::from)
            .map_err(|_| CryptoError::Rejected)
    }

    /// Seals any secret bytes bound to `aad`, for values that are not a tenant's credential
    /// (each kind names its own associated data, e.g. `backup:<id>` for a backup's data
    /// key, so a value copied into another kind's column fails to open).
    pub fn seal_bytes(&self, aad: &[u8], secret: &[u8]) -> Sealed {
        let cipher = &self.ciphers[&self.current];
        let nonce = Nonce::generate();
        // Encryption with a valid key and an in-memory buffer cannot fail.
        let ct = cipher
            .encrypt(&nonce, Payload { msg: secret, aad })
            .expect("AES-GCM encryption of a short secret");
        let mut bytes = Vec::with_capacity(NONCE_LEN + ct.len());
        bytes.extend_from_slice(nonce.as_slice());
        bytes.extend_from_slice(&ct);
        Sealed {
            key_version: self.current,
            bytes,
        }
    }

    /// Opens what [`Keyring::seal_bytes`] sealed with the same `aad`.
    pub fn open_bytes(
        &self,
        aad: &[u8],
        sealed: &Sealed,
    ) -> Result<SecretBox<Vec<u8>>, CryptoError> {
        let cipher = self
            .ciphers
            .get(&sealed.key_version)
            .ok_or(CryptoError::UnknownKeyVersion(sealed.key_version))?;
        if sealed.bytes.len() <= NONCE_LEN {
            return Err(CryptoError::Rejected);
        }
        let (nonce, ct) = sealed.bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| CryptoError::Rejected)?;
        cipher
            .decrypt(&nonce, Payload { msg: ct, aad })
            .map(|plain| SecretBox::new(Box::new(plain)))
            .map_err(|_| CryptoError::Rejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Keyring {
        Keyring::new(1, &SecretBox::new(Box::new([9u8; 32])))
    }

    #[test]
    fn round_trips_and_uses_a_fresh_nonce_each_time() {
        let ring = ring();
        let id = Uuid::new_v4();
        let secret = SecretString::from("s3cret-password".to_string());
        let a = ring.seal(id, &secret);
        let b = ring.seal(id, &secret);
        assert_ne!(a.bytes, b.bytes);
        assert_eq!(
            ring.open(id, &a).unwrap().expose_secret(),
            "s3cret-password"
        );
    }

    #[test]
    fn ciphertext_of_another_tenant_is_rejected() {
        let ring = ring();
        let sealed = ring.seal(Uuid::new_v4(), &SecretString::from("pw".to_string()));
        assert_eq!(
            ring.open(Uuid::new_v4(), &sealed).err(),
            Some(CryptoError::Rejected)
        );
    }

    #[test]
    fn bytes_open_only_under_their_own_associated_data() {
        let ring = ring();
        let id = Uuid::new_v4();
        let sealed = ring.seal_bytes(format!("backup:{id}").as_bytes(), &[7u8; 32]);
        assert_eq!(
            ring.open_bytes(format!("backup:{id}").as_bytes(), &sealed)
                .unwrap()
                .expose_secret()
                .as_slice(),
            &[7u8; 32]
        );
        // Neither another backup's label nor the tenant-credential label opens it.
        assert!(
            ring.open_bytes(format!("backup:{}", Uuid::new_v4()).as_bytes(), &sealed)
                .is_err()
        );
        assert_eq!(ring.open(id, &sealed).err(), Some(CryptoError::Rejected));
    }

    #[test]
    fn a_secret_sealed_for_one_purpose_does_not_open_for_another() {
        let ring = ring();
        let sealed = ring.seal_for(b"db-server:a", &SecretString::from("url".to_string()));
        assert_eq!(
            ring.open_for(b"db-server:a", &sealed)
                .unwrap()
                .expose_secret(),
            "url"
        );
        assert_eq!(
            ring.open_for(b"db-server:b", &sealed).err(),
            Some(CryptoError::Rejected)
        );
    }

    #[test]
    fn rotated_keys_still_decrypt_old_values() {
        let old = ring();
        let id = Uuid::new_v4();
        let sealed = old.seal(id, &SecretString::from("pw".to_string()));
        let mut new = Keyring::new(2, &SecretBox::new(Box::new([3u8; 32])));
        assert_eq!(
            new.open(id, &sealed).err(),
            Some(CryptoError::UnknownKeyVersion(1))
        );
        new.add(1, &SecretBox::new(Box::new([9u8; 32])));
        assert_eq!(new.open(id, &sealed).unwrap().expose_secret(), "pw");
        assert_eq!(
            new.seal(id, &SecretString::from("x".to_string()))
                .key_version,
            2
        );
    }
}
