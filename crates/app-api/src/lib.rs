//! The app plane: the multi-tenant helpdesk API that tenant apps call.
//!
//! # Modules
//! - `auth`: the `AuthUser` extractor (token for the resolved tenant, the user's current role).
//! - `repo`: SQL against a tenant's own database (users, tickets, comments).
//! - `routes`: the handlers; operations at the root, the helpdesk under `/v1`.
//! - `settings`: the plane's settings, read once from the environment and validated.
//! - `startup`: builds the plane (directory, pool factory, change listener, HTTP server).
//! - `state`: what every handler shares.
//! - `tenancy`: the tenant (`resolve`, `Tenant`), its record (`directory`, `events`), its `pool`.

pub mod access;
pub mod auth;
pub mod repo;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod state;
pub mod tenancy;
