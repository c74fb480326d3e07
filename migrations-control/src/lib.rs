//! Schema of the control (registry) database: super-admins, tenants, provisioning jobs, backups.
//! Schema of the control (registry) database: super-admins, tenants, provisioning jobs,
//! database servers.
//!
//! One migration per file; a shipped migration is never edited, only followed by another.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_super_admins;
mod m20261123_000002_create_tenants;
mod m20261123_000003_create_provisioning_jobs;
mod m20261201_000004_add_generations;
mod m20261205_000005_add_admin_token_version;
mod m20261206_000006_create_audit_log;
mod m20261206_000007_add_tenant_features;
mod m20261206_000008_create_db_servers;
mod m20261206_000009_create_backups;
mod m20261206_000010_add_move_jobs;
mod m20261206_000012_seal_seed_admin_password;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_super_admins::Migration),
            Box::new(m20261123_000002_create_tenants::Migration),
            Box::new(m20261123_000003_create_provisioning_jobs::Migration),
            Box::new(m20261201_000004_add_generations::Migration),
            Box::new(m20261205_000005_add_admin_token_version::Migration),
            Box::new(m20261206_000006_create_audit_log::Migration),
            Box::new(m20261206_000007_add_tenant_features::Migration),
            Box::new(m20261206_000008_create_db_servers::Migration),
            Box::new(m20261206_000009_create_backups::Migration),
            Box::new(m20261206_000010_add_move_jobs::Migration),
            Box::new(m20261206_000012_seal_seed_admin_password::Migration),
        ]
    }
}
