//! The database-server registry's SQL. The sealed admin URL is read only by
//! `servers::Servers` (to reach a server) and never leaves through a view.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement};
use uuid::Uuid;

/// A server row with the number of live (not purged) tenants placed on it.
#[derive(Clone, FromQueryResult)]
pub(crate) struct DbServer {
    pub name: String,
    pub host: String,
    pub port: i32,
    pub admin_url_sealed: Option<Vec<u8>>,
    pub admin_key_version: Option<i16>,
    pub capacity: i32,
    pub state: String,
    pub created_at: chrono::DateTime<chrono::FixedOffset>,
    pub updated_at: chrono::DateTime<chrono::FixedOffset>,
    pub tenants: i64,
}

// Hand-written so the sealed admin URL never reaches a log through `{:?}`.
impl std::fmt::Debug for DbServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbServer")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

const SELECT: &str = "SELECT s.*, (SELECT count(*) FROM tenants t
                                    WHERE t.server = s.name AND t.purged_at IS NULL) AS tenants
                      FROM db_servers s";

fn stmt(sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// Every server, by name.
pub(crate) async fn list(db: &impl ConnectionTrait) -> Result<Vec<DbServer>, DbErr> {
    DbServer::find_by_statement(stmt(&format!("{SELECT} ORDER BY s.name"), vec![]))
        .all(db)
        .await
}

pub(crate) async fn find(db: &impl ConnectionTrait, name: &str) -> Result<Option<DbServer>, DbErr> {
    DbServer::find_by_statement(stmt(
        &format!("{SELECT} WHERE s.name = $1"),
        vec![name.into()],
    ))
    .one(db)
    .await
}

/// A new server; a taken name is a unique violation (409).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert(
    db: &impl ConnectionTrait,
    name: &str,
    host: &str,
    port: u16,
    sealed: Vec<u8>,
    key_version: i16,
    capacity: i32,
) -> Result<DbServer, DbErr> {
    db.execute_raw(stmt(
        "INSERT INTO db_servers (id, name, host, port, admin_url_sealed, admin_key_version, capacity)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        vec![
            Uuid::new_v4().into(),
            name.into(),
            host.into(),
            i32::from(port).into(),
            sealed.into(),
            key_version.into(),
            capacity.into(),
        ],
    ))
    .await?;
    find(db, name)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("db server {name}")))
}

/// Registers `default` (or refreshes its address and admin URL); its capacity and state
/// are the operator's and stay as they are.
pub(crate) async fn upsert_default(
    db: &impl ConnectionTrait,
    name: &str,
    host: &str,
    port: u16,
    sealed: Vec<u8>,
    key_version: i16,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        "INSERT INTO db_servers (id, name, host, port, admin_url_sealed, admin_key_version, capacity)
         VALUES ($1, $2, $3, $4, $5, $6,
                 greatest(1000, 2 * (SELECT count(*) FROM tenants WHERE purged_at IS NULL)))
         ON CONFLICT (name) DO UPDATE SET host = excluded.host, port = excluded.port,
             admin_url_sealed = excluded.admin_url_sealed,
             admin_key_version = excluded.admin_key_version, updated_at = now()",
        vec![
            Uuid::new_v4().into(),
            name.into(),
            host.into(),
            i32::from(port).into(),
            sealed.into(),
            key_version.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Changes state and/or capacity; `None` when there is no such server.
pub(crate) async fn update(
    db: &impl ConnectionTrait,
    name: &str,
    state: Option<&str>,
    capacity: Option<i32>,
) -> Result<Option<DbServer>, DbErr> {
    let res = db
        .execute_raw(stmt(
            "UPDATE db_servers SET state = coalesce($2, state), capacity = coalesce($3, capacity),
                 updated_at = now() WHERE name = $1",
            vec![
                name.into(),
                state.map(str::to_string).into(),
                capacity.into(),
            ],
        ))
        .await?;
    if res.rows_affected() == 0 {
        return Ok(None);
    }
    find(db, name).await
}

/// The accepting servers, locked until the transaction ends so that concurrent placements
/// count each other's tenants (a capacity is never overrun by a race).
pub(crate) async fn lock_accepting(db: &impl ConnectionTrait) -> Result<Vec<DbServer>, DbErr> {
    // Locked first, counted after: the counts then see every placement committed before.
    db.execute_raw(stmt(
        "SELECT 1 FROM db_servers WHERE state = 'accepting' ORDER BY name FOR UPDATE",
        vec![],
    ))
    .await?;
    DbServer::find_by_statement(stmt(
        &format!("{SELECT} WHERE s.state = 'accepting' ORDER BY s.name"),
        vec![],
    ))
    .all(db)
    .await
}
