//! The audit log's routes.

pub mod list;
