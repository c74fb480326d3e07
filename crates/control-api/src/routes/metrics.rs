//! `GET /metrics`: Prometheus text. Registry gauges are read from the control database at
//! scrape time, so every replica reports the same truth. The families are declared in
//! `tenancy_core::observability::catalogue`.

use crate::repo::{jobs, servers, tenants};
use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use tenancy_core::domain::TenantStatus;
use tenancy_core::observability::catalogue;

/// Prometheus metrics.
#[utoipa::path(operation_id = "metrics", responses((status = 200, content_type = "text/plain")), tag = "operations")]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    // Also done at start-up; here too so that no scrape can miss a family.
    catalogue::register_control_plane();
    match tenants::count_by_status(&state.db).await {
        Ok(counts) => {
            for status in TenantStatus::ALL {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == status.as_str())
                    .map_or(0, |(_, n)| *n);
                ::metrics::gauge!(catalogue::TENANTS, "status" => status.as_str()).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: could not count tenants"),
    }
    match servers::list(&state.db).await {
        Ok(rows) => {
            for s in rows {
                ::metrics::gauge!(catalogue::DB_SERVER_TENANTS, "server" => s.name)
                    .set(s.tenants as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: could not count tenants per server"),
    }
    match jobs::queue_depth(&state.db).await {
        Ok(n) => ::metrics::gauge!(catalogue::PROVISIONING_QUEUE_DEPTH).set(n as f64),
        Err(e) => tracing::warn!(error = %e, "metrics: could not read queue depth"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(tenancy_core::observability::metrics_handle().render())
}
