//! Login throttling for both planes: failed logins counted per account and per client
//! address in Redis (so every replica sees them), with delays that double after a few free
//! failures. A success clears the account's count; the address's count only ages out.
//!
//! Accounts are keyed by a hash of the account name, so Redis never holds an email address.
//! If Redis is unreachable logins are not throttled (a warning at most once a minute):
//! refusing every login while Redis restarts would be worse.

use crate::{ApiError, ErrorCode};
use redis::aio::ConnectionManager;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// Failures an account may have before each further one adds a delay.
pub const ACCOUNT_FREE_FAILURES: u32 = 5;
/// Failures one client address may have (across accounts) before delays start; higher
/// than an account's because many people may share one address.
pub const ADDRESS_FREE_FAILURES: u32 = 20;
/// The first delay; each further failure doubles it, up to [`MAX_DELAY`].
pub const FIRST_DELAY: Duration = Duration::from_secs(1);
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// A count is forgotten this long after its last failure.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long a login waits on Redis before going unthrottled.
const REDIS_WAIT: Duration = Duration::from_millis(250);

/// `KEYS`: account, address. Milliseconds until both allow another attempt.
const CHECK: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local wait = 0
for _, k in ipairs(KEYS) do
  local u = tonumber(redis.call('HGET', k, 'until') or '0')
  if u - now > wait then wait = u - now end
end
return wait
";

/// `KEYS`: account, address. `ARGV`: their free failures, first delay, max delay, window
/// (ms). Counts one failure on each and sets the delay it earns.
const FAIL: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
for i, k in ipairs(KEYS) do
  local n = redis.call('HINCRBY', k, 'n', 1)
  local free = tonumber(ARGV[i])
  if n > free then
    local delay = math.min(tonumber(ARGV[3]) * 2 ^ (n - free - 1), tonumber(ARGV[4]))
    redis.call('HSET', k, 'until', string.format('%d', now + delay))
  end
  redis.call('PEXPIRE', k, ARGV[5])
end
return 0
";

/// One plane's login throttle (cheap to build per request).
pub struct LoginThrottle {
    redis: ConnectionManager,
    account_key: String,
    address_key: String,
}

fn account_hash(account: &str) -> String {
    // SipHash with fixed keys: the same on every replica of one build, and not the email.
    let mut h = std::hash::DefaultHasher::new();
    account.to_lowercase().hash(&mut h);
    format!("{:016x}", h.finish())
}

fn warn_unthrottled(cause: &dyn std::fmt::Display) {
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    let now = Instant::now();
    let mut last = LAST
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if last.is_none_or(|t| now.duration_since(t) >= Duration::from_secs(60)) {
        *last = Some(now);
        tracing::warn!(error = %cause, "login throttling unavailable (Redis); logins not throttled");
    }
}

impl LoginThrottle {
    /// `scope` separates planes and tenants (`control`, `app:<tenant id>`).
    pub fn new(
        redis: &ConnectionManager,
        redis_prefix: &str,
        scope: &str,
        account: &str,
        client: IpAddr,
    ) -> Self {
        Self {
            redis: redis.clone(),
            account_key: format!(
                "{redis_prefix}:login:account:{scope}:{}",
                account_hash(account.trim())
            ),
            address_key: format!("{redis_prefix}:login:address:{client}"),
        }
    }

    /// 429 `rate_limited` with `Retry-After` while the account or the address must wait.
    pub async fn check(&self) -> Result<(), ApiError> {
        static SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(CHECK));
        let mut conn = self.redis.clone();
        let mut script = SCRIPT.prepare_invoke();
        script.key(&self.account_key).key(&self.address_key);
        let wait_ms =
            match tokio::time::timeout(REDIS_WAIT, script.invoke_async::<u64>(&mut conn)).await {
                Ok(Ok(ms)) => ms,
                Ok(Err(e)) => {
                    warn_unthrottled(&e);
                    0
                }
                Err(_) => {
                    warn_unthrottled(&"no answer within 250 ms");
                    0
                }
            };
        if wait_ms == 0 {
            return Ok(());
        }
        Err(ApiError::new(
            ErrorCode::RateLimited,
            "too many failed logins; try again later",
        )
        .retry_after(wait_ms.div_ceil(1000)))
    }

    /// Counts a failed login against the account and the address.
    pub async fn failed(&self) {
        let mut conn = self.redis.clone();
        let ms = |d: Duration| d.as_millis() as u64;
        static SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(FAIL));
        let mut script = SCRIPT.prepare_invoke();
        script
            .key(&self.account_key)
            .key(&self.address_key)
            .arg(ACCOUNT_FREE_FAILURES)
            .arg(ADDRESS_FREE_FAILURES)
            .arg(ms(FIRST_DELAY))
            .arg(ms(MAX_DELAY))
            .arg(ms(WINDOW));
        match tokio::time::timeout(REDIS_WAIT, script.invoke_async::<i64>(&mut conn)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => warn_unthrottled(&e),
            Err(_) => warn_unthrottled(&"no answer within 250 ms"),
        }
    }

    /// A successful login clears the account's failures (not the address's).
    pub async fn succeeded(&self) {
        let mut conn = self.redis.clone();
        let mut cmd = redis::cmd("DEL");
        cmd.arg(&self.account_key);
        let del = cmd.query_async::<i64>(&mut conn);
        match tokio::time::timeout(REDIS_WAIT, del).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => warn_unthrottled(&e),
            Err(_) => warn_unthrottled(&"no answer within 250 ms"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::account_hash;

    #[test]
    fn accounts_are_keyed_by_a_case_blind_hash_not_the_email() {
        let a = account_hash("Admin@Acme.test");
        assert_eq!(a, account_hash("admin@acme.test"));
        assert_ne!(a, account_hash("other@acme.test"));
        assert!(!a.contains("acme"));
    }
}
