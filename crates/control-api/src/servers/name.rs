//! A database server's name: what operators type and what tenants record.

use std::fmt;

/// Lowercase letters, digits and single hyphens, 1 to 30 characters, starting with a
/// letter: short enough to sit inside the server's template database name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerName(String);

/// The rule, for messages and the OpenAPI document.
pub(crate) const SERVER_NAME_RULE: &str =
    "must be 1 to 30 lowercase letters, digits or single hyphens, starting with a letter";

pub(crate) const MAX_SERVER_NAME_LEN: usize = 30;

impl ServerName {
    pub(crate) fn parse(raw: &str) -> Result<Self, &'static str> {
        let ok = !raw.is_empty()
            && raw.len() <= MAX_SERVER_NAME_LEN
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && !raw.ends_with('-')
            && !raw.contains("--")
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(SERVER_NAME_RULE)
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_lowercase_words_with_single_hyphens() {
        for ok in ["default", "eu-1", "a", "pg15-big"] {
            assert!(ServerName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1st", "EU", "a--b", "a-", "a_b", "a b", &"x".repeat(31)] {
            assert!(ServerName::parse(bad).is_err(), "{bad}");
        }
    }
}
