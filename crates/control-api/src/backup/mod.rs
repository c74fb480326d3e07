//! Encrypted per-tenant backups: `pg_dump -Fc` of the tenant database piped through the
//! STREAM AEAD ([`stream`]) into `BACKUP_DIR`, and back out into `pg_restore`. The plain
//! dump only ever exists in pipe buffers and 64 KiB chunks in memory, never on disk.
//!
//! Each backup has its own random 256-bit data key, sealed with the platform keyring under
//! the associated data `backup:<id>` and stored on the backup's row: rotating `MASTER_KEY`
//! keeps old backups readable while the old key is configured, and a key copied onto
//! another row does not open. Both tools log in as the tenant's own role, so a backup holds
//! exactly what the tenant owns and a restore creates everything owned by it.

mod copy;
pub(crate) mod stream;
mod tools;

use crate::provisioner::Provisioner;
use crate::repo::backups::{Backup, file_name};
use crate::repo::tenants::Tenant;
use crate::state::AppState;
use anyhow::Context;
use migrations_tenant::Migrator;
use sea_orm_migration::MigratorTrait;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::process::Stdio;
use tenancy_core::crypto::Sealed;
use tokio::io::{AsyncReadExt, BufReader, BufWriter};
use tools::PgTools;
use uuid::Uuid;

pub(crate) use copy::{CopyFailed, CopyJob, copy};
pub(crate) use stream::Refusal;

/// Schema of the tenant's own objects that are not the tenant's data: the pooler's password
/// lookup (installed by the provisioner into every new database, the restored one too).
const EXCLUDED_SCHEMA: &str = "--exclude-schema=pgbouncer";

/// A restore that cannot succeed by trying again; the job fails at once and the tenant
/// goes back to `active` on its current database.
#[derive(Debug, thiserror::Error)]
#[error("restore refused or failed; the tenant keeps its current data")]
pub(crate) struct RestoreFailed;

/// Whether a job's error is one another attempt cannot fix.
pub(crate) fn is_final(err: &anyhow::Error) -> bool {
    err.downcast_ref::<RestoreFailed>().is_some() || err.downcast_ref::<Refusal>().is_some()
}

/// The tenant role's password, opened from the registry row.
pub(crate) fn tenant_password(state: &AppState, tenant: &Tenant) -> anyhow::Result<SecretString> {
    let sealed = Sealed {
        key_version: tenant
            .db_key_version
            .context("tenant has no database credentials")?,
        bytes: tenant
            .db_password_sealed
            .clone()
            .context("tenant has no database credentials")?,
    };
    state
        .settings
        .keyring
        .open(tenant.id, &sealed)
        .context("decrypting the tenant's database password")
}

/// The provisioner of the database server holding the tenant's database.
pub(crate) async fn server_of(state: &AppState, tenant: &Tenant) -> anyhow::Result<Provisioner> {
    state.servers.provisioner(&tenant.server).await
}

fn path_of(state: &AppState, backup_id: Uuid) -> PathBuf {
    state.settings.backup_dir.join(file_name(backup_id))
}

fn key_aad(backup_id: Uuid) -> Vec<u8> {
    format!("backup:{backup_id}").into_bytes()
}

/// A fresh data key for one backup, and the same key sealed for its row.
pub(crate) fn new_data_key(state: &AppState, backup_id: Uuid) -> (SecretBox<[u8; 32]>, Sealed) {
    let key = SecretBox::new(Box::new(rand::random::<[u8; 32]>()));
    let sealed = state
        .settings
        .keyring
        .seal_bytes(&key_aad(backup_id), key.expose_secret());
    (key, sealed)
}

fn open_data_key(state: &AppState, backup: &Backup) -> anyhow::Result<SecretBox<[u8; 32]>> {
    let sealed = Sealed {
        key_version: backup
            .data_key_version
            .context("backup has no key version")?,
        bytes: backup
            .data_key_sealed
            .clone()
            .context("backup has no data key")?,
    };
    let plain = state
        .settings
        .keyring
        .open_bytes(&key_aad(backup.id), &sealed)
        .context("opening the backup's data key")?;
    let key: [u8; 32] = plain
        .expose_secret()
        .as_slice()
        .try_into()
        .context("the backup's data key has the wrong length")?;
    Ok(SecretBox::new(Box::new(key)))
}

async fn tools_for(state: &AppState, server: &Provisioner) -> anyhow::Result<PgTools> {
    let tools = PgTools::locate(state.settings.pg_bin_dir.as_deref()).await;
    tools.check(server.server_major().await?).await?;
    Ok(tools)
}

