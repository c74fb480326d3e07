//! Bounded polling: a test waits for a state it cannot be told about, never for a fixed time.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long a harness wait may take before the test fails (provisioning on a loaded machine).
pub const WAIT_LIMIT: Duration = Duration::from_secs(60);

/// Polls `probe` every `every` until it returns `Ok`, and returns that value; panics with
/// `what` and the last `Err` (what was seen instead) once `within` has passed.
pub async fn wait_until<T, F, Fut>(what: &str, within: Duration, every: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + within;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(seen) => assert!(
                Instant::now() < deadline,
                "{what}: not within {within:?}; last seen: {seen}"
            ),
        }
        tokio::time::sleep(every).await;
    }
}
