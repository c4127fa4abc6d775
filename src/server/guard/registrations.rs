//! Registrations per address in a sliding hour: each one is remembered by
//! its time for an hour, and an address that has made its allowance waits
//! until the oldest one is an hour old.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::AddrKey;

/// The window the allowance counts over.
pub const WINDOW: Duration = Duration::from_secs(3600);
/// Addresses remembered at once; past it, those with nothing in the window
/// are forgotten, and if all still count, registrations wait (nobody's
/// login does).
const MAX_ADDRESSES: usize = 10_000;

/// Why a registration cannot happen now.
#[derive(Debug, PartialEq, Eq)]
pub enum Full {
    /// This address made its allowance; the oldest ages out after this long.
    Address(Duration),
    /// Too many addresses registered within the hour to keep track of more.
    Server,
}

/// The registration times of each address, within the window.
#[derive(Debug)]
pub struct Registrations {
    per_hour: usize,
    times: HashMap<AddrKey, VecDeque<Instant>>,
}

impl Registrations {
    /// At most `per_hour` registrations from one address in any hour.
    pub fn new(per_hour: usize) -> Registrations {
        Registrations {
            per_hour,
            times: HashMap::new(),
        }
    }

    /// Counts a registration by `addr` at `now` if its allowance has room.
    ///
    /// # Errors
    /// `Full` when it has none (or the table is full).
    pub fn try_take(&mut self, addr: AddrKey, now: Instant) -> Result<(), Full> {
        if !self.times.contains_key(&addr) && self.times.len() >= MAX_ADDRESSES {
            self.times.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|&t| now.saturating_duration_since(t) < WINDOW)
            });
            if self.times.len() >= MAX_ADDRESSES {
                return Err(Full::Server);
            }
        }
        let times = self.times.entry(addr).or_default();
        while times
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= self.per_hour {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(Full::Address(
                (oldest + WINDOW).saturating_duration_since(now),
            ));
        }
        times.push_back(now);
        Ok(())
    }

    /// Gives back a registration taken at `at` that did not happen (the
    /// name was taken meanwhile, the disk was full).
    pub fn give_back(&mut self, addr: AddrKey, at: Instant) {
        if let Some(times) = self.times.get_mut(&addr) {
            if let Some(i) = times.iter().rposition(|&t| t == at) {
                times.remove(i);
            }
            if times.is_empty() {
                self.times.remove(&addr);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> AddrKey {
        AddrKey::of(s.parse().unwrap())
    }

    #[test]
    fn an_address_gets_its_allowance_per_hour() {
        let t0 = Instant::now();
        let mut r = Registrations::new(3);
        let a = addr("192.0.2.1");
        for i in 0..3 {
            r.try_take(a, t0 + Duration::from_secs(i * 60)).unwrap();
        }
        let at = t0 + Duration::from_secs(600);
        assert_eq!(
            r.try_take(a, at),
            Err(Full::Address(Duration::from_secs(3000)))
        );
        r.try_take(addr("192.0.2.2"), at).unwrap();
        // An hour after the first, one more.
        let later = t0 + WINDOW;
        r.try_take(a, later).unwrap();
        assert!(r.try_take(a, later).is_err());
    }

    #[test]
    fn a_registration_that_did_not_happen_is_given_back() {
        let t0 = Instant::now();
        let mut r = Registrations::new(1);
        let a = addr("2001:db8::1");
        r.try_take(a, t0).unwrap();
        r.give_back(a, t0);
        r.try_take(a, t0).unwrap();
        // The same /64 is the same address.
        assert!(r.try_take(addr("2001:db8::2"), t0).is_err());
    }

    #[test]
    fn the_table_is_bounded() {
        let t0 = Instant::now();
        let mut r = Registrations::new(1);
        for i in 0..MAX_ADDRESSES as u32 {
            r.try_take(AddrKey::of(std::net::Ipv4Addr::from(i).into()), t0)
                .unwrap();
        }
        assert_eq!(r.try_take(addr("192.0.2.1"), t0), Err(Full::Server));
        // Once the old ones are an hour old they make room.
        r.try_take(addr("192.0.2.1"), t0 + WINDOW).unwrap();
        assert_eq!(r.times.len(), 1);
    }
}
