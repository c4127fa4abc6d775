//! Keeping a connection to Redis: [`Reconnecting`] holds one (a [`Client`],
//! a [`Subscriber`], anything a closure can open), replaces it when it
//! breaks, and while Redis is unreachable answers at once with
//! [`RedisError::Unavailable`] instead of waiting on the network every
//! time: the caller turns that into "cluster unavailable, retrying" (503).
//! Attempts are spaced by capped exponential backoff with jitter, so nodes
//! that lost Redis together do not all knock at the same instant.
//!
//! [`Client`]: super::Client
//! [`Subscriber`]: super::Subscriber

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use super::error::{RedisError, Result};

/// The wait after the first failed attempt (the first retry after a
/// connection breaks is immediate: a restarted Redis is often back at once).
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between attempts. Short, because a node catches up only
/// once it is back, and users see 503s meanwhile.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How many unread [`Change`]s are kept; older ones are dropped.
const MAX_CHANGES: usize = 16;

/// How attempts are spaced: after `n` failures in a row the next attempt
/// comes after a random wait between half and all of
/// `min(first * 2^(n-1), max)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure.
    pub first: Duration,
    /// The cap.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: FIRST_BACKOFF,
            max: MAX_BACKOFF,
        }
    }
}

impl Backoff {
    /// The wait after `failures` failures in a row (at least 1), before jitter.
    pub fn ceiling(&self, failures: u32) -> Duration {
        let doubling = failures.saturating_sub(1).min(31);
        self.first.saturating_mul(1u32 << doubling).min(self.max)
    }

    /// The wait after `failures` failures, jittered into `[ceiling/2, ceiling]`
    /// by `random` (any 64 bits).
    pub fn delay(&self, failures: u32, random: u64) -> Duration {
        let ceiling = self.ceiling(failures);
        let half = ceiling / 2;
        let spread = (ceiling - half).as_micros() as u64;
        half + Duration::from_micros(random % (spread + 1))
    }
}

/// Whether the connection is up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Connected (as far as the last operation knows).
    Up,
    /// Not connected.
    Down {
        /// When the connection was lost (or first tried).
        since: Instant,
        /// Failed attempts since then.
        failures: u32,
        /// Why the last attempt (or the lost connection) failed.
        last_error: String,
        /// When the next attempt may be made.
        retry_at: Instant,
    },
}

/// A change of [`Health`], for the caller to act on (log it; after
/// `Restored`, resubscribe and catch up from the last stream IDs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The first connection was made.
    Connected,
    /// The connection broke.
    Lost {
        /// Why.
        error: String,
    },
    /// A new connection replaces a lost one.
    Restored {
        /// How long there was none.
        down_for: Duration,
        /// Failed attempts before this one succeeded.
        failures: u32,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Connected => write!(f, "connected to redis"),
            Change::Lost { error } => write!(f, "lost redis: {error}"),
            Change::Restored { down_for, failures } => write!(
                f,
                "redis is back after {:.1} s ({failures} failed attempts)",
                down_for.as_secs_f64()
            ),
        }
    }
}

/// A connection that is made again when it breaks.
pub struct Reconnecting<C> {
    open: Box<dyn FnMut() -> Result<C> + Send>,
    backoff: Backoff,
    conn: Option<C>,
    health: Health,
    /// True once a connection has been made (a later one is a restoration).
    ever_connected: bool,
    /// Connections made so far: a caller that remembers it knows when the
    /// connection under it has changed.
    generation: u64,
    changes: VecDeque<Change>,
}

impl<C> Reconnecting<C> {
    /// A wrapper that opens connections with `open` (e.g.
    /// `move || Client::connect(&config)`). Nothing is opened until first use.
    pub fn new(backoff: Backoff, open: impl FnMut() -> Result<C> + Send + 'static) -> Self {
        let now = Instant::now();
        Reconnecting {
            open: Box::new(open),
            backoff,
            conn: None,
            health: Health::Down {
                since: now,
                failures: 0,
                last_error: "not connected yet".to_string(),
                retry_at: now,
            },
            ever_connected: false,
            generation: 0,
            changes: VecDeque::new(),
        }
    }

