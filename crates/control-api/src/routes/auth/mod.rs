//! Super-admin authentication.

pub mod login;
