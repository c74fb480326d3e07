//! The one error type of both planes: every failure leaves as `application/problem+json`
//! with a stable machine-readable `code`. 5xx are logged here, once, with their cause chain,
//! and answered with an opaque detail. Database failures are classified here too, by SQLSTATE
//! (`sqlstate.rs`: `from_sqlstate`; with the `postgres` feature, `From<tokio_postgres::Error>`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::borrow::Cow;

mod sqlstate;
pub use sqlstate::from_sqlstate;

/// Stable codes clients can branch on (listed with their statuses in docs/API.md); renaming
/// one breaks clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    TenantRequired,
    InvalidTenantSlug,
    AmbiguousTenant,
    TenantNotFound,
    TenantInactive,
    TenantProvisioning,
    /// The tenant's database is being moved or restored.
    TenantMoving,
    ConnectionLimit,
    RateLimited,
    Unauthorized,
    TenantMismatch,
    Forbidden,
    Conflict,
    ValidationFailed,
    /// A resource other than a tenant does not exist.
    NotFound,
    /// The body is not parsable JSON, or a query string is malformed.
    BadRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    MethodNotAllowed,
    /// A dependency (database, Redis) is unreachable.
    ServiceUnavailable,
    Internal,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        use ErrorCode::*;
        match self {
            TenantRequired | InvalidTenantSlug | AmbiguousTenant | BadRequest => {
                StatusCode::BAD_REQUEST
            }
            TenantNotFound | NotFound => StatusCode::NOT_FOUND,
            TenantInactive | TenantMismatch | Forbidden => StatusCode::FORBIDDEN,
            TenantProvisioning | TenantMoving | ServiceUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ConnectionLimit | RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Unauthorized => StatusCode::UNAUTHORIZED,
            Conflict => StatusCode::CONFLICT,
            ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            TenantRequired => "tenant_required",
            InvalidTenantSlug => "invalid_tenant_slug",
            AmbiguousTenant => "ambiguous_tenant",
            TenantNotFound => "tenant_not_found",
            TenantInactive => "tenant_inactive",
            TenantProvisioning => "tenant_provisioning",
            TenantMoving => "tenant_moving",
            ConnectionLimit => "connection_limit",
            RateLimited => "rate_limited",
            Unauthorized => "unauthorized",
            TenantMismatch => "tenant_mismatch",
            Forbidden => "forbidden",
            Conflict => "conflict",
            ValidationFailed => "validation_failed",
            NotFound => "not_found",
            BadRequest => "bad_request",
            PayloadTooLarge => "payload_too_large",
            UnsupportedMediaType => "unsupported_media_type",
            MethodNotAllowed => "method_not_allowed",
            ServiceUnavailable => "service_unavailable",
            Internal => "internal",
        }
    }
}

/// One field's complaint in a `validation_failed` answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: Cow<'static, str>,
    pub message: Cow<'static, str>,
}

pub(crate) type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: Cow<'static, str>,
    pub errors: Vec<FieldError>,
    pub retry_after: Option<u64>,
    cause: Option<Cause>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            cause: None,
        }
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// A failure we did not expect; the cause is logged, never sent.
    pub fn internal(cause: impl Into<Cause>) -> Self {
        Self {
            cause: Some(cause.into()),
            ..Self::new(ErrorCode::Internal, "an internal error occurred")
        }
    }

    /// A dependency is down; the cause is logged, never sent.
    pub fn unavailable(what: &'static str, cause: impl Into<Cause>) -> Self {
        Self {
            cause: Some(cause.into()),
            ..Self::new(
                ErrorCode::ServiceUnavailable,
                format!("{what} is unavailable"),
            )
            .retry_after(5)
        }
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self {
            errors,
            ..Self::new(
                ErrorCode::ValidationFailed,
                "the request body failed validation",
            )
        }
    }

    pub fn field(field: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    pub fn unauthorized(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::Unauthorized, detail)
    }

    pub fn not_found(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::NotFound, detail)
    }

    pub fn conflict(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::Conflict, detail)
    }

    pub fn forbidden(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::Forbidden, detail)
    }

    pub fn bad_request(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::BadRequest, detail)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.detail)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|c| c as _)
    }
}

/// The problem+json body (RFC 9457) with our `code` extension.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'a str,
    pub status: u16,
    pub detail: &'a str,
    pub code: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub errors: &'a [FieldError],
}

fn cause_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        out.push_str(": ");
        out.push_str(&e.to_string());
        next = e.source();
    }
    out
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            match &self.cause {
                Some(cause) => tracing::error!(
                    error.code = self.code.as_str(),
                    error.cause = %cause_chain(cause.as_ref()),
                    "request failed"
                ),
                None => tracing::error!(error.code = self.code.as_str(), "request failed"),
            }
        }
        let body = Problem {
            kind: format!("https://docs.tenancy.dev/errors/{}", self.code.as_str()),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: &self.detail,
            code: self.code.as_str(),
            errors: &self.errors,
        };
        let mut res = HttpResponse::build(status);
        res.content_type("application/problem+json");
        if let Some(secs) = self.retry_after {
            res.insert_header(("Retry-After", secs.to_string()));
        }
        res.json(body)
    }
}

/// Maps actix's JSON extractor errors: unparsable -> 400, wrong shape -> 422, too big -> 413.
pub fn json_error(err: actix_web::error::JsonPayloadError) -> ApiError {
    use actix_web::error::JsonPayloadError as J;
    match &err {
        J::OverflowKnownLength { .. } | J::Overflow { .. } => {
            ApiError::new(ErrorCode::PayloadTooLarge, "request body is too large")
        }
        J::ContentType => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "expected content-type application/json",
        ),
        J::Deserialize(e) if e.is_data() => ApiError::validation(vec![FieldError {
            field: "body".into(),
            message: e.to_string().into(),
        }]),
        J::Deserialize(e) => ApiError::bad_request(format!("malformed JSON: {e}")),
        _ => ApiError::bad_request("could not read the request body"),
    }
}

/// Maps query-string extractor errors to 400.
pub fn query_error(err: actix_web::error::QueryPayloadError) -> ApiError {
    ApiError::bad_request(format!("invalid query string: {err}"))
}

/// Maps path extractor errors (e.g. a malformed UUID) to 404: no such resource.
pub fn path_error(_err: actix_web::error::PathError) -> ApiError {
    ApiError::not_found("no such resource")
}
