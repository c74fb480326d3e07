//! Per-tenant backups: one row per backup file, with what a restore needs to trust it (its
//! size and SHA-256, the schema version it was taken at) and its data key sealed with the
//! platform keyring. Jobs name the backup they write or read; tenants may be `moving`.
//!
//! The status and kind checks are widened by editing their current definitions rather than
//! restating them, so values other migrations add (a move job, say) are kept whatever
//! order the migrations landed in.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Adds `extra` after `anchor` in a CHECK constraint's definition, unless it is there.
fn widen(table: &str, constraint: &str, anchor: &str, extra: &[&str]) -> String {
    let added: String = extra.iter().map(|w| format!(", ''{w}''::text")).collect();
    format!(
        "DO $$
         DECLARE def text;
         BEGIN
           SELECT pg_get_constraintdef(oid) INTO def FROM pg_constraint
            WHERE conname = '{constraint}' AND conrelid = '{table}'::regclass;
           IF def IS NOT NULL AND position('''{first}''' IN def) = 0 THEN
             EXECUTE 'ALTER TABLE {table} DROP CONSTRAINT {constraint}';
             EXECUTE 'ALTER TABLE {table} ADD CONSTRAINT {constraint} '
               || replace(def, '''{anchor}''::text', '''{anchor}''::text{added}');
           END IF;
         END $$",
        first = extra[0],
    )
}

/// Removes `extra` from a CHECK constraint's definition (the reverse of `widen`).
fn narrow(table: &str, constraint: &str, extra: &[&str]) -> String {
    let removals: String = extra
        .iter()
        .map(|w| format!("def := replace(def, ', ''{w}''::text', '');"))
        .collect();
    format!(
        "DO $$
         DECLARE def text;
         BEGIN
           SELECT pg_get_constraintdef(oid) INTO def FROM pg_constraint
            WHERE conname = '{constraint}' AND conrelid = '{table}'::regclass;
           IF def IS NOT NULL THEN
             {removals}
             EXECUTE 'ALTER TABLE {table} DROP CONSTRAINT {constraint}';
             EXECUTE 'ALTER TABLE {table} ADD CONSTRAINT {constraint} ' || def;
           END IF;
         END $$"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE TABLE backups (
                id uuid PRIMARY KEY,
                tenant_id uuid NOT NULL REFERENCES tenants (id),
                state text NOT NULL DEFAULT 'pending'
                    CONSTRAINT backups_state_check CHECK (state IN ('pending', 'complete', 'failed')),
                file_name text NOT NULL,
                size_bytes bigint,
                sha256 bytea,
                schema_version text,
                data_key_sealed bytea,
                data_key_version smallint,
                created_at timestamptz NOT NULL DEFAULT now(),
                completed_at timestamptz,
                CONSTRAINT backups_complete_check CHECK (state <> 'complete' OR (
                    size_bytes IS NOT NULL AND sha256 IS NOT NULL AND schema_version IS NOT NULL
                    AND data_key_sealed IS NOT NULL AND data_key_version IS NOT NULL))
            )",
        )
        .await?;
        db.execute_unprepared("CREATE INDEX backups_tenant_idx ON backups (tenant_id, created_at)")
            .await?;
        db.execute_unprepared(
            "ALTER TABLE provisioning_jobs ADD COLUMN backup_id uuid REFERENCES backups (id)",
        )
        .await?;
        db.execute_unprepared(&widen(
            "provisioning_jobs",
            "provisioning_jobs_kind_check",
            "purge",
            &["backup", "restore"],
        ))
        .await?;
        db.execute_unprepared(&widen(
            "tenants",
            "tenants_status_check",
            "deleted",
            &["moving"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(&narrow("tenants", "tenants_status_check", &["moving"]))
            .await?;
        db.execute_unprepared(&narrow(
            "provisioning_jobs",
            "provisioning_jobs_kind_check",
            &["backup", "restore"],
        ))
        .await?;
        db.execute_unprepared("ALTER TABLE provisioning_jobs DROP COLUMN IF EXISTS backup_id")
            .await?;
        db.execute_unprepared("DROP TABLE IF EXISTS backups")
            .await?;
        Ok(())
    }
}
