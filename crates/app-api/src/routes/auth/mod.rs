//! Tenant user authentication.

pub mod login;
