//! The HTTP layer both planes share: server start-up and shutdown, bearer extraction, the
//! readiness report, pagination, the OpenAPI security scheme and the login types.

pub mod allow;
pub mod bearer;
pub mod health;
pub mod login;
pub mod openapi;
pub mod page;
pub mod server;
