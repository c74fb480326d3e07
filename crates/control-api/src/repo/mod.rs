//! SQL against the control database. Functions here return `DbErr`; handlers turn it into
//! an answer with `?` (`From<DbErr> for ApiError` classifies it by SQLSTATE in the core crate).

pub mod admins;
pub(crate) mod audit;
pub(crate) mod backups;
mod job_plans;
pub(crate) mod jobs;
pub(crate) mod servers;
pub(crate) mod tenants;
