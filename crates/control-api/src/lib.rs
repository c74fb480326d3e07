//! The control plane: super-admin API over the tenant registry and the provisioning worker.

pub mod auth;
pub mod cli;
pub mod entity;
pub mod events;
pub mod jobs;
pub mod provisioner;
pub mod repo;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod state;
