//! app-api integration tests: tenants provisioned by the real control plane, served by the
//! real app plane, against real PostgreSQL and Redis.

// A failed unwrap in a test is a failed test with its location: exactly what we want.
#![allow(clippy::unwrap_used)]

mod auth;
mod observability;
mod openapi;
mod operations;
mod pools;
mod resolution;
mod stored_values;
mod tickets;
