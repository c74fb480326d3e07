//! sea-orm entities of the control database (schema in `migrations-control`).

pub mod backups;
pub mod provisioning_jobs;
pub mod super_admins;
pub mod tenants;
