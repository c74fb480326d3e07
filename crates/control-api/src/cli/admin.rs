//! `control-api admin create --email E --password-stdin`.

use crate::audit::{self, Action, Entry};
use crate::repo::admins::{self, Upserted};
use crate::settings;
use crate::startup;
use anyhow::{Context, bail};
use sea_orm::TransactionTrait;
use secrecy::SecretString;
use serde_json::json;
use std::io::Read;
use tenancy_core::config::ProcessEnv;
use tenancy_core::domain::Email;
use tenancy_core::password;

pub async fn create(raw_email: &str) -> anyhow::Result<()> {
    let email = Email::parse(raw_email)
        .map_err(|_| anyhow::anyhow!("--email is not a valid email address"))?;
    let mut input = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut input)
        .context("reading the password from standard input")?;
    // A trailing newline from `echo` or a terminal is not part of the password.
    let password = SecretString::from(input.trim_end_matches(['\n', '\r']).to_string());
    if let Err(msg) = password::check_length(&password) {
        bail!("password {msg}");
    }
    let hash = tokio::task::spawn_blocking(move || password::hash(&password)).await??;
    let url = settings::control_database_url(&ProcessEnv)?;
    startup::ensure_control_database(&url).await?;
    let db = startup::connect_control_db(&url).await?;
    startup::migrate(&db).await?;
    let txn = db.begin().await?;
    let action = match admins::upsert(&txn, &email, hash).await? {
        Upserted::Created => Action::AdminCreate,
        Upserted::Reset => Action::AdminReset,
    };
    // A reset changes the password (never recorded) and revokes the admin's tokens.
    let changes = match action {
        Action::AdminCreate => json!({"before": {}, "after": {"email": email.as_str()}}),
        _ => json!({"email": email.as_str(), "sessions_revoked": true}),
    };
    audit::record(
        &txn,
        &audit::Context::cli(),
        Entry::new(action).changes(changes),
    )
    .await?;
    txn.commit().await?;
    println!("super-admin {email} is ready");
    Ok(())
}
