//! A tenant's pool and the connection checked out of it: waiting for one of the tenant's
//! own connections, waking those waiters when a connection is given back, and the query
//! methods every repository goes through (prepared or unnamed statements, per
//! `TENANT_DB_STATEMENTS`).

use super::budget::{BudgetPolicy, PoolView};
use super::manager::{BudgetedManager, ConnError};
use super::servers::ServerBudget;
use crate::settings::StatementMode;
use deadpool::managed::{self, PoolError};
use deadpool_postgres::ClientWrapper;
use futures::TryStreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};
use uuid::Uuid;

/// A query parameter and the PostgreSQL type of its placeholder. The type is given, not
/// inferred by the server, so an unnamed statement needs no separate prepare round trip,
/// and both statement modes parse the SQL with the same parameter types.
pub(crate) type Param<'a> = (&'a (dyn ToSql + Sync), Type);

/// One tenant's pool.
pub(crate) struct TenantPool {
    pub(crate) tenant_id: Uuid,
    pub(crate) slug: String,
    /// The budget of the tenant's database server.
    pub(crate) server: Arc<ServerBudget>,
    conns: managed::Pool<BudgetedManager>,
    /// Credentials and plan the pool was built from: a change means rebuild.
    pub(super) fingerprint: u64,
    /// Notified whenever a connection of this pool is given back.
    returned: Notify,
    statements: StatementMode,
}

impl TenantPool {
    pub(super) fn new(
        tenant_id: Uuid,
        slug: String,
        server: Arc<ServerBudget>,
        conns: managed::Pool<BudgetedManager>,
        fingerprint: u64,
        statements: StatementMode,
    ) -> Self {
        Self {
            tenant_id,
            slug,
            server,
            conns,
            fingerprint,
            returned: Notify::new(),
            statements,
        }
    }

    /// The pool's counts, without the age of its idle connections.
    pub(super) fn view(&self) -> PoolView {
        let status = self.conns.status();
        PoolView {
            size: status.size,
            idle: status.available,
            max_size: status.max_size,
            oldest_idle: Duration::ZERO,
        }
    }

    /// The pool's counts with the age of its longest-idle connection. Idle connections are
    /// counted as they lie in the pool: the status's count subtracts requests inside `get`,
    /// and a request of this tenant waiting there for a permit would hide an idle one.
    pub(super) fn view_with_idle_age(&self) -> PoolView {
        let mut view = self.view();
        view.idle = 0;
        // `retain` is the only view of a pool's idle connections; keep them all here.
        self.conns.retain(|_, m| {
            view.idle += 1;
            view.oldest_idle = view.oldest_idle.max(m.last_used());
            true
        });
        view
    }

    /// Closes one idle connection unused for at least `idle_for`. False when none is left
    /// (it was checked out since the pool was looked at).
    pub(super) fn close_one_idle(&self, idle_for: Duration) -> bool {
        let mut closed = false;
        self.conns.retain(|_, m| {
            if !closed && m.last_used() >= idle_for {
                closed = true;
                return false;
            }
            true
        });
        closed
    }

    /// Closes every idle connection. The pool itself stays open: a request that still
    /// holds it finishes normally, and when the last one lets go the pool is dropped with
    /// its remaining connections.
    pub(super) fn close_idle(&self) {
        self.conns.retain(|_, _| false);
    }

    /// Waits, until `deadline` (set to `wait` from now when first needed), while the policy
    /// says this request should wait for one of the tenant's own connections rather than
    /// open one. False when the wait ran out: its own connections stayed busy throughout.
    pub(super) async fn await_own_connection(
        &self,
        deadline: &mut Option<tokio::time::Instant>,
        wait: Duration,
    ) -> bool {
        let budget = &self.server.permits;
        // The common case, decided without a clock read or a look at the pool.
        if budget.available_permits() > 0 {
            return true;
        }
        let deadline = *deadline.get_or_insert_with(|| tokio::time::Instant::now() + wait);
        loop {
            // Created before the check so a connection given back in between still wakes us.
            let returned = self.returned.notified();
            if !BudgetPolicy::waits_for_own(budget.available_permits(), self.view()) {
                return true;
            }
            if tokio::time::timeout_at(deadline, returned).await.is_err() {
                return false;
            }
        }
    }

