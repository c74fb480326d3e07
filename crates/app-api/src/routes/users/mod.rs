//! Users: me, list, create, update.

pub(crate) mod create;
pub(crate) mod list;
pub(crate) mod me;
pub(crate) mod update;
