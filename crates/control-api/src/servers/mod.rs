//! Database servers: the names they go by, placing a new tenant on one, registering the
//! `default` server from `TENANT_DB_*` at start-up, and reaching each one's admin role
//! (`Servers`, a small cache of one provisioner, i.e. one admin pool, per server).
//!
//! A server's admin URL is sealed with the platform keyring and bound to
//! `db-server:<name>`, so a ciphertext copied onto another server's row, or a tenant's,
//! does not open. It is opened only here, to build that server's provisioner, and never
//! written to a response, a log line or Redis.

pub(crate) mod name;
pub(crate) mod ops;
mod placement;
pub(crate) mod probe;

pub(crate) use name::ServerName;
pub(crate) use placement::place;

use crate::provisioner::Provisioner;
use crate::repo::servers::{self, DbServer};
use crate::settings::Settings;
use anyhow::Context;
use sea_orm::DatabaseConnection;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tenancy_core::crypto::{Keyring, Sealed};

/// The server every deployment has: the one `TENANT_DB_ADMIN_URL` names.
pub(crate) const DEFAULT_SERVER: &str = "default";

/// Capacity (tenants) of a server added without `--capacity` / `capacity`.
pub(crate) const DEFAULT_CAPACITY: i32 = 1000;

tenancy_core::text_enum! {
    /// Whether new tenants may be placed on a server.
    #[derive(utoipa::ToSchema)]
    pub enum ServerState as "server state" {
        Accepting = "accepting",
        Draining = "draining",
    }
}

/// The associated data a server's admin URL is sealed under.
fn aad(name: &str) -> Vec<u8> {
    format!("db-server:{name}").into_bytes()
}

/// Seals an admin URL for the server `name`.
pub(crate) fn seal_admin_url(keyring: &Keyring, name: &str, url: &SecretString) -> Sealed {
    keyring.seal_for(&aad(name), url)
}

/// Checks an admin URL before it is stored: a `postgres://` URL with a host. The error
/// never repeats the URL (it may hold a password).
pub(crate) fn check_admin_url(url: &SecretString) -> Result<(), &'static str> {
    let parsed = url::Url::parse(url.expose_secret()).map_err(|_| "is not a URL")?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err("must be a postgres:// URL");
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("must name a host");
    }
    Ok(())
}

/// Registers `default` from `TENANT_DB_ADMIN_URL` / `TENANT_DB_HOST` / `TENANT_DB_PORT`,
/// or refreshes its address and admin URL, so a one-server deployment needs nothing more.
/// Connects to nothing but the control database: the tenant server may be down.
pub(crate) async fn register_default(
    db: &DatabaseConnection,
    keyring: &Keyring,
    admin_url: &SecretString,
    host: &str,
    port: u16,
) -> anyhow::Result<()> {
    let sealed = seal_admin_url(keyring, DEFAULT_SERVER, admin_url);
    servers::upsert_default(
        db,
        DEFAULT_SERVER,
        host,
        port,
        sealed.bytes,
        sealed.key_version,
    )
    .await
    .context("registering the default database server")
}

/// Each server's provisioner by name, with the sealed admin URL it was built from.
type ProvisionerCache = HashMap<String, (Vec<u8>, Provisioner)>;

/// One provisioner per server, built on first use from its row and rebuilt when the row's
/// sealed admin URL changes (a refresh at start-up, a re-registration).
#[derive(Clone)]
pub(crate) struct Servers {
    db: DatabaseConnection,
    settings: Arc<Settings>,
    cache: Arc<Mutex<ProvisionerCache>>,
    /// Woken when a spare database was claimed, so the refill replaces it at once.
    pub(crate) spare_claimed: Arc<tokio::sync::Notify>,
}

impl Servers {
    pub(crate) fn new(db: DatabaseConnection, settings: Arc<Settings>) -> Self {
        Self {
            db,
            settings,
            cache: Arc::default(),
            spare_claimed: Arc::default(),
        }
    }

    /// The provisioner of server `name` (its admin pool connects lazily).
    pub(crate) async fn provisioner(&self, name: &str) -> anyhow::Result<Provisioner> {
        let row = servers::find(&self.db, name)
            .await?
            .with_context(|| format!("no database server `{name}`"))?;
        self.for_row(&row).await
    }

    /// The provisioner of a server row already read.
    pub(crate) async fn for_row(&self, row: &DbServer) -> anyhow::Result<Provisioner> {
        let bytes = row
            .admin_url_sealed
            .clone()
            .with_context(|| format!("database server `{}` has no admin URL yet", row.name))?;
        if let Some((sealed, p)) = self.lock().get(&row.name)
            && *sealed == bytes
        {
            return Ok(p.clone());
        }
        let url = self
            .settings
            .keyring
            .open_for(
                &aad(&row.name),
                &Sealed {
                    key_version: row.admin_key_version.unwrap_or_default(),
                    bytes: bytes.clone(),
                },
            )
            .with_context(|| format!("opening the admin URL of database server `{}`", row.name))?;
        let p = Provisioner::connect(url, &self.settings.tenant_db_prefix, &row.name)
            .await?
            .with_pooler_auth_role(self.settings.tenant_db_pooler_auth_role.clone())
            .with_spares(self.settings.provision_spares);
        self.lock().insert(row.name.clone(), (bytes, p.clone()));
        Ok(p)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ProvisionerCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Servers {
    /// Pings every registered server's admin role (readiness): each server's name and answer.
    pub(crate) async fn ping_all(&self) -> Vec<(String, tenancy_core::http::health::Check)> {
        use tenancy_core::http::health::Check;
        let rows = match servers::list(&self.db).await {
            Ok(rows) => rows,
            Err(e) => {
                let failed = Check::run(std::future::ready(Err::<(), _>(e.to_string()))).await;
                return vec![("registry".into(), failed)];
            }
        };
        let pings = rows.iter().map(|row| async move {
            let check = Check::run(async {
                let p = self.for_row(row).await.map_err(|e| format!("{e:#}"))?;
                p.ping().await.map_err(|e| e.to_string())
            })
            .await;
            (row.name.clone(), check)
        });
        futures::future::join_all(pings).await
    }
}
