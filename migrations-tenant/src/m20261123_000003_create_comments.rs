//! Creates `comments`: the conversation on a ticket, including agents' internal notes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Comments live and die with their ticket, hence the cascade; authors
        // are never deleted (only deactivated), so that reference has none.
        manager
            .get_connection()
            .execute_unprepared(
                r#"
                CREATE TABLE comments (
                    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
                    ticket_id  uuid        NOT NULL
                        CONSTRAINT comments_ticket_id_fkey REFERENCES tickets (id) ON DELETE CASCADE,
                    author_id  uuid        NOT NULL
                        CONSTRAINT comments_author_id_fkey REFERENCES users (id),
                    body       text        NOT NULL,
                    internal   boolean     NOT NULL DEFAULT false,
                    created_at timestamptz NOT NULL DEFAULT now()
                );
                -- Serves "a ticket's comments in order" and the cascade's lookup by ticket.
                CREATE INDEX comments_ticket_id_created_at_idx ON comments (ticket_id, created_at);
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS comments")
            .await?;
        Ok(())
    }
}
