//! The plan rate limit of the app plane: each tenant's request rate, counted in Redis so
//! every app-api replica draws on one allowance.
//!
//! # Algorithm
//!
//! GCRA (the generic cell rate algorithm) in one Lua script, run with `EVALSHA`: Redis keeps
//! one number per tenant, its theoretical arrival time (TAT), on Redis's own clock, so the
//! replicas' clocks never matter. A plan of `r` requests per second allows a burst of `r`
//! and then one request every `1/r` seconds.
//!
//! # Local batching and its error bound
//!
//! A replica takes allowance from Redis in small leases of `k = max(min(5, r), r / 10)`
//! requests and spends them locally, so about one request in `k` waits on Redis (at least 5,
//! so even the smallest plan pays a Redis round trip on at most a fifth of its requests). A lease is charged in
//! Redis before any of it is spent, so the replicas together never admit more than Redis
//! granted; the only excess is a shift in time: a lease may be spent up to [`LEASE_TTL`]
//! after it was taken, so in any window `W` at most `r * (W + LEASE_TTL) + r` requests pass
//! (instead of `r * W + r`). The other way, a lease that expires unspent wastes at most
//! `k - 1` requests per replica per [`LEASE_TTL`].
//!
//! # Redis unreachable
//!
//! The plane keeps serving: the request passes unchecked, `tenant_rate_limit_fail_open_total`
//! counts it and a warning is logged at most once per [`WARN_EVERY`].

use super::resolve::ResolvedTenant;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError, web};
use redis::aio::ConnectionManager;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tenancy_core::domain::Plan;
use tenancy_core::{ApiError, ErrorCode};
use uuid::Uuid;

/// How long a local lease may be spent after Redis granted it.
pub const LEASE_TTL: Duration = Duration::from_millis(200);
/// At most one fail-open warning per this period.
pub const WARN_EVERY: Duration = Duration::from_secs(60);
/// How long a request waits on Redis before passing unchecked.
const REDIS_WAIT: Duration = Duration::from_millis(250);

/// `KEYS[1]`: the tenant's TAT in µs. `ARGV`: emission interval µs, burst, tokens wanted.
/// Returns `{granted, retry_after_µs, remaining, reset_µs}`.
const GCRA: &str = r"
local t = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local avail = math.floor((burst * t - (tat - now)) / t)
if avail < 1 then
  return {0, math.floor(tat - now - (burst - 1) * t), 0, math.floor(tat - now)}
end
local granted = math.min(want, avail)
local new_tat = tat + granted * t
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.floor((new_tat - now) / 1000) + 1)
return {granted, 0, avail - granted, math.floor(new_tat - now)}
";

/// What the limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed {
        remaining: u32,
        reset_secs: u64,
    },
    Limited {
        retry_after_secs: u64,
    },
    /// Redis could not be asked; the request passes (fail open).
    Unchecked,
}

/// A replica's unspent share of one tenant's allowance.
struct Lease {
    tokens: u32,
    /// What Redis said was left after the grant, less what was spent here since.
    remaining: u32,
    reset_at: Instant,
    expires: Instant,
    /// Requests of this replica asking Redis right now.
    fetching: u32,
}

impl Lease {
    fn empty(now: Instant) -> Self {
        Self {
            tokens: 0,
            remaining: 0,
            reset_at: now,
            expires: now,
            fetching: 0,
        }
    }
}

/// The shared limiter (cheap to clone).
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    redis: ConnectionManager,
    key_prefix: String,
    script: redis::Script,
    leases: Mutex<HashMap<Uuid, Lease>>,
    last_warn: Mutex<Option<Instant>>,
}

/// Requests one trip to Redis may lease for a plan of `rate` per second.
pub fn batch_size(rate: u32) -> u32 {
    (rate / 10).max(rate.min(5)).max(1)
}

impl RateLimiter {
    pub fn new(redis: ConnectionManager, redis_prefix: &str) -> Self {
        Self {
            inner: Arc::new(Inner {
                redis,
                key_prefix: format!("{redis_prefix}:rate:"),
                script: redis::Script::new(GCRA),
                leases: Mutex::new(HashMap::new()),
                last_warn: Mutex::new(None),
            }),
        }
    }

