//! What every HTTP response goes through on both planes: its request id (`x-request-id`),
//! its count and duration under bounded labels, and one access-log line.

use super::catalogue::{
    HTTP_REQUEST_DURATION_SECONDS, HTTP_REQUESTS_TOTAL, UNMATCHED_ROUTE, method_label,
};
use actix_web::HttpMessage;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::Instant;

/// The count and duration handles of one (method, status) of a route.
struct Handles {
    method: &'static str,
    status: u16,
    requests: metrics::Counter,
    duration: metrics::Histogram,
}

thread_local! {
    /// Per worker thread, the handles of every (route, method, status) seen: a request
    /// then records without building labels or looking its series up in the registry
    /// (bounded: routes are patterns, methods and statuses a short list).
    static HANDLES: RefCell<HashMap<String, Vec<Handles>>> = RefCell::new(HashMap::new());
}

thread_local! {
    /// Per worker thread, the counters of one static label each, by (name, label, value).
    static STATIC_COUNTERS: RefCell<Vec<(&'static str, &'static str, &'static str, metrics::Counter)>> =
        const { RefCell::new(Vec::new()) };
}

/// Adds one to the counter `name{label="value"}`, looked up in the registry once per
/// thread: a hot path's counter then costs an increment, not a key built and hashed per
/// event.
pub fn count(name: &'static str, label: &'static str, value: &'static str) {
    STATIC_COUNTERS.with(|cell| {
        let mut seen = cell.borrow_mut();
        match seen
            .iter()
            .find(|(n, l, v, _)| *n == name && *l == label && *v == value)
        {
            Some((.., c)) => c.increment(1),
            None => {
                let c = metrics::counter!(name, label => value);
                c.increment(1);
                seen.push((name, label, value, c));
            }
        }
    });
}

/// Counts one response and records its duration.
fn record(route: &str, method: &'static str, status: u16, secs: f64) {
    HANDLES.with(|cell| {
        let mut routes = cell.borrow_mut();
        if !routes.contains_key(route) {
            routes.insert(route.to_string(), Vec::new());
        }
        let Some(seen) = routes.get_mut(route) else {
            return;
        };
        let pos = match seen
            .iter()
            .position(|h| h.method == method && h.status == status)
        {
            Some(pos) => pos,
            None => {
                let labels = [
                    ("method", method.to_string()),
                    ("route", route.to_string()),
                    ("status", status.to_string()),
                ];
                seen.push(Handles {
                    method,
                    status,
                    requests: metrics::counter!(HTTP_REQUESTS_TOTAL, &labels),
                    duration: metrics::histogram!(HTTP_REQUEST_DURATION_SECONDS, &labels[..2]),
                });
                seen.len() - 1
            }
        };
        seen[pos].requests.increment(1);
        seen[pos].duration.record(secs);
    });
}

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// This request's id (in request extensions): what the response's `x-request-id` says and
/// every log line about the request carries.
#[derive(Clone, Debug)]
pub struct RequestIdValue(pub String);

/// Where the tenancy layer notes the tenant a request named, once its slug is valid: the
/// access log's `tenant.slug`, also for requests it then refuses. A shared cell, because a
/// refusal comes back as an error, without the request.
#[derive(Clone, Debug, Default)]
struct TenantSlot(Rc<RefCell<Option<String>>>);

/// Records the request's tenant slug for its access-log line.
pub fn tag_tenant(req: &impl HttpMessage, slug: &str) {
    if let Some(slot) = req.extensions().get::<TenantSlot>() {
        *slot.0.borrow_mut() = Some(slug.to_string());
    }
}

/// An incoming id is kept only from a trusted peer and only if it is short, printable
/// and free of separators that could forge log fields.
fn acceptable_id(raw: &HeaderValue) -> Option<String> {
    let s = raw.to_str().ok()?;
    let ok = (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| s.to_string())
}

/// The request id for `req`, decided once (by the root span builder, which runs first).
pub(crate) fn assign_request_id(req: &ServiceRequest) -> String {
    // Only a trusted proxy (`TRUSTED_PROXIES`) may hand us its id; anyone else gets a new one.
    let incoming = crate::forwarded::peer_trusted(req.request())
        .then(|| req.headers().get(REQUEST_ID_HEADER).and_then(acceptable_id))
        .flatten();
    let id = incoming.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestIdValue(id.clone()));
    id
}

/// The request's route pattern, the `route` label of its metrics (in request extensions).
#[derive(Clone, Debug)]
struct RouteLabel(String);

/// The route pattern of `req` (or the unmatched label), worked out once per request: the
/// resource map is walked with a regular expression per templated route, so the root
/// span and the metrics share one answer.
pub(crate) fn route_label(req: &ServiceRequest) -> String {
    if let Some(known) = req.extensions().get::<RouteLabel>() {
        return known.0.clone();
    }
    let route = req
        .match_pattern()
        .unwrap_or_else(|| UNMATCHED_ROUTE.to_string());
    req.extensions_mut().insert(RouteLabel(route.clone()));
    route
}

/// `ACCESS_LOG=false` turns the per-request line off (it is on by default).
fn access_log_enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        !matches!(
            std::env::var("ACCESS_LOG").as_deref(),
            Ok("false" | "0" | "off" | "no")
        )
    })
}

/// Counts, times and logs every response, including refusals that inner middleware
/// (tenant resolution) returns as errors: those get their `x-request-id` here too.
pub async fn http_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let start = Instant::now();
    let method = method_label(req.method().as_str());
    // The pattern comes from the resource map, so it is known before routing runs.
    let route = route_label(&req);
    let request_id = req
        .extensions()
        .get::<RequestIdValue>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let tenant = TenantSlot::default();
    req.extensions_mut().insert(tenant.clone());
    let header = HeaderValue::from_str(&request_id).ok();
    let (outcome, status) = match next.call(req).await {
        Ok(mut res) => {
            if let Some(v) = header {
                res.headers_mut()
                    .insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
            }
            let status = res.status().as_u16();
            (Ok(res.map_into_boxed_body()), status)
        }
        Err(e) => {
            let mut res = e.error_response();
            if let Some(v) = header {
                res.headers_mut()
                    .insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
            }
            let status = res.status().as_u16();
            // Same status and body, now with the header; the cause stays in the message.
            (
                Err(InternalError::from_response(e.to_string(), res).into()),
                status,
            )
        }
    };
    let elapsed = start.elapsed();
    record(&route, method, status, elapsed.as_secs_f64());
    // The enabled check first: with the line filtered out, nothing is copied for it.
    if access_log_enabled() && tracing::enabled!(target: "access", tracing::Level::INFO) {
        let tenant = tenant.0.borrow().clone().unwrap_or_default();
        tracing::info!(
            target: "access",
            request_id = %request_id,
            tenant.slug = %tenant,
            http.method = method,
            http.route = %route,
            http.status_code = status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::acceptable_id;
    use actix_web::http::header::HeaderValue;

    #[test]
    fn only_short_plain_ids_are_taken_over() {
        let ok = |s: &str| acceptable_id(&HeaderValue::from_str(s).unwrap());
        assert_eq!(ok("abc-123_x.y:z").as_deref(), Some("abc-123_x.y:z"));
        assert_eq!(ok(""), None);
        assert_eq!(ok("a b"), None);
        assert_eq!(ok("a\"b"), None);
        assert_eq!(ok(&"a".repeat(129)), None);
    }
}
