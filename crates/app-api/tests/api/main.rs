//! app-api integration tests: tenants provisioned by the real control plane, served by the
//! real app plane, against real PostgreSQL and Redis.

// A failed unwrap in a test is a failed test with its location: exactly what we want.
#![allow(clippy::unwrap_used)]

mod auth;
mod dashboards;
mod features;
mod login_flood;
mod login_throttle;
mod moving;
mod observability;
mod openapi;
mod operations;
mod pgbouncer;
mod pool_pressure;
mod pool_room;
mod pools;
mod proxies;
mod rate_limit;
mod reader_role;
mod resolution;
mod revocation;
mod servers;
mod stored_values;
mod text_fields;
mod tickets;
mod timeouts;
