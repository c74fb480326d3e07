//! One connection budget per database server: `POOL_MAX_TOTAL` permits each, so tenants
//! on one server never spend another's, and a full server shrinks only its own budget.
//!
//! With the budget spent, a request of a tenant without connections registers a claim and
//! gets another tenant's connection closed for it; the permit that connection held is
//! handed to the oldest claim when the backend has gone, instead of going back to the
//! semaphore where any request could take it first.

use super::budget::BudgetPolicy;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

/// A server's budget: the permits its connections hold and the policy that shrinks and
/// regrows them.
#[derive(Debug)]
pub(crate) struct ServerBudget {
    pub(crate) name: String,
    /// One permit per open connection to this server, across its tenants' pools.
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) policy: BudgetPolicy,
    /// Requests waiting for a permit through a claim (read without the lock on every
    /// connection given back, so the hot path costs one atomic load).
    claimants: AtomicUsize,
    claims: Mutex<Claims>,
}

#[derive(Debug, Default)]
struct Claims {
    /// Where to send a released permit, oldest first (a sender whose claim gave up is
    /// skipped when a permit comes).
    queue: VecDeque<oneshot::Sender<OwnedSemaphorePermit>>,
    /// Connections closed to make room whose permits have not come back yet: that many
    /// claims are already being served.
    closing: usize,
}

/// A registered claim; dropping it withdraws it (a permit sent to it afterwards goes to
/// the next claim or back to the semaphore).
pub(crate) struct Claim<'a> {
    pub(crate) permit: oneshot::Receiver<OwnedSemaphorePermit>,
    server: &'a ServerBudget,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.server.claimants.fetch_sub(1, Ordering::Relaxed);
    }
}

impl ServerBudget {
    fn new(name: &str, max_total: usize) -> Self {
        Self {
            name: name.to_string(),
            permits: Arc::new(Semaphore::new(max_total)),
            policy: BudgetPolicy::new(max_total),
            claimants: AtomicUsize::new(0),
            claims: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Claims> {
        self.claims.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Connections open to this server now.
    pub(crate) fn connections(&self) -> usize {
        self.policy
            .budget()
            .saturating_sub(self.permits.available_permits())
    }

    /// Claims waiting now.
    pub(crate) fn claimants(&self) -> usize {
        self.claimants.load(Ordering::Relaxed)
    }

    /// Registers a claim on the next permit released.
    pub(crate) fn claim(&self) -> Claim<'_> {
        let (tx, rx) = oneshot::channel();
        let mut claims = self.lock();
        // Claims that gave up would only be skipped by the next release.
        claims.queue.retain(|tx| !tx.is_closed());
        claims.queue.push_back(tx);
        drop(claims);
        self.claimants.fetch_add(1, Ordering::Relaxed);
        Claim {
            permit: rx,
            server: self,
        }
    }

    /// Claims not yet covered by a connection being closed for them.
    pub(crate) fn unmet_claims(&self) -> usize {
        if self.claimants.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        let closing = self.lock().closing;
        self.claimants
            .load(Ordering::Relaxed)
            .saturating_sub(closing)
    }

    /// Counts a connection closed to make room when claims are unmet and `close(unmet)`
    /// agrees, in one step under the lock: two connections given back at the same moment
    /// cannot both see the same unmet claim and both close for it.
    pub(crate) fn close_for_claim_if(&self, close: impl FnOnce(usize) -> bool) -> bool {
        let mut claims = self.lock();
        let unmet = self
            .claimants
            .load(Ordering::Relaxed)
            .saturating_sub(claims.closing);
        if unmet > 0 && close(unmet) {
            claims.closing += 1;
            return true;
        }
        false
    }

    /// Counts a connection closed to make room; its permit will serve a claim.
    pub(crate) fn closing_for_claim(&self) {
        self.lock().closing += 1;
    }

    /// Takes back a close counted by [`closing_for_claim`](Self::closing_for_claim) that
    /// did not happen.
    pub(crate) fn uncount_closing(&self) {
        let mut claims = self.lock();
        claims.closing = claims.closing.saturating_sub(1);
    }

    /// Gives back the permit of a connection whose backend has gone: to the oldest claim
    /// still waiting, else to the semaphore.
    pub(crate) fn release(&self, mut permit: OwnedSemaphorePermit) {
        let mut claims = self.lock();
        // Any release serves a claim, so it settles one close counted for them (a close
        // for another reason, an eviction, settles one early: at worst one extra close).
        claims.closing = claims.closing.saturating_sub(1);
        while let Some(tx) = claims.queue.pop_front() {
            match tx.send(permit) {
                Ok(()) => return,
                Err(back) => permit = back,
            }
        }
        drop(claims);
        drop(permit);
    }
}

/// The budgets of the servers this process has connected to, made on first use.
#[derive(Debug, Default)]
pub(crate) struct ServerBudgets {
    max_total: usize,
    by_name: Mutex<HashMap<String, Arc<ServerBudget>>>,
}

impl ServerBudgets {
    pub(crate) fn new(max_total: usize) -> Self {
        Self {
            max_total,
            by_name: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ServerBudget>>> {
        self.by_name.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The budget of server `name`, made with `POOL_MAX_TOTAL` permits on first use.
    pub(crate) fn of(&self, name: &str) -> Arc<ServerBudget> {
        self.lock()
            .entry(name.to_string())
            .or_insert_with(|| Arc::new(ServerBudget::new(name, self.max_total)))
            .clone()
    }

    /// The budget of server `name`, if one was made.
    pub(crate) fn get(&self, name: &str) -> Option<Arc<ServerBudget>> {
        self.lock().get(name).cloned()
    }

    /// Every budget made so far.
    pub(crate) fn all(&self) -> Vec<Arc<ServerBudget>> {
        self.lock().values().cloned().collect()
    }
}
