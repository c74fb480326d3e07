//! The job machinery as the shared state holds it: the queue producer and its message, the
//! slots for immediate starts, and this process's worker health. A leaf module: `jobs` runs
//! the work and reaches these through `AppState`; nothing here knows `AppState`, so the
//! state does not depend on the jobs.

use crate::repo::jobs::{Job, JobKind};
use apalis::prelude::*;
use apalis_redis::{Config, RedisStorage};
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tenancy_core::observability::catalogue;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The stable name of the queue (prefixed per deployment).
pub(crate) const QUEUE_NAME: &str = "tenant-jobs";

/// How long queuing a message may take before it is left to the reconciler.
const PUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// What goes onto Redis: ids, nothing secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct JobMessage {
    pub job_id: Uuid,
    pub tenant_id: Uuid,
    pub kind: JobKind,
}

/// The producer side of the job queue.
#[derive(Clone)]
pub(crate) struct Queue {
    storage: RedisStorage<JobMessage>,
}

impl Queue {
    /// `poll` is how often an idle worker looks for new jobs: apalis-redis re-polls an
    /// empty queue only when its heartbeat fires, so the heartbeat is the queue latency.
    pub(crate) fn new(conn: ConnectionManager, prefix: &str, poll: Duration) -> Self {
        // A worker is presumed dead after ~10 s without a heartbeat, whatever the poll rate.
        let missed =
            (Duration::from_secs(10).as_millis() / poll.as_millis().max(1)).max(2) as usize;
        let config = Config::default()
            .queue(format!("{prefix}:{QUEUE_NAME}"))
            .heartbeat_interval(poll)
            .missed_heartbeats(missed);
        Self {
            storage: RedisStorage::new(conn).with_config(config),
        }
    }

    /// Queues a message for the job; bounded in time, so a Redis outage never holds up
    /// the caller (the job record is the truth and the reconciler queues it again).
    pub(crate) async fn push(&self, job: &Job) -> anyhow::Result<()> {
        let msg = JobMessage {
            job_id: job.id,
            tenant_id: job.tenant_id,
            kind: job.kind,
        };
        let mut storage = self.storage.clone();
        match tokio::time::timeout(PUSH_TIMEOUT, storage.push(msg)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(anyhow::anyhow!("queuing the job: {e}")),
            Err(_) => Err(anyhow::anyhow!("queuing the job timed out")),
        }
    }

    pub(crate) fn storage(&self) -> RedisStorage<JobMessage> {
        self.storage.clone()
    }
}

/// Starts a just-queued job in this process at once, when the process runs a worker with a
/// slot free, instead of leaving it until the worker's next poll of the queue (up to
/// `QUEUE_POLL_MS`). The queued message stays as the durable copy: whoever claims the job
/// first runs it, and the other finds it claimed and does nothing.
#[derive(Clone)]
pub(crate) struct ImmediateStart {
    slots: Option<Arc<Semaphore>>,
    /// Cancelled when the process stops: a job cut off here is picked up again after its
    /// lease, like one whose worker died.
    pub(crate) shutdown: CancellationToken,
}

impl ImmediateStart {
    pub(crate) fn new(run_worker: bool, concurrency: usize) -> Self {
        Self {
            slots: run_worker.then(|| Arc::new(Semaphore::new(concurrency.max(1)))),
            shutdown: CancellationToken::new(),
        }
    }

    /// A free slot, held while the job runs; `None` when this process runs no worker or
    /// all its slots are busy (the queued message then waits for the worker's poll).
    pub(crate) fn slot(&self) -> Option<OwnedSemaphorePermit> {
        self.slots
            .as_ref()
            .and_then(|s| s.clone().try_acquire_owned().ok())
    }
}

/// Whether this process's worker is consuming the queue, and why not.
#[derive(Default)]
pub(crate) struct WorkerHealth {
    enabled: AtomicBool,
    up: AtomicBool,
    last_error: Mutex<Option<String>>,
}

impl WorkerHealth {
    /// This process runs a worker: from now on readiness reports it.
    pub(crate) fn enable(&self) {
        self.enabled.store(true, Ordering::SeqCst);
    }

    /// `None` when this process runs no worker; else `Ok` or the reason it is down.
    pub(crate) fn status(&self) -> Option<Result<(), String>> {
        if !self.enabled.load(Ordering::SeqCst) {
            return None;
        }
        if self.up.load(Ordering::SeqCst) {
            return Some(Ok(()));
        }
        let reason = self
            .last_error
            .lock()
            .ok()
            .and_then(|e| e.clone())
            .unwrap_or_else(|| "starting".into());
        Some(Err(reason))
    }

    pub(crate) fn set_up(&self) {
        self.up.store(true, Ordering::SeqCst);
        metrics::gauge!(catalogue::JOB_WORKER_UP).set(1.0);
    }

    pub(crate) fn set_down(&self, reason: String) {
        self.up.store(false, Ordering::SeqCst);
        if let Ok(mut e) = self.last_error.lock() {
            *e = Some(reason);
        }
        metrics::gauge!(catalogue::JOB_WORKER_UP).set(0.0);
    }
}
