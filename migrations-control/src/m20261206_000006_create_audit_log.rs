//! `audit_log`: one row per control-plane change (who, what, which tenant, from where, what
//! changed). Append-only, enforced here rather than by the application: a statement trigger
//! refuses every UPDATE, DELETE and TRUNCATE, whoever runs it, the table's owner (the
//! platform's own role) included. It is `ENABLE ALWAYS`, so `session_replication_role =
//! replica` does not switch it off either; only `ALTER TABLE ... DISABLE TRIGGER` by the
//! owner or a superuser does, which is itself DDL an operator has to mean.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in UP {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // DROP TABLE fires no trigger: rolling back this migration is the one way out.
        let db = manager.get_connection();
        db.execute_unprepared("DROP TABLE IF EXISTS audit_log")
            .await?;
        db.execute_unprepared("DROP FUNCTION IF EXISTS audit_log_append_only()")
            .await?;
        Ok(())
    }
}

const UP: &[&str] = &[
    "CREATE TABLE audit_log (
        id          bigserial   PRIMARY KEY,
        at          timestamptz NOT NULL DEFAULT now(),
        actor       text        NOT NULL,
        action      text        NOT NULL,
        tenant_id   uuid,
        tenant_slug text,
        request_id  text,
        client_addr text,
        changes     jsonb       NOT NULL DEFAULT '{}'
    )",
    "CREATE INDEX audit_log_at_idx ON audit_log (at)",
    "CREATE INDEX audit_log_tenant_at_idx ON audit_log (tenant_id, at)",
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
         RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
             USING ERRCODE = 'insufficient_privilege';
     END
     $$",
    // Per statement, so even an UPDATE or DELETE that matches no row is refused.
    "CREATE TRIGGER audit_log_append_only
         BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
         FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
    "ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_append_only",
];