    /// Runs `op` on the connection, connecting first if there is none and an
    /// attempt is due. If `op` fails in a way that breaks the connection, the
    /// connection is dropped (the next call reconnects at once) and `op`'s
    /// error is returned: `op` is never run twice, since a write may have
    /// been applied before the connection broke.
    ///
    /// # Errors
    ///
    /// [`RedisError::Unavailable`] when there is no connection and none could
    /// be made now (without touching the network if the next attempt is not
    /// due yet); otherwise `op`'s own error.
    pub fn run<T>(&mut self, op: impl FnOnce(&mut C) -> Result<T>) -> Result<T> {
        let conn = self.connection()?;
        let result = op(conn);
        if let Err(e) = &result {
            if e.breaks_connection() {
                self.lose(e.to_string());
            }
        }
        result
    }

    /// The connection, made now if there is none and an attempt is due.
    ///
    /// # Errors
    ///
    /// [`RedisError::Unavailable`] as for [`Reconnecting::run`].
    pub fn connection(&mut self) -> Result<&mut C> {
        if self.conn.is_none() {
            self.attempt()?;
        }
        // Cannot fail: `attempt` returns `Ok` only after storing a connection.
        Ok(self
            .conn
            .as_mut()
            .expect("attempt() succeeded, so a connection is held"))
    }

    /// Drops the connection (e.g. after an error the wrapper could not see),
    /// so the next use reconnects.
    pub fn drop_connection(&mut self, why: &str) {
        if self.conn.is_some() {
            self.lose(why.to_string());
        }
    }

    /// Whether the connection is up.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// True when a connection is held.
    pub fn is_up(&self) -> bool {
        self.conn.is_some()
    }

    /// How many connections have been made: it changes when the connection
    /// under the caller was replaced (subscriptions and blocking reads start over).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The changes of health since the last call, oldest first.
    pub fn take_changes(&mut self) -> Vec<Change> {
        self.changes.drain(..).collect()
    }

    /// How long until the next attempt is due (zero when up or due now):
    /// what a background loop sleeps before calling again.
    pub fn retry_in(&self) -> Duration {
        match &self.health {
            Health::Up => Duration::ZERO,
            Health::Down { retry_at, .. } => retry_at.saturating_duration_since(Instant::now()),
        }
    }

    /// Makes a connection if an attempt is due.
    fn attempt(&mut self) -> Result<()> {
        let Health::Down {
            since,
            failures,
            last_error,
            retry_at,
        } = &mut self.health
        else {
            unreachable!("health is Down whenever no connection is held");
        };
        let now = Instant::now();
        if now < *retry_at {
            return Err(RedisError::Unavailable {
                retry_in: *retry_at - now,
                last_error: last_error.clone(),
            });
        }
        match (self.open)() {
            Ok(conn) => {
                let change = if self.ever_connected {
                    Change::Restored {
                        down_for: since.elapsed(),
                        failures: *failures,
                    }
                } else {
                    Change::Connected
                };
                self.conn = Some(conn);
                self.health = Health::Up;
                self.ever_connected = true;
                self.generation += 1;
                self.push(change);
                Ok(())
            }
            Err(e) => {
                *failures = failures.saturating_add(1);
                let delay = self.backoff.delay(*failures, jitter());
                *retry_at = Instant::now() + delay;
                *last_error = e.to_string();
                Err(RedisError::Unavailable {
                    retry_in: delay,
                    last_error: last_error.clone(),
                })
            }
        }
    }

    fn lose(&mut self, error: String) {
        self.conn = None;
        let now = Instant::now();
        self.health = Health::Down {
            since: now,
            failures: 0,
            last_error: error.clone(),
            retry_at: now,
        };
        self.push(Change::Lost { error });
    }

    fn push(&mut self, change: Change) {
        if self.changes.len() == MAX_CHANGES {
            self.changes.pop_front();
        }
        self.changes.push_back(change);
    }
}

