//! The command line: `control-api [serve]`, `worker`, `migrate`, `tenants migrate`,
//! `tenants backup`, `tenants restore`, `tenants move`, `servers add|list|drain`, `admin create`, `audit`.

mod admin;
mod audit;
mod servers;
mod tenants_backup;
mod tenants_migrate;
mod tenants_move;

use crate::settings::{self, Settings};
use crate::startup::{self, Application};
use anyhow::Context;
use clap::{Parser, Subcommand};
use tenancy_core::config::ProcessEnv;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "control-api",
    version,
    about = "Tenant registry API and provisioning worker"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default); also runs the provisioning worker unless --no-worker.
    Serve {
        /// Do not run the provisioning worker in this process.
        #[arg(long)]
        no_worker: bool,
    },
    /// Run the provisioning worker alone (to scale workers separately).
    Worker,
    /// Apply pending control-schema migrations and exit.
    Migrate,
    /// Tenant database operations.
    Tenants {
        #[command(subcommand)]
        command: TenantsCommand,
    },
    /// Database servers tenants are placed on.
    Servers {
        #[command(subcommand)]
        command: ServersCommand,
    },
    /// Super-admin accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the audit log, newest first, one entry per line.
    Audit {
        /// Only entries about the tenant with this slug.
        #[arg(long)]
        tenant: Option<String>,
        /// Only entries by this actor (an admin's email, `cli` or `system`).
        #[arg(long)]
        actor: Option<String>,
        /// Only entries of this action (such as `tenant.suspend`).
        #[arg(long)]
        action: Option<String>,
        /// Only entries at or after this time: RFC 3339 or a date (midnight UTC).
        #[arg(long)]
        since: Option<String>,
        /// At most this many entries.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Subcommand)]
pub enum TenantsCommand {
    /// Apply pending tenant-schema migrations to every live tenant database; resumable
    /// (each database records what it has applied) and reported per tenant.
    Migrate {
        /// How many tenant databases to migrate at once on each database server.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Only the tenants on this database server.
        #[arg(long)]
        server: Option<String>,
    },
    /// Write an encrypted backup of the tenant's database to BACKUP_DIR; waits for it.
    Backup {
        /// The tenant's slug.
        slug: String,
    },
    /// Replace the tenant's data with one of its backups (the tenant is `moving` meanwhile;
    /// on failure it keeps its current data); waits for it.
    Restore {
        /// The tenant's slug.
        slug: String,
        /// The backup's id (`GET /v1/tenants/{slug}/backups`).
        #[arg(long)]
        backup: String,
    },
    /// Move the tenant's database to another database server (the tenant is `moving`
    /// meanwhile; on failure it stays on its current server); waits for it.
    Move {
        /// The tenant's slug.
        slug: String,
        /// The database server to move to (`servers list`).
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
pub enum ServersCommand {
    /// Register a database server new tenants may be placed on.
    Add {
        /// Its name (lowercase letters, digits, single hyphens; starts with a letter).
        name: String,
        /// The host apps connect to for its tenant databases (PostgreSQL or pgbouncer).
        #[arg(long)]
        host: String,
        /// The port apps connect to.
        #[arg(long)]
        port: u16,
        /// Read the admin URL (a role with CREATEDB and CREATEROLE) from standard input
        /// (required: it holds a password, which never goes on the command line).
        #[arg(long, required = true)]
        admin_url_stdin: bool,
        /// How many tenants it may hold.
        #[arg(long, default_value_t = crate::servers::DEFAULT_CAPACITY)]
        capacity: i32,
    },
    /// List the database servers with their state, capacity and tenant count.
    List,
    /// Stop placing new tenants on a server (its tenants stay where they are).
    Drain { name: String },
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create a super-admin, or reset the password of an existing one.
    Create {
        #[arg(long)]
        email: String,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve { no_worker: false }) {
        Command::Serve { no_worker } => {
            let mut settings = Settings::from_env(&ProcessEnv)?;
            settings.run_worker = !no_worker;
            let app = Application::build(settings).await?;
            tracing::info!(port = app.port(), "control-api listening");
            app.start().until_signal().await
        }
        Command::Worker => {
            let settings = Settings::from_env(&ProcessEnv)?;
            let state = startup::build_state(settings).await?;
            let shutdown = CancellationToken::new();
            let worker = tokio::spawn(crate::jobs::run_worker(state, shutdown.clone()));
            startup::shutdown_signal().await;
            shutdown.cancel();
            worker.await.context("worker task")?
        }
        Command::Migrate => {
            let url = settings::control_database_url(&ProcessEnv)?;
            startup::ensure_control_database(&url).await?;
            let db = startup::connect_control_db(&url).await?;
            startup::migrate(&db).await?;
            println!("control database is up to date");
            Ok(())
        }
        Command::Tenants {
            command:
                TenantsCommand::Migrate {
                    concurrency,
                    server,
                },
        } => tenants_migrate::run(concurrency, server).await,
        Command::Tenants {
            command: TenantsCommand::Backup { slug },
        } => tenants_backup::backup(&slug).await,
        Command::Tenants {
            command: TenantsCommand::Restore { slug, backup },
        } => tenants_backup::restore(&slug, &backup).await,
        Command::Tenants {
            command: TenantsCommand::Move { slug, to },
        } => tenants_move::run(&slug, &to).await,
        Command::Servers { command } => servers::run(command).await,
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    password_stdin: _,
                },
        } => admin::create(&email).await,
        Command::Audit {
            tenant,
            actor,
            action,
            since,
            limit,
        } => {
            audit::run(audit::Args {
                tenant,
                actor,
                action,
                since,
                limit,
            })
            .await
        }
    }
}
