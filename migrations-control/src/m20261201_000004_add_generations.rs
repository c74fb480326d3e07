//! Fencing for jobs: `tenants.generation` counts the tenant's status changes and every job
//! records the generation it was queued for. A job whose tenant moved on (deleted, purged,
//! re-provisioned) sees a different number at its next step and stops without touching it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "ALTER TABLE tenants ADD COLUMN generation integer NOT NULL DEFAULT 1",
        )
        .await?;
        db.execute_unprepared(
            "ALTER TABLE provisioning_jobs ADD COLUMN generation integer NOT NULL DEFAULT 1",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("ALTER TABLE provisioning_jobs DROP COLUMN IF EXISTS generation")
            .await?;
        db.execute_unprepared("ALTER TABLE tenants DROP COLUMN IF EXISTS generation")
            .await?;
        Ok(())
    }
}
