//! Password hashing with argon2id. Both calls are CPU-heavy and take [`HASH_MEMORY_BYTES`]
//! each: requests run them through [`verify_bounded`] / [`hash_bounded`], on a fixed set of
//! [`hash_concurrency`] worker threads, so a login flood costs at most
//! `hash_concurrency() * HASH_MEMORY_BYTES` of memory (38 MiB on two cores, 57 MiB at most).

use crate::{ApiError, ErrorCode};
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use secrecy::{ExposeSecret, SecretString};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Shortest password we accept anywhere.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest, so hashing cost stays bounded.
pub const MAX_PASSWORD_LEN: usize = 128;

/// Memory one argon2id call takes with the default parameters (m = 19 MiB).
pub const HASH_MEMORY_BYTES: usize = 19 * 1024 * 1024;
/// Memory every concurrent hash together may take.
pub const HASH_MEMORY_BUDGET: usize = 64 * 1024 * 1024;
/// How long a request waits for a free hashing worker before 503.
pub const HASH_WAIT: Duration = Duration::from_secs(1);

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

/// [`verify`] in `memory`, a worker's own argon2 blocks, grown once and then reused: the
/// allocator would otherwise keep a freed 19 MiB in each of its arenas.
fn verify_in(memory: &mut Vec<argon2::Block>, password: &SecretString, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        argon2::Algorithm::try_from(parsed.algorithm.as_str()),
        argon2::Params::try_from(&parsed),
    ) else {
        return false;
    };
    let Ok(version) = parsed
        .version
        .map_or(Ok(argon2::Version::default()), argon2::Version::try_from)
    else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password.expose_secret().as_bytes(),
        salt,
        &mut out,
        &mut memory[..blocks],
    );
    // `Output`'s equality is constant-time.
    computed.is_ok() && argon2::password_hash::phc::Output::new(&out).is_ok_and(|o| &o == expected)
}

thread_local! {
    static MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
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

/// Hashes run at once: one per core (more would only queue for the CPU), and no more than
/// fit in [`HASH_MEMORY_BUDGET`].
pub fn hash_concurrency() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.clamp(1, HASH_MEMORY_BUDGET / HASH_MEMORY_BYTES)
}

type Job = Box<dyn FnOnce() + Send>;

struct Workers {
    permits: tokio::sync::Semaphore,
    jobs: Mutex<mpsc::Sender<Job>>,
}

fn workers() -> &'static Workers {
    static WORKERS: OnceLock<Workers> = OnceLock::new();
    WORKERS.get_or_init(|| {
        let n = hash_concurrency();
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(Mutex::new(rx));
        for i in 0..n {
            let rx = rx.clone();
            // Fixed threads, not the blocking pool: each reuses its own 19 MiB, so memory
            // stays at `n` hashes however many threads the blocking pool grows to.
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password-hashing worker");
            }
        }
        Workers {
            permits: tokio::sync::Semaphore::new(n),
            jobs: Mutex::new(tx),
        }
    })
}

/// Runs `f` on a hashing worker; 503 with `Retry-After` when none frees up within
/// [`HASH_WAIT`].
async fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    let w = workers();
    let _permit = tokio::time::timeout(HASH_WAIT, w.permits.acquire())
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::ServiceUnavailable,
                "too many password checks at once; try again shortly",
            )
            .retry_after(1)
        })?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(f());
    });
    w.jobs
        .lock()
        .map_err(|_| ApiError::internal("password workers poisoned"))?
        .send(job)
        .map_err(|_| ApiError::internal("password workers stopped"))?;
    rx.await
        .map_err(|_| ApiError::internal("a password worker stopped"))
}

/// [`verify`] under the memory bound.
pub async fn verify_bounded(password: SecretString, phc: String) -> Result<bool, ApiError> {
    bounded(move || MEMORY.with_borrow_mut(|m| verify_in(m, &password, &phc))).await
}

/// [`hash`] under the memory bound.
pub async fn hash_bounded(password: SecretString) -> Result<String, ApiError> {
    bounded(move || hash(&password))
        .await?
        .map_err(ApiError::internal)
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
        let mut memory = Vec::new();
        assert!(verify_in(&mut memory, &pw, &a));
        assert!(!verify_in(
            &mut memory,
            &SecretString::from("wrong".to_string()),
            &a
        ));
        assert!(!verify_in(&mut memory, &pw, "not a hash"));
    }
}
