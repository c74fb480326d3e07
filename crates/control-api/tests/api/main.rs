//! control-api integration tests: the real HTTP API against real PostgreSQL and Redis.

mod auth;
mod helpers;
mod lifecycle;
mod operations;
mod provisioning;
mod recovery;
mod secrets;
mod startup;
mod validation;
