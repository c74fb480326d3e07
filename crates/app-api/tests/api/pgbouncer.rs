//! Tenant traffic through a real pgbouncer in transaction mode (Debian's 1.18, configured
//! from `pgbouncer/pgbouncer-1.18.ini`): unnamed statements, per-database auth lookup
//! installed by provisioning, many concurrent reads and writes over several tenants.

use platform_harness::{TestTenant, pg_admin_url, pg_connect, platform, with_database};
use serde_json::json;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A pgbouncer the test started, with its own auth role; killed, its directory removed
/// and its role dropped when this is dropped (after the platform dropped the tenants).
struct Bouncer {
    child: Child,
    dir: PathBuf,
    port: u16,
    role: String,
    password: String,
}

fn installed() -> bool {
    Command::new("pgbouncer")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Host and port of the test PostgreSQL, from `TEST_PG_URL`.
fn pg_host_port() -> (String, u16) {
    let config: tokio_postgres::Config = pg_admin_url().parse().unwrap();
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".to_string(),
    };
    (host, config.get_ports().first().copied().unwrap_or(5432))
}

fn repo_file(path: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(path)).unwrap()
}

impl Bouncer {
    async fn start() -> Self {
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let role = format!("pgb_auth_{suffix}");
        let password = uuid::Uuid::new_v4().simple().to_string();
        // auth.sql as an operator applies it, for a role of this test's own.
        let admin = pg_connect(&pg_admin_url()).await.unwrap();
        admin
            .batch_execute(&repo_file("pgbouncer/auth.sql").replace("pgbouncer_auth", &role))
            .await
            .unwrap();
        admin
            .batch_execute(&format!("ALTER ROLE {role} PASSWORD '{password}'"))
            .await
            .unwrap();

        let dir = std::env::temp_dir().join(format!("pgbouncer-test-{suffix}"));
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let (pg_host, pg_port) = pg_host_port();
        let userlist = dir.join("userlist.txt");
        std::fs::write(&userlist, format!("\"{role}\" \"{password}\"\n")).unwrap();
        let ini = repo_file("pgbouncer/pgbouncer-1.18.ini")
            .replace(
                "* = host=postgres port=5432",
                &format!("* = host={pg_host} port={pg_port}"),
            )
            .replace("listen_addr = 0.0.0.0", "listen_addr = 127.0.0.1")
            .replace("listen_port = 6432", &format!("listen_port = {port}"))
            .replace(
                "auth_file = /etc/pgbouncer/userlist.txt",
                &format!("auth_file = {}", userlist.display()),
            )
            .replace("pgbouncer_auth", &role);
        let ini = format!(
            "{ini}unix_socket_dir =\nadmin_users = {role}\nlogfile = {}\n",
            dir.join("pgbouncer.log").display()
        );
        let ini_path = dir.join("pgbouncer.ini");
        std::fs::write(&ini_path, ini).unwrap();

        let mut cmd = Command::new("pgbouncer");
        // pgbouncer refuses to run as root; it switches to `-u` itself.
        if is_root() {
            chown_to_postgres(&dir);
            cmd.arg("-u").arg("postgres");
        }
        let child = cmd
            .arg(&ini_path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let bouncer = Self {
            child,
            dir,
            port,
            role,
            password,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "pgbouncer did not listen: {}",
                std::fs::read_to_string(bouncer.dir.join("pgbouncer.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bouncer
    }

    /// pgbouncer's own counters (`SHOW STATS` on its admin console): total transactions
    /// per database.
    async fn transactions(&self) -> Vec<(String, u64)> {
        let url = format!(
            "postgres://{}:{}@127.0.0.1:{}/pgbouncer",
            self.role, self.password, self.port
        );
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut out = Vec::new();
        for msg in client.simple_query("SHOW STATS").await.unwrap() {
            if let tokio_postgres::SimpleQueryMessage::Row(row) = msg {
                let db = row.get("database").unwrap_or_default().to_string();
                let xacts = row
                    .get("total_xact_count")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                out.push((db, xacts));
            }
        }
        out
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn chown_to_postgres(dir: &PathBuf) {
    let status = Command::new("chown")
        .args(["-R", "postgres:"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success(), "chown of the pgbouncer directory failed");
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        let role = self.role.clone();
        // The tenant databases (holding the role's grants) are gone by now; what is left
        // are its grants in `postgres`. A thread of its own: drop may run inside a runtime.
        let outcome = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let admin = pg_connect(&with_database(&pg_admin_url(), "postgres")).await?;
                admin
                    .batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE IF EXISTS {role}"))
                    .await?;
                anyhow::Ok(())
            })
        })
        .join();
        if let Ok(Err(e)) = outcome {
            eprintln!("pgbouncer test cleanup failed: {e:#}");
        }
    }
}

/// One client's mix: list, create, read back, comment, change status, and every third
/// round delete. Every status that is not the expected success is collected.
async fn client_session(t: &TestTenant, rounds: usize) -> (usize, Vec<String>) {
    let admin = t.as_admin();
    let mut sent = 0;
    let mut errors = Vec::new();
    let mut check = |what: &str, status: u16, want: u16| {
        sent += 1;
        if status != want {
            errors.push(format!("{what}: {status}"));
        }
    };
    for round in 0..rounds {
        let res = admin.get("/v1/tickets?per_page=10").send().await;
        check("list", res.status().as_u16(), 200);
        let res = admin
            .post("/v1/tickets")
            .json(&json!({"title": format!("through pgbouncer {round}"), "description": "d"}))
            .send()
            .await;
        let status = res.status().as_u16();
        check("create", status, 201);
        if status != 201 {
            continue;
        }
        let id = res.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let res = admin.get(&format!("/v1/tickets/{id}")).send().await;
        check("get", res.status().as_u16(), 200);
        let res = admin
            .post(&format!("/v1/tickets/{id}/comments"))
            .json(&json!({"body": "a comment"}))
            .send()
            .await;
        check("comment", res.status().as_u16(), 201);
        let res = admin
            .patch(&format!("/v1/tickets/{id}"))
            .json(&json!({"status": "in_progress"}))
            .send()
            .await;
        check("update", res.status().as_u16(), 200);
        let res = admin.get("/v1/users/me").send().await;
        check("me", res.status().as_u16(), 200);
        if round % 3 == 0 {
            let res = admin.delete(&format!("/v1/tickets/{id}")).send().await;
            check("delete", res.status().as_u16(), 204);
        }
    }
    (sent, errors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_traffic_through_transaction_pooling_pgbouncer_has_no_errors() {
    if !installed() {
        eprintln!("skipped: pgbouncer is not installed (scripts/test.sh installs Debian's)");
        return;
    }
    // Declared before the platform, so dropped after it: the tenant databases go first.
    let bouncer = Bouncer::start().await;
    let p = platform()
        .env("TENANT_DB_HOST", "127.0.0.1")
        .env("TENANT_DB_PORT", &bouncer.port.to_string())
        .env("TENANT_DB_STATEMENTS", "unnamed")
        .env("TENANT_DB_POOLER_AUTH_ROLE", &bouncer.role)
        .spawn()
        .await;
    let mut tenants = Vec::new();
    // Enterprise: its plan rate (burst 500) is far above this test's traffic, which on a fast
    // machine outruns the default plan's 100/s and would be refused 429 `rate_limited`.
    for i in 0..4 {
        tenants.push(p.tenant_on_plan(&format!("bounce{i}"), "enterprise").await);
    }

    // 16 concurrent clients, four per tenant (within POOL_MAX_PER_TENANT, so no 429 is
    // expected either), each running 12 rounds of reads and writes.
    let sessions = (0..16).map(|c| client_session(&tenants[c % tenants.len()], 12));
    let results = futures::future::join_all(sessions).await;
    let sent: usize = results.iter().map(|(n, _)| n).sum();
    let errors: Vec<&String> = results.iter().flat_map(|(_, e)| e).collect();
    eprintln!(
        "pgbouncer: {sent} requests over {} tenants, {} errors",
        tenants.len(),
        errors.len()
    );
    assert!(errors.is_empty(), "{} of {sent}: {errors:?}", errors.len());

    // The traffic really went through pgbouncer: it counted transactions in every tenant
    // database, at least one per request sent.
    let stats = bouncer.transactions().await;
    let mut through = 0;
    for t in &tenants {
        let db = stats
            .iter()
            .find(|(db, _)| *db == t.db_name)
            .unwrap_or_else(|| panic!("pgbouncer never served {}: {stats:?}", t.slug));
        assert!(db.1 > 0, "{stats:?}");
        through += db.1;
    }
    assert!(
        through as usize >= sent,
        "{through} transactions through pgbouncer for {sent} requests"
    );
}
