//! The app plane: the multi-tenant helpdesk API that tenant apps call.

pub mod access;
pub mod auth;
pub mod repo;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod state;
pub mod tenancy;
