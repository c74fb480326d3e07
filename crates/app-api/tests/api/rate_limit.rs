//! Plan rate limits: one allowance per tenant shared by every app-api replica, and a plane
//! that keeps serving when Redis is gone.

use platform_harness::LogCapture;
use platform_harness::{Platform, assert_problem, spawn_platform};
use std::time::{Duration, Instant};

/// Boots another app-api replica from the platform's environment, with `overrides`.
pub async fn replica(p: &Platform, overrides: &[(&str, &str)]) -> app_api::startup::Running {
    let mut env = p.env.clone();
    for (k, v) in overrides {
        env.insert(k.to_string(), v.to_string());
    }
    let settings = app_api::settings::Settings::from_env(&env).expect("replica settings");
    app_api::startup::Application::build(settings)
        .await
        .expect("replica")
        .start()
}

/// A redis-server of this test's own, killed when dropped.
pub struct OwnRedis {
    pub url: String,
    child: std::process::Child,
}

impl OwnRedis {
    pub async fn start() -> Self {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        let url = format!("redis://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Self { url, child }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn me(base: &str, slug: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{base}/v1/users/me"))
        .header("x-tenant-slug", slug)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn two_replicas_together_allow_the_plan_rate_not_twice_it() {
    let p = spawn_platform().await;
    let t = p.tenant_on_plan("ratefree", "free").await;
    let b = replica(&p, &[]).await;
    let b_url = format!("http://127.0.0.1:{}", b.port);
    // Let the burst refill after provisioning's own requests.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let per_replica = 60;
    let start = Instant::now();
    let calls = (0..per_replica * 2).map(|i| {
        let base = if i % 2 == 0 {
            p.app().url("")
        } else {
            b_url.clone()
        };
        let t = &t;
        async move { (i % 2, me(&base, &t.slug, &t.admin_token).await) }
    });
    let answers = futures::future::join_all(calls).await;
    let elapsed = start.elapsed().as_secs_f64();

    let mut ok = [0usize; 2];
    let mut limited = [0usize; 2];
    let mut a_429 = None;
    for (replica, res) in answers {
        match res.status().as_u16() {
            200 => {
                ok[replica] += 1;
                assert!(res.headers().contains_key("ratelimit"));
                assert_eq!(res.headers()["ratelimit-policy"], "\"free\";q=20;w=1");
            }
            429 => {
                limited[replica] += 1;
                a_429.get_or_insert(res);
            }
            other => panic!("unexpected status {other}"),
        }
    }
    let total_ok = ok[0] + ok[1];
    // GCRA allows the burst (20) plus 20/s; leases may be spent up to 0.2 s late. One
    // limiter per replica would have allowed each replica that much: about twice this.
    let bound = 20.0 + 20.0 * (elapsed + 0.2) + 1.0;
    assert!(
        (total_ok as f64) <= bound,
        "{total_ok} passed in {elapsed:.2}s (bound {bound:.1}): {ok:?} {limited:?}"
    );
    assert!(total_ok >= 15, "the plan's burst was served: {ok:?}");
    assert!(
        limited[0] > 0 && limited[1] > 0,
        "both replicas refuse: {limited:?}"
    );

    let res = a_429.unwrap();
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert!(res.headers().contains_key("ratelimit-policy"));
    assert_problem(res, 429, "rate_limited").await;
    assert!(
        p.app()
            .get("/metrics")
            .text()
            .await
            .contains("tenant_rate_limited_total")
    );

    // After Retry-After the tenant is served again.
    tokio::time::sleep(Duration::from_secs(retry)).await;
    assert_eq!(me(&b_url, &t.slug, &t.admin_token).await.status(), 200);
    b.abort();
}

#[tokio::test]
async fn redis_unreachable_keeps_serving_counted_and_warned_once() {
    let p = spawn_platform().await;
    let t = p.tenant_on_plan("ratefailopen", "free").await;
    let mut redis = OwnRedis::start().await;
    let b = replica(&p, &[("REDIS_URL", &redis.url)]).await;
    let b_url = format!("http://127.0.0.1:{}", b.port);
    let res = me(&b_url, &t.slug, &t.admin_token).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("ratelimit"), "counted while up");

    redis.kill();
    // More than the free plan's burst, at once: each passes unchecked.
    let calls = (0..40).map(|_| me(&b_url, &t.slug, &t.admin_token));
    let mut unchecked = 0;
    for res in futures::future::join_all(calls).await {
        assert_eq!(res.status(), 200);
        assert!(res.headers().contains_key("ratelimit-policy"));
        unchecked += usize::from(!res.headers().contains_key("ratelimit"));
    }
    // Only the rest of the lease taken while Redis was up is still counted.
    let leftover = app_api::tenancy::rate_limit::batch_size(20) as usize - 1;
    assert!(
        unchecked >= 40 - leftover,
        "{unchecked} of 40 passed unchecked"
    );
    let metrics = p.app().get("/metrics").text().await;
    let line = metrics
        .lines()
        .find(|l| l.starts_with("tenant_rate_limit_fail_open_total"))
        .expect("fail-open metric");
    let count: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= (40 - leftover) as f64, "{line}");
    let warnings = LogCapture::global()
        .contents()
        .matches("rate limit unavailable")
        .count();
    assert_eq!(warnings, 1, "warned once per period");
    b.abort();
}
