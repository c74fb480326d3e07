//! A tenant database that stops answering mid-connection (a partition: packets vanish, no
//! connection closes) costs its own requests a bounded wait and a 503, and nobody else
//! anything. The fault is real: every tenant connection goes through a TCP proxy this test
//! controls, which stops forwarding one tenant's traffic without closing anything.

use platform_harness::{WAIT_LIMIT, assert_problem, platform, wait_until};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Forwards to the shared PostgreSQL; connections whose start-up message names the frozen
/// database stop forwarding (in both directions) while it is frozen.
#[derive(Clone, Default)]
struct Proxy {
    frozen: Arc<Mutex<Option<String>>>,
}

impl Proxy {
    async fn start(&self) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = self.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(proxy.clone().serve(client));
            }
        });
        port
    }

    fn freeze(&self, db: Option<&str>) {
        *self.frozen.lock().unwrap() = db.map(str::to_string);
    }

    async fn serve(self, mut client: TcpStream) {
        let Ok(server) = TcpStream::connect("127.0.0.1:5432").await else {
            return;
        };
        // No TLS here, so the start-up message (user and database, in plain text) comes first.
        let mut first = vec![0u8; 8192];
        let Ok(n) = client.read(&mut first).await else {
            return;
        };
        first.truncate(n);
        let text = String::from_utf8_lossy(&first).into_owned();
        let is = move |db: &str| text.split('\0').any(|part| part == db);
        let frozen = self.frozen.clone();
        let held = move || frozen.lock().unwrap().as_deref().is_some_and(&is);
        let (mut cr, mut cw) = client.into_split();
        let (mut sr, mut sw) = server.into_split();
        let stalled = {
            let held = held.clone();
            move || {
                let held = held.clone();
                async move {
                    while held() {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        };
        stalled().await;
        if sw.write_all(&first).await.is_err() {
            return;
        }
        let up_stall = stalled.clone();
        let up = async move {
            let mut buf = vec![0u8; 16384];
            while let Ok(n @ 1..) = cr.read(&mut buf).await {
                up_stall().await;
                if sw.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        };
        let down = async move {
            let mut buf = vec![0u8; 16384];
            while let Ok(n @ 1..) = sr.read(&mut buf).await {
                stalled().await;
                if cw.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        };
        tokio::join!(up, down);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_tenant_database_answers_503_and_other_tenants_are_served() {
    let proxy = Proxy::default();
    let port = proxy.start().await;
    let p = platform()
        .env("TENANT_DB_PORT", &port.to_string())
        .env("REQUEST_DEADLINE_MS", "1500")
        .spawn()
        .await;
    let stuck = p.tenant("frozen").await;
    let steady = p.tenant("steady").await;
    for t in [&stuck, &steady] {
        let res = t.as_admin().get("/v1/tickets").send().await;
        assert_eq!(res.status(), 200, "both tenants served through the proxy");
    }

    proxy.freeze(Some(&stuck.db_name));
    let started = Instant::now();
    let res = stuck.as_admin().get("/v1/tickets").send().await;
    let elapsed = started.elapsed();
    let retry_after = res.headers().get("retry-after").cloned();
    assert_problem(res, 503, "service_unavailable").await;
    assert!(retry_after.is_some(), "a 503 says when to retry");
    eprintln!("frozen tenant answered 503 after {elapsed:?}");

    let res = steady.as_admin().get("/v1/tickets").send().await;
    assert_eq!(res.status(), 200, "the other tenant is unaffected");
    let res = steady
        .as_admin()
        .post("/v1/tickets")
        .json(&json!({"title": "t", "description": "d"}))
        .send()
        .await;
    assert_eq!(res.status(), 201, "the other tenant still writes");

    // Back in service once the partition heals: the stuck connection did not keep the slot.
    proxy.freeze(None);
    wait_until(
        "the thawed tenant answers again",
        WAIT_LIMIT,
        Duration::from_millis(200),
        || async {
            match stuck
                .as_admin()
                .get("/v1/tickets")
                .send()
                .await
                .status()
                .as_u16()
            {
                200 => Ok(()),
                other => Err(format!("status {other}")),
            }
        },
    )
    .await;
}
