//! Logs and metrics set-up shared by both planes, and the HTTP metrics middleware.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Directives appended to any filter: these crates print SQL with bound values at debug
/// level, and some of our SQL (`ALTER ROLE ... PASSWORD`) carries credentials.
const FORCED_DIRECTIVES: &[&str] = &[
    "sea_orm=warn",
    "sqlx=warn",
    "sea_orm_migration=info",
    // It warns on every 4xx: a client's mistake is not an incident, and a flood of bad
    // tokens must not become a flood of log lines. 5xx are still logged, with their cause.
    "tracing_actix_web::middleware=error",
];

/// The filter from `RUST_LOG` (default `info`), with the secret-safety directives forced.
pub fn env_filter(default: &str) -> EnvFilter {
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    for d in FORCED_DIRECTIVES {
        if let Ok(d) = d.parse() {
            filter = filter.add_directive(d);
        }
    }
    filter
}

/// Installs the global subscriber writing to `writer`; JSON lines when `LOG_FORMAT=json`.
/// Returns false if one was already installed (tests call this more than once).
pub fn init_tracing<W>(default_filter: &str, writer: W) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter(default_filter))
        .with_writer(writer)
        .with_target(true);
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v == "json");
    if json {
        builder.json().flatten_event(true).try_init().is_ok()
    } else {
        builder.try_init().is_ok()
    }
}

/// The process-wide Prometheus recorder (installed on first call).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0, 30.0, 60.0,
            ];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .expect("non-empty buckets")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (e.g. two apps in one test binary
            // built before this ran); metrics then go there, which is harmless.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Counts and times every request by route pattern (never the raw path: bounded labels).
pub async fn http_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let method = req.method().to_string();
    let res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let status = res.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels[..2])
        .record(start.elapsed().as_secs_f64());
    Ok(res)
}

/// The root span of every request: request id, route, and empty `tenant.slug`/`admin.id`/
/// `user.id` fields that handlers and middleware fill in, so every line about one tenant
/// carries its slug.
pub struct RootSpan;

impl tracing_actix_web::RootSpanBuilder for RootSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        tracing_actix_web::root_span!(
            request,
            tenant.slug = tracing::field::Empty,
            admin.id = tracing::field::Empty,
            user.id = tracing::field::Empty
        )
    }

    fn on_request_end<B: MessageBody>(
        span: tracing::Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
