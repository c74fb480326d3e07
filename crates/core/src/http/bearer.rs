//! The token of an `Authorization: Bearer <token>` header, or the 401 that says what is wrong.

use crate::ApiError;
use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;

/// The bearer token of the request; each plane verifies it against its own keys.
pub fn bearer(req: &HttpRequest) -> Result<&str, ApiError> {
    let raw = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing bearer token"))?
        .as_bytes();
    // What `HeaderValue::to_str` accepts (a header value holds no control bytes but tab),
    // checked a word at a time instead of a byte at a time: tokens are long.
    let value = std::str::from_utf8(raw)
        .ok()
        .filter(|v| v.is_ascii())
        .ok_or_else(|| ApiError::unauthorized("malformed authorization header"))?;
    match value.split_once(' ') {
        // The scheme is case-insensitive (RFC 9110 section 11.1).
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ApiError::unauthorized("expected a bearer token")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;
    use actix_web::test::TestRequest;

    fn parse(value: Option<HeaderValue>) -> Result<String, String> {
        let mut req = TestRequest::default();
        if let Some(v) = value {
            req = req.insert_header((AUTHORIZATION, v));
        }
        let req = req.to_http_request();
        bearer(&req).map(str::to_string).map_err(|e| e.to_string())
    }

    fn header(s: &str) -> Option<HeaderValue> {
        Some(HeaderValue::from_str(s).expect("a valid header value"))
    }

    #[test]
    fn takes_the_token_of_any_case_of_the_scheme() {
        assert_eq!(parse(header("Bearer abc.def")), Ok("abc.def".into()));
        assert_eq!(parse(header("bearer  abc ")), Ok("abc".into()));
        assert_eq!(parse(header("BEARER abc")), Ok("abc".into()));
    }

    #[test]
    fn refuses_what_is_not_a_bearer_token() {
        assert_eq!(
            parse(None),
            Err("unauthorized: missing bearer token".into())
        );
        for bad in ["Basic abc", "Bearer", "Bearer   ", "abc", "Bearerabc"] {
            assert_eq!(
                parse(header(bad)),
                Err("unauthorized: expected a bearer token".into()),
                "{bad}"
            );
        }
        let opaque = HeaderValue::from_bytes(b"Bearer \xff").ok();
        assert_eq!(
            parse(opaque),
            Err("unauthorized: malformed authorization header".into())
        );
    }
}
