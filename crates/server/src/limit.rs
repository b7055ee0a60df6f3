//! Rate limits for browser credentials: per session and per workspace, so one user's
//! script cannot flood quotes or holds for everyone. GCRA (a token bucket kept as one
//! timestamp per key): `per_second` sustained, `burst` at once. A refused request
//! costs no database work for the session limit, which is checked before the token is
//! looked up. Server-to-server credentials (API keys) are not limited here.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// A sustained rate and a burst.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

impl Rate {
    /// `20` (burst 2× the rate) or `20/50`; `0` turns the limit off.
    pub fn parse(s: &str) -> Result<Rate, String> {
        let (rate, burst) = match s.split_once('/') {
            Some((r, b)) => (r, Some(b)),
            None => (s, None),
        };
        let per_second: u32 = rate
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: the rate is a whole number per second"))?;
        let burst = match burst {
            Some(b) => b
                .trim()
                .parse()
                .map_err(|_| format!("`{s}`: the burst is a whole number"))?,
            None => per_second.saturating_mul(2),
        };
        if per_second > 0 && burst == 0 {
            return Err(format!("`{s}`: a burst of 0 would refuse everything"));
        }
        Ok(Rate { per_second, burst })
    }
}

/// The limits in the server's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Per browser session.
    pub session: Rate,
    /// Per workspace, all its sessions together.
    pub workspace: Rate,
    /// Failed authentications (unknown, revoked or expired credentials, on `/v1` and
    /// `/admin/v1`) per client address; a tenth of it, ×100, for all clients together. A
    /// fresh random token escapes the per-session bucket, this one it does not.
    pub failures: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            session: Rate {
                per_second: 20,
                burst: 40,
            },
            workspace: Rate {
                per_second: 200,
                burst: 400,
            },
            failures: Rate {
                per_second: 10,
                burst: 50,
            },
        }
    }
}

/// Why a request was refused and when to retry.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub scope: &'static str,
    pub retry_after_ms: u64,
}

struct Limiter {
    rate: Rate,
    scope: &'static str,
    /// Theoretical arrival time per key: when its bucket is next empty.
    tat: Mutex<HashMap<[u8; 16], Instant>>,
}

/// Keys kept before idle ones are dropped.
const PRUNE_AT: usize = 100_000;

impl Limiter {
    fn new(rate: Rate, scope: &'static str) -> Limiter {
        Limiter {
            rate,
            scope,
            tat: Mutex::new(HashMap::new()),
        }
    }

    /// Whether one more for `key` would be refused now, taking nothing.
    fn peek(&self, key: &str, now: Instant) -> Result<(), Refusal> {
        self.admit(key, now, false)
    }

    fn check(&self, key: &str, now: Instant) -> Result<(), Refusal> {
        self.admit(key, now, true)
    }

    /// GCRA: refused when `key`'s bucket is past its burst; else, if `take`, one more.
    fn admit(&self, key: &str, now: Instant, take: bool) -> Result<(), Refusal> {
        if self.rate.per_second == 0 {
            return Ok(());
        }
        let interval = Duration::from_secs(1) / self.rate.per_second;
        let tolerance = interval * self.rate.burst;
        let digest = Sha256::digest(key.as_bytes());
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        let mut map = self.tat.lock().expect("rate limiter lock");
        if take && map.len() >= PRUNE_AT {
            map.retain(|_, t| *t > now);
        }
        let tat = map.get(&id).copied().unwrap_or(now).max(now);
        let next = tat + interval;
        if next - now > tolerance {
            let wait = next - now - tolerance;
            return Err(Refusal {
                scope: self.scope,
                retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
            });
        }
        if take {
            map.insert(id, next);
        }
        Ok(())
    }
}

pub struct Limits {
    session: Limiter,
    workspace: Limiter,
    failures: Limiter,
    all_failures: Limiter,
}

impl Limits {
    pub fn new(limits: RateLimits) -> Limits {
        let f = limits.failures;
        Limits {
            session: Limiter::new(limits.session, "session"),
            workspace: Limiter::new(limits.workspace, "workspace"),
            failures: Limiter::new(f, "address (failed authentications)"),
            all_failures: Limiter::new(
                Rate {
                    per_second: f.per_second.saturating_mul(100),
                    burst: f.burst.saturating_mul(100),
                },
                "server (failed authentications)",
            ),
        }
    }

