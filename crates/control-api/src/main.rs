//! `control-api`: parses the command line and hands over to the library.

use clap::Parser;
use control_api::cli::{self, Cli};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // A missing .env is normal in production; the environment is then the only source.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    tenancy_core::observability::init_tracing("info", std::io::stderr);
    match cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "control-api stopped");
            eprintln!("control-api: {e:#}");
            ExitCode::FAILURE
        }
    }
}
