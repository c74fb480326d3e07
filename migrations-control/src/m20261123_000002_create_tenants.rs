//! The tenant registry. Database credentials are stored sealed (AES-256-GCM, see
//! `tenancy_core::crypto`); the first admin's password only ever as an argon2 hash, kept
//! until provisioning seeds it and then cleared.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE TABLE tenants (
                id uuid PRIMARY KEY,
                slug text NOT NULL,
                name text NOT NULL,
                plan text NOT NULL DEFAULT 'free'
                    CONSTRAINT tenants_plan_check CHECK (plan IN ('free', 'pro', 'enterprise')),
                status text NOT NULL
                    CONSTRAINT tenants_status_check
                    CHECK (status IN ('provisioning', 'active', 'suspended', 'failed', 'deleted')),
                db_name text NOT NULL,
                db_role text NOT NULL,
                db_password_sealed bytea,
                db_key_version smallint,
                seed_admin_email text,
                seed_admin_password_hash text,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                deleted_at timestamptz,
                purged_at timestamptz
            )",
        )
        .await?;
        // A purged tenant keeps its row for history but frees its slug and database name.
        db.execute_unprepared(
            "CREATE UNIQUE INDEX tenants_slug_key ON tenants (slug) WHERE purged_at IS NULL",
        )
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX tenants_db_name_key ON tenants (db_name) WHERE purged_at IS NULL",
        )
        .await?;
        db.execute_unprepared("CREATE INDEX tenants_status_idx ON tenants (status, created_at)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS tenants")
            .await?;
        Ok(())
    }
}
