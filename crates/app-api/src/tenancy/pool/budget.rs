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

/// The policy's answer to requests waiting for room in a spent budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Room<K> {
    /// Close one idle connection of pool `K`, idle at least this long.
    Close(K, Duration),
    /// Close nothing now: a connection is being or will be given back for the claims.
    Wait,
}

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

    /// Whether a tenant opening a connection with the budget spent may claim a permit (and
    /// have another pool's connection closed for it): only a tenant with no connection at
    /// all. One that has some waits for one of its own instead.
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

    /// What to do for `unmet` claims (requests of tenants without a connection, with the
    /// budget spent, not yet covered by a connection being closed), given the other pools
    /// on the server. In order: close a spare idle connection (of a pool keeping another);
    /// else, while pools hold more busy connections than one each than there are unmet
    /// claims, wait: the next such connection given back is closed instead of kept (see
    /// [`shrinks_on_return`](Self::shrinks_on_return)), so a pool shrinks to one
    /// connection before any tenant loses its last; else close the least recently used
    /// idle connection at once, even a tenant's last; else (every connection busy, one per
    /// pool) wait for one to come back.
    pub(crate) fn make_room<K>(
        unmet: usize,
        others: impl IntoIterator<Item = (K, PoolView)>,
    ) -> Room<K> {
        if unmet == 0 {
            return Room::Wait;
        }
        let mut spare: Option<(K, Duration)> = None;
        let mut last: Option<(K, Duration)> = None;
        let mut busy_extra = 0;
        for (k, v) in others {
            if v.size > 1 {
                if v.idle > 0 {
                    if spare.as_ref().is_none_or(|(_, age)| v.oldest_idle > *age) {
                        spare = Some((k, v.oldest_idle));
                    }
                    continue;
                }
                busy_extra += v.size - 1;
            } else if v.idle > 0 && last.as_ref().is_none_or(|(_, age)| v.oldest_idle > *age) {
                last = Some((k, v.oldest_idle));
            }
        }
        match (spare, last) {
            (Some((k, age)), _) => Room::Close(k, age),
            _ if unmet <= busy_extra => Room::Wait,
            (None, Some((k, age))) => Room::Close(k, age),
            (None, None) => Room::Wait,
        }
    }

    /// Whether a connection given back to a pool of `pool_size` is closed instead of kept,
    /// for a request of another tenant waiting with `unmet` claims: only while the pool
    /// keeps another connection.
    pub(crate) fn shrinks_on_return(unmet: usize, pool_size: usize) -> bool {
        unmet > 0 && pool_size > 1
    }

    /// How long a claim waits for its permit before looking at the pools again, with `left`
    /// until the request's deadline: long enough for a closed connection's permit to come
    /// back when one was closed for it (it usually comes sooner: the claim wakes when it
    /// does), a short poll otherwise.
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
#[path = "budget_tests.rs"]
mod tests;
