//! `tenants.seed_admin_password_sealed` / `seed_admin_key_version`: the first admin's
//! password, sealed with the platform keyring (bound to the tenant), from `POST /v1/tenants`
//! until the provisioning job has hashed it; the job records the hash and erases the sealed
//! copy in one statement. The argon2 hash so leaves the request's path.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE tenants ADD COLUMN IF NOT EXISTS seed_admin_password_sealed bytea,
                     ADD COLUMN IF NOT EXISTS seed_admin_key_version smallint",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE tenants DROP COLUMN IF EXISTS seed_admin_password_sealed,
                     DROP COLUMN IF EXISTS seed_admin_key_version",
            )
            .await?;
        Ok(())
    }
}
