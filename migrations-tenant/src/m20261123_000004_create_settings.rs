//! Creates `settings`: per-tenant key/value configuration (reserved: nothing seeds or reads it yet).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Values are jsonb so a setting can be a string, number or object
        // without a schema change; keys are dotted, e.g. `tenant.locale`.
        manager
            .get_connection()
            .execute_unprepared(
                r#"
                CREATE TABLE settings (
                    key        text        PRIMARY KEY,
                    value      jsonb       NOT NULL,
                    updated_at timestamptz NOT NULL DEFAULT now()
                );
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS settings")
            .await?;
        Ok(())
    }
}