    /// Checks one of the pool's connections out, opening one if the pool may.
    pub(super) async fn checkout(self: &Arc<Self>) -> Result<TenantConn, PoolError<ConnError>> {
        let object = self.conns.get().await?;
        Ok(TenantConn {
            object: Some(object),
            pool: self.clone(),
        })
    }
}

/// A connection checked out of a tenant's pool; giving it back (dropping it) wakes the
/// tenant's requests that wait for one of its own connections, or closes it when another
/// tenant's request waits for room and this pool keeps another connection.
pub(crate) struct TenantConn {
    /// Always `Some` until dropped: taken in `drop` so the connection is back in the pool
    /// before the waiters wake.
    object: Option<managed::Object<BudgetedManager>>,
    pool: Arc<TenantPool>,
}

impl TenantConn {
    fn client(&self) -> &ClientWrapper {
        self
    }

    /// Behind a transaction pooler, consecutive round trips may reach different server
    /// connections, so a statement prepared on one is unknown on the next: unnamed mode
    /// sends parse, bind and execute together and keeps nothing on the server.
    fn unnamed(&self) -> bool {
        self.pool.statements == StatementMode::Unnamed
    }

    /// The statement for `sql`, prepared once per connection with the given parameter
    /// types, and the parameter values on their own.
    async fn prepared<'p>(
        &self,
        sql: &str,
        params: &[Param<'p>],
    ) -> Result<(tokio_postgres::Statement, Vec<&'p (dyn ToSql + Sync)>), tokio_postgres::Error>
    {
        let types: Vec<Type> = params.iter().map(|(_, ty)| ty.clone()).collect();
        let stmt = self.client().prepare_typed_cached(sql, &types).await?;
        Ok((stmt, params.iter().map(|(value, _)| *value).collect()))
    }

    /// Every row `sql` returns.
    pub(crate) async fn query(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        if self.unnamed() {
            return self.client().query_typed(sql, params).await;
        }
        let (stmt, values) = self.prepared(sql, params).await?;
        self.client().query(&stmt, &values).await
    }

    /// The one row `sql` returns; an error if it returns none or several.
    pub(crate) async fn query_one(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Row, tokio_postgres::Error> {
        if self.unnamed() {
            return self.client().query_typed_one(sql, params).await;
        }
        let (stmt, values) = self.prepared(sql, params).await?;
        self.client().query_one(&stmt, &values).await
    }

    /// The row `sql` returns, if any; an error if it returns several.
    pub(crate) async fn query_opt(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        if self.unnamed() {
            return self.client().query_typed_opt(sql, params).await;
        }
        let (stmt, values) = self.prepared(sql, params).await?;
        self.client().query_opt(&stmt, &values).await
    }

    /// The number of rows `sql` changed.
    pub(crate) async fn execute(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<u64, tokio_postgres::Error> {
        if self.unnamed() {
            let rows = self
                .client()
                .query_typed_raw(sql, params.iter().map(|(v, ty)| (*v, ty.clone())))
                .await?;
            let mut rows = std::pin::pin!(rows);
            while rows.try_next().await?.is_some() {}
            return Ok(rows.rows_affected().unwrap_or(0));
        }
        let (stmt, values) = self.prepared(sql, params).await?;
        self.client().execute(&stmt, &values).await
    }
}

impl std::ops::Deref for TenantConn {
    type Target = ClientWrapper;

    fn deref(&self) -> &ClientWrapper {
        self.object
            .as_ref()
            .expect("a checked-out connection is held until dropped")
    }
}

impl std::ops::DerefMut for TenantConn {
    fn deref_mut(&mut self) -> &mut ClientWrapper {
        self.object
            .as_mut()
            .expect("a checked-out connection is held until dropped")
    }
}

impl Drop for TenantConn {
    fn drop(&mut self) {
        if let Some(object) = self.object.take() {
            let server = &self.pool.server;
            // A request of a tenant without connections waits for room, and this pool keeps
            // another connection: close this one for it instead of keeping it idle. (One
            // atomic load on the hot path: the pool is looked at only while a claim waits.)
            let size = || self.pool.conns.status().size;
            if server.unmet_claims() > 0
                && server.close_for_claim_if(|unmet| BudgetPolicy::shrinks_on_return(unmet, size()))
            {
                drop(managed::Object::take(object));
            } else {
                drop(object);
            }
        }
        self.pool.returned.notify_waiters();
    }
}
