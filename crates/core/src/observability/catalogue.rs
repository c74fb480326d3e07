//! Every metric family of both planes, with its help text and the label values known in
//! advance: the one place a metric name is spelled. `register` describes each family (so
//! `/metrics` has `# HELP` and `# TYPE`) and creates its known series at zero, so a family
//! is scraped from start-up rather than after its first event.

use crate::domain::TenantStatus;
use std::sync::Once;

/// What kind of family a metric is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One metric family: name, kind, help, and the series created at zero on start-up (each a
/// set of label pairs; `&[]` is the unlabelled series).
#[derive(Debug)]
pub struct Family {
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
    pub series: &'static [&'static [(&'static str, &'static str)]],
}

// Both planes.
pub const HTTP_REQUESTS_TOTAL: &str = "http_requests_total";
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "http_request_duration_seconds";

// App plane.
pub const TENANT_POOLS_ACTIVE: &str = "tenant_pools_active";
pub const TENANT_POOL_CONNECTIONS: &str = "tenant_pool_connections";
pub const TENANT_POOL_CONNECTIONS_MAX: &str = "tenant_pool_connections_max";
pub const TENANT_POOL_CREATED_TOTAL: &str = "tenant_pool_created_total";
pub const TENANT_POOL_EVICTED_TOTAL: &str = "tenant_pool_evicted_total";
pub const TENANT_POOL_HEALTH_FAILURES_TOTAL: &str = "tenant_pool_health_failures_total";
pub const TENANT_POOL_CONNECTIONS_OPENED_TOTAL: &str = "tenant_pool_connections_opened_total";
pub const TENANT_POOL_SERVER_REFUSALS_TOTAL: &str = "tenant_pool_server_refusals_total";
pub const TENANT_POOL_LIMIT_REJECTIONS_TOTAL: &str = "tenant_pool_limit_rejections_total";
pub const TENANT_RESOLUTION_TOTAL: &str = "tenant_resolution_total";
pub const TENANT_RATE_LIMITED_TOTAL: &str = "tenant_rate_limited_total";
pub const TENANT_CACHE_TOTAL: &str = "tenant_cache_total";

// Control plane.
pub const TENANTS: &str = "tenants";
pub const PROVISIONING_JOBS_TOTAL: &str = "provisioning_jobs_total";
pub const PROVISIONING_DURATION_SECONDS: &str = "provisioning_duration_seconds";
pub const PROVISIONING_QUEUE_DEPTH: &str = "provisioning_queue_depth";
pub const JOB_WORKER_UP: &str = "job_worker_up";
pub const DB_SERVER_TENANTS: &str = "db_server_tenants";
pub const TENANT_MOVES_TOTAL: &str = "tenant_moves_total";

/// Methods counted under their own name; any other is counted as `other`, so a client
/// cannot grow the series set by inventing methods.
pub const KNOWN_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
/// The `route` label of a request that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

const UNLABELLED: &[&[(&str, &str)]] = &[&[]];

/// The HTTP families. The series created at start-up is the first scrape's own, which will
/// exist anyway; every other one appears with its first request.
pub const HTTP: &[Family] = &[
    Family {
        name: HTTP_REQUESTS_TOTAL,
        kind: Kind::Counter,
        help: "HTTP responses sent, by method (known set or `other`), route pattern and status.",
        series: &[&[("method", "GET"), ("route", "/metrics"), ("status", "200")]],
    },
    Family {
        name: HTTP_REQUEST_DURATION_SECONDS,
        kind: Kind::Histogram,
        help: "Time from request received to response ready, by method and route pattern.",
        series: &[&[("method", "GET"), ("route", "/metrics")]],
    },
];

/// The app plane's own families.
pub const APP_PLANE: &[Family] = &[
    Family {
        name: TENANT_POOLS_ACTIVE,
        kind: Kind::Gauge,
        help: "Tenant connection pools currently open.",
        series: UNLABELLED,
    },
    Family {
        name: TENANT_POOL_CONNECTIONS,
        kind: Kind::Gauge,
        help: "Connections currently open across all tenant pools.",
        series: UNLABELLED,
    },
    Family {
        name: TENANT_POOL_CONNECTIONS_MAX,
        kind: Kind::Gauge,
        help: "Current budget of tenant connections (shrinks when a database server is full).",
        series: UNLABELLED,
    },
    Family {
        name: TENANT_POOL_CREATED_TOTAL,
        kind: Kind::Counter,
        help: "Tenant pools created.",
        series: UNLABELLED,
    },
    Family {
        name: TENANT_POOL_EVICTED_TOTAL,
        kind: Kind::Counter,
        help: "Tenant pools closed, by reason.",
        series: &[
            &[("reason", "idle")],
            &[("reason", "capacity")],
            &[("reason", "inactive")],
            &[("reason", "credentials")],
            &[("reason", "health")],
        ],
    },
    Family {
        name: TENANT_POOL_HEALTH_FAILURES_TOTAL,
        kind: Kind::Counter,
        help: "Failed health checks of cached tenant pools.",
        series: UNLABELLED,
    },
    Family {
        name: TENANT_POOL_CONNECTIONS_OPENED_TOTAL,
        kind: Kind::Counter,
        help: "Connections opened to tenant databases.",
        series: UNLABELLED,
    },
    Family {
        name: TENANT_POOL_SERVER_REFUSALS_TOTAL,
        kind: Kind::Counter,
        help: "Connection attempts a database server refused for lack of free connections.",
        series: UNLABELLED,
    },
    Family {
        name: TENANT_POOL_LIMIT_REJECTIONS_TOTAL,
        kind: Kind::Counter,
        help: "Requests answered 429 connection_limit because no connection came free in time.",
        series: UNLABELLED,
    },
    Family {
        name: TENANT_RESOLUTION_TOTAL,
        kind: Kind::Counter,
        help: "Tenant resolutions of /v1 requests, by outcome.",
        series: &[
            &[("outcome", "resolved")],
            &[("outcome", "required")],
            &[("outcome", "ambiguous")],
            &[("outcome", "invalid")],
            &[("outcome", "not_found")],
            &[("outcome", "provisioning")],
            &[("outcome", "moving")],
            &[("outcome", "inactive")],
        ],
    },
    Family {
        name: TENANT_RATE_LIMITED_TOTAL,
        kind: Kind::Counter,
        help: "Requests refused with 429 rate_limited by a tenant's plan rate.",
        series: UNLABELLED,
    },
    Family {
        name: TENANT_CACHE_TOTAL,
        kind: Kind::Counter,
        help: "Tenant record lookups, by cache result.",
        series: &[&[("result", "hit")], &[("result", "miss")]],
    },
];