/// Dumps the tenant's database into backup `backup_id`'s file under `key`: written to a
/// temporary name, synced, then renamed, so the file is either whole or absent.
pub(crate) async fn dump(
    state: &AppState,
    tenant: &Tenant,
    password: &SecretString,
    backup_id: Uuid,
    key: &SecretBox<[u8; 32]>,
) -> anyhow::Result<stream::Written> {
    let server = &server_of(state, tenant).await?;
    let tools = tools_for(state, server).await?;
    let dir = &state.settings.backup_dir;
    tokio::fs::create_dir_all(dir)
        .await
        .with_context(|| format!("creating BACKUP_DIR {}", dir.display()))?;
    let (done, partial) = (
        path_of(state, backup_id),
        dir.join(format!(".{backup_id}.partial")),
    );
    let env = server.libpq_env(&tenant.db_name, &tenant.db_role, password)?;
    let written = async {
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)
            .await
            .context("creating the backup file")?;
        let mut child = tools.spawn(
            "pg_dump",
            &[
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                EXCLUDED_SCHEMA,
            ],
            &env,
            Stdio::null(),
            Stdio::piped(),
        )?;
        let out = child.stdout.take().context("pg_dump has no stdout")?;
        let (sealed, ran) = tokio::join!(
            stream::seal(
                key.expose_secret(),
                backup_id,
                out,
                BufWriter::new(&mut file)
            ),
            tools::finish("pg_dump", child)
        );
        // The tool's own complaint says more than the broken pipe it caused.
        ran?;
        let written = sealed.context("encrypting the dump")?;
        file.sync_all().await.context("syncing the backup file")?;
        anyhow::Ok(written)
    }
    .await;
    match written {
        Ok(w) => {
            tokio::fs::rename(&partial, &done)
                .await
                .context("moving the backup file into place")?;
            Ok(w)
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&partial).await;
            Err(e)
        }
    }
}

/// Checks a backup end to end before anything is touched: a schema this platform knows,
/// the file's size and SHA-256 as recorded, and every chunk authentic. Returns its key.
pub(crate) async fn verify(
    state: &AppState,
    backup: &Backup,
) -> anyhow::Result<SecretBox<[u8; 32]>> {
    let version = backup
        .schema_version
        .as_deref()
        .context("the backup records no schema version")?;
    if !schema_known(version) {
        anyhow::bail!(
            "the backup's schema `{version}` is newer than (or unknown to) this platform's migrations"
        );
    }
    let path = path_of(state, backup.id);
    let mut file = tokio::fs::File::open(&path)
        .await
        .with_context(|| format!("opening the backup file {}", path.display()))?;
    let mut hash = Sha256::new();
    let (mut buf, mut size) = (vec![0u8; 256 * 1024], 0u64);
    loop {
        let n = file
            .read(&mut buf)
            .await
            .context("reading the backup file")?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        size += n as u64;
    }
    let want_size = backup.size_bytes.and_then(|s| u64::try_from(s).ok());
    if Some(size) != want_size || backup.sha256.as_deref() != Some(hash.finalize().as_slice()) {
        anyhow::bail!("the backup file's size or SHA-256 differs from the recorded one");
    }
    let key = open_data_key(state, backup)?;
    let file = tokio::fs::File::open(&path).await?;
    stream::open(
        key.expose_secret(),
        backup.id,
        BufReader::new(file),
        tokio::io::sink(),
    )
    .await?;
    Ok(key)
}

/// Whether `version` is one of the tenant migrations this build knows (so the restored
/// database can be brought forward, never left ahead of the code).
pub(crate) fn schema_known(version: &str) -> bool {
    Migrator::migrations().iter().any(|m| m.name() == version)
}

/// Restores the backup into `target` (empty, owned by the tenant role) through
/// `pg_restore` reading the decrypted stream on its standard input, in one transaction.
pub(crate) async fn load(
    state: &AppState,
    tenant: &Tenant,
    password: &SecretString,
    backup: &Backup,
    key: &SecretBox<[u8; 32]>,
    target: &str,
) -> anyhow::Result<()> {
    let server = &server_of(state, tenant).await?;
    let tools = tools_for(state, server).await?;
    let env = server.libpq_env(target, &tenant.db_role, password)?;
    let file = tokio::fs::File::open(path_of(state, backup.id))
        .await
        .context("opening the backup file")?;
    let mut child = tools.spawn(
        "pg_restore",
        &[
            "--dbname",
            target,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
        ],
        &env,
        Stdio::piped(),
        Stdio::null(),
    )?;
    let input = child.stdin.take().context("pg_restore has no stdin")?;
    let (fed, ran) = tokio::join!(
        stream::open(key.expose_secret(), backup.id, BufReader::new(file), input),
        tools::finish("pg_restore", child)
    );
    // A refused chunk explains pg_restore's complaint about the archive ending early.
    if let Err(e) = &fed
        && e.downcast_ref::<Refusal>().is_some()
    {
        return fed.map(drop);
    }
    ran?;
    fed.context("decrypting the backup")?;
    Ok(())
}
