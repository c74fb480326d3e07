//! Tenant slugs: the name a tenant is reached by, in URLs, headers and database names.

use serde::Serialize;

/// Words that would clash with platform hosts or routes.
pub const RESERVED_SLUGS: &[&str] = &[
    "api",
    "www",
    "admin",
    "app",
    "control",
    "static",
    "assets",
    "mail",
    "status",
    "health",
    "metrics",
    "root",
    "postgres",
    "template0",
    "template1",
    "public",
    "system",
    "internal",
    "support",
    "docs",
    "auth",
    "login",
    "billing",
    "dashboard",
    "cdn",
    "smtp",
    "ftp",
];

pub const MIN_SLUG_LEN: usize = 3;
pub const MAX_SLUG_LEN: usize = 50;
/// The slug's shape as a regular expression, for the OpenAPI documents (length and the
/// reserved words are checked apart).
pub const SLUG_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";

/// A valid slug: 3 to 50 lowercase letters, digits and single hyphens, starting and ending
/// with a letter or digit, not reserved.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TenantSlug(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    #[error("slug must be between {MIN_SLUG_LEN} and {MAX_SLUG_LEN} characters")]
    Length,
    #[error(
        "slug may contain only lowercase letters, digits and single hyphens, and must start and end with a letter or digit"
    )]
    Format,
    #[error("slug `{0}` is reserved")]
    Reserved(String),
}

impl TenantSlug {
    pub fn parse(raw: &str) -> Result<Self, SlugError> {
        if raw.len() < MIN_SLUG_LEN || raw.len() > MAX_SLUG_LEN {
            return Err(SlugError::Length);
        }
        let bytes = raw.as_bytes();
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
        if !bytes.iter().all(|&b| allowed(b))
            || bytes[0] == b'-'
            || bytes[bytes.len() - 1] == b'-'
            || raw.contains("--")
        {
            return Err(SlugError::Format);
        }
        if RESERVED_SLUGS.contains(&raw) {
            return Err(SlugError::Reserved(raw.to_string()));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The slug as a PostgreSQL identifier fragment (hyphens become underscores).
    /// Safe to quote into DDL: only `[a-z0-9_]` remain.
    pub fn as_identifier(&self) -> String {
        self.0.replace('-', "_")
    }
}

impl std::fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TenantSlug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_usual_shapes() {
        for ok in ["acme", "acme-corp", "a1b", "123", "x-y-z", &"a".repeat(50)] {
            assert!(TenantSlug::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_bad_shapes_and_reserved_words() {
        let cases = [
            ("ab", SlugError::Length),
            (&"a".repeat(51) as &str, SlugError::Length),
            ("Acme", SlugError::Format),
            ("-acme", SlugError::Format),
            ("acme-", SlugError::Format),
            ("ac--me", SlugError::Format),
            ("ac_me", SlugError::Format),
            ("acmé", SlugError::Format),
            ("ac me", SlugError::Format),
            ("a'; drop", SlugError::Format),
        ];
        for (raw, want) in cases {
            assert_eq!(TenantSlug::parse(raw).err(), Some(want), "{raw}");
        }
        for word in [
            "api", "www", "admin", "app", "control", "static", "assets", "mail", "status",
            "health", "metrics",
        ] {
            assert!(matches!(
                TenantSlug::parse(word),
                Err(SlugError::Reserved(_))
            ));
        }
    }

    #[test]
    fn identifier_form_has_no_hyphens() {
        assert_eq!(
            TenantSlug::parse("acme-corp").unwrap().as_identifier(),
            "acme_corp"
        );
    }
}
