//! What keeps password hashing from being used against the server: limits
//! on guesses at an account's password, and on registrations. Each check
//! of a password costs a core for about a fifth of a second (PBKDF2), so
//! 200 connections guessing one password used to keep the cores busy for
//! as long as it went on, and the account's owner waited behind them.
//!
//! A `LOGIN` with a password for a registered account passes, cheapest
//! first (each a map lookup under one short lock, nothing hashed):
//!
//! 1. **its address's budget** (an IPv4 address, or an IPv6 /64): 5 wrong
//!    passwords are free, counting guesses still being checked (2 at most
//!    at once, so a burst cannot slip in before the first is checked);
//!    then one guess at a time, after a wait that starts at 1 s and
//!    doubles with each wrong one, up to 5 min. Forgotten after 15 min
//!    without one.
//! 2. **the account's budget**, the same with 10 free, but only for
//!    addresses that have guessed wrong lately (at any account). An
//!    address with a clean record, or one the account logged in or
//!    registered from before, is not held back by what others did: that
//!    is how the owner gets in while others guess. The owner cannot be
//!    told from a guesser by the nickname, only by where they come from.
//! 3. **a hashing slot**: at most as many hashes at once as there are
//!    cores. Those waiting queue in two lanes, in arrival order: guesses
//!    from clean or known addresses first (waiting up to 5 s), the rest
//!    after them (up to 1 s); a full lane is refused at once.
//!
//! Every refusal is a `429` with `Retry-After`, and nothing is hashed for
//! it (the session answers it no sooner than a wrong password, so that a
//! guesser waiting for answers cannot make refusals its way to burn the
//! cores). A registration takes a hashing slot too, and an allowance: 3
//! per connection and (by default) 5 an hour per address.

mod backoff;
mod hashing;
mod ledger;
mod registrations;

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::text::name_key;

pub use backoff::{Policy, Record};
pub use hashing::{Hashing, Lane, Slot};
pub use registrations::{Full, Registrations};

use ledger::Ledger;

/// The failure budget of one address.
pub const ADDRESS_POLICY: Policy = Policy {
    free: 5,
    at_once: 2,
    base: Duration::from_secs(1),
    max: Duration::from_secs(300),
    forget: Duration::from_secs(900),
};
/// The failure budget of one account, for addresses that guessed wrong lately.
pub const ACCOUNT_POLICY: Policy = Policy {
    free: 10,
    at_once: 10,
    base: Duration::from_secs(1),
    max: Duration::from_secs(300),
    forget: Duration::from_secs(900),
};
/// Registrations one connection may make.
pub const REGISTRATIONS_PER_CONNECTION: u32 = 3;
/// Registrations one address may make in an hour, unless configured.
pub const DEFAULT_REGISTRATIONS_PER_HOUR: usize = 5;
/// The longest a check waits for a hashing slot before it is refused.
const HASH_WAIT: Duration = Duration::from_secs(1);
/// The same for a guess from an address with a clean record: likely the
/// owner, who would rather wait a little longer than be refused.
const FIRST_LANE_WAIT: Duration = Duration::from_secs(5);
/// Callers that may wait for a hashing slot, per slot.
const WAITING_PER_SLOT: usize = 4;
/// What a client refused for a busy server is told to wait.
const BUSY_RETRY: Duration = Duration::from_secs(2);
/// Addresses an account logged in or registered from, remembered per account.
const KNOWN_PER_ACCOUNT: usize = 4;
/// Addresses, and accounts, whose records are kept at once; past it, the
/// ones with nothing worth keeping go, then the longest quiet one.
const MAX_TRACKED: usize = 10_000;

/// An address as the limits see it: an IPv4 address, or the /64 network
/// of an IPv6 one (one host usually has a whole /64 to pick from). An
/// IPv4 address mapped into IPv6 (a dual-stack listener) is the IPv4 one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddrKey(IpAddr);

impl AddrKey {
    /// The key `ip` counts under.
    pub fn of(ip: IpAddr) -> AddrKey {
        match ip.to_canonical() {
            IpAddr::V4(v4) => AddrKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                AddrKey(IpAddr::V6(Ipv6Addr::from(segments)))
            }
        }
    }
}

impl fmt::Display for AddrKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// A request refused before any hashing: answer `429` with `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Why, for the person: what was refused and when to try again.
    pub reason: String,
    /// How long to wait before trying again.
    pub retry_after: Duration,
}

impl Refused {
    /// `Retry-After`: whole seconds, rounded up.
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0)
    }

    fn busy() -> Refused {
        Refused {
            reason: "the server is busy checking passwords; try again in a few seconds".into(),
            retry_after: BUSY_RETRY,
        }
    }
}

/// `42 s` or `5 min`, rounded up.
fn human(d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    if secs < 120 {
        format!("{secs} s")
    } else {
        format!("{} min", secs.div_ceil(60))
    }
}

/// The shared limits: the guess records, the registration allowances, the
/// hashing slots. One per server.
#[derive(Debug)]
pub struct Guard {
    ledger: Mutex<Ledger>,
    registrations: Mutex<Registrations>,
    hashing: Arc<Hashing>,
    per_hour: usize,
}

impl Guard {
    /// A guard with one hashing slot per core and `per_hour`
    /// registrations an hour per address.
    pub fn new(per_hour: usize) -> Guard {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Guard::with_slots(cores, per_hour)
    }

