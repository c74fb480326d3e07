//! SQL against a tenant's own database, through `TenantConn`'s query methods (prepared
//! statements cached per connection, or unnamed ones behind a transaction pooler), each
//! parameter given with its PostgreSQL type.
//! Database errors leave by `?` (`From<tokio_postgres::Error> for ApiError`, classified by
//! SQLSTATE in the core crate); a stored word outside its enum is an error, not a default.

pub(crate) mod comments;
pub(crate) mod tickets;
pub(crate) mod users;

/// Page parameters, validated by the shared extractor (`page` from 1, `per_page` 1 to 100).
pub use tenancy_core::http::page::PageQuery as Paging;
