//! The control plane: super-admin API over the tenant registry and the provisioning worker.
//!
//! # Modules
//! - `audit`: the append-only audit log of control-plane changes (`record`, `Action`).
//! - `auth`: the `SuperAdmin` extractor.
//! - `backup`: encrypted per-tenant backup files (STREAM AEAD over `pg_dump`/`pg_restore`).
//! - `cli`: the command line (`serve`, `worker`, `migrate`, `tenants migrate`, `admin create`).
//! - `entity`: sea-orm entities of the control database.
//! - `events`: publishing tenant changes to app-api replicas on Redis.
//! - `jobs`: the job path: queue, supervised worker, fenced runner, steps, reconciler, fault hooks.
//! - `provisioner`: the DDL of a tenant's life, with ownership markers.
//! - `registry`: every tenant operation (transaction, job record, queue message, event).
//! - `repo`: SQL against the control database (tenants, jobs, admins).
//! - `routes`: the handlers and response views.
//! - `servers`: database servers: names, placement, the `default` server, per-server provisioners.
//! - `settings`: the plane's settings, read once from the environment and validated.
//! - `startup`: builds the plane (connections, migrations, HTTP server, worker).
//! - `state`: what every handler and job shares.

pub(crate) mod audit;
pub mod auth;
pub(crate) mod backup;
pub mod cli;
pub(crate) mod entity;
pub(crate) mod events;
pub mod hooks;
pub mod jobs;
pub(crate) mod provisioner;
pub(crate) mod queue;
pub(crate) mod registry;
pub mod repo;
pub mod routes;
pub(crate) mod servers;
pub mod settings;
pub mod startup;
pub mod state;
