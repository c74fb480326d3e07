//! Pagination of every list route: the `page`/`per_page` query parameters, validated the
//! same way everywhere, and the `Page<T>` body that answers them.

use crate::ApiError;
use actix_web::{FromRequest, HttpRequest, dev::Payload};
use serde::{Deserialize, Serialize};
use std::future::{Ready, ready};
use utoipa::{IntoParams, ToSchema};

pub const DEFAULT_PER_PAGE: i64 = 20;
pub const MAX_PER_PAGE: i64 = 100;
/// Deep pages cost a full scan of what they skip; past this, filter instead.
pub const MAX_PAGE: i64 = 1_000_000;

/// `?page=&per_page=`, validated: an extractor, so a list route cannot forget the checks.
/// Other query parameters are left to the route's own query type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-based page number (default 1, at most 1000000).
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: i64,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub per_page: i64,
}

/// The raw parameters: strings, so a non-number is a 422 naming its field like any other
/// out-of-range value, not a generic 400 from the query deserializer.
#[derive(Deserialize)]
struct RawPageQuery {
    page: Option<String>,
    per_page: Option<String>,
}

fn number(field: &'static str, raw: Option<&str>, default: i64, max: i64) -> Result<i64, ApiError> {
    let message = || format!("must be a whole number between 1 and {max}");
    let n = match raw.map(str::trim) {
        None | Some("") => default,
        Some(s) => s.parse().map_err(|_| ApiError::field(field, message()))?,
    };
    if (1..=max).contains(&n) {
        Ok(n)
    } else {
        Err(ApiError::field(field, message()))
    }
}

impl PageQuery {
    /// Validates the query string's `page` and `per_page` (absent means the default).
    pub fn parse(query: &str) -> Result<Self, ApiError> {
        let raw: RawPageQuery = serde_urlencoded_query(query)?;
        Ok(Self {
            page: number("page", raw.page.as_deref(), 1, MAX_PAGE)?,
            per_page: number(
                "per_page",
                raw.per_page.as_deref(),
                DEFAULT_PER_PAGE,
                MAX_PER_PAGE,
            )?,
        })
    }

    /// Rows to skip (SQL `OFFSET`).
    pub fn offset(self) -> i64 {
        (self.page - 1) * self.per_page
    }
}

fn serde_urlencoded_query(query: &str) -> Result<RawPageQuery, ApiError> {
    actix_web::web::Query::<RawPageQuery>::from_query(query)
        .map(actix_web::web::Query::into_inner)
        .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))
}

impl FromRequest for PageQuery {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::parse(req.query_string()))
    }
}

/// One page of a list, with the total matching.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

impl<T: ToSchema> Page<T> {
    pub fn new(items: Vec<T>, query: PageQuery, total: i64) -> Self {
        Self {
            items,
            page: query.page,
            per_page: query.per_page,
            total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn refused_field(query: &str) -> String {
        match PageQuery::parse(query) {
            Ok(p) => panic!("{query} accepted as {p:?}"),
            Err(e) => {
                assert_eq!(e.code, ErrorCode::ValidationFailed, "{query}");
                let fields: Vec<_> = e.errors.iter().map(|f| f.field.to_string()).collect();
                fields.join(",")
            }
        }
    }

    #[test]
    fn defaults_are_page_1_of_20() {
        let q = PageQuery::parse("").ok();
        assert_eq!(
            q,
            Some(PageQuery {
                page: 1,
                per_page: 20
            })
        );
        assert_eq!(q.map(PageQuery::offset), Some(0));
        let q = PageQuery::parse("status=open&page=&per_page=").ok();
        assert_eq!(
            q,
            Some(PageQuery {
                page: 1,
                per_page: 20
            })
        );
    }

    #[test]
    fn the_limits_are_inclusive() {
        let q = PageQuery::parse("page=1000000&per_page=100").ok();
        assert_eq!(
            q,
            Some(PageQuery {
                page: 1_000_000,
                per_page: 100
            })
        );
        assert_eq!(q.map(PageQuery::offset), Some(99_999_900));
        assert_eq!(
            PageQuery::parse("page=3&per_page=1")
                .ok()
                .map(PageQuery::offset),
            Some(2)
        );
    }

    #[test]
    fn out_of_range_or_non_numbers_are_422_naming_the_field() {
        for q in ["page=0", "page=-1", "page=1000001", "page=x", "page=1.5"] {
            assert_eq!(refused_field(q), "page", "{q}");
        }
        for q in [
            "per_page=0",
            "per_page=101",
            "per_page=abc",
            "page=2&per_page=-5",
        ] {
            assert_eq!(refused_field(q), "per_page", "{q}");
        }
    }
}
