//! Creating a test's control database and dropping everything carrying its names
//! afterwards: databases, roles, Redis keys, even when the test panics.

use crate::env::{TestNames, pg_admin_url, redis_url, with_database};
use crate::store::pg_connect;

/// Creates an empty database; returns its superuser URL.
pub async fn create_database(name: &str) -> anyhow::Result<String> {
    let admin = pg_connect(&pg_admin_url()).await?;
    admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    Ok(with_database(&pg_admin_url(), name))
}

/// Drops the control database, every database and role with the tenant prefix, every
/// Redis key with the prefix, and the test's backup directory.
pub async fn drop_everything(names: &TestNames) -> anyhow::Result<()> {
    let _ = std::fs::remove_dir_all(&names.backup_dir);
    let admin = pg_connect(&pg_admin_url()).await?;
    let like = names.tenant_like();
    // Databases first: a role cannot be dropped while it owns one. A spare database being
    // copied when the control plane was aborted appears after a listing; a pass that found
    // spares (`_sp_`) looks again once the aborted refill is surely gone.
    // A drop can also fail while an aborted refill still copies from the template: such a
    // pass is repeated too, and only the last one's error is returned.
    for pass in 0..5 {
        match drop_databases(&admin, names).await {
            Ok(false) => break,
            Err(e) if pass == 4 => return Err(e),
            Ok(true) | Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    }
    // The control database before the roles: a role granted something there (the app
    // plane's read-only registry role) cannot be dropped while those grants exist.
    admin
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            names.control_db
        ))
        .await?;
    for row in admin
        .query(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE $1",
            &[&like],
        )
        .await?
    {
        let name: String = row.get(0);
        admin
            .batch_execute(&format!("DROP ROLE IF EXISTS \"{name}\""))
            .await?;
    }
    drop_redis_keys(&names.redis_prefix).await
}

/// Ends copies into databases of the prefix, then drops every database of the prefix;
/// whether any was a spare.
async fn drop_databases(admin: &tokio_postgres::Client, names: &TestNames) -> anyhow::Result<bool> {
    // A cancelled CREATE DATABASE leaves nothing behind.
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE pid <> pg_backend_pid() AND starts_with(query, 'CREATE DATABASE \"' || $1)",
            &[&names.tenant_prefix],
        )
        .await?;
    let spare = format!("{}_sp_", names.tenant_prefix);
    let mut spares = false;
    for row in admin
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE $1",
            &[&names.tenant_like()],
        )
        .await?
    {
        let name: String = row.get(0);
        spares |= name.starts_with(&spare);
        // The provisioner's migrated template cannot be dropped while it is one.
        let _ = admin
            .batch_execute(&format!("ALTER DATABASE \"{name}\" WITH IS_TEMPLATE false"))
            .await;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await?;
    }
    Ok(spares)
}

/// Deletes every Redis key containing `prefix`, and the prefix's queues from apalis's
/// global queue list.
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
