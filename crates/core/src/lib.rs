//! What both planes share: configuration helpers, credential crypto, domain newtypes,
//! problem+json errors, JWT claims, password hashing, telemetry and metrics set-up.

pub mod config;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod forwarded;
pub mod jwt;
pub mod observability;
pub mod password;
pub mod throttle;

pub use error::{ApiError, ErrorCode};
