//! What both planes share: configuration helpers and the keyring/JWT settings, credential
//! crypto, domain newtypes, problem+json errors, the HTTP layer (server start-up and shutdown,
//! bearer extraction, readiness, pagination, login types, OpenAPI security), JWT claims,
//! password hashing, telemetry and metrics set-up.

pub mod config;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod forwarded;
pub mod http;
pub mod jwt;
pub mod observability;
pub mod password;
#[cfg(feature = "sea-orm")]
pub mod sea_orm_error;
pub mod throttle;

pub use error::{ApiError, ErrorCode};
