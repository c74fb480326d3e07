//! Test hooks and fault injection: make a job step fail, or hang as if the worker died
//! there. Only settable from code (`Hooks`, given to `Application::build_with_hooks`), never
//! from the environment or settings. Checked by `jobs::runner::Fence::step` before each
//! step, after the tenant was re-checked. A leaf: the state holds it, the jobs read it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Test hooks a process is built with; production builds use `Hooks::default()` (none).
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    /// A fault to inject into provisioning jobs.
    pub fault: Option<Arc<Fault>>,
}

/// The steps of every job kind, each kind's in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Credentials,
    CreateRole,
    CreateDatabase,
    RevokePublic,
    MigrateAndSeed,
    Activate,
    /// The purge job's one step; a restore's drop of the database it replaced.
    DropDatabase,
    /// The backup job's one step: dump, encrypt, write.
    Dump,
    /// Restore: the whole file authenticated before anything is touched.
    VerifyBackup,
    /// Restore: `pg_restore` into the new database (after `CreateDatabase`), then `MigrateAndSeed`.
    RestoreData,
    /// Restore: the tenant switched to the new database, the old one dropped.
    SwitchDatabase,
    /// Move: the source database made read-only and its sessions ended (then
    /// `CreateRole` and `CreateDatabase` on the target server).
    FenceSource,
    /// Move: `pg_dump` of the source piped into `pg_restore` into the target.
    CopyData,
    /// Move: every table's row count and the migration history compared on both sides.
    VerifyCopy,
    /// Move: the tenant switched to the target server and database.
    SwitchServer,
    /// Move: after the grace period, the source database (and role) dropped.
    DropSource,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Credentials => "credentials",
            Self::CreateRole => "create_role",
            Self::CreateDatabase => "create_database",
            Self::RevokePublic => "revoke_public",
            Self::MigrateAndSeed => "migrate_and_seed",
            Self::Activate => "activate",
            Self::DropDatabase => "drop_database",
            Self::Dump => "dump",
            Self::VerifyBackup => "verify_backup",
            Self::RestoreData => "restore_data",
            Self::SwitchDatabase => "switch_database",
            Self::FenceSource => "fence_source",
            Self::CopyData => "copy_data",
            Self::VerifyCopy => "verify_copy",
            Self::SwitchServer => "switch_server",
            Self::DropSource => "drop_source",
        }
    }
}

/// A fault to inject at one step; `armed` can be switched off by the test mid-run.
#[derive(Debug)]
pub struct Fault {
    pub at: Step,
    pub kind: FaultKind,
    pub armed: AtomicBool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The step returns an error.
    Fail,
    /// The job stops making progress forever, like a worker killed at that point.
    Hang,
}

impl Fault {
    pub fn new(at: Step, kind: FaultKind) -> Self {
        Self {
            at,
            kind,
            armed: AtomicBool::new(true),
        }
    }

    pub fn disarm(&self) {
        self.armed.store(false, Ordering::SeqCst);
    }

    /// Called before each step.
    pub(crate) async fn check(&self, step: Step) -> anyhow::Result<()> {
        if step != self.at || !self.armed.load(Ordering::SeqCst) {
            return Ok(());
        }
        match self.kind {
            FaultKind::Fail => anyhow::bail!("injected failure at step {}", step.as_str()),
            FaultKind::Hang => std::future::pending().await,
        }
    }
}
