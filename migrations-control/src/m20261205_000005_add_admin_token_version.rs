//! `super_admins.token_version`: a control token carries the version it was issued under;
//! `admin create` resetting an admin bumps it, so the admin's earlier tokens stop working.
//! Defaults to 0, what a token from before this column claims.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE super_admins ADD COLUMN IF NOT EXISTS token_version integer NOT NULL DEFAULT 0",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE super_admins DROP COLUMN IF EXISTS token_version")
            .await?;
        Ok(())
    }
}
