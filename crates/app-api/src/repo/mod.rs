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

/// A timestamp as chrono writes it (RFC 3339, `Z`, as many fraction digits as it has),
/// formatted into one string first: chrono's own `Serialize` hands serde_json a `Display`,
/// which it then escapes a character at a time.
pub(crate) fn rfc3339<S: serde::Serializer>(
    t: &chrono::DateTime<chrono::Utc>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_read_exactly_as_chrono_writes_them() {
        #[derive(serde::Serialize)]
        struct Ours(#[serde(serialize_with = "super::rfc3339")] chrono::DateTime<chrono::Utc>);
        for nanos in [0, 120_000_000, 123_456_000, 123_456_789] {
            let t = chrono::DateTime::from_timestamp(1_764_950_400, nanos).expect("in range");
            assert_eq!(
                serde_json::to_string(&Ours(t)).expect("serialises"),
                serde_json::to_string(&t).expect("serialises")
            );
        }
    }
}