impl<C> fmt::Debug for Reconnecting<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reconnecting")
            .field("health", &self.health)
            .field("generation", &self.generation)
            .finish()
    }
}

/// 64 random bits from the OS, or none (then every wait is its ceiling's half).
fn jitter() -> u64 {
    let mut bytes = [0u8; 8];
    match crate::crypto::random_bytes(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    fn refused() -> RedisError {
        RedisError::Connect {
            addr: "127.0.0.1:1".into(),
            source: io::Error::from(io::ErrorKind::ConnectionRefused),
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let b = Backoff::default();
        let ms = |n| b.ceiling(n).as_millis();
        assert_eq!(
            [ms(1), ms(2), ms(3), ms(4), ms(5)],
            [100, 200, 400, 800, 1600]
        );
        assert_eq!(ms(6), 2000);
        assert_eq!(ms(1000), 2000);
        assert_eq!(b.ceiling(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn jitter_stays_between_half_and_all_of_the_ceiling() {
        let b = Backoff::default();
        for random in [0, 1, 12_345, u64::MAX / 3, u64::MAX] {
            for failures in 1..8 {
                let d = b.delay(failures, random);
                let c = b.ceiling(failures);
                assert!(d >= c / 2 && d <= c, "{failures} {random}: {d:?}");
            }
        }
        assert_eq!(b.delay(1, 0), Duration::from_millis(50));
    }

    /// A "connection" that fails a number of times, then succeeds.
    fn flaky(failures: u32) -> Reconnecting<u32> {
        let mut left = failures;
        let backoff = Backoff {
            first: Duration::ZERO,
            max: Duration::ZERO,
        };
        Reconnecting::new(backoff, move || {
            if left > 0 {
                left -= 1;
                Err(refused())
            } else {
                Ok(7)
            }
        })
    }

    #[test]
    fn unavailable_until_connected_then_runs() {
        let mut r = flaky(2);
        for _ in 0..2 {
            let err = r.run(|c| Ok(*c)).unwrap_err();
            assert!(matches!(err, RedisError::Unavailable { .. }), "{err}");
            assert!(err.is_unavailable() && !err.is_outcome_unknown());
        }
        assert_eq!(r.run(|c| Ok(*c)).unwrap(), 7);
        assert_eq!(r.generation(), 1);
        assert_eq!(r.take_changes(), vec![Change::Connected]);
        assert!(r.take_changes().is_empty());
    }

    #[test]
    fn a_broken_connection_is_lost_then_restored() {
        let mut r = flaky(0);
        r.run(|_| Ok(())).unwrap();
        let err = r
            .run(|_| -> Result<()> { Err(RedisError::Closed) })
            .unwrap_err();
        assert!(matches!(err, RedisError::Closed));
        assert!(!r.is_up());
        // A server error leaves the connection alone.
        r.run(|_| Ok(())).unwrap();
        let _ = r.run(|_| -> Result<()> { Err(RedisError::from_reply("ERR nope")) });
        assert!(r.is_up());
        assert_eq!(r.generation(), 2);
        let changes = r.take_changes();
        assert_eq!(changes.len(), 3, "{changes:?}");
        assert!(matches!(changes[1], Change::Lost { .. }));
        assert!(matches!(changes[2], Change::Restored { failures: 0, .. }));
    }

    #[test]
    fn waits_between_attempts_without_touching_the_network() {
        let attempts = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let seen = attempts.clone();
        let backoff = Backoff {
            first: Duration::from_secs(60),
            max: Duration::from_secs(60),
        };
        let mut r: Reconnecting<()> = Reconnecting::new(backoff, move || {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err(refused())
        });
        assert!(r.run(|_| Ok(())).is_err());
        for _ in 0..5 {
            match r.run(|_| Ok(())) {
                Err(RedisError::Unavailable {
                    retry_in,
                    last_error,
                }) => {
                    assert!(retry_in > Duration::from_secs(20));
                    assert!(last_error.contains("127.0.0.1:1"), "{last_error}");
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(r.retry_in() > Duration::from_secs(20));
        assert!(matches!(r.health(), Health::Down { failures: 1, .. }));
    }
}
