//! Multi-tenancy: who the tenant is (resolution), what we know of it (directory), and how
//! we reach its database (the pool factory).

pub mod directory;
pub mod events;
pub mod pools;
pub mod rate_limit;
pub mod resolve;

pub use directory::{Directory, TenantRecord};
pub use pools::PoolFactory;
pub use resolve::{ResolvedTenant, Tenant};
