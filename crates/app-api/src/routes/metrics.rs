//! `GET /metrics`: Prometheus text.

use crate::state::AppState;
use actix_web::{HttpResponse, get, web};

/// Prometheus metrics.
#[utoipa::path(responses((status = 200, content_type = "text/plain")), tag = "operations")]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    ::metrics::gauge!("tenant_pools_active").set(state.pools.pools() as f64);
    ::metrics::gauge!("tenant_pool_connections").set(state.pools.connections() as f64);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(tenancy_core::observability::metrics_handle().render())
}
