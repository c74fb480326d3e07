//! Job records: the truth about every provisioning and purge job, kept here rather than in
//! Redis so a job's history outlives the queue. `lease_until` lets exactly one worker own
//! a running job; an expired lease means its worker died and the job may be taken over.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE TABLE provisioning_jobs (
                id uuid PRIMARY KEY,
                tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
                kind text NOT NULL CONSTRAINT provisioning_jobs_kind_check
                    CHECK (kind IN ('provision', 'purge')),
                state text NOT NULL CONSTRAINT provisioning_jobs_state_check
                    CHECK (state IN ('queued', 'running', 'retrying', 'succeeded', 'failed', 'cancelled')),
                attempts integer NOT NULL DEFAULT 0,
                max_attempts integer NOT NULL,
                last_error text,
                step text,
                lease_until timestamptz,
                created_at timestamptz NOT NULL DEFAULT now(),
                started_at timestamptz,
                finished_at timestamptz,
                updated_at timestamptz NOT NULL DEFAULT now()
            )",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX provisioning_jobs_tenant_idx ON provisioning_jobs (tenant_id, created_at DESC)",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX provisioning_jobs_open_idx ON provisioning_jobs (state)
                WHERE state IN ('queued', 'running', 'retrying')",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS provisioning_jobs")
            .await?;
        Ok(())
    }
}
