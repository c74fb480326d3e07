//! Multi-tenancy: who the tenant is (resolution), what we know of it (directory), and how
//! we reach its database (the tenant pools).

pub mod deadline;
pub mod directory;
pub mod events;
mod pool;
pub mod rate_limit;
pub mod resolve;

pub use directory::{DbServer, Directory, TenantProfile, TenantRecord};
pub use pool::PoolFactory;
pub(crate) use pool::{Param, TenantConn};
pub use resolve::{ResolvedTenant, Tenant};
