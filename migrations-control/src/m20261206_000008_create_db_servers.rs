//! The database servers tenants live on. Each has the host and port apps connect to, the
//! admin URL the provisioner uses, sealed like tenant credentials (AES-256-GCM under the
//! platform keyring, bound to `db-server:<name>`), a capacity in tenants and a state
//! (`accepting` new tenants or `draining`). Every tenant names its server.
//!
//! The `default` row is made here so existing tenants have a server to name; its address
//! and sealed admin URL come from `TENANT_DB_*` when control-api starts (a migration has no
//! key to seal with), and until then it has no admin URL and takes no new tenant.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE TABLE db_servers (
                id uuid PRIMARY KEY,
                name text NOT NULL CONSTRAINT db_servers_name_key UNIQUE,
                host text NOT NULL,
                port integer NOT NULL CONSTRAINT db_servers_port_check CHECK (port BETWEEN 1 AND 65535),
                admin_url_sealed bytea,
                admin_key_version smallint,
                capacity integer NOT NULL CONSTRAINT db_servers_capacity_check CHECK (capacity >= 0),
                state text NOT NULL DEFAULT 'accepting'
                    CONSTRAINT db_servers_state_check CHECK (state IN ('accepting', 'draining')),
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            )",
        )
        .await?;
        // Room for what the one server already holds and as much again.
        db.execute_unprepared(
            "INSERT INTO db_servers (id, name, host, port, capacity)
             SELECT gen_random_uuid(), 'default', '127.0.0.1', 5432,
                    greatest(1000, 2 * (SELECT count(*) FROM tenants WHERE purged_at IS NULL))",
        )
        .await?;
        db.execute_unprepared(
            "ALTER TABLE tenants ADD COLUMN server text NOT NULL DEFAULT 'default'
                 CONSTRAINT tenants_server_fkey REFERENCES db_servers (name)",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX tenants_server_idx ON tenants (server) WHERE purged_at IS NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("ALTER TABLE tenants DROP COLUMN IF EXISTS server")
            .await?;
        db.execute_unprepared("DROP TABLE IF EXISTS db_servers")
            .await?;
        Ok(())
    }
}
