//! Creates `users`: everyone who can sign in to a tenant (admins, agents, customers).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Constraint and index names are spelled out so the API can map a
        // violation of a specific one (e.g. a duplicate email) to a 409.
        manager
            .get_connection()
            .execute_unprepared(
                r#"
                CREATE TABLE users (
                    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
                    email         text        NOT NULL,
                    name          text        NOT NULL,
                    role          text        NOT NULL
                        CONSTRAINT users_role_check CHECK (role IN ('admin', 'agent', 'customer')),
                    password_hash text        NOT NULL,
                    active        boolean     NOT NULL DEFAULT true,
                    created_at    timestamptz NOT NULL DEFAULT now(),
                    updated_at    timestamptz NOT NULL DEFAULT now()
                );
                -- Emails are compared case-insensitively: Ann@x.io and ann@x.io are one user.
                CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
                "#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS users")
            .await?;
        Ok(())
    }
}
