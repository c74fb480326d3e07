//! Tenant resolution, as middleware in front of every `/v1` handler, and the `Tenant`
//! extractor: the only way a handler reaches a tenant database.
//!
//! The tenant is named by `X-Tenant-Slug`, by the subdomain of the host under `APP_DOMAIN`
//! (the host from a trusted proxy's `Forwarded`/`X-Forwarded-Host`, else `Host`), or by the
//! path prefix `/t/{slug}/v1/...`. Sources that disagree are `ambiguous_tenant`. The slug is
//! validated before it is looked up, so it never reaches SQL unvalidated.
//!
//! The path strategy is a rewrite before routing ([`path_strategy`]): `/t/acme/v1/tickets`
//! is served by the very routes of `/v1/tickets`, and its metrics carry the same route label.

use super::directory::TenantRecord;
use super::pool::{PoolFactory, TenantConn};
use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Uri;
use actix_web::http::uri::PathAndQuery;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use std::sync::Arc;
use tenancy_core::domain::{Feature, TenantSlug, TenantStatus};
use tenancy_core::{ApiError, ErrorCode};

pub const TENANT_HEADER: &str = "x-tenant-slug";

/// The tenant resolved for this request (in request extensions).
#[derive(Clone)]
pub struct ResolvedTenant(pub Arc<TenantRecord>);

fn outcome(o: &'static str) {
    tenancy_core::observability::count(
        tenancy_core::observability::catalogue::TENANT_RESOLUTION_TOTAL,
        "outcome",
        o,
    );
}

/// The subdomain of `host` under `domain`, if any (`acme.example.com` -> `acme`).
fn subdomain<'a>(host: &'a str, domain: &str) -> Option<&'a str> {
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let sub = host.strip_suffix(domain)?.strip_suffix('.')?;
    (!sub.is_empty()).then_some(sub)
}

/// The tenant a `/t/{slug}/v1/...` path named, as written (validated with the others).
#[derive(Clone, Debug)]
pub struct PathTenant(pub String);

/// The path strategy: `/t/{slug}/v1/...` becomes `/v1/...` before routing, with the slug
/// kept as [`PathTenant`]. Runs outside everything else (so the request span, the route
/// label and the routes all see `/v1/...`); any other path is left alone.
pub fn path_strategy(req: &mut ServiceRequest) {
    let Some((slug, tail)) = req
        .path()
        .strip_prefix("/t/")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(_, tail)| *tail == "v1" || tail.starts_with("v1/"))
        .map(|(slug, tail)| (slug.to_string(), format!("/{tail}")))
    else {
        return;
    };
    let target = match req.uri().query() {
        Some(q) => format!("{tail}?{q}"),
        None => tail,
    };
    let mut parts = req.head().uri.clone().into_parts();
    let Ok(pq) = target.parse::<PathAndQuery>() else {
        return;
    };
    parts.path_and_query = Some(pq);
    let Ok(uri) = Uri::from_parts(parts) else {
        return;
    };
    req.match_info_mut().get_mut().update(&uri);
    req.head_mut().uri = uri;
    req.extensions_mut().insert(PathTenant(slug));
}

/// The slug a request names, validated.
pub fn requested_slug(req: &HttpRequest, app_domain: Option<&str>) -> Result<TenantSlug, ApiError> {
    let header = match req.headers().get(TENANT_HEADER) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| {
                    ApiError::new(
                        ErrorCode::InvalidTenantSlug,
                        "X-Tenant-Slug is not valid text",
                    )
                })?
                .trim(),
        ),
    }
    .filter(|s| !s.is_empty());
    // Not `connection_info().host()`: that believes a client's `X-Forwarded-Host`. Read
    // only when subdomains name tenants at all.
    let sub = app_domain.and_then(|d| {
        let host = tenancy_core::forwarded::host(req);
        subdomain(&host, d).map(str::to_string)
    });
    let extensions = req.extensions();
    let path = extensions.get::<PathTenant>().map(|p| p.0.as_str());
    let named = [
        ("X-Tenant-Slug header", header),
        ("subdomain", sub.as_deref()),
        ("path", path),
    ];
    let mut named = named
        .into_iter()
        .filter_map(|(source, slug)| slug.map(|s| (source, s)));
    let Some((first_source, first)) = named.next() else {
        outcome("required");
        return Err(ApiError::new(
            ErrorCode::TenantRequired,
            "name the tenant with the X-Tenant-Slug header, a subdomain or a /t/{slug}/v1 path",
        ));
    };
    if let Some((source, other)) = named.find(|(_, s)| *s != first) {
        outcome("ambiguous");
        return Err(ApiError::new(
            ErrorCode::AmbiguousTenant,
            format!("the {first_source} names `{first}` but the {source} names `{other}`"),
        ));
    }
    TenantSlug::parse(first).map_err(|e| {
        outcome("invalid");
        ApiError::new(ErrorCode::InvalidTenantSlug, e.to_string())
    })
}

