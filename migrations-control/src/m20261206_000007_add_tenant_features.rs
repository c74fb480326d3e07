//! `tenants.features`: a tenant's feature overrides, `{"name": bool}`. Only overrides are
//! stored; a feature not named follows the tenant's plan (the catalogue lives in the code,
//! `tenancy_core::domain::Feature`), so an empty object keeps every existing tenant as it was.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE tenants ADD COLUMN IF NOT EXISTS features jsonb NOT NULL DEFAULT '{}'
                     CONSTRAINT tenants_features_is_object CHECK (jsonb_typeof(features) = 'object')",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE tenants DROP COLUMN IF EXISTS features")
            .await?;
        Ok(())
    }
}