    /// Refuses a client whose failed authentications are over the limit, before its
    /// credential is looked up (no database read for a guessing client).
    pub fn check_not_guessing(&self, client: &str) -> Result<(), Refusal> {
        let now = Instant::now();
        self.failures.peek(client, now)?;
        self.all_failures.peek("", now)
    }

    /// Counts a failed authentication of `client`.
    pub fn failed(&self, client: &str) {
        let now = Instant::now();
        let _ = self.failures.check(client, now);
        let _ = self.all_failures.check("", now);
    }

    /// Per session: keyed by the token itself (hashed), before it is looked up.
    pub fn check_credential(&self, token: &str) -> Result<(), Refusal> {
        self.session.check(token, Instant::now())
    }

    pub fn check_workspace(&self, workspace_id: &str) -> Result<(), Refusal> {
        self.workspace.check(workspace_id, Instant::now())
    }
}

/// Event streams a session may hold open at once (each embedded element of a page opens
/// one today; a page has a few), and a workspace: each holds a connection and a task for
/// up to a session's life.
pub const STREAMS_PER_SESSION: usize = 8;
pub const STREAMS_PER_WORKSPACE: usize = 256;

/// Open event streams by session and by workspace.
#[derive(Default)]
pub struct StreamSlots {
    open: Mutex<HashMap<String, usize>>,
}

/// One open stream's place, given back when the stream ends (dropped).
pub struct StreamSlot {
    slots: std::sync::Arc<StreamSlots>,
    keys: Vec<String>,
}

impl StreamSlots {
    /// A place for a stream of `workspace` opened by `session` (none for an API key,
    /// counted per workspace only), or when to retry.
    pub fn take(
        slots: &std::sync::Arc<StreamSlots>,
        session: Option<&str>,
        workspace: &str,
    ) -> Result<StreamSlot, Refusal> {
        let mut wanted = vec![(
            format!("w {workspace}"),
            STREAMS_PER_WORKSPACE,
            "workspace (open event streams)",
        )];
        if let Some(s) = session {
            wanted.push((
                format!("s {s}"),
                STREAMS_PER_SESSION,
                "session (open event streams)",
            ));
        }
        let mut open = slots.open.lock().expect("stream slots lock");
        for (key, limit, scope) in &wanted {
            if open.get(key).copied().unwrap_or(0) >= *limit {
                return Err(Refusal {
                    scope,
                    retry_after_ms: 5_000,
                });
            }
        }
        for (key, _, _) in &wanted {
            *open.entry(key.clone()).or_insert(0) += 1;
        }
        Ok(StreamSlot {
            slots: slots.clone(),
            keys: wanted.into_iter().map(|(k, _, _)| k).collect(),
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().expect("stream slots lock");
        for key in &self.keys {
            if let Some(n) = open.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    open.remove(key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let l = Limiter::new(
            Rate {
                per_second: 10,
                burst: 5,
            },
            "session",
        );
        let t0 = Instant::now();
        let allowed = (0..20).filter(|_| l.check("k", t0).is_ok()).count();
        assert_eq!(allowed, 5);
        let refusal = l.check("k", t0).unwrap_err();
        assert_eq!(refusal.retry_after_ms, 100);
        // 100 ms later one more fits; other keys are untouched.
        assert!(l.check("k", t0 + Duration::from_millis(100)).is_ok());
        assert!(l.check("k", t0 + Duration::from_millis(100)).is_err());
        assert!(l.check("other", t0).is_ok());
    }

    #[test]
    fn parses_rates() {
        assert_eq!(
            Rate::parse("20").unwrap(),
            Rate {
                per_second: 20,
                burst: 40
            }
        );
        assert_eq!(
            Rate::parse("5/7").unwrap(),
            Rate {
                per_second: 5,
                burst: 7
            }
        );
        assert!(Rate::parse("x").is_err());
        assert!(Rate::parse("5/0").is_err());
        assert_eq!(Rate::parse("0").unwrap().per_second, 0);
    }
}