/// The control plane's own families.
pub const CONTROL_PLANE: &[Family] = &[
    Family {
        name: TENANTS,
        kind: Kind::Gauge,
        help: "Tenants in the registry, by status (read from the control database at scrape time).",
        // One series per TenantStatus: created by `register_control_plane`.
        series: &[],
    },
    Family {
        name: PROVISIONING_JOBS_TOTAL,
        kind: Kind::Counter,
        help: "Job runs (provision and purge), by outcome; `cancelled`: the tenant moved on.",
        series: &[
            &[("outcome", "succeeded")],
            &[("outcome", "retried")],
            &[("outcome", "failed")],
            &[("outcome", "cancelled")],
        ],
    },
    Family {
        name: PROVISIONING_DURATION_SECONDS,
        kind: Kind::Histogram,
        help: "Time from a tenant's creation to its database being ready.",
        series: UNLABELLED,
    },
    Family {
        name: PROVISIONING_QUEUE_DEPTH,
        kind: Kind::Gauge,
        help: "Provisioning jobs queued or running (read from the control database at scrape time).",
        series: UNLABELLED,
    },
    Family {
        name: JOB_WORKER_UP,
        kind: Kind::Gauge,
        help: "1 while this process runs a provisioning worker, else 0.",
        series: UNLABELLED,
    },
    Family {
        name: DB_SERVER_TENANTS,
        kind: Kind::Gauge,
        help: "Tenants placed on each database server.",
        series: &[&[("server", "default")]],
    },
    Family {
        name: TENANT_MOVES_TOTAL,
        kind: Kind::Counter,
        help: "Tenant database moves to another server, by outcome; `failed`: rolled back to the source.",
        series: &[
            &[("outcome", "succeeded")],
            &[("outcome", "failed")],
            &[("outcome", "cancelled")],
        ],
    },
];

/// Describes each family and creates its known series at zero. Idempotent: describing or
/// registering again changes nothing.
pub fn register(families: &[Family]) {
    for f in families {
        match f.kind {
            Kind::Counter => metrics::describe_counter!(f.name, f.help),
            Kind::Gauge => metrics::describe_gauge!(f.name, f.help),
            Kind::Histogram => metrics::describe_histogram!(f.name, f.help),
        }
        for labels in f.series {
            let labels: Vec<metrics::Label> = labels
                .iter()
                .map(|(k, v)| metrics::Label::new(*k, *v))
                .collect();
            match f.kind {
                Kind::Counter => metrics::counter!(f.name, labels).increment(0),
                // A gauge set elsewhere keeps its value; one never set reads 0 when registered.
                Kind::Gauge => metrics::gauge!(f.name, labels).increment(0.0),
                Kind::Histogram => drop(metrics::histogram!(f.name, labels)),
            }
        }
    }
}

/// Everything app-api exports, described and at zero (once per process; installs the
/// recorder first so nothing registers into the no-op one).
pub fn register_app_plane() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        super::metrics_handle();
        register(HTTP);
        register(APP_PLANE);
    });
}

/// Everything control-api exports, described and at zero (once per process).
pub fn register_control_plane() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        super::metrics_handle();
        register(HTTP);
        register(CONTROL_PLANE);
        for status in TenantStatus::ALL {
            metrics::gauge!(TENANTS, "status" => status.as_str()).increment(0.0);
        }
    });
}

/// The `method` label for a request: its method when known, else `other`.
pub fn method_label(method: &str) -> &'static str {
    KNOWN_METHODS
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("BREW"), "other");
        assert_eq!(method_label("get"), "other");
    }

    #[test]
    fn every_family_is_declared_once_with_help() {
        let all: Vec<&Family> = HTTP.iter().chain(APP_PLANE).chain(CONTROL_PLANE).collect();
        for f in &all {
            assert!(!f.help.is_empty(), "{} has no help", f.name);
            assert_eq!(
                all.iter().filter(|g| g.name == f.name).count(),
                1,
                "{}",
                f.name
            );
        }
    }
}
