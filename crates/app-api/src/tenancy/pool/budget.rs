//! The connection budget policy as a pure type: who waits, who may close another tenant's
//! idle connection, when the budget shrinks and when it grows back. No I/O here: the manager
//! and the factory look at their pools, ask this policy, and act on the answer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Step of the wait for a budget permit when nothing was closed for us: short, because a
/// permit comes back the moment any connection anywhere closes.
pub(crate) const BUDGET_POLL: Duration = Duration::from_millis(20);

/// Added to the close grace after closing an idle connection for a permit: the server needs
/// this long to end the backend and the driver task to see the socket close.
pub(crate) const RELEASE_SETTLE: Duration = Duration::from_millis(50);

/// Pause before asking again after the server refused a connection for a role or database
/// limit: those are held by other clients, so only time frees them, and every attempt
/// costs the server a process start.
pub(crate) const REFUSED_RETRY: Duration = Duration::from_millis(20);

/// A snapshot of one pool's counts: all the policy knows of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PoolView {
    /// Connections open, busy or idle.
    pub(crate) size: usize,
    /// Connections open and not checked out.
    pub(crate) idle: usize,
    /// Connections the pool may hold (its plan, capped by `POOL_MAX_PER_TENANT`).
    pub(crate) max_size: usize,
    /// Time since its longest-idle connection was last used (zero when none is idle).
    pub(crate) oldest_idle: Duration,
}

/// Which limit a refused connection (SQLSTATE 53300) hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The whole server is full (`max_connections`, reserved slots): our budget is larger
    /// than the room the server has.
    ServerFull,
    /// The tenant's role or database has a `CONNECTION LIMIT` others are holding: nothing
    /// of ours elsewhere would make room.
    Scoped,
}

impl Refusal {
    /// Tells the limits apart by the server function that raised the error, which does not
    /// depend on the server's language (the message text does). Seen on PostgreSQL 15:
    /// `InitializeSessionUserId` (role limit), `CheckMyDatabase` (database limit),
    /// `InitProcess` (no free backend slot), `InitPostgres` (reserved superuser slots);
    /// the postmaster's own refusal comes from `ProcessStartupPacket`. Anything but the two
    /// scoped checks, or no routine at all (a proxy), counts as the server being full.
    pub(crate) fn from_routine(routine: Option<&str>) -> Self {
        match routine {
            Some("InitializeSessionUserId" | "CheckMyDatabase") => Self::Scoped,
            _ => Self::ServerFull,
        }
    }
}

/// What the manager does after the server refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterRefusal {
    /// The budget was shrunk by one: forget the permit held for this connection, then take
    /// a new one (within the same deadline) before trying again.
    ForgetPermit,
    /// Keep the permit and try again after [`REFUSED_RETRY`].
    Retry,
}

/// The global connection budget: `POOL_MAX_TOTAL` permits, less the ones taken out because
/// the server refused connections below it.
#[derive(Debug)]
pub(crate) struct BudgetPolicy {
    max_total: usize,
    /// Permits taken out of the budget (never given back to the semaphore until regrown).
    shrunk: AtomicUsize,
}

impl BudgetPolicy {
    pub(crate) fn new(max_total: usize) -> Self {
        Self {
            max_total,
            shrunk: AtomicUsize::new(0),
        }
    }

    /// The connection budget now.
    pub(crate) fn budget(&self) -> usize {
        self.max_total - self.shrunk.load(Ordering::Relaxed)
    }

    /// Whether a request waits for one of its own tenant's connections to come back instead
    /// of opening one: only with the budget spent and the pool holding connections, all
    /// busy, below its size. (At its size the pool itself queues the request; with one idle
    /// it takes that; with none it must open one.) A query takes a millisecond; opening a
    /// connection by closing another tenant's makes every tenant reconnect in turn under a
    /// load spread over more tenants than the budget covers.
    pub(crate) fn waits_for_own(free_permits: usize, own: PoolView) -> bool {
        free_permits == 0 && own.size > 0 && own.idle == 0 && own.size < own.max_size
    }

