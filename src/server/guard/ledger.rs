//! The records of password guesses, per address and per account: the two
//! failure budgets a guess must pass before it is checked, which addresses
//! each account logged in from, and the bounds on how many are kept.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Instant;

use super::{
    human, AddrKey, Policy, Record, Refused, ACCOUNT_POLICY, ADDRESS_POLICY, KNOWN_PER_ACCOUNT,
    MAX_TRACKED,
};

/// The records of guesses: per address and per account.
#[derive(Debug, Default)]
pub struct Ledger {
    pub(super) addresses: HashMap<AddrKey, Record>,
    pub(super) accounts: HashMap<String, AccountEntry>,
}

#[derive(Debug, Default)]
pub(super) struct AccountEntry {
    pub(super) record: Record,
    /// Addresses it logged in or registered from lately, the latest first.
    pub(super) known: Vec<AddrKey>,
}

impl Ledger {
    /// Lets a guess at `account` from `addr` go on, or says why not.
    /// `Ok(true)` when the account's budget was asked too.
    pub(super) fn admit(
        &mut self,
        addr: AddrKey,
        account: &str,
        nick: &str,
        now: Instant,
    ) -> Result<bool, Refused> {
        if !self.addresses.contains_key(&addr) {
            make_room(&mut self.addresses, now, &ADDRESS_POLICY, |r| r);
        }
        let record = self.addresses.entry(addr).or_default();
        let clean = record.is_clean(now, &ADDRESS_POLICY);
        record
            .try_begin(now, &ADDRESS_POLICY)
            .map_err(|wait| Refused {
                reason: format!(
                    "too many wrong passwords from your address; try again in {}",
                    human(wait)
                ),
                retry_after: wait,
            })?;
        let known = self
            .accounts
            .get(account)
            .is_some_and(|e| e.known.contains(&addr));
        if clean || known {
            return Ok(false);
        }
        let entry = self.account(account, now);
        if let Err(wait) = entry.record.try_begin(now, &ACCOUNT_POLICY) {
            if let Some(record) = self.addresses.get_mut(&addr) {
                record.cancel();
            }
            return Err(Refused {
                reason: format!(
                    "too many wrong passwords for {nick} lately; try again in {}",
                    human(wait)
                ),
                retry_after: wait,
            });
        }
        Ok(true)
    }

    /// Takes back an admitted guess that was never checked.
    pub(super) fn cancel(&mut self, addr: AddrKey, account: &str, gated: bool) {
        if let Some(record) = self.addresses.get_mut(&addr) {
            record.cancel();
        }
        if gated {
            if let Some(entry) = self.accounts.get_mut(account) {
                entry.record.cancel();
            }
        }
    }

    /// Records a checked guess; returns console lines for budgets that
    /// start making guessers wait.
    pub(super) fn finish(
        &mut self,
        addr: AddrKey,
        account: &str,
        nick: &str,
        gated: bool,
        correct: bool,
        now: Instant,
    ) -> Vec<String> {
        let mut notes = Vec::new();
        let started = self
            .addresses
            .get_mut(&addr)
            .is_some_and(|r| r.end(now, !correct, &ADDRESS_POLICY));
        if started {
            notes.push(format!(
                "password guessing from {addr}: {} wrong passwords; its next guesses wait {}, doubling with each wrong one (up to {})",
                ADDRESS_POLICY.free,
                human(ADDRESS_POLICY.base),
                human(ADDRESS_POLICY.max)
            ));
        }
        if correct {
            self.remember(addr, account, now);
            if gated {
                if let Some(entry) = self.accounts.get_mut(account) {
                    entry.record.cancel();
                }
            }
            return notes;
        }
        let entry = self.account(account, now);
        let started = if gated {
            entry.record.end(now, true, &ACCOUNT_POLICY)
        } else {
            entry.record.fail(now, &ACCOUNT_POLICY)
        };
        if started {
            notes.push(format!(
                "password guessing at {nick}: {} wrong passwords lately; guesses from addresses that guessed wrong now wait {}, doubling (up to {}); other addresses still get their turn",
                ACCOUNT_POLICY.free,
                human(ACCOUNT_POLICY.base),
                human(ACCOUNT_POLICY.max)
            ));
        }
        notes
    }

    /// Notes that `account` logged in or registered from `addr`.
    pub(super) fn remember(&mut self, addr: AddrKey, account: &str, now: Instant) {
        let entry = self.account(account, now);
        entry.known.retain(|&a| a != addr);
        entry.known.insert(0, addr);
        entry.known.truncate(KNOWN_PER_ACCOUNT);
    }

    /// The entry of `account`, made (room permitting) if there is none.
    fn account(&mut self, account: &str, now: Instant) -> &mut AccountEntry {
        if !self.accounts.contains_key(account) {
            make_room(&mut self.accounts, now, &ACCOUNT_POLICY, |e| &e.record);
        }
        self.accounts.entry(account.to_string()).or_default()
    }
}

/// Keeps `map` under `MAX_TRACKED` before an entry is added: drops the
/// entries with nothing worth keeping, and if that is not enough, the one
/// quiet for longest. (An account's known addresses go with its entry;
/// that costs its owner the head start, never the login.)
fn make_room<K: Clone + Eq + Hash, V>(
    map: &mut HashMap<K, V>,
    now: Instant,
    policy: &Policy,
    record: fn(&V) -> &Record,
) {
    if map.len() < MAX_TRACKED {
        return;
    }
    map.retain(|_, v| !record(v).is_idle(now, policy));
    if map.len() < MAX_TRACKED {
        return;
    }
    let oldest = map
        .iter()
        .filter(|(_, v)| !record(v).is_busy())
        .min_by_key(|(_, v)| record(v).last_failure())
        .map(|(k, _)| k.clone());
    if let Some(key) = oldest {
        map.remove(&key);
    }
}