    /// Takes one request from `tenant`'s allowance of `rate` per second.
    pub async fn check(&self, tenant: Uuid, rate: u32) -> Decision {
        let now = Instant::now();
        let want = match self.spend_local(tenant, now, rate) {
            Ok(d) => return d,
            Err(want) => want,
        };
        let reply = self.ask_redis(tenant, rate, want).await;
        self.end_fetch(tenant);
        let (granted, retry_us, remaining, reset_us) = match reply {
            Ok(reply) => reply,
            Err(d) => return d,
        };
        if granted == 0 {
            // Concurrent misses may have leased more than they spent meanwhile.
            if let Some(d) = self.take_local(tenant, Instant::now()) {
                return d;
            }
            return Decision::Limited {
                retry_after_secs: retry_us.div_ceil(1_000_000).max(1),
            };
        }
        self.store(tenant, now, granted, remaining, reset_us)
    }

    /// One run of the GCRA script asking for `want` requests.
    async fn ask_redis(
        &self,
        tenant: Uuid,
        rate: u32,
        want: u32,
    ) -> Result<(u32, u64, u32, u64), Decision> {
        let interval_us = 1_000_000 / u64::from(rate.max(1));
        let mut conn = self.inner.redis.clone();
        let mut invocation = self
            .inner
            .script
            .key(format!("{}{tenant}", self.inner.key_prefix));
        invocation.arg(interval_us).arg(rate.max(1)).arg(want);
        let call = invocation.invoke_async::<(u32, u64, u32, u64)>(&mut conn);
        match tokio::time::timeout(REDIS_WAIT, call).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(self.fail_open(&e)),
            Err(_) => Err(self.fail_open(&"no answer within 250 ms")),
        }
    }

    /// Keeps what Redis granted beyond this request for the next ones.
    fn store(
        &self,
        tenant: Uuid,
        now: Instant,
        granted: u32,
        remaining: u32,
        reset_us: u64,
    ) -> Decision {
        let reset_at = now + Duration::from_micros(reset_us);
        let mut leases = self.leases();
        // Stale leases of other tenants go while we hold the lock anyway.
        if leases.len() > 1024 {
            leases.retain(|_, l| l.expires > now || l.fetching > 0);
        }
        let lease = leases.entry(tenant).or_insert_with(|| Lease::empty(now));
        if lease.expires <= now {
            lease.tokens = 0;
        }
        // Concurrent misses each lease a batch: keep every leftover, never drop one.
        lease.tokens += granted - 1;
        lease.remaining = remaining;
        lease.reset_at = reset_at;
        lease.expires = now + LEASE_TTL;
        Decision::Allowed {
            remaining: remaining + lease.tokens,
            reset_secs: reset_us.div_ceil(1_000_000),
        }
    }

    fn leases(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Lease>> {
        // A panic while holding this lock cannot leave a lease half-written.
        self.inner
            .leases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A request from the local lease, or else how many to ask Redis for: a whole batch
    /// only if no other request is already asking, so concurrent misses do not each take one.
    fn spend_local(&self, tenant: Uuid, now: Instant, rate: u32) -> Result<Decision, u32> {
        if let Some(d) = self.take_local(tenant, now) {
            return Ok(d);
        }
        let mut leases = self.leases();
        let lease = leases.entry(tenant).or_insert_with(|| Lease::empty(now));
        let want = if lease.fetching == 0 {
            batch_size(rate)
        } else {
            1
        };
        lease.fetching += 1;
        Err(want)
    }

    fn end_fetch(&self, tenant: Uuid) {
        if let Some(l) = self.leases().get_mut(&tenant) {
            l.fetching = l.fetching.saturating_sub(1);
        }
    }

    fn take_local(&self, tenant: Uuid, now: Instant) -> Option<Decision> {
        let mut leases = self.leases();
        let lease = leases.get_mut(&tenant)?;
        if lease.tokens == 0 || lease.expires <= now {
            return None;
        }
        lease.tokens -= 1;
        Some(Decision::Allowed {
            remaining: lease.remaining + lease.tokens,
            reset_secs: lease
                .reset_at
                .saturating_duration_since(now)
                .as_micros()
                .div_ceil(1_000_000) as u64,
        })
    }

    fn fail_open(&self, cause: &dyn std::fmt::Display) -> Decision {
        metrics::counter!("tenant_rate_limit_fail_open_total").increment(1);
        let now = Instant::now();
        let mut last = self
            .inner
            .last_warn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_none_or(|t| now.duration_since(t) >= WARN_EVERY) {
            *last = Some(now);
            tracing::warn!(error = %cause, "rate limit unavailable (Redis); serving without it");
        }
        Decision::Unchecked
    }
}

thread_local! {
    /// `RateLimit-Policy` values by plan and rate: the same few on every response.
    static POLICIES: std::cell::RefCell<Vec<(Plan, u32, HeaderValue)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The `RateLimit-Policy` value of a plan at a rate, built once per thread.
fn policy_header(plan: Plan, rate: u32) -> Option<HeaderValue> {
    POLICIES.with(|cell| {
        let mut known = cell.borrow_mut();
        if let Some((.., v)) = known.iter().find(|(p, r, _)| *p == plan && *r == rate) {
            return Some(v.clone());
        }
        let v = HeaderValue::from_str(&format!("\"{}\";q={rate};w=1", plan.as_str())).ok()?;
        known.push((plan, rate, v.clone()));
        Some(v)
    })
}

/// `RateLimit-Policy` / `RateLimit` (IETF draft-ietf-httpapi-ratelimit-headers): the plan's
/// quota per one-second window, and what is left of it.
fn write_headers(headers: &mut HeaderMap, plan: Plan, rate: u32, decision: Decision) {
    let name = plan.as_str();
    let state = match decision {
        Decision::Allowed {
            remaining,
            reset_secs,
        } => Some(format!(
            "\"{name}\";r={};t={reset_secs}",
            remaining.min(rate)
        )),
        Decision::Limited { retry_after_secs } => {
            Some(format!("\"{name}\";r=0;t={retry_after_secs}"))
        }
        Decision::Unchecked => None,
    };
    if let Some(v) = policy_header(plan, rate) {
        headers.insert(HeaderName::from_static("ratelimit-policy"), v);
    }
    if let Some(v) = state.and_then(|s| HeaderValue::from_str(&s).ok()) {
        headers.insert(HeaderName::from_static("ratelimit"), v);
    }
}

/// Middleware after tenant resolution: 429 `rate_limited` over the plan's rate.
pub async fn enforce(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let tenant = req
        .extensions()
        .get::<ResolvedTenant>()
        .map(|r| r.0.clone());
    let limiter = req
        .app_data::<web::Data<AppState>>()
        .map(|s| (s.limiter.clone(), s.settings.rate_limit_scale));
    let (Some(tenant), Some((limiter, scale))) = (tenant, limiter) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let rate = tenant.plan.requests_per_second().saturating_mul(scale);
    let decision = limiter.check(tenant.id, rate).await;
    if let Decision::Limited { retry_after_secs } = decision {
        metrics::counter!("tenant_rate_limited_total").increment(1);
        let mut res = ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "the {} plan allows {rate} requests per second",
                tenant.plan.as_str(),
            ),
        )
        .retry_after(retry_after_secs)
        .error_response();
        write_headers(res.headers_mut(), tenant.plan, rate, decision);
        return Ok(req.into_response(res));
    }
    let mut res = next.call(req).await?;
    write_headers(res.headers_mut(), tenant.plan, rate, decision);
    Ok(res.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_are_a_tenth_of_the_rate_and_never_empty() {
        assert_eq!(batch_size(1), 1);
        assert_eq!(batch_size(20), 5);
        assert_eq!(batch_size(3), 3);
        assert_eq!(batch_size(100), 10);
        assert_eq!(batch_size(500), 50);
    }

    #[test]
    fn headers_name_the_plan_quota_and_what_is_left() {
        let mut h = HeaderMap::new();
        let d = Decision::Allowed {
            remaining: 7,
            reset_secs: 1,
        };
        write_headers(&mut h, Plan::Free, 20, d);
        assert_eq!(h.get("ratelimit-policy").unwrap(), "\"free\";q=20;w=1");
        assert_eq!(h.get("ratelimit").unwrap(), "\"free\";r=7;t=1");
        let mut h = HeaderMap::new();
        write_headers(&mut h, Plan::Pro, 100, Decision::Unchecked);
        assert!(h.get("ratelimit").is_none());
    }
}
