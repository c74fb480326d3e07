//! Database failures classified by SQLSTATE: the one place either plane turns a database
//! error into an answer (tokio-postgres here, sea-orm through `sea_orm_error`).

use super::{ApiError, Cause, ErrorCode};

/// How long a client should wait before retrying after a database said "not now".
const DB_RETRY_AFTER_SECS: u64 = 1;

/// `Retry-After` for a write refused by a database fenced for a move: a move takes seconds.
const MOVING_RETRY_AFTER_SECS: u64 = 5;

/// Classifies a database error by its 5-character SQLSTATE, the one place either plane turns a
/// database failure into an answer (the control plane passes sea-orm's code here too).
/// What a client's data caused is 4xx; a database that is full, down or gone is 429/503 with
/// `Retry-After`; anything else is a 500 whose `cause` is logged and never sent.
pub fn from_sqlstate(code: &str, cause: impl Into<Cause>) -> ApiError {
    let err = match code {
        "23505" | "23P01" => ApiError::conflict("already exists"),
        // Integrity rules the request broke: a foreign key, a check, a not-null column.
        "23503" | "23514" | "23502" | "23000" | "23001" => ApiError::new(
            ErrorCode::ValidationFailed,
            "the request violates a data rule",
        ),
        // Data exceptions a client's values can cause; 22021 is a NUL byte in text.
        "22021" | "22P05" | "22001" | "22003" | "22004" | "22007" | "22008" | "22015" | "22019"
        | "22025" | "2201B" | "22P02" | "22023" => ApiError::new(
            ErrorCode::ValidationFailed,
            "the request contains a value the database cannot store",
        ),
        // A read-only database: the server fenced it for a move or restore, and a replica
        // that has not heard of it yet tried to write.
        "25006" => ApiError::new(
            ErrorCode::TenantMoving,
            "the tenant's database is read-only while it is moved; retry shortly",
        )
        .retry_after(MOVING_RETRY_AFTER_SECS),
        "53300" => ApiError::new(
            ErrorCode::ConnectionLimit,
            "the database has no connection to spare; retry shortly",
        )
        .retry_after(DB_RETRY_AFTER_SECS),
        // Class 08 (connection exception), a server shutting down or starting up, and a
        // statement cut off by `statement_timeout` (57014): the database cannot answer now.
        c if c.starts_with("08") || matches!(c, "57014" | "57P01" | "57P02" | "57P03") => {
            return ApiError::unavailable("the database", cause).retry_after(DB_RETRY_AFTER_SECS);
        }
        _ => return ApiError::internal(cause),
    };
    ApiError {
        cause: Some(cause.into()),
        ..err
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::{ApiError, DB_RETRY_AFTER_SECS, from_sqlstate};
    use std::error::Error as _;

    /// Lets code on tokio-postgres write `?`: a server's answer is classified by its
    /// SQLSTATE, a connection that closed or broke is 503, anything else (e.g. a stored
    /// value that does not decode) is a 500 that logs its cause.
    impl From<tokio_postgres::Error> for ApiError {
        fn from(err: tokio_postgres::Error) -> Self {
            if let Some(code) = err.code() {
                let code = code.code().to_owned();
                return from_sqlstate(&code, err);
            }
            let io = err
                .source()
                .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some());
            if err.is_closed() || io {
                return ApiError::unavailable("the database", err).retry_after(DB_RETRY_AFTER_SECS);
            }
            ApiError::internal(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(code: &str) -> (ErrorCode, Option<u64>, bool) {
        let err = from_sqlstate(code, "the cause");
        let kept = std::error::Error::source(&err).is_some();
        (err.code, err.retry_after, kept)
    }

    #[test]
    fn client_caused_failures_are_4xx() {
        assert_eq!(classify("23505").0, ErrorCode::Conflict);
        for code in ["23503", "23514", "22021", "22P05", "22001", "22P02"] {
            assert_eq!(classify(code).0, ErrorCode::ValidationFailed, "{code}");
            assert_eq!(classify(code).0.status(), 422, "{code}");
        }
    }

    #[test]
    fn a_busy_or_absent_database_says_when_to_retry() {
        assert_eq!(
            classify("53300"),
            (ErrorCode::ConnectionLimit, Some(1), true)
        );
        for code in ["08000", "08003", "08006", "57014", "57P01", "57P03"] {
            assert_eq!(
                classify(code),
                (ErrorCode::ServiceUnavailable, Some(1), true),
                "{code}"
            );
        }
    }

    #[test]
    fn everything_else_is_internal_and_keeps_its_cause() {
        for code in ["42P01", "42703", "40001", "XX000", "22012"] {
            assert_eq!(classify(code), (ErrorCode::Internal, None, true), "{code}");
        }
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn the_sqlstate_constants_agree_with_the_table() {
        use tokio_postgres::error::SqlState as S;
        let want = [
            (S::UNIQUE_VIOLATION, ErrorCode::Conflict),
            (S::FOREIGN_KEY_VIOLATION, ErrorCode::ValidationFailed),
            (S::CHECK_VIOLATION, ErrorCode::ValidationFailed),
            (S::CHARACTER_NOT_IN_REPERTOIRE, ErrorCode::ValidationFailed),
            (S::UNTRANSLATABLE_CHARACTER, ErrorCode::ValidationFailed),
            (S::TOO_MANY_CONNECTIONS, ErrorCode::ConnectionLimit),
            (S::CONNECTION_FAILURE, ErrorCode::ServiceUnavailable),
            (S::CONNECTION_EXCEPTION, ErrorCode::ServiceUnavailable),
            (S::ADMIN_SHUTDOWN, ErrorCode::ServiceUnavailable),
            (S::UNDEFINED_TABLE, ErrorCode::Internal),
        ];
        for (state, code) in want {
            assert_eq!(classify(state.code()).0, code, "{}", state.code());
        }
    }
}
