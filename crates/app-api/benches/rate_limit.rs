//! What the plan rate limit adds to one request: a request spending the replica's local
//! lease (most requests), and one that asks Redis (one request in `max(1, rate / 10)`).
//! Needs Redis at `TEST_REDIS_URL` (default `redis://127.0.0.1:6379`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use app_api::tenancy::rate_limit::RateLimiter;
use criterion::{Criterion, criterion_group, criterion_main};
use redis::aio::ConnectionManager;
use uuid::Uuid;

fn limiter(rt: &tokio::runtime::Runtime) -> RateLimiter {
    let url =
        std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string());
    rt.block_on(async {
        let conn = ConnectionManager::new(redis::Client::open(url).unwrap())
            .await
            .expect("Redis at TEST_REDIS_URL");
        RateLimiter::new(conn, &format!("bench{}", Uuid::new_v4().simple()))
    })
}

fn rate_limit(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let limiter = limiter(&rt);
    // A rate no loop reaches: a lease of 100,000, so nearly every check is local.
    let tenant = Uuid::new_v4();
    c.bench_function("rate_limit_lease_hit", |b| {
        b.to_async(&rt)
            .iter(|| async { limiter.check(tenant, 1_000_000).await })
    });
    // A lease of one: every check runs the GCRA script in Redis (allowed or refused, the
    // same one round trip).
    let tenant = Uuid::new_v4();
    c.bench_function("rate_limit_redis_round_trip", |b| {
        b.to_async(&rt)
            .iter(|| async { limiter.check(tenant, 5).await })
    });
}

criterion_group!(benches, rate_limit);
criterion_main!(benches);
