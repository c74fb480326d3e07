//! SQL against a tenant's own database, through prepared statements cached per connection.
//! Database errors leave by `?` (`From<tokio_postgres::Error> for ApiError`, classified by
//! SQLSTATE in the core crate); a stored word outside its enum is an error, not a default.

pub(crate) mod comments;
pub(crate) mod tickets;
pub(crate) mod users;

use tenancy_core::ApiError;

/// Page parameters, validated: `page` from 1, `per_page` 1 to 100.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: i64,
    pub per_page: i64,
}

impl Paging {
    pub fn parse(page: Option<i64>, per_page: Option<i64>) -> Result<Self, ApiError> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(20);
        if !(1..=1_000_000).contains(&page) {
            return Err(ApiError::field("page", "must be between 1 and 1000000"));
        }
        if !(1..=100).contains(&per_page) {
            return Err(ApiError::field("per_page", "must be between 1 and 100"));
        }
        Ok(Self { page, per_page })
    }

    pub fn offset(self) -> i64 {
        (self.page - 1) * self.per_page
    }
}
