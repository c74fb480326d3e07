//! The sea-orm edge (feature `sea-orm`): `DbErr` classified by SQLSTATE into an [`ApiError`]
//! in one place, so handlers use `?`; and the domain enums stored as their contract words,
//! where an unknown stored word is an error, never a silent default.

use crate::domain::{Plan, TenantStatus};
use crate::{ApiError, ErrorCode};
use sea_orm::{DbErr, RuntimeErr};
use std::ops::Deref;

/// SQLSTATE codes this crate's callers branch on.
pub mod sqlstate {
    pub const UNIQUE_VIOLATION: &str = "23505";
    pub const DUPLICATE_OBJECT: &str = "42710";
    pub const DUPLICATE_DATABASE: &str = "42P04";
    pub const CHARACTER_NOT_IN_REPERTOIRE: &str = "22021";
    pub const UNTRANSLATABLE_CHARACTER: &str = "22P05";
    pub const TOO_MANY_CONNECTIONS: &str = "53300";
}

/// The SQLSTATE of a database error, when the server sent one.
pub fn sqlstate_of(err: &DbErr) -> Option<String> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.deref() {
                sea_orm::sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether the error says the server could not be reached (rather than refused a statement).
pub fn is_connection_error(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            matches!(
                e.deref(),
                sea_orm::sqlx::Error::Io(_)
                    | sea_orm::sqlx::Error::PoolTimedOut
                    | sea_orm::sqlx::Error::PoolClosed
                    | sea_orm::sqlx::Error::WorkerCrashed
                    | sea_orm::sqlx::Error::Tls(_)
            )
        }
        _ => sqlstate_of(err).is_some_and(|s| s.starts_with("08") || s.starts_with("57P")),
    }
}

/// Unique violation -> 409, text the database cannot store -> 422, too many connections ->
/// 429, unreachable -> 503, anything else -> 500 (cause logged, never sent).
impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        let state = sqlstate_of(&err);
        match state.as_deref() {
            Some(sqlstate::UNIQUE_VIOLATION) => ApiError::conflict("already exists"),
            Some(sqlstate::CHARACTER_NOT_IN_REPERTOIRE | sqlstate::UNTRANSLATABLE_CHARACTER) => {
                ApiError::field("body", "contains text the database cannot store")
            }
            Some(sqlstate::TOO_MANY_CONNECTIONS) => {
                ApiError::new(ErrorCode::ConnectionLimit, "too many connections").retry_after(1)
            }
            _ if is_connection_error(&err) => ApiError::unavailable("the database", err),
            _ => ApiError::internal(err),
        }
    }
}

/// Stores an enum as its contract word (a `text` column with a CHECK constraint).
macro_rules! stored_as_word {
    ($ty:ident) => {
        impl From<$ty> for sea_orm::Value {
            fn from(v: $ty) -> Self {
                v.as_str().into()
            }
        }

        impl sea_orm::TryGetable for $ty {
            fn try_get_by<I: sea_orm::ColIdx>(
                res: &sea_orm::QueryResult,
                idx: I,
            ) -> Result<Self, sea_orm::TryGetError> {
                let word = String::try_get_by(res, idx)?;
                $ty::parse(&word).map_err(|e| {
                    sea_orm::TryGetError::DbErr(DbErr::Type(format!("{e} in the database")))
                })
            }
        }

        impl sea_orm::sea_query::ValueType for $ty {
            fn try_from(v: sea_orm::Value) -> Result<Self, sea_orm::sea_query::ValueTypeErr> {
                let word = <String as sea_orm::sea_query::ValueType>::try_from(v)?;
                $ty::parse(&word).map_err(|_| sea_orm::sea_query::ValueTypeErr)
            }

            fn type_name() -> String {
                stringify!($ty).to_owned()
            }

            fn array_type() -> sea_orm::sea_query::ArrayType {
                sea_orm::sea_query::ArrayType::String
            }

            fn column_type() -> sea_orm::sea_query::ColumnType {
                sea_orm::sea_query::ColumnType::Text
            }
        }

        impl sea_orm::sea_query::Nullable for $ty {
            fn null() -> sea_orm::Value {
                sea_orm::Value::String(None)
            }
        }

        impl sea_orm::IntoActiveValue<$ty> for $ty {
            fn into_active_value(self) -> sea_orm::ActiveValue<$ty> {
                sea_orm::ActiveValue::Set(self)
            }
        }

        impl sea_orm::sea_query::postgres_array::NotU8 for $ty {}
    };
}

stored_as_word!(TenantStatus);
stored_as_word!(Plan);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_503_and_others_500() {
        let down = ApiError::from(DbErr::ConnectionAcquire(
            sea_orm::error::ConnAcquireErr::Timeout,
        ));
        assert_eq!(down.code, ErrorCode::ServiceUnavailable);
        let other = ApiError::from(DbErr::Custom("boom".into()));
        assert_eq!(other.code, ErrorCode::Internal);
    }
}
