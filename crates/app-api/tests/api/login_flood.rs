//! A login flood: argon2 runs under a concurrency limit, so the process's peak memory stays
//! within the stated bound; logins beyond it wait briefly, then get 503 with Retry-After.

use platform_harness::{TENANT_ADMIN_PASSWORD, assert_problem, spawn_platform};
use serde_json::json;
use tenancy_core::password::{HASH_MEMORY_BYTES, hash_concurrency};

/// A `kB` field of /proc/self/status, in bytes (this process hosts both planes).
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"));
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_keeps_peak_memory_within_the_hashing_bound() {
    let p = spawn_platform().await;
    let t = p.tenant("flooded").await;
    let email = format!("owner@{}.test", t.slug);
    let rss_before = status_bytes("VmRSS:");
    let hwm_before = status_bytes("VmHWM:");

    let flood = 48;
    let logins = (0..flood).map(|_| {
        reqwest::Client::new()
            .post(p.app().url("/v1/auth/login"))
            .header("x-tenant-slug", &t.slug)
            .json(&json!({"email": email, "password": TENANT_ADMIN_PASSWORD}))
            .send()
    });
    let answers = futures::future::join_all(logins).await;
    let hwm_after = status_bytes("VmHWM:");
    let mut ok = 0;
    for res in answers {
        let res = res.unwrap();
        if res.status() == 200 {
            ok += 1;
        } else {
            assert!(res.headers().contains_key("retry-after"));
            assert_problem(res, 503, "service_unavailable").await;
        }
    }
    assert!(ok > 0, "some logins were served");

    // The stated bound: the concurrent hashes' memory, plus room for the requests themselves.
    // Unbounded, 48 concurrent argon2 calls would take about 900 MiB.
    let bound = (hash_concurrency() * HASH_MEMORY_BYTES) as u64 + 48 * 1024 * 1024;
    assert!(
        hwm_after <= hwm_before.max(rss_before + bound),
        "peak RSS {} MiB; before: RSS {} MiB, peak {} MiB; bound {} MiB",
        hwm_after >> 20,
        rss_before >> 20,
        hwm_before >> 20,
        bound >> 20
    );
}
