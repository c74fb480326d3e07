//! The deadline of every `/v1` request: past `REQUEST_DEADLINE_MS` the request is answered
//! 503 and its work dropped, which hands its tenant connection back to the pool (a stuck one
//! then fails its recycle ping and is closed), so a partitioned or stuck tenant database
//! costs its own requests a bounded wait and nobody else anything.

use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use tenancy_core::{ApiError, ErrorCode};

/// `Retry-After` seconds on a request that ran out of time.
const RETRY_AFTER_SECS: u64 = 1;

pub(crate) async fn enforce(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(deadline) = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.request_deadline)
    else {
        return next.call(req).await;
    };
    match tokio::time::timeout(deadline, next.call(req)).await {
        Ok(answer) => answer,
        Err(_) => {
            tracing::warn!(
                deadline_ms = deadline.as_millis() as u64,
                "request passed its deadline; answered 503"
            );
            Err(ApiError::new(
                ErrorCode::ServiceUnavailable,
                "the request took too long; retry shortly",
            )
            .retry_after(RETRY_AFTER_SECS)
            .into())
        }
    }
}
