//! A tenant's pool and the connection checked out of it: waiting for one of the tenant's
//! own connections, and waking those waiters when a connection is given back.

use super::budget::{BudgetPolicy, PoolView};
use super::manager::{BudgetedManager, ConnError};
use deadpool::managed::{self, PoolError};
use deadpool_postgres::ClientWrapper;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use uuid::Uuid;

/// One tenant's pool.
pub(crate) struct TenantPool {
    pub(crate) tenant_id: Uuid,
    pub(crate) slug: String,
    conns: managed::Pool<BudgetedManager>,
    /// Credentials and plan the pool was built from: a change means rebuild.
    pub(super) fingerprint: u64,
    /// Notified whenever a connection of this pool is given back.
    returned: Notify,
}

impl TenantPool {
    pub(super) fn new(
        tenant_id: Uuid,
        slug: String,
        conns: managed::Pool<BudgetedManager>,
        fingerprint: u64,
    ) -> Self {
        Self {
            tenant_id,
            slug,
            conns,
            fingerprint,
            returned: Notify::new(),
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

    /// The pool's counts with the age of its longest-idle connection.
    pub(super) fn view_with_idle_age(&self) -> PoolView {
        let mut view = self.view();
        // `retain` is the only view of a pool's idle connections; keep them all here.
        self.conns.retain(|_, m| {
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

    /// Waits, up to `wait`, while the policy says this request should wait for one of the
    /// tenant's own connections rather than open one. False when the wait ran out: its own
    /// connections stayed busy throughout.
    pub(super) async fn await_own_connection(&self, budget: &Semaphore, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
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
/// tenant's requests that wait for one of its own connections.
pub(crate) struct TenantConn {
    /// Always `Some` until dropped: taken in `drop` so the connection is back in the pool
    /// before the waiters wake.
    object: Option<managed::Object<BudgetedManager>>,
    pool: Arc<TenantPool>,
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
        drop(self.object.take());
        self.pool.returned.notify_waiters();
    }
}
