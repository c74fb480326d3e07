//! Test harness shared by the services' integration tests. Every test gets its own
//! uniquely named databases and Redis key prefix, so tests run in parallel against one
//! PostgreSQL and one Redis, and a `Cleanup` guard drops all of it afterwards, even when
//! the test panics.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use tokio_postgres::NoTls;

/// Superuser URL of the test PostgreSQL (`TEST_PG_URL`, default local trust auth).
pub fn pg_admin_url() -> String {
    std::env::var("TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// URL of the test Redis (`TEST_REDIS_URL`, default local).
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Eight random hex characters.
pub fn suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("URL has a path");
    let query = url
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{base}/{db}{query}")
}

/// Connects with tokio-postgres and drives the connection in the background.
pub async fn pg_connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Names one test's resources.
#[derive(Debug, Clone)]
pub struct TestNames {
    pub suffix: String,
    /// The control database.
    pub control_db: String,
    /// Prefix of the tenant databases and roles this test creates.
    pub tenant_prefix: String,
    /// Prefix of this test's Redis keys and channels.
    pub redis_prefix: String,
}

impl TestNames {
    pub fn new() -> Self {
        let s = suffix();
        Self {
            control_db: format!("tt_ctl_{s}"),
            tenant_prefix: format!("tt{s}_"),
            redis_prefix: format!("test-{s}"),
            suffix: s,
        }
    }
}

impl Default for TestNames {
    fn default() -> Self {
        Self::new()
    }
}

/// Creates an empty database.
pub async fn create_database(name: &str) -> anyhow::Result<String> {
    let admin = pg_connect(&pg_admin_url()).await?;
    admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    Ok(with_database(&pg_admin_url(), name))
}

/// Drops the control database, every database and role with the tenant prefix, and every
/// Redis key with the prefix.
pub async fn drop_everything(names: &TestNames) -> anyhow::Result<()> {
    let admin = pg_connect(&pg_admin_url()).await?;
    let like = format!("{}%", names.tenant_prefix.replace('_', "\\_"));
    let dbs = admin
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE $1",
            &[&like],
        )
        .await?;
    for row in dbs {
        let db: String = row.get(0);
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
            .await?;
    }
    let roles = admin
        .query(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE $1",
            &[&like],
        )
        .await?;
    for row in roles {
        let role: String = row.get(0);
        admin
            .batch_execute(&format!("DROP ROLE IF EXISTS \"{role}\""))
            .await?;
    }
    admin
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            names.control_db
        ))
        .await?;
    drop_redis_keys(&names.redis_prefix).await
}

/// Every Redis key containing `prefix`, with its value rendered as text (any type).
pub async fn redis_dump(prefix: &str) -> anyhow::Result<Vec<(String, String)>> {
    let client = redis::Client::open(redis_url())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("*{prefix}*"))
        .query_async(&mut conn)
        .await?;
    let mut out = Vec::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE").arg(&key).query_async(&mut conn).await?;
        let value: redis::Value = match kind.as_str() {
            "string" => redis::cmd("GET").arg(&key).query_async(&mut conn).await?,
            "hash" => {
                redis::cmd("HGETALL")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await?
            }
            "list" => {
                redis::cmd("LRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut conn)
                    .await?
            }
            "set" => {
                redis::cmd("SMEMBERS")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await?
            }
            "zset" => {
                redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query_async(&mut conn)
                    .await?
            }
            "stream" => {
                redis::cmd("XRANGE")
                    .arg(&key)
                    .arg("-")
                    .arg("+")
                    .query_async(&mut conn)
                    .await?
            }
            _ => redis::Value::Nil,
        };
        out.push((key, render(&value)));
    }
    Ok(out)
}

fn render(v: &redis::Value) -> String {
    match v {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        redis::Value::SimpleString(s) => s.clone(),
        redis::Value::Array(items) | redis::Value::Set(items) => {
            items.iter().map(render).collect::<Vec<_>>().join("\n")
        }
        redis::Value::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| format!("{}={}", render(k), render(v)))
            .collect::<Vec<_>>()
            .join("\n"),
        other => format!("{other:?}"),
    }
}

/// Deletes every Redis key containing `prefix`.
pub async fn drop_redis_keys(prefix: &str) -> anyhow::Result<()> {
    let client = redis::Client::open(redis_url())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("*{prefix}*"))
        .query_async(&mut conn)
        .await?;
    if !keys.is_empty() {
        redis::cmd("DEL")
            .arg(keys)
            .query_async::<()>(&mut conn)
            .await?;
    }
    // apalis-redis lists every queue's workers key in one global set, outside any prefix.
    let queues: Vec<String> = redis::cmd("ZRANGE")
        .arg(APALIS_QUEUES)
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await?;
    let ours: Vec<&String> = queues.iter().filter(|q| q.contains(prefix)).collect();
    if !ours.is_empty() {
        redis::cmd("ZREM")
            .arg(APALIS_QUEUES)
            .arg(ours)
            .query_async::<()>(&mut conn)
            .await?;
    }
    Ok(())
}

const APALIS_QUEUES: &str = "core:apalis:queues:list";

/// Drops a test's resources when dropped, on its own thread and runtime so it also runs
/// while a panicking test unwinds.
pub struct Cleanup(pub TestNames);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let names = self.0.clone();
        let outcome = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(drop_everything(&names)))
        })
        .join();
        if let Ok(Err(e)) = outcome {
            eprintln!("test cleanup failed: {e:#}");
        }
    }
}

/// Everything logged by the process since start, captured for "never logged" assertions.
/// `TEST_LOG=1` also echoes it to stderr.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// The process-wide capture (the first call installs it as the writer).
    pub fn global() -> &'static LogCapture {
        static CAPTURE: OnceLock<LogCapture> = OnceLock::new();
        CAPTURE.get_or_init(LogCapture::default)
    }

    pub fn contents(&self) -> String {
        let buf = self.0.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&buf).into_owned()
    }
}

pub struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if std::env::var("TEST_LOG").is_ok_and(|v| v == "1") {
            let _ = std::io::stderr().write_all(buf);
        }
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = CaptureWriter;

    fn make_writer(&'a self) -> Self::Writer {
        CaptureWriter(self.0.clone())
    }
}
