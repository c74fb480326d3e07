//! Tenant pools: one deadpool-postgres pool per tenant (a `TenantPool`), built on first use
//! from the tenant's decrypted credentials and cached by tenant id; a connection checked out
//! of it is a `TenantConn`. Handlers reach one only through the `Tenant` extractor.
//!
//! **Sizes.** A pool holds at most its plan's connections, capped by `POOL_MAX_PER_TENANT`.
//! At most `POOL_MAX_TENANTS` pools are cached; one unused for `POOL_IDLE_SECS` is evicted
//! and its idle connections close (requests holding it finish normally).
//!
//! **The budget.** Every open connection holds one permit of its database server's
//! semaphore of `POOL_MAX_TOTAL` permits (one budget per server, `servers`), from before it
//! connects until its backend has closed plus `POOL_CLOSE_GRACE_MS`; so the connections of
//! this process to any one server never exceed the budget, even as the server sees them.
//! Everything below about "another pool" means another pool on the same server.
//!
//! **With the budget spent**, a request of a tenant that has connections, all busy, waits
//! (up to `POOL_ACQUIRE_WAIT_MS`) for one of its own to come back, never for a permit: a
//! query takes a millisecond, while taking another tenant's connection would, under a load
//! spread over more tenants than the budget covers, make every tenant reconnect in turn.
//! A request of a tenant with no connection registers a claim on the server's budget and
//! has room made for it at once, so that the budget keeps as many tenants warm as it has
//! permits: a spare idle connection (of a pool keeping another) is closed; else, while
//! pools hold more busy connections beyond their first than there are claims, the next of
//! those given back is closed instead of kept (a pool shrinks to one connection before any
//! tenant loses its last); else the least recently used idle connection, even a tenant's
//! last, is closed. A closed connection's permit goes to the oldest claim when its backend
//! has gone (plus `POOL_CLOSE_GRACE_MS`), not back to the semaphore where another request
//! could take it first. Whoever still has no connection when the wait runs out gets 429
//! `connection_limit`.
//!
//! **When the server refuses** a connection (SQLSTATE 53300), the limit hit is told apart by
//! the server routine that raised it, never by its (translated) text. A role or database
//! `CONNECTION LIMIT` is held by other clients: retry until the wait runs out. A full server
//! means our budget is larger than the room it has (other replicas and services share it):
//! the budget shrinks by one permit (never below one) so we stop knocking, and a tenant
//! without connections frees another pool's idle one. Each health interval
//! (`POOL_HEALTH_MS`) gives one shrunk permit back; if the server is still full, the next
//! refusal takes it out again. Either refusal ends in 429 after the wait, never 5xx.
//!
//! **Health.** Each health interval also runs cache expiry and pings every pool that holds
//! an idle connection; a pool whose ping fails is evicted. A pooled connection idle for
//! over a second is pinged before reuse; a pool closed under a request is replaced.
//!
//! `budget` is that policy as a pure type; `servers` holds each server's permits and
//! claims; `manager` opens and recycles connections within them; `checkout` holds a pool
//! and its checked-out connections; `factory` caches, builds, evicts and maintains the
//! pools.

mod budget;
mod checkout;
mod factory;
mod health;
mod manager;
mod room;
mod servers;

pub(crate) use checkout::{Param, TenantConn};
pub use factory::PoolFactory;
