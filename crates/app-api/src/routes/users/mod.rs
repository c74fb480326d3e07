//! Users: me, list, create, update.

pub mod create;
pub mod list;
pub mod me;
pub mod update;
