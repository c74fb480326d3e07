//! The control plane: super-admin API over the tenant registry and the provisioning worker.

pub mod auth;
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
pub mod settings;
pub mod startup;
pub mod state;
