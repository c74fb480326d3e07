//! What the tenancy layer adds to one request, in isolation: slug validation, tenant
//! resolution on a directory hit, a pool-factory hit and JWT verification. None of these
//! touch a database; `scripts/bench.sh` runs them and relates them to a whole request.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::test::TestRequest;
use app_api::settings::{PoolLimits, StatementMode};
use app_api::tenancy::resolve::requested_slug;
use app_api::tenancy::{DbServer, Directory, PoolFactory, TenantProfile, TenantRecord};
use criterion::{Criterion, criterion_group, criterion_main};
use secrecy::{SecretBox, SecretString};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;
use tenancy_core::crypto::Keyring;
use tenancy_core::domain::{Plan, TenantSlug, TenantStatus};
use tenancy_core::jwt::{AppClaims, JwtKeys};
use uuid::Uuid;

const SLUG: &str = "acme-support";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn keyring() -> Arc<Keyring> {
    Arc::new(Keyring::new(1, &SecretBox::new(Box::new([7u8; 32]))))
}

fn record(keyring: &Keyring) -> TenantRecord {
    let id = Uuid::new_v4();
    let sealed = keyring.seal(id, &SecretString::from("a-tenant-password"));
    TenantRecord::new(
        id,
        SLUG.into(),
        TenantProfile {
            name: "Acme Support".into(),
            plan: Plan::Pro,
            overrides: Default::default(),
        },
        TenantStatus::Active,
        "tenant_acme_support".into(),
        "tenant_acme_support".into(),
        sealed,
        DbServer {
            name: "default".into(),
            host: "127.0.0.1".into(),
            port: 1,
        },
    )
}

/// A control pool that is never used: every lookup below is a cache hit.
fn unused_control_pool() -> deadpool_postgres::Pool {
    let cfg: tokio_postgres::Config = "postgres://nobody@127.0.0.1:1/none".parse().unwrap();
    let manager = deadpool_postgres::Manager::new(cfg, tokio_postgres::NoTls);
    deadpool_postgres::Pool::builder(manager)
        .max_size(1)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .unwrap()
}

fn slug_validation(c: &mut Criterion) {
    c.bench_function("slug_validation", |b| {
        b.iter(|| TenantSlug::parse(black_box(SLUG)).unwrap())
    });
}

fn resolution_cache_hit(c: &mut Criterion) {
    let rt = runtime();
    let directory = Directory::new(
        unused_control_pool(),
        Duration::from_secs(3600),
        Duration::from_secs(3600),
    );
    rt.block_on(directory.prime(record(&keyring())));
    let req = TestRequest::get()
        .uri("/v1/tickets/0")
        .insert_header(("host", "acme-support.example.com"))
        .insert_header(("x-tenant-slug", SLUG))
        .to_http_request();
    c.bench_function("resolution_cache_hit", |b| {
        b.to_async(&rt).iter(|| async {
            let slug = requested_slug(black_box(&req), Some("example.com")).unwrap();
            directory.lookup(&slug).await.unwrap().unwrap()
        })
    });
}

fn pool_factory_hit(c: &mut Criterion) {
    let rt = runtime();
    let keyring = keyring();
    let limits = PoolLimits {
        max_per_tenant: 5,
        max_total: 100,
        max_tenants: 1000,
        idle: Duration::from_secs(3600),
        acquire_wait: Duration::from_secs(1),
        close_grace: Duration::from_millis(25),
        health_every: Duration::from_secs(15),
        statement_timeout: Duration::from_secs(5),
    };
    let record = record(&keyring);
    let pools = rt.block_on(async {
        // Built inside the runtime; building a pool opens no connection.
        let pools = PoolFactory::new(limits, keyring, StatementMode::Prepared);
        pools.warm(&record).await.unwrap();
        pools
    });
    c.bench_function("pool_factory_hit", |b| {
        b.to_async(&rt)
            .iter(|| async { pools.warm(black_box(&record)).await.unwrap() })
    });
}

fn jwt_verification(c: &mut Criterion) {
    let keys = JwtKeys::new(
        &SecretString::from("a-benchmark-secret-of-reasonable-length-0123456789"),
        "app",
        3600,
    );
    let (iat, exp) = keys.lifetime();
    let token = keys.sign(&AppClaims {
        sub: Uuid::new_v4(),
        tid: Uuid::new_v4(),
        role: "agent".into(),
        ver: 0,
        aud: "app".into(),
        iat,
        exp,
    });
    c.bench_function("jwt_verification", |b| {
        b.iter(|| keys.verify::<AppClaims>(black_box(&token)).unwrap())
    });
}

criterion_group!(
    tenancy,
    slug_validation,
    resolution_cache_hit,
    pool_factory_hit,
    jwt_verification
);
criterion_main!(tenancy);
