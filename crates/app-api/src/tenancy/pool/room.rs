//! Making room in a spent budget: which other pool's connection to close, asked of the
//! policy with a look at every cached pool on the server.

use super::budget::{BudgetPolicy, Room};
use super::factory::Shared;
use super::servers::ServerBudget;
use uuid::Uuid;

impl Shared {
    /// Closes the policy's choice of idle connection in any pool on `server` but
    /// `except`'s. False when no other pool there holds an idle connection.
    pub(super) fn release_idle(&self, except: Uuid, server: &str) -> bool {
        let others = self
            .cache
            .iter()
            .filter(|(id, pool)| **id != except && pool.server.name == server)
            .map(|(_, pool)| {
                let view = pool.view_with_idle_age();
                (pool, view)
            });
        match BudgetPolicy::idle_victim(others) {
            Some((pool, idle_for)) => pool.close_one_idle(idle_for),
            None => false,
        }
    }
}

impl Shared {
    /// Acts for the unmet claims on `server` (requests of tenants without a connection,
    /// `except` among them): closes the policy's choice of another pool's idle connection,
    /// counted as closing for the claims. True when one was closed.
    pub(super) fn make_room(&self, except: Uuid, server: &ServerBudget) -> bool {
        let unmet = server.unmet_claims();
        if unmet == 0 {
            return false;
        }
        let others = self
            .cache
            .iter()
            .filter(|(id, pool)| **id != except && pool.server.name == server.name)
            .map(|(_, pool)| {
                let view = pool.view_with_idle_age();
                (pool, view)
            });
        match BudgetPolicy::make_room(unmet, others) {
            Room::Close(pool, idle_for) => {
                // Counted before the close, so a claim arriving meanwhile sees it covered.
                server.closing_for_claim();
                if pool.close_one_idle(idle_for) {
                    return true;
                }
                // Checked out since we looked: nothing is closing after all.
                server.uncount_closing();
                false
            }
            Room::Wait => false,
        }
    }
}
