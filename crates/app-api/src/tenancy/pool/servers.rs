//! One connection budget per database server: `POOL_MAX_TOTAL` permits each, so tenants
//! on one server never spend another's, and a full server shrinks only its own budget.

use super::budget::BudgetPolicy;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// A server's budget: the permits its connections hold and the policy that shrinks and
/// regrows them.
#[derive(Debug)]
pub(crate) struct ServerBudget {
    pub(crate) name: String,
    /// One permit per open connection to this server, across its tenants' pools.
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) policy: BudgetPolicy,
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
            .or_insert_with(|| {
                Arc::new(ServerBudget {
                    name: name.to_string(),
                    permits: Arc::new(Semaphore::new(self.max_total)),
                    policy: BudgetPolicy::new(self.max_total),
                })
            })
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

impl ServerBudget {
    /// Connections open to this server now.
    pub(crate) fn connections(&self) -> usize {
        self.policy
            .budget()
            .saturating_sub(self.permits.available_permits())
    }
}
