//! `app-api`: reads settings and serves.

use app_api::settings::Settings;
use app_api::startup::Application;
use clap::Parser;
use std::process::ExitCode;
use tenancy_core::config::ProcessEnv;

// glibc's malloc was about 8 % of a hot request's instructions (some 90 allocations a
// request); with mimalloc (and uuid's fast-rng) figure 1 gained 8-13 % (docs/BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The multi-tenant helpdesk API. Configuration comes from the environment (and `.env`);
/// see `.env.example`.
#[derive(Parser)]
#[command(name = "app-api", version)]
struct Cli {}

async fn run() -> anyhow::Result<()> {
    let settings = Settings::from_env(&ProcessEnv)?;
    let app = Application::build(settings).await?;
    tracing::info!(port = app.port(), "app-api listening");
    app.start().until_signal().await
}

#[tokio::main]
async fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    Cli::parse();
    tenancy_core::observability::init_tracing("info", std::io::stderr);
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Logged once, to standard error like every other line.
            tracing::error!(error = %format!("{e:#}"), "app-api stopped");
            ExitCode::FAILURE
        }
    }
}
