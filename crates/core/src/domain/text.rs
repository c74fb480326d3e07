//! Text a PostgreSQL `text` column can store, checked at the edge so a client's byte is a 422
//! naming its field rather than a database error (SQLSTATE 22021) turned into an answer later.

use crate::error::FieldError;

/// Longest name or title, in characters after trimming: tenants, users and tickets alike.
pub const MAX_NAME_CHARS: usize = 200;

/// What a client is told when a field holds text the database would refuse.
pub const UNSTORABLE: &str = "must not contain NUL characters";

/// True when PostgreSQL can store `value` as `text`. A Rust `&str` is valid UTF-8 already
/// (serde refuses lone surrogates), and the databases are UTF-8, so the one character left
/// that PostgreSQL refuses in text is NUL.
pub fn storable(value: &str) -> bool {
    !value.contains('\0')
}

/// The complaint for `field` when its value cannot be stored, for `errors.extend(..)`.
pub fn unstorable(field: &'static str, value: &str) -> Option<FieldError> {
    (!storable(value)).then(|| FieldError {
        field: field.into(),
        message: UNSTORABLE.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_nul_is_refused() {
        assert!(storable("plain, ünïcödé, 😀, \u{7f}, \t\n"));
        assert!(!storable("a\0b"));
        assert!(!storable("\0"));
        let err = unstorable("title", "x\0").expect("a complaint");
        assert_eq!(
            (err.field.as_ref(), err.message.as_ref()),
            ("title", UNSTORABLE)
        );
        assert!(unstorable("title", "fine").is_none());
    }
}
