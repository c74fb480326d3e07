//! `platform-harness`: the test harness both services' suites share, and the place for
//! suites that cross both planes (`tests/tests/*.rs`). Every test boots its own `Platform` on
//! port 0 with its own uniquely named databases and Redis prefix, so tests run in parallel
//! against one PostgreSQL and one Redis, and a cleanup guard drops all of it afterwards, even
//! when the test panics.
//!
//! # Modules
//! - `platform`: the running deployment; boot (`spawn_control`, `spawn_platform`, `platform()`).
//! - `tenants`: tenants and users made through the APIs; waits for provisioning and jobs.
//! - `http`: the request builder (`api.as_user(&token).on(&slug).get(path)`), `assert_problem`.
//! - `wait`: bounded polling.
//! - `metrics`: the `/metrics` checks both suites make (families described, promtool).
//! - `pg_server`: an extra PostgreSQL server of a test's own (initdb/pg_ctl, temporary, free port).
//! - `env`: the shared PostgreSQL and Redis, one test's names, the env map both planes read.
//! - `cleanup`: creating the control database and dropping everything a test made.
//! - `store`: direct PostgreSQL and Redis access behind the services' backs.
//! - `logs`: the process-wide log capture (`TEST_LOG=1` also prints it).
//! - `boot::control`, `boot::app`: the only code that touches the services' start-up.

mod boot {
    pub(crate) mod app;
    pub(crate) mod control;
}
mod cleanup;
mod env;
mod http;
mod logs;
mod metrics;
mod pg_server;
mod platform;
mod store;
mod tenants;
mod wait;

pub use cleanup::{Cleanup, create_database, drop_everything, drop_redis_keys};
pub use env::{Env, TestNames, pg_admin_url, redis_url, test_env, with_database};
pub use http::{Api, Request, assert_field_refused, assert_problem};
pub use logs::LogCapture;
pub use metrics::assert_families_described;
pub use pg_server::PgServer;
pub use platform::{
    AppReplica, Builder, Platform, ROOT_EMAIL, ROOT_PASSWORD, control_plane, platform,
    spawn_control, spawn_platform,
};
pub use store::{pg_connect, redis_dump};
pub use tenants::{TENANT_ADMIN_PASSWORD, TestTenant, USER_PASSWORD};
pub use wait::{WAIT_LIMIT, wait_until};
