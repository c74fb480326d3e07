//! Creates `tickets`: the requests customers raise and agents work on.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // No ON DELETE on the user references: users are deactivated, never
        // deleted, so removing one that still owns tickets should fail loudly.
        manager
            .get_connection()
            .execute_unprepared(
                r#"
                CREATE TABLE tickets (
                    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
                    title        text        NOT NULL
                        CONSTRAINT tickets_title_length_check CHECK (char_length(title) BETWEEN 1 AND 200),
                    description  text        NOT NULL,
                    status       text        NOT NULL DEFAULT 'open'
                        CONSTRAINT tickets_status_check
                        CHECK (status IN ('open', 'in_progress', 'resolved', 'closed')),
                    priority     text        NOT NULL DEFAULT 'medium'
                        CONSTRAINT tickets_priority_check
                        CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
                    requester_id uuid        NOT NULL
                        CONSTRAINT tickets_requester_id_fkey REFERENCES users (id),
                    assignee_id  uuid
                        CONSTRAINT tickets_assignee_id_fkey REFERENCES users (id),
                    created_at   timestamptz NOT NULL DEFAULT now(),
                    updated_at   timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX tickets_status_idx       ON tickets (status);
                CREATE INDEX tickets_requester_id_idx ON tickets (requester_id);
                CREATE INDEX tickets_assignee_id_idx  ON tickets (assignee_id);
                -- Listings are newest first.
                CREATE INDEX tickets_created_at_idx   ON tickets (created_at DESC);
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS tickets")
            .await?;
        Ok(())
    }
}
