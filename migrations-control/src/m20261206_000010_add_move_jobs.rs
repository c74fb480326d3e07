//! Moving a tenant's database to another server: a `move` job kind, and on every job the
//! databases it works between (server and name of the source and the target), so a job
//! killed at any step knows on resume what it was moving where, and a restore killed
//! between its switch and its old database's drop still knows which database to drop.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Adds `extra` to the job kind CHECK unless it is there (edits the current definition, so
/// kinds other migrations added are kept whatever order they landed in).
const WIDEN_KIND: &str = "DO $$
 DECLARE def text;
 BEGIN
   SELECT pg_get_constraintdef(oid) INTO def FROM pg_constraint
    WHERE conname = 'provisioning_jobs_kind_check' AND conrelid = 'provisioning_jobs'::regclass;
   IF def IS NOT NULL AND position('''move''' IN def) = 0 THEN
     EXECUTE 'ALTER TABLE provisioning_jobs DROP CONSTRAINT provisioning_jobs_kind_check';
     EXECUTE 'ALTER TABLE provisioning_jobs ADD CONSTRAINT provisioning_jobs_kind_check '
       || replace(def, '''purge''::text', '''purge''::text, ''move''::text');
   END IF;
 END $$";

const NARROW_KIND: &str = "DO $$
 DECLARE def text;
 BEGIN
   SELECT pg_get_constraintdef(oid) INTO def FROM pg_constraint
    WHERE conname = 'provisioning_jobs_kind_check' AND conrelid = 'provisioning_jobs'::regclass;
   IF def IS NOT NULL THEN
     def := replace(def, ', ''move''::text', '');
     EXECUTE 'ALTER TABLE provisioning_jobs DROP CONSTRAINT provisioning_jobs_kind_check';
     EXECUTE 'ALTER TABLE provisioning_jobs ADD CONSTRAINT provisioning_jobs_kind_check ' || def;
   END IF;
 END $$";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "ALTER TABLE provisioning_jobs
                 ADD COLUMN source_server text, ADD COLUMN source_db text,
                 ADD COLUMN target_server text, ADD COLUMN target_db text",
        )
        .await?;
        db.execute_unprepared(WIDEN_KIND).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DELETE FROM provisioning_jobs WHERE kind = 'move'")
            .await?;
        db.execute_unprepared(NARROW_KIND).await?;
        db.execute_unprepared(
            "ALTER TABLE provisioning_jobs
                 DROP COLUMN IF EXISTS source_server, DROP COLUMN IF EXISTS source_db,
                 DROP COLUMN IF EXISTS target_server, DROP COLUMN IF EXISTS target_db",
        )
        .await?;
        Ok(())
    }
}
