//! `control-api servers add NAME --host H --port P --admin-url-stdin [--capacity N]`,
//! `servers list`, `servers drain NAME`: the same operations as `/v1/servers`.

use super::ServersCommand;
use crate::audit;
use crate::repo::servers;
use crate::servers::ops::{self, NewServer};
use crate::settings::Settings;
use crate::startup;
use anyhow::Context;
use secrecy::SecretString;
use std::io::Read;
use tenancy_core::ApiError;
use tenancy_core::config::ProcessEnv;

/// An operation's refusal as one line: its detail and each field's complaint.
fn refused(e: ApiError) -> anyhow::Error {
    let fields: Vec<String> = e
        .errors
        .iter()
        .map(|f| format!("{} {}", f.field, f.message))
        .collect();
    if fields.is_empty() {
        anyhow::anyhow!("{}", e.detail)
    } else {
        anyhow::anyhow!("{}: {}", e.detail, fields.join("; "))
    }
}

pub async fn run(command: ServersCommand) -> anyhow::Result<()> {
    let settings = Settings::from_env(&ProcessEnv)?;
    startup::ensure_control_database(&settings.control_database_url).await?;
    let db = startup::connect_control_db(&settings.control_database_url).await?;
    startup::migrate(&db).await?;
    crate::servers::register_default(
        &db,
        &settings.keyring,
        &settings.tenant_db_admin_url,
        &settings.tenant_db_host,
        settings.tenant_db_port,
    )
    .await?;
    match command {
        ServersCommand::Add {
            name,
            host,
            port,
            admin_url_stdin: _,
            capacity,
        } => {
            let mut input = String::new();
            std::io::stdin()
                .take(4096)
                .read_to_string(&mut input)
                .context("reading the admin URL from standard input")?;
            let admin_url = SecretString::from(input.trim().to_string());
            let (server, major) = ops::add(
                &db,
                &audit::Context::cli(),
                &settings.keyring,
                NewServer {
                    name: &name,
                    host: &host,
                    port: port.into(),
                    admin_url: &admin_url,
                    capacity: Some(capacity.into()),
                },
            )
            .await
            .map_err(refused)?;
            println!(
                "database server {} ({}:{}, PostgreSQL {major}) registered, accepting up to {} tenants",
                server.name, server.host, server.port, server.capacity
            );
        }
        ServersCommand::List => {
            println!("NAME\tHOST\tPORT\tSTATE\tTENANTS\tCAPACITY");
            for s in servers::list(&db).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    s.name, s.host, s.port, s.state, s.tenants, s.capacity
                );
            }
        }
        ServersCommand::Drain { name } => {
            let server = ops::update(&db, &audit::Context::cli(), &name, Some("draining"), None)
                .await
                .map_err(refused)?;
            println!(
                "database server {} is draining: no new tenants; its {} tenant(s) stay",
                server.name, server.tenants
            );
        }
    }
    Ok(())
}
