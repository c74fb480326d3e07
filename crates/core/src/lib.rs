//! What both planes share, so they cannot drift apart.
//!
//! # Modules
//! - `config`: reading the environment; `config::keys`: the keyring and the plane's JWT secret.
//! - `crypto`: sealing tenant database credentials at rest (AES-256-GCM, bound to the tenant).
//! - `domain`: typed values (slug, email, plan, tenant status and its legal moves, `text_enum!`).
//! - `error`: `ApiError`, the problem+json answer, every `ErrorCode`, SQLSTATE classification.
//! - `http`: the shared HTTP layer: server, bearer, readiness, pagination, login, OpenAPI scheme.
//! - `jwt`: access tokens, one secret and audience per plane.
//! - `observability`: logs (flat JSON lines), the metric catalogue, request ids, access log.
//! - `password`: argon2id hashing.
//! - `sea_orm_error` (feature `sea-orm`): the control plane's database edge (`DbErr` by SQLSTATE).

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
