//! Serving one plane: bind, the middleware both planes wrap in the same order, the routes
//! and extractor error mappings they share, the 405 check and the 404 fallback, and a
//! running handle that stops the server and the plane's background tasks.

use crate::error::{json_error, path_error, query_error};
use crate::forwarded::TrustedProxies;
use crate::http::allow;
use crate::observability::{RootSpan, http_metrics};
use crate::{ApiError, ErrorCode};
use actix_web::dev::{Server, ServerHandle, Service, ServiceRequest};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use std::net::{SocketAddr, TcpListener};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing_actix_web::TracingLogger;

/// Seconds in-flight requests get to finish on a graceful stop.
pub const SHUTDOWN_TIMEOUT_SECS: u64 = 10;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Binds before anything slow happens, so a taken port fails start-up at once.
pub fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).with_context(|| format!("binding {addr}"))
}

/// What both planes register alike, ahead of their own routes: malformed bodies, queries
/// and paths answer problem+json (bodies over the limit too), and liveness.
fn shared_routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(MAX_BODY_BYTES)
            .error_handler(|err, _| json_error(err).into()),
    )
    .app_data(web::QueryConfig::default().error_handler(|err, _| query_error(err).into()))
    .app_data(web::PathConfig::default().error_handler(|err, _| path_error(err).into()))
    .service(crate::http::health::live);
}

/// Whatever no route took is 404: a known path with a method it does not take was
/// already answered 405 by `allow::enforce`.
async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(ErrorCode::NotFound, "no such route"))
}

/// A plane bound to its port with its state, not yet serving.
pub struct Bound<S: 'static> {
    port: u16,
    server: Server,
    pub state: S,
}

impl<S: Clone + Send + Sync + 'static> Bound<S> {
    /// The HTTP server over the shared routes and the plane's `routes`, with `state` as
    /// `web::Data<S>`, and `proxies` as `web::Data<TrustedProxies>` (what
    /// `crate::forwarded` reads); `rewrite` may change a request's path before anything else
    /// sees it (`|_| {}` for none). Metrics wrap tracing so
    /// the request span covers the metrics middleware too; signals are left to the caller.
    pub fn new(
        listener: TcpListener,
        state: S,
        proxies: TrustedProxies,
        routes: fn(&mut web::ServiceConfig),
        rewrite: fn(&mut ServiceRequest),
    ) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        let data = web::Data::new(state.clone());
        let proxies = web::Data::new(proxies);
        let server = HttpServer::new(move || {
            App::new()
                // Innermost, so metrics and the request span see its 405s too.
                .wrap(from_fn(allow::enforce))
                .wrap(from_fn(http_metrics))
                .wrap(TracingLogger::<RootSpan>::new())
                // Outermost, before routing: a plane's path rewrite (the app plane's
                // `/t/{slug}/v1`) is seen by the span, the route label and the router alike.
                .wrap_fn(move |mut req, srv| {
                    rewrite(&mut req);
                    srv.call(req)
                })
                .app_data(data.clone())
                .app_data(proxies.clone())
                .configure(shared_routes)
                .configure(routes)
                .default_service(web::to(not_found))
        })
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .run();
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves; `tasks` are the plane's background work, which must end when `shutdown` fires.
    pub fn start(self, shutdown: CancellationToken, tasks: Vec<JoinHandle<()>>) -> Running<S> {
        let server = self.server.handle();
        let server_task = tokio::spawn(self.server);
        Running {
            port: self.port,
            state: self.state,
            server,
            server_task,
            tasks,
            shutdown,
        }
    }
}

/// A serving plane.
pub struct Running<S> {
    pub port: u16,
    pub state: S,
    server: ServerHandle,
    server_task: JoinHandle<std::io::Result<()>>,
    tasks: Vec<JoinHandle<()>>,
    shutdown: CancellationToken,
}

impl<S> Running<S> {
    /// Graceful stop: in-flight requests finish, then the background tasks wind down.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.server.stop(true).await;
        let _ = self.server_task.await;
        for task in self.tasks {
            let _ = task.await;
        }
    }

    /// Abrupt stop, as if the process were killed: background work is abandoned mid-step.
    pub async fn kill(self) {
        for task in &self.tasks {
            task.abort();
        }
        self.shutdown.cancel();
        self.server.stop(false).await;
        self.server_task.abort();
    }

    /// Abrupt stop without waiting (usable from `Drop`): the stop command is sent at once.
    pub fn abort(self) {
        for task in &self.tasks {
            task.abort();
        }
        self.shutdown.cancel();
        drop(self.server.stop(false));
    }

    /// Runs until SIGINT/SIGTERM, then stops gracefully.
    pub async fn until_signal(self) -> anyhow::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutdown signal received; draining");
        self.stop().await;
        Ok(())
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
