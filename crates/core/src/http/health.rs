//! The readiness report of `GET /health/ready`: one entry per dependency, 200 when every
//! checked dependency answers, 503 otherwise; and the liveness body of `GET /health`.

use actix_web::HttpResponse;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// How long one dependency may take before it counts as down: a probe must answer before
/// the orchestrator's own probe timeout.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /health`: the process is up.
#[derive(Serialize, ToSchema)]
pub struct Liveness {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The process is up; touches no dependency, so an outage never restarts a healthy process.
#[utoipa::path(operation_id = "live", get, path = "/health", responses((status = 200, body = Liveness)), tag = "operations")]
#[actix_web::get("/health")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Liveness { status: "ok" })
}

/// One dependency's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Check {
    #[schema(example = "ok")]
    pub status: &'static str,
    pub latency_ms: u128,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Check {
    /// Runs one probe under [`CHECK_TIMEOUT`]; what it answers is ignored, only success counts.
    pub async fn run<F, T, E>(probe: F) -> Self
    where
        F: Future<Output = Result<T, E>>,
        E: std::fmt::Display,
    {
        let start = Instant::now();
        let outcome = tokio::time::timeout(CHECK_TIMEOUT, probe).await;
        let latency_ms = start.elapsed().as_millis();
        let error = match outcome {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some("timed out".to_string()),
        };
        Self {
            status: if error.is_none() { "ok" } else { "error" },
            latency_ms,
            error,
        }
    }

    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

/// `GET /health/ready`: `status` is `ok`, `degraded` or `unavailable`; `checks` maps each dependency to
/// its [`Check`], or to a report (such as pool load) that informs but never fails readiness.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ok")]
    pub status: &'static str,
    #[schema(value_type = Object)]
    pub checks: BTreeMap<&'static str, serde_json::Value>,
    #[serde(skip)]
    healthy: bool,
}

impl Default for Readiness {
    fn default() -> Self {
        Self {
            status: "ok",
            checks: BTreeMap::new(),
            healthy: true,
        }
    }
}

impl Readiness {
    /// Adds a dependency; a failed one makes the whole report `unavailable`.
    pub fn check(mut self, name: &'static str, check: Check) -> Self {
        if !check.is_ok() {
            self.healthy = false;
            self.status = "unavailable";
        }
        self.checks.insert(name, json(&check));
        self
    }

    /// Adds a dependency the service can work without for a while (a tenant database
    /// server, the job worker): a failed one makes the report `degraded`, still 200, so a
    /// load balancer keeps sending the requests that do not need it.
    pub fn optional(mut self, name: &'static str, check: Check) -> Self {
        if !check.is_ok() && self.status == "ok" {
            self.status = "degraded";
        }
        self.checks.insert(name, json(&check));
        self
    }

    /// Adds a report on dependencies the service can work without for a while (such as its
    /// database servers, one entry each): `ok` false makes the report `degraded`, as
    /// [`optional`](Self::optional) does for one.
    pub fn optional_report(mut self, name: &'static str, ok: bool, report: impl Serialize) -> Self {
        if !ok && self.status == "ok" {
            self.status = "degraded";
        }
        self.checks.insert(name, json(&report));
        self
    }

    /// Adds an informative entry that does not decide readiness.
    pub fn report(mut self, name: &'static str, report: impl Serialize) -> Self {
        self.checks.insert(name, json(&report));
        self
    }

    pub fn is_ready(&self) -> bool {
        self.healthy
    }

    /// 200 when ready, 503 otherwise; the body is the same report either way.
    pub fn respond(self) -> HttpResponse {
        if self.healthy {
            HttpResponse::Ok().json(self)
        } else {
            HttpResponse::ServiceUnavailable().json(self)
        }
    }
}

fn json(value: &impl Serialize) -> serde_json::Value {
    // Plain structs of strings and numbers always serialise.
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_failed_dependency_makes_the_report_unavailable() {
        let up = Check::run(async { Ok::<(), String>(()) }).await;
        let down = Check::run(async { Err::<(), _>("refused") }).await;
        assert_eq!((up.status, down.status), ("ok", "error"));
        let report = Readiness::default()
            .check("db", up)
            .report("pools", serde_json::json!({"status": "ok", "pools": 2}))
            .check("redis", down);
        assert!(!report.is_ready());
        assert_eq!(report.status, "unavailable");
        assert_eq!(report.checks["redis"]["error"], "refused");
        assert_eq!(report.checks["pools"]["pools"], 2);
        assert_eq!(report.respond().status().as_u16(), 503);
    }

    #[tokio::test]
    async fn reports_do_not_decide_readiness() {
        let report = Readiness::default()
            .check("db", Check::run(async { Ok::<(), String>(()) }).await)
            .report("pools", serde_json::json!({"status": "full"}));
        assert!(report.is_ready());
        assert_eq!(report.respond().status().as_u16(), 200);
    }
}
