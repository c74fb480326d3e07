//! control-api integration tests: the real HTTP API against real PostgreSQL and Redis.

// A failed unwrap in a test is a failed test with its location: exactly what we want.
#![allow(clippy::unwrap_used)]

mod audit;
mod auth;
mod backups;
mod cli_run;
mod console;
mod crashes;
mod features;
mod fencing;
mod lifecycle;
mod login_throttle;
mod moves;
mod observability;
mod openapi;
mod operations;
mod outages;
mod privileges;
mod provisioning;
mod recovery;
mod redaction;
mod revocation;
mod secrets;
mod server_checks;
mod servers;
mod sigkill;
mod spares;
mod startup;
mod template;
mod tenants_migrate;
mod text_fields;
mod tls;
mod validation;
mod weak_secrets;
