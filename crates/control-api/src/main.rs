//! `control-api`: parses the command line and hands over to the library.

use clap::Parser;
use control_api::cli::{self, Cli, Command};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // A missing .env is normal in production; the environment is then the only source.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    tenancy_core::observability::init_tracing("info", std::io::stderr);
    // A service reports a fatal error as a log line (collectors see it); a one-shot command
    // to the person who ran it. Either way it is printed once.
    let service = matches!(
        cli.command,
        None | Some(Command::Serve { .. }) | Some(Command::Worker)
    );
    match cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if service => {
            tracing::error!(error = %format!("{e:#}"), "control-api stopped");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("control-api: {e:#}");
            ExitCode::FAILURE
        }
    }
}
