//! `pg_dump` and `pg_restore`: where they are, whether they can talk to the server, and
//! running them with a connection given only through the environment (a password on the
//! command line would show in `ps`).

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

/// How much of a tool's standard error is kept for the job's error message.
const STDERR_KEEP: usize = 4096;

/// The PostgreSQL client programs of one installation.
pub(crate) struct PgTools {
    dir: Option<PathBuf>,
}

impl PgTools {
    /// `PG_BIN_DIR` when set, else `pg_config --bindir`, else whatever `PATH` finds.
    pub(crate) async fn locate(setting: Option<&Path>) -> Self {
        if let Some(dir) = setting {
            return Self {
                dir: Some(dir.to_path_buf()),
            };
        }
        let found = Command::new("pg_config")
            .arg("--bindir")
            .stdin(Stdio::null())
            .output()
            .await
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| PathBuf::from(s.trim()))
            .filter(|d| d.join("pg_dump").exists());
        Self { dir: found }
    }

    fn program(&self, name: &str) -> PathBuf {
        self.dir
            .as_ref()
            .map_or_else(|| PathBuf::from(name), |d| d.join(name))
    }

    /// Refuses a `pg_dump`/`pg_restore` older than the server: they cannot read its
    /// catalogs (pg_dump says so itself, later and less clearly).
    pub(crate) async fn check(&self, server_major: u32) -> anyhow::Result<()> {
        for name in ["pg_dump", "pg_restore"] {
            let out = Command::new(self.program(name))
                .arg("--version")
                .stdin(Stdio::null())
                .output()
                .await
                .with_context(|| {
                    format!("running {name} (install postgresql-client, or set PG_BIN_DIR)")
                })?;
            let text = String::from_utf8_lossy(&out.stdout);
            let major = text
                .split_whitespace()
                .find_map(|w| w.split('.').next()?.parse::<u32>().ok())
                .with_context(|| format!("{name} --version said {text:?}"))?;
            if major < server_major {
                bail!(
                    "{name} is version {major} but the database server is {server_major}: \
                     install the client of version {server_major} or set PG_BIN_DIR"
                );
            }
        }
        Ok(())
    }

    /// Starts `name` with `args`, connected through `env` (libpq variables only: nothing
    /// of this process's environment is passed on). Its standard error is collected.
    pub(crate) fn spawn(
        &self,
        name: &str,
        args: &[&str],
        env: &[(&'static str, String)],
        stdin: Stdio,
        stdout: Stdio,
    ) -> anyhow::Result<Child> {
        let mut cmd = Command::new(self.program(name));
        cmd.args(args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd.spawn().with_context(|| {
            format!("starting {name} (install postgresql-client, or set PG_BIN_DIR)")
        })
    }
}

/// Waits for a tool started by [`PgTools::spawn`]; its standard error (trimmed, bounded)
/// becomes the error when it fails.
pub(crate) async fn finish(name: &str, mut child: Child) -> anyhow::Result<()> {
    let mut stderr = Vec::new();
    if let Some(mut err) = child.stderr.take() {
        let mut buf = [0u8; 1024];
        loop {
            match err.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) if stderr.len() < STDERR_KEEP => stderr.extend_from_slice(&buf[..n]),
                Ok(_) => {}
            }
        }
    }
    let status = child
        .wait()
        .await
        .with_context(|| format!("waiting for {name}"))?;
    if !status.success() {
        bail!("{name} failed ({status}): {}", summary(&stderr));
    }
    Ok(())
}

/// The tool's error lines without the ones that can quote table data (a failed COPY's
/// `CONTEXT` names the row), so a job error never carries a piece of the dump.
fn summary(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| {
            !["CONTEXT:", "DETAIL:", "Command was:", "LINE ", "HINT:"]
                .iter()
                .any(|m| l.contains(m))
        })
        .map(|l| l.chars().take(300).collect::<String>())
        .collect::<Vec<_>>()
        .join("; ")
}
