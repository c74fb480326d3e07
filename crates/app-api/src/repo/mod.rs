//! SQL against a tenant's own database, through prepared statements cached per connection.

pub mod comments;
pub mod tickets;
pub mod users;

use tenancy_core::{ApiError, ErrorCode};
use tokio_postgres::error::SqlState;

/// Maps a tenant-database error: constraint violations to 409/422, a lost connection to
/// 503, anything else to 500 (logged with its cause).
pub fn pg_error(err: tokio_postgres::Error) -> ApiError {
    if let Some(db) = err.as_db_error() {
        let code = db.code();
        if *code == SqlState::UNIQUE_VIOLATION {
            return ApiError::conflict("already exists");
        }
        if *code == SqlState::FOREIGN_KEY_VIOLATION || *code == SqlState::CHECK_VIOLATION {
            return ApiError::new(
                ErrorCode::ValidationFailed,
                "the request violates a data rule",
            );
        }
        if *code == SqlState::ADMIN_SHUTDOWN || *code == SqlState::CONNECTION_FAILURE {
            return ApiError::unavailable("the tenant database", err).retry_after(1);
        }
    }
    if err.is_closed() {
        return ApiError::unavailable("the tenant database", err).retry_after(1);
    }
    ApiError::internal(err)
}

/// Page parameters, validated by the shared extractor (`page` from 1, `per_page` 1 to 100).
pub use tenancy_core::http::page::PageQuery as Paging;
