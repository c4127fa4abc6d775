//! A failure budget with exponential backoff, for one address or one
//! account: a few wrong passwords are free, then each one doubles the wait
//! before the next try, and a quiet spell forgets them. Attempts under way
//! count against the budget before their outcome is known, so a burst of
//! simultaneous guesses cannot all slip in while the first is checked.

use std::time::{Duration, Instant};

/// How many failures are free, how long the waits get, when they are forgotten.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures (and attempts under way) allowed before any wait.
    pub free: u32,
    /// Attempts under way at once: a person types one password at a time.
    pub at_once: u32,
    /// The wait after the `free`-th failure; doubled by each later one.
    pub base: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Failures are forgotten this long after the last one.
    pub forget: Duration,
}

impl Policy {
    /// The wait that `failures` failures impose after the last of them.
    pub fn backoff(&self, failures: u32) -> Duration {
        if failures < self.free {
            return Duration::ZERO;
        }
        // 2^20 times any sane base is past any sane max: stop doubling there.
        let doublings = (failures - self.free).min(20);
        self.base.saturating_mul(1 << doublings).min(self.max)
    }
}

/// The shortest wait a refusal asks for: a client told "0 s" would retry at once.
const MIN_RETRY: Duration = Duration::from_secs(1);

/// The failures of one address or account, and its attempts under way.
#[derive(Debug, Default, Clone)]
pub struct Record {
    failures: u32,
    in_flight: u32,
    last_failure: Option<Instant>,
}

impl Record {
    /// Forgets the failures once `policy.forget` has passed since the last.
    fn forget_old(&mut self, now: Instant, policy: &Policy) {
        if let Some(last) = self.last_failure {
            if now.saturating_duration_since(last) >= policy.forget {
                self.failures = 0;
                self.last_failure = None;
            }
        }
    }

    /// True when nothing is remembered: no failure (not yet forgotten) and
    /// no attempt under way.
    pub fn is_clean(&mut self, now: Instant, policy: &Policy) -> bool {
        self.forget_old(now, policy);
        self.failures == 0 && self.in_flight == 0
    }

    /// When the last failure is.
    pub fn last_failure(&self) -> Option<Instant> {
        self.last_failure
    }

    /// True when an attempt is under way.
    pub fn is_busy(&self) -> bool {
        self.in_flight > 0
    }

    /// True when there is nothing worth keeping: no attempt under way, and
    /// no failure or only forgotten ones.
    pub fn is_idle(&self, now: Instant, policy: &Policy) -> bool {
        let forgotten = self
            .last_failure
            .is_none_or(|last| now.saturating_duration_since(last) >= policy.forget);
        self.in_flight == 0 && (self.failures == 0 || forgotten)
    }

    /// Starts an attempt if the budget allows one now: within the free
    /// failures (counting those under way), or one at a time once the
    /// backoff since the last failure has passed.
    ///
    /// # Errors
    /// How long to wait before trying again (at least a second).
    pub fn try_begin(&mut self, now: Instant, policy: &Policy) -> Result<(), Duration> {
        self.forget_old(now, policy);
        if self.in_flight >= policy.at_once {
            return Err(MIN_RETRY);
        }
        if self.failures + self.in_flight < policy.free {
            self.in_flight += 1;
            return Ok(());
        }
        let until = self
            .last_failure
            .map_or(now, |last| last + policy.backoff(self.failures));
        if self.in_flight == 0 && now >= until {
            self.in_flight += 1;
            return Ok(());
        }
        Err(until.saturating_duration_since(now).max(MIN_RETRY))
    }

    /// Ends an attempt that was not carried out (nothing was checked).
    pub fn cancel(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Ends an attempt; a failed one counts. True when this failure is the
    /// one that starts the waits (worth telling the operator, once).
    pub fn end(&mut self, now: Instant, failed: bool, policy: &Policy) -> bool {
        self.cancel();
        failed && self.fail(now, policy)
    }

    /// Counts a failure of an attempt that was not started here. True when
    /// it is the one that starts the waits.
    pub fn fail(&mut self, now: Instant, policy: &Policy) -> bool {
        self.failures = self.failures.saturating_add(1);
        self.last_failure = Some(now);
        self.failures == policy.free
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        free: 3,
        at_once: 3,
        base: Duration::from_secs(1),
        max: Duration::from_secs(8),
        forget: Duration::from_secs(60),
    };

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn backoff_doubles_from_the_free_failures_up_to_the_cap() {
        let waits: Vec<u64> = (0..10).map(|n| POLICY.backoff(n).as_secs()).collect();
        assert_eq!(waits, [0, 0, 0, 1, 2, 4, 8, 8, 8, 8]);
        assert_eq!(POLICY.backoff(u32::MAX), secs(8), "no overflow");
    }

    #[test]
    fn attempts_under_way_count_against_the_free_ones() {
        let now = Instant::now();
        let mut r = Record::default();
        assert!(r.is_clean(now, &POLICY));
        for _ in 0..3 {
            r.try_begin(now, &POLICY).unwrap();
        }
        assert!(!r.is_clean(now, &POLICY));
        // A fourth simultaneous guess is refused before any is checked.
        assert_eq!(r.try_begin(now, &POLICY), Err(MIN_RETRY));
        // Successes leave nothing behind; the free attempts are free again.
        for _ in 0..3 {
            assert!(!r.end(now, false, &POLICY));
        }
        assert!(r.is_clean(now, &POLICY));
        r.try_begin(now, &POLICY).unwrap();
    }

    #[test]
    fn attempts_at_once_are_capped_below_the_free_ones() {
        let now = Instant::now();
        let policy = Policy {
            at_once: 2,
            ..POLICY
        };
        let mut r = Record::default();
        r.try_begin(now, &policy).unwrap();
        r.try_begin(now, &policy).unwrap();
        assert_eq!(r.try_begin(now, &policy), Err(MIN_RETRY));
        r.end(now, true, &policy);
        r.try_begin(now, &policy).unwrap();
    }

    #[test]
    fn after_the_free_failures_one_try_per_backoff_and_each_failure_doubles_it() {
        let t0 = Instant::now();
        let mut r = Record::default();
        let mut began = Vec::new();
        for _ in 0..3 {
            r.try_begin(t0, &POLICY).unwrap();
            began.push(r.end(t0, true, &POLICY));
        }
        assert_eq!(began, [false, false, true], "the third starts the waits");
        assert_eq!(r.try_begin(t0, &POLICY), Err(secs(1)));
        // Once the wait is over: one try, and only one at a time.
        r.try_begin(t0 + secs(1), &POLICY).unwrap();
        assert!(r.try_begin(t0 + secs(1), &POLICY).is_err());
        assert!(!r.end(t0 + secs(1), true, &POLICY));
        assert_eq!(r.try_begin(t0 + secs(2), &POLICY), Err(secs(1)));
        assert_eq!(r.try_begin(t0 + secs(1), &POLICY), Err(secs(2)));
        r.try_begin(t0 + secs(3), &POLICY).unwrap();
        r.end(t0 + secs(3), true, &POLICY);
        assert_eq!(r.try_begin(t0 + secs(3), &POLICY), Err(secs(4)));
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_spell() {
        let t0 = Instant::now();
        let mut r = Record::default();
        for _ in 0..5 {
            r.fail(t0, &POLICY);
        }
        assert!(r.try_begin(t0, &POLICY).is_err());
        let later = t0 + POLICY.forget;
        assert!(r.is_clean(later, &POLICY));
        for _ in 0..3 {
            r.try_begin(later, &POLICY).unwrap();
        }
    }
}