/// Whether the request only reads the tenant's database: the safe methods, and login
/// (which checks a password and writes nothing).
fn reads_only(req: &ServiceRequest) -> bool {
    use actix_web::http::Method;
    match *req.method() {
        Method::GET | Method::HEAD => true,
        Method::POST => req.path() == "/v1/auth/login",
        _ => false,
    }
}

/// Resolves the tenant and refuses any that may not be served.
pub async fn resolve_tenant(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("application state missing"))?;
    let slug = requested_slug(req.request(), state.settings.app_domain.as_deref())?;
    tracing::Span::current().record("tenant.slug", slug.as_str());
    tenancy_core::observability::tag_tenant(&req, slug.as_str());
    let record = state.directory.lookup(&slug).await?.ok_or_else(|| {
        outcome("not_found");
        ApiError::new(ErrorCode::TenantNotFound, format!("no tenant `{slug}`"))
    })?;
    match record.status {
        TenantStatus::Active => {}
        TenantStatus::Provisioning => {
            outcome("provisioning");
            return Err(ApiError::new(
                ErrorCode::TenantProvisioning,
                "the tenant is still being provisioned",
            )
            .retry_after(2)
            .into());
        }
        // The source database stays readable while it is copied (the server itself makes
        // it read-only), so only what would write waits for the move to end.
        TenantStatus::Moving if reads_only(&req) => {}
        TenantStatus::Moving => {
            outcome("moving");
            return Err(ApiError::new(
                ErrorCode::TenantMoving,
                "the tenant's database is being moved or restored; it can be read, not written",
            )
            .retry_after(5)
            .into());
        }
        other => {
            outcome("inactive");
            return Err(ApiError::new(
                ErrorCode::TenantInactive,
                format!("the tenant is {}", other.as_str()),
            )
            .into());
        }
    }
    outcome("resolved");
    req.extensions_mut().insert(ResolvedTenant(record));
    next.call(req).await
}

/// The request's tenant, and through it a connection to its database. Taking this as an
/// argument (a handler, or an extractor such as `AuthUser`) is the only way to reach a
/// tenant database: nothing outside `tenancy` can check a connection out of a pool.
pub struct Tenant {
    pub record: Arc<TenantRecord>,
    pools: PoolFactory,
}

impl Tenant {
    /// The tenant the resolution middleware found for `req`; an internal error if it did
    /// not run. Opens nothing: the pool is looked up when a connection is asked for.
    pub(crate) fn of(req: &HttpRequest) -> Result<Self, ApiError> {
        let record = resolved(req)?;
        let state = req
            .app_data::<web::Data<AppState>>()
            .ok_or_else(|| ApiError::internal("application state missing"))?;
        Ok(Tenant {
            record,
            pools: state.pools.clone(),
        })
    }

    pub fn id(&self) -> uuid::Uuid {
        self.record.id
    }

    /// Refuses with 403 `forbidden` unless the tenant has `feature` (its plan's default or
    /// its override); the detail names the feature, so an operator knows what to turn on.
    pub(crate) fn require(&self, feature: Feature) -> Result<(), ApiError> {
        if self.record.features.enabled(feature) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "the feature `{feature}` is turned off for this tenant (plan {}); \
                 the platform operator can turn it on",
                self.record.plan
            )))
        }
    }

    /// A connection to this tenant's database (429 when its allowance is busy).
    pub(crate) async fn conn(&self) -> Result<TenantConn, ApiError> {
        self.pools.conn(&self.record).await
    }
}

/// The resolved tenant record; an internal error if the middleware did not run.
pub(crate) fn resolved(req: &HttpRequest) -> Result<Arc<TenantRecord>, ApiError> {
    req.extensions()
        .get::<ResolvedTenant>()
        .map(|r| r.0.clone())
        .ok_or_else(|| ApiError::internal("tenant resolution middleware did not run"))
}

impl FromRequest for Tenant {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Tenant::of(req))
    }
}

#[cfg(test)]
mod tests {
    use super::subdomain;

    #[test]
    fn subdomains_are_read_under_the_app_domain_only() {
        assert_eq!(subdomain("acme.example.com", "example.com"), Some("acme"));
        assert_eq!(
            subdomain("acme.example.com:3000", "example.com"),
            Some("acme")
        );
        assert_eq!(subdomain("example.com", "example.com"), None);
        assert_eq!(subdomain("acme.other.com", "example.com"), None);
        assert_eq!(subdomain("acmeexample.com", "example.com"), None);
        assert_eq!(subdomain("a.b.example.com", "example.com"), Some("a.b"));
    }
}