    /// A guard with `slots` hashes at once.
    pub fn with_slots(slots: usize, per_hour: usize) -> Guard {
        Guard {
            ledger: Mutex::new(Ledger::default()),
            registrations: Mutex::new(Registrations::new(per_hour)),
            hashing: Arc::new(Hashing::new(slots, slots.max(1) * WAITING_PER_SLOT)),
            per_hour,
        }
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // Every method leaves the ledger consistent: a panic cannot tear it.
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn registrations(&self) -> MutexGuard<'_, Registrations> {
        self.registrations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The view of one connection from `ip`.
    pub fn peer(self: &Arc<Self>, ip: IpAddr) -> PeerGuard {
        PeerGuard {
            guard: Arc::clone(self),
            addr: AddrKey::of(ip),
            registrations: 0,
        }
    }

    /// A hashing slot in the second lane, as a registration takes.
    #[cfg(test)]
    fn hashing_slot(&self) -> Result<Slot, Refused> {
        self.hashing
            .acquire(Lane::Second, HASH_WAIT)
            .ok_or_else(Refused::busy)
    }
}

/// One connection's side of the guard: its address, and the registrations
/// it has made.
#[derive(Debug)]
pub struct PeerGuard {
    guard: Arc<Guard>,
    addr: AddrKey,
    registrations: u32,
}

impl PeerGuard {
    /// The address the limits count this connection under.
    pub fn addr(&self) -> AddrKey {
        self.addr
    }

    /// Asks to check a password for the account `nick`. The returned
    /// `Guess` holds a hashing slot; say how it went with [`Guess::finish`].
    ///
    /// # Errors
    /// `Refused` (nothing was hashed) when a budget or the slots say no.
    pub fn begin_guess(&self, nick: &str) -> Result<Guess, Refused> {
        let g = &self.guard;
        let account = name_key(nick);
        let gated = g
            .ledger()
            .admit(self.addr, &account, nick, Instant::now())?;
        // An address with a clean record (or the account's own) goes first.
        let (lane, wait) = if gated {
            (Lane::Second, HASH_WAIT)
        } else {
            (Lane::First, FIRST_LANE_WAIT)
        };
        let Some(slot) = g.hashing.acquire(lane, wait) else {
            g.ledger().cancel(self.addr, &account, gated);
            return Err(Refused::busy());
        };
        Ok(Guess {
            guard: Arc::clone(g),
            addr: self.addr,
            account,
            nick: nick.to_string(),
            gated,
            slot: Some(slot),
            done: false,
        })
    }

    /// Asks to register (a hash of the new password follows). The returned
    /// `Registration` holds a hashing slot; call [`Registration::stored`]
    /// once the account exists, or drop it to give the allowance back.
    ///
    /// # Errors
    /// `Refused` when this connection or its address made its allowance,
    /// or the server is busy hashing.
    pub fn begin_registration(&self) -> Result<Registration, Refused> {
        let g = &self.guard;
        if self.registrations >= REGISTRATIONS_PER_CONNECTION {
            return Err(Refused {
                reason: format!(
                    "at most {REGISTRATIONS_PER_CONNECTION} registrations per connection (and {} an hour from one address)",
                    g.per_hour
                ),
                retry_after: registrations::WINDOW,
            });
        }
        let at = Instant::now();
        g.registrations()
            .try_take(self.addr, at)
            .map_err(|full| match full {
                Full::Address(wait) => Refused {
                    reason: format!(
                        "at most {} registrations an hour from one address; try again in {}",
                        g.per_hour,
                        human(wait)
                    ),
                    retry_after: wait,
                },
                Full::Server => Refused {
                    reason:
                        "too many registrations on this server in the last hour; try again later"
                            .into(),
                    retry_after: Duration::from_secs(60),
                },
            })?;
        let Some(slot) = g.hashing.acquire(Lane::Second, HASH_WAIT) else {
            g.registrations().give_back(self.addr, at);
            return Err(Refused::busy());
        };
        Ok(Registration {
            guard: Arc::clone(g),
            addr: self.addr,
            at,
            _slot: slot,
            stored: false,
        })
    }
}

/// A password check under way: holds a hashing slot and a place in the
/// budgets. Dropped without [`Guess::finish`], it counts for nothing.
#[derive(Debug)]
pub struct Guess {
    guard: Arc<Guard>,
    addr: AddrKey,
    account: String,
    nick: String,
    /// Whether the account's budget was asked (the address had a record).
    gated: bool,
    slot: Option<Slot>,
    done: bool,
}

impl Guess {
    /// Records how the check went and gives the slot back. Returns lines
    /// for the console: a budget that starts making guessers wait.
    pub fn finish(mut self, correct: bool) -> Vec<String> {
        self.slot = None;
        self.done = true;
        self.guard.ledger().finish(
            self.addr,
            &self.account,
            &self.nick,
            self.gated,
            correct,
            Instant::now(),
        )
    }
}

impl Drop for Guess {
    fn drop(&mut self) {
        if !self.done {
            self.guard
                .ledger()
                .cancel(self.addr, &self.account, self.gated);
        }
    }
}

/// A registration under way: holds a hashing slot and a place in the
/// address's allowance, given back if it is dropped before it is stored.
#[derive(Debug)]
pub struct Registration {
    guard: Arc<Guard>,
    addr: AddrKey,
    at: Instant,
    _slot: Slot,
    stored: bool,
}

impl Registration {
    /// The account `nick` exists now: the registration counts for the
    /// connection, and its address is one `nick`'s owner uses.
    pub fn stored(mut self, peer: &mut PeerGuard, nick: &str) {
        self.stored = true;
        peer.registrations += 1;
        self.guard
            .ledger()
            .remember(self.addr, &name_key(nick), Instant::now());
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if !self.stored {
            self.guard.registrations().give_back(self.addr, self.at);
        }
    }
}

#[cfg(test)]
mod tests;
