//! SQL against the control database. Functions here return `DbErr`; `db_error` maps it to
//! an HTTP answer in one place.

pub mod admins;
pub mod jobs;
pub mod tenants;

use sea_orm::{DbErr, SqlErr};
use tenancy_core::ApiError;

/// Unique violations -> 409, lost connections -> 503, anything else -> 500.
pub fn db_error(err: DbErr) -> ApiError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::conflict("already exists"),
        _ => match err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
                ApiError::unavailable("the control database", err)
            }
            other => ApiError::internal(other),
        },
    }
}