    /// Whether a tenant opening a connection with the budget spent may close another pool's
    /// idle connection for its permit: only a tenant with no connection at all. One that has
    /// some waits for a permit instead (its own connections serve it meanwhile).
    pub(crate) fn may_take_idle(own_open: usize) -> bool {
        own_open == 0
    }

    /// The pool whose idle connection to close, among `others` (never the asking tenant's):
    /// pools that keep another connection afterwards first (taking a tenant's last one makes
    /// it reconnect), then the one whose oldest idle connection has waited longest. Returns
    /// the pool's key and that idle time; `None` when no pool has an idle connection.
    /// Exactly one connection is closed, never all: closing all would make every tenant
    /// reconnect on its next request.
    pub(crate) fn idle_victim<K>(
        others: impl IntoIterator<Item = (K, PoolView)>,
    ) -> Option<(K, Duration)> {
        others
            .into_iter()
            .filter(|(_, v)| v.idle > 0)
            .max_by_key(|(_, v)| (v.size > 1, v.oldest_idle))
            .map(|(k, v)| (k, v.oldest_idle))
    }

    /// How long to wait for a permit before looking again, with `left` until the request's
    /// deadline: long enough for a closed connection's permit to come back when one was
    /// closed for us, a short poll otherwise.
    pub(crate) fn wait_slice(released: bool, close_grace: Duration, left: Duration) -> Duration {
        let slice = if released {
            close_grace + RELEASE_SETTLE
        } else {
            BUDGET_POLL
        };
        slice.min(left)
    }

    /// Decides after a refusal. A full server shrinks the budget by one permit, never below
    /// one, so we stop knocking (every refused attempt costs the server a process) and settle
    /// at what the server holds; [`regrow`](Self::regrow) gives permits back.
    pub(crate) fn on_refusal(&self, refusal: Refusal) -> AfterRefusal {
        if refusal == Refusal::ServerFull && self.shrink() {
            AfterRefusal::ForgetPermit
        } else {
            AfterRefusal::Retry
        }
    }

