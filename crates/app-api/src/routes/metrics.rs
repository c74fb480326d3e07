//! `GET /metrics`: Prometheus text; the families are declared in
//! `tenancy_core::observability::catalogue`.

use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use tenancy_core::observability::catalogue;

/// Prometheus metrics.
#[utoipa::path(operation_id = "metrics", responses((status = 200, content_type = "text/plain")), tag = "operations")]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    // Also done at start-up; here too so that no scrape can miss a family.
    catalogue::register_app_plane();
    ::metrics::gauge!(catalogue::TENANT_POOLS_ACTIVE).set(state.pools.pools() as f64);
    ::metrics::gauge!(catalogue::TENANT_POOL_CONNECTIONS).set(state.pools.connections() as f64);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(tenancy_core::observability::metrics_handle().render())
}
