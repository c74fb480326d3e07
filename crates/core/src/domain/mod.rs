//! Parsed values: once built, a value here is valid, so code past the edge stays typed.

mod email;
mod features;
mod slug;
mod tenant;
pub mod text;
mod text_enum;

pub use email::{Email, EmailError, MAX_EMAIL_LEN};
pub use features::{Feature, FeatureChanges, FeatureChangesSchema, FeatureOverrides, Features};
pub use slug::{MAX_SLUG_LEN, MIN_SLUG_LEN, RESERVED_SLUGS, SLUG_PATTERN, SlugError, TenantSlug};
pub use tenant::{Plan, TenantStatus};
#[doc(hidden)]
pub use text_enum::__private;
pub use text_enum::UnknownValue;