    fn shrink(&self) -> bool {
        let floor_gap = self.max_total.saturating_sub(1);
        self.shrunk
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < floor_gap).then_some(n + 1)
            })
            .is_ok()
    }

    /// Called once per health interval: gives one shrunk permit back, as the server may have
    /// room again (if not, the next refusal takes it out again). True when the caller must
    /// add that permit to the semaphore.
    pub(crate) fn regrow(&self) -> bool {
        self.shrunk
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(size: usize, idle: usize, max_size: usize, idle_secs: u64) -> PoolView {
        PoolView {
            size,
            idle,
            max_size,
            oldest_idle: Duration::from_secs(idle_secs),
        }
    }

    #[test]
    fn a_tenant_waits_for_its_own_connection_only_when_all_are_busy_and_the_budget_is_spent() {
        // Connections, all busy, below its size, budget spent: wait.
        assert!(BudgetPolicy::waits_for_own(0, view(2, 0, 5, 0)));
        // Budget left: open another.
        assert!(!BudgetPolicy::waits_for_own(1, view(2, 0, 5, 0)));
        // No connection yet: it must open one.
        assert!(!BudgetPolicy::waits_for_own(0, view(0, 0, 5, 0)));
        // One idle: it takes that.
        assert!(!BudgetPolicy::waits_for_own(0, view(2, 1, 5, 0)));
        // At its size: the pool itself queues the request.
        assert!(!BudgetPolicy::waits_for_own(0, view(5, 0, 5, 0)));
    }

    #[test]
    fn only_a_tenant_without_connections_may_close_another_pools_idle_connection() {
        assert!(BudgetPolicy::may_take_idle(0));
        assert!(!BudgetPolicy::may_take_idle(1));
        assert!(!BudgetPolicy::may_take_idle(4));
    }

    #[test]
    fn the_victim_keeps_another_connection_if_any_pool_can_then_the_longest_idle() {
        // "b" is idle longest but would lose its last connection; "c" keeps one after.
        let pools = [
            ("a", view(3, 1, 5, 5)),
            ("b", view(1, 1, 5, 60)),
            ("c", view(2, 2, 5, 30)),
        ];
        assert_eq!(
            BudgetPolicy::idle_victim(pools),
            Some(("c", Duration::from_secs(30)))
        );
        // Only last connections left: the longest idle goes.
        let last_ones = [("a", view(1, 1, 5, 5)), ("b", view(1, 1, 5, 60))];
        assert_eq!(
            BudgetPolicy::idle_victim(last_ones),
            Some(("b", Duration::from_secs(60)))
        );
    }

    #[test]
    fn pools_without_idle_connections_are_never_victims() {
        let busy = [("a", view(5, 0, 5, 0)), ("b", view(1, 0, 5, 0))];
        assert_eq!(BudgetPolicy::idle_victim(busy), None);
        assert_eq!(
            BudgetPolicy::idle_victim(Vec::<(&str, PoolView)>::new()),
            None
        );
    }

    #[test]
    fn a_closed_connection_is_given_time_to_come_back_within_the_deadline() {
        let grace = Duration::from_millis(25);
        let long = Duration::from_secs(1);
        assert_eq!(
            BudgetPolicy::wait_slice(true, grace, long),
            grace + RELEASE_SETTLE
        );
        assert_eq!(BudgetPolicy::wait_slice(false, grace, long), BUDGET_POLL);
        let short = Duration::from_millis(3);
        assert_eq!(BudgetPolicy::wait_slice(true, grace, short), short);
    }

    #[test]
    fn limits_are_told_apart_by_the_routine_that_raised_them() {
        assert_eq!(
            Refusal::from_routine(Some("InitializeSessionUserId")),
            Refusal::Scoped
        );
        assert_eq!(
            Refusal::from_routine(Some("CheckMyDatabase")),
            Refusal::Scoped
        );
        for full in ["InitProcess", "InitPostgres", "ProcessStartupPacket"] {
            assert_eq!(Refusal::from_routine(Some(full)), Refusal::ServerFull);
        }
        assert_eq!(Refusal::from_routine(None), Refusal::ServerFull);
    }

    #[test]
    fn a_full_server_shrinks_the_budget_but_never_below_one() {
        let policy = BudgetPolicy::new(3);
        assert_eq!(policy.budget(), 3);
        assert_eq!(
            policy.on_refusal(Refusal::ServerFull),
            AfterRefusal::ForgetPermit
        );
        assert_eq!(
            policy.on_refusal(Refusal::ServerFull),
            AfterRefusal::ForgetPermit
        );
        assert_eq!(policy.budget(), 1);
        assert_eq!(policy.on_refusal(Refusal::ServerFull), AfterRefusal::Retry);
        assert_eq!(policy.budget(), 1);
    }

    #[test]
    fn a_role_or_database_limit_never_shrinks_the_budget() {
        let policy = BudgetPolicy::new(3);
        assert_eq!(policy.on_refusal(Refusal::Scoped), AfterRefusal::Retry);
        assert_eq!(policy.budget(), 3);
    }

    #[test]
    fn the_budget_regrows_one_permit_per_interval_up_to_its_limit() {
        let policy = BudgetPolicy::new(4);
        policy.on_refusal(Refusal::ServerFull);
        policy.on_refusal(Refusal::ServerFull);
        assert_eq!(policy.budget(), 2);
        assert!(policy.regrow());
        assert_eq!(policy.budget(), 3);
        assert!(policy.regrow());
        assert_eq!(policy.budget(), 4);
        assert!(!policy.regrow(), "nothing left to give back");
        assert_eq!(policy.budget(), 4);
    }

    #[test]
    fn a_budget_of_one_never_shrinks() {
        let policy = BudgetPolicy::new(1);
        assert_eq!(policy.on_refusal(Refusal::ServerFull), AfterRefusal::Retry);
        assert_eq!(policy.budget(), 1);
        assert!(!policy.regrow());
    }
}
