//! Closed sets of words stored as text (`text_enum!`): one table per enum gives its serde
//! form, `as_str`, `FromStr`, `Display` and, with the `postgres` feature, its tokio-postgres
//! `ToSql`/`FromSql`. An unknown word is an error everywhere, never a default.

/// What `text_enum!` expands to refers to, so callers need not depend on tokio-postgres.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "postgres")]
    pub use tokio_postgres;
}

/// A word outside an enum's set: from a client, or (worse) stored in a database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`; expected one of {}", expected.join(", "))]
pub struct UnknownValue {
    /// What the word was meant to be, e.g. "ticket status".
    pub what: &'static str,
    pub value: String,
    pub expected: &'static [&'static str],
}

impl UnknownValue {
    /// The complaint for a request field: "must be one of a, b, c".
    pub fn must_be(&self) -> String {
        format!("must be one of {}", self.expected.join(", "))
    }
}

/// Declares a `Copy` enum whose variants are spelled by the given words in JSON, in
/// `Display`/`FromStr` and (with the `postgres` feature of this crate) in a text column.
///
/// ```
/// tenancy_core::text_enum! {
///     /// How loud a bell rings.
///     pub enum Loudness as "loudness" { Soft = "soft", Loud = "loud" }
/// }
/// assert_eq!("loud".parse::<Loudness>().unwrap(), Loudness::Loud);
/// assert!("mute".parse::<Loudness>().is_err());
/// ```
///
/// The calling crate needs `serde` as a dependency (the derive refers to it).
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident as $what:literal {
            // `tt`, not `literal`: a `literal` fragment reaches derives wrapped in an invisible
            // group, which utoipa's reading of `#[serde(rename)]` skips (the schema then
            // shows variant names instead of the words).
            $($(#[$vmeta:meta])* $variant:ident = $text:tt),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        $vis enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [Self; [$($text),+].len()] = [$(Self::$variant),+];
            /// Every value's word, in declaration order.
            pub const TEXTS: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            pub fn parse(raw: &str) -> ::std::result::Result<Self, $crate::domain::UnknownValue> {
                match raw {
                    $($text => Ok(Self::$variant),)+
                    _ => Err($crate::domain::UnknownValue {
                        what: $what,
                        value: raw.to_owned(),
                        expected: Self::TEXTS,
                    }),
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::domain::UnknownValue;
            fn from_str(raw: &str) -> ::std::result::Result<Self, Self::Err> {
                Self::parse(raw)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $crate::__text_enum_sql!($name);
    };
}

// The cfg must be decided here, in this crate: a `cfg` inside `text_enum!` would be
// evaluated against the features of the crate that calls it.
#[cfg(feature = "postgres")]
#[doc(hidden)]
#[macro_export]
macro_rules! __text_enum_sql {
    ($name:ident) => {
        impl $crate::domain::__private::tokio_postgres::types::ToSql for $name {
            fn to_sql(
                &self,
                ty: &$crate::domain::__private::tokio_postgres::types::Type,
                out: &mut $crate::domain::__private::tokio_postgres::types::private::BytesMut,
            ) -> ::std::result::Result<
                $crate::domain::__private::tokio_postgres::types::IsNull,
                Box<dyn ::std::error::Error + Sync + Send>,
            > {
                <&str as $crate::domain::__private::tokio_postgres::types::ToSql>::to_sql(
                    &self.as_str(),
                    ty,
                    out,
                )
            }

            fn accepts(ty: &$crate::domain::__private::tokio_postgres::types::Type) -> bool {
                <&str as $crate::domain::__private::tokio_postgres::types::ToSql>::accepts(ty)
            }

            $crate::domain::__private::tokio_postgres::types::to_sql_checked!();
        }

        impl<'a> $crate::domain::__private::tokio_postgres::types::FromSql<'a> for $name {
            fn from_sql(
                ty: &$crate::domain::__private::tokio_postgres::types::Type,
                raw: &'a [u8],
            ) -> ::std::result::Result<Self, Box<dyn ::std::error::Error + Sync + Send>> {
                let text =
                    <&str as $crate::domain::__private::tokio_postgres::types::FromSql>::from_sql(
                        ty, raw,
                    )?;
                Ok(Self::parse(text)?)
            }

            fn accepts(ty: &$crate::domain::__private::tokio_postgres::types::Type) -> bool {
                <&str as $crate::domain::__private::tokio_postgres::types::FromSql>::accepts(ty)
            }
        }
    };
}

#[cfg(not(feature = "postgres"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __text_enum_sql {
    ($name:ident) => {};
}

#[cfg(test)]
mod tests {
    crate::text_enum! {
        enum Bell as "bell" { Soft = "soft", VeryLoud = "very_loud" }
    }

    #[test]
    fn every_spelling_round_trips_through_text_and_json() {
        for bell in Bell::ALL {
            assert_eq!(bell.as_str().parse::<Bell>().unwrap(), bell);
            assert_eq!(bell.to_string(), bell.as_str());
            let json = serde_json::to_string(&bell).unwrap();
            assert_eq!(json, format!("\"{}\"", bell.as_str()));
            assert_eq!(serde_json::from_str::<Bell>(&json).unwrap(), bell);
        }
        assert_eq!(Bell::VeryLoud.as_str(), "very_loud");
    }

    #[test]
    fn an_unknown_word_is_an_error_naming_it() {
        let err = Bell::parse("VeryLoud").unwrap_err();
        assert_eq!(err.value, "VeryLoud");
        assert_eq!(
            err.to_string(),
            "unknown bell `VeryLoud`; expected one of soft, very_loud"
        );
        assert_eq!(err.must_be(), "must be one of soft, very_loud");
        assert!(serde_json::from_str::<Bell>("\"loud\"").is_err());
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn text_columns_map_both_ways_and_refuse_unknown_words() {
        use tokio_postgres::types::private::BytesMut;
        use tokio_postgres::types::{FromSql, ToSql, Type};
        let mut buf = BytesMut::new();
        Bell::VeryLoud
            .to_sql_checked(&Type::TEXT, &mut buf)
            .unwrap();
        assert_eq!(&buf[..], b"very_loud");
        assert_eq!(Bell::from_sql(&Type::TEXT, b"soft").unwrap(), Bell::Soft);
        let err = Bell::from_sql(&Type::TEXT, b"bogus").unwrap_err();
        assert!(err.to_string().contains("`bogus`"), "{err}");
        assert!(!<Bell as ToSql>::accepts(&Type::INT4));
    }
}
