//! Tickets: list, create, get, update, delete. Customers see and change only their own.

pub mod create;
pub mod delete;
pub mod get;
pub mod list;
pub mod update;

use crate::auth::AuthUser;
use uuid::Uuid;

/// For a customer, the requester every ticket query is restricted to.
pub fn visible_to(user: &AuthUser) -> Option<Uuid> {
    (!user.role.is_staff()).then_some(user.id)
}
