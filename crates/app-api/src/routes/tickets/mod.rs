//! Tickets: list, create, get, update, delete. Customers see and change only their own.

pub(crate) mod create;
pub(crate) mod delete;
pub(crate) mod get;
pub(crate) mod list;
pub(crate) mod update;

use crate::auth::AuthUser;
use uuid::Uuid;

/// Longest ticket description, in characters (the OpenAPI `maxLength` says the same).
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 20_000;

/// For a customer, the requester every ticket query is restricted to.
pub(crate) fn visible_to(user: &AuthUser) -> Option<Uuid> {
    (!user.role.is_staff()).then_some(user.id)
}
