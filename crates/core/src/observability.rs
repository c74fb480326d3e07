//! Logs and metrics set-up shared by both planes: the subscriber, the Prometheus recorder,
//! the request root span; the metric catalogue and the HTTP middleware live in submodules.

pub mod catalogue;
mod http;
mod json;

pub use http::{REQUEST_ID_HEADER, RequestIdValue, count, http_metrics, tag_tenant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::io::IsTerminal;
use std::sync::OnceLock;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Directives appended to any filter: these crates print SQL with bound values at debug
/// level, and some of our SQL (`ALTER ROLE ... PASSWORD`) carries credentials.
const FORCED_DIRECTIVES: &[&str] = &[
    "sea_orm=warn",
    "sqlx=warn",
    "sea_orm_migration=info",
    // tokio-postgres logs every statement's bound parameters at debug: password hashes,
    // emails, ticket text.
    "tokio_postgres=info",
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

/// Installs the global subscriber writing to `writer`; flat JSON lines when
/// `LOG_FORMAT=json`. Colour codes only when standard error is a terminal and `NO_COLOR` is
/// unset, so log files and collectors get plain text. Returns false if one was already
/// installed (tests call this more than once).
pub fn init_tracing<W>(default_filter: &str, writer: W) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v == "json");
    if json {
        return tracing_subscriber::fmt()
            .with_env_filter(env_filter(default_filter))
            .with_writer(writer)
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .event_format(json::FlatJson)
            .try_init()
            .is_ok();
    }
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(env_filter(default_filter))
        .with_writer(writer)
        .with_target(true)
        .with_ansi(ansi)
        .try_init()
        .is_ok()
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

/// The root span of every request: its request id (see `http`), method (bounded), route
/// pattern and path, and empty `tenant.slug`/`admin.id`/`user.id` fields that middleware and
/// handlers fill in, so every line about one request carries them.
pub struct RootSpan;

impl tracing_actix_web::RootSpanBuilder for RootSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        let request_id = http::assign_request_id(request);
        let route = http::route_label(request);
        tracing::info_span!(
            "HTTP request",
            request_id = %request_id,
            http.method = catalogue::method_label(request.method().as_str()),
            http.route = %route,
            http.target = %request.path(),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
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

#[cfg(test)]
mod tests {
    use super::env_filter;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// With everything at `trace`, the database drivers' statement logs (which carry bound
    /// values) are still dropped, and our own debug lines are not.
    #[test]
    fn driver_parameter_logs_are_dropped_at_any_level() {
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(env_filter("trace"))
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "tokio_postgres::query", "executing statement s1 with parameters: [\"hunter2-secret\"]");
            tracing::trace!(target: "tokio_postgres::prepare", "preparing query s1: hunter2-secret");
            tracing::debug!(target: "sqlx::query", "summary hunter2-secret");
            tracing::debug!(target: "sea_orm::driver", "hunter2-secret");
            tracing::debug!(target: "app_api::routes", "our own line");
        });
        let out =
            String::from_utf8_lossy(&buf.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
        assert!(
            out.contains("our own line"),
            "the filter let nothing through: {out}"
        );
        assert!(
            !out.contains("hunter2-secret"),
            "a driver logged a parameter: {out}"
        );
    }
}
