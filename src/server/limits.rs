//! Flood control: a token bucket per client for requests, and a count of
//! connections per IP address, the two limits IRC servers rely on to keep
//! one noisy peer from drowning everyone else.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// Requests per second and burst allowed to one client.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> RateLimit {
        RateLimit {
            per_second: 10.0,
            burst: 20.0,
        }
    }
}

/// A classic token bucket: `burst` tokens, refilled at `per_second`; each
/// request takes one.
#[derive(Debug)]
pub struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(limit: RateLimit) -> TokenBucket {
        TokenBucket {
            limit,
            tokens: limit.burst,
            last: Instant::now(),
        }
    }

    /// Takes a token if there is one (as of `now`).
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.limit.per_second).min(self.limit.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Live connections per IP address, shared by the accept loop and the
/// session threads; a `Slot` gives its place back when dropped.
#[derive(Clone, Default)]
pub struct PerIp {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection's place in the per-IP count.
pub struct Slot {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl PerIp {
    /// Takes a slot for `ip` unless it already has `max` connections.
    pub fn try_acquire(&self, ip: IpAddr, max: usize) -> Option<Slot> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(ip).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Slot {
            counts: Arc::clone(&self.counts),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(RateLimit {
            per_second: 10.0,
            burst: 20.0,
        });
        bucket.last = start;
        let taken = (0..30).filter(|_| bucket.try_take(start)).count();
        assert_eq!(taken, 20, "the burst, then nothing");
        assert!(!bucket.try_take(start + Duration::from_millis(50)));
        assert!(
            bucket.try_take(start + Duration::from_millis(100)),
            "one token per 100 ms"
        );
        assert!(!bucket.try_take(start + Duration::from_millis(100)));
        let later = start + Duration::from_secs(60);
        assert_eq!(
            (0..30).filter(|_| bucket.try_take(later)).count(),
            20,
            "capped at burst"
        );
    }

    #[test]
    fn per_ip_slots_are_counted_and_given_back() {
        let per_ip = PerIp::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let a = per_ip.try_acquire(ip, 2).unwrap();
        let _b = per_ip.try_acquire(ip, 2).unwrap();
        assert!(per_ip.try_acquire(ip, 2).is_none());
        let other: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(
            per_ip.try_acquire(other, 2).is_some(),
            "other addresses are separate"
        );
        drop(a);
        assert!(per_ip.try_acquire(ip, 2).is_some());
    }
}
