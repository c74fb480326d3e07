//! Parsed values: once built, a value here is valid, so code past the edge stays typed.

mod email;
mod slug;
mod tenant;
pub mod text;
mod text_enum;

pub use email::{Email, EmailError};
pub use slug::{RESERVED_SLUGS, SlugError, TenantSlug};
pub use tenant::{Plan, TenantStatus};
#[doc(hidden)]
pub use text_enum::__private;
pub use text_enum::UnknownValue;
