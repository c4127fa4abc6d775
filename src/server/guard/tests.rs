#![cfg(test)]
use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn addr(s: &str) -> AddrKey {
    AddrKey::of(ip(s))
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// One guess, start to end, at `now`: `Err` when refused, else whether a
/// budget started making guessers wait.
fn guess(
    ledger: &mut Ledger,
    from: AddrKey,
    correct: bool,
    now: Instant,
) -> Result<Vec<String>, Refused> {
    let gated = ledger.admit(from, "ntu", "ntu", now)?;
    Ok(ledger.finish(from, "ntu", "ntu", gated, correct, now))
}

#[test]
fn addresses_are_counted_per_ipv4_address_and_per_ipv6_64() {
    assert_eq!(addr("::ffff:192.0.2.7"), addr("192.0.2.7"));
    assert_ne!(addr("192.0.2.7"), addr("192.0.2.8"));
    assert_eq!(addr("2001:db8:1:2:aaaa::1"), addr("2001:db8:1:2:bbbb::2"));
    assert_ne!(addr("2001:db8:1:2::1"), addr("2001:db8:1:3::1"));
    assert_eq!(addr("2001:db8:1:2::1").to_string(), "2001:db8:1:2::/64");
    assert_eq!(addr("::1").to_string(), "::/64");
    assert_eq!(addr("192.0.2.7").to_string(), "192.0.2.7");
}

#[test]
fn an_address_that_keeps_guessing_is_refused_without_a_check() {
    let t0 = Instant::now();
    let mut ledger = Ledger::default();
    let guesser = addr("192.0.2.66");
    for i in 0..ADDRESS_POLICY.free {
        let notes = guess(&mut ledger, guesser, false, t0).unwrap();
        assert_eq!(notes.len(), usize::from(i + 1 == ADDRESS_POLICY.free));
    }
    let refused = guess(&mut ledger, guesser, false, t0).unwrap_err();
    assert_eq!(refused.retry_after, secs(1));
    assert!(
        refused
            .reason
            .starts_with("too many wrong passwords from your address; try again in 1 s"),
        "{refused:?}"
    );
    // After the wait, one more try; wrong again, the wait doubles.
    guess(&mut ledger, guesser, false, t0 + secs(1)).unwrap();
    let refused = guess(&mut ledger, guesser, false, t0 + secs(1)).unwrap_err();
    assert_eq!(refused.retry_after, secs(2));
}

#[test]
fn simultaneous_guesses_from_one_address_are_capped_before_any_is_checked() {
    let t0 = Instant::now();
    let mut ledger = Ledger::default();
    let guesser = addr("192.0.2.66");
    let admitted: Vec<_> = (0..200)
        .filter_map(|_| ledger.admit(guesser, "ntu", "ntu", t0).ok())
        .collect();
    assert_eq!(admitted.len(), ADDRESS_POLICY.at_once as usize);
}

#[test]
fn the_owner_from_another_address_gets_in_while_one_is_guessing() {
    let t0 = Instant::now();
    let mut ledger = Ledger::default();
    let guesser = addr("192.0.2.66");
    // A long storm: every second, 200 guesses from the guesser's address.
    let mut checked = 0;
    for second in 0..600 {
        let now = t0 + secs(second);
        for _ in 0..200 {
            if guess(&mut ledger, guesser, false, now).is_ok() {
                checked += 1;
            }
        }
    }
    // 5 free, then one per doubling wait up to 5 min: a handful in 10 min.
    assert!(checked <= 15, "{checked} guesses were checked");
    let owner = addr("2001:db8::1");
    let now = t0 + secs(600);
    assert_eq!(guess(&mut ledger, owner, true, now), Ok(vec![]));
}

#[test]
fn many_addresses_guessing_one_account_meet_its_budget_but_a_clean_one_does_not() {
    let t0 = Instant::now();
    let mut ledger = Ledger::default();
    // Each address guesses wrong once at another account: now it has a record.
    let guessers: Vec<AddrKey> = (1..=50u8)
        .map(|i| AddrKey::of(IpAddr::from([198, 51, 100, i])))
        .collect();
    for &g in &guessers {
        let gated = ledger.admit(g, "other", "other", t0).unwrap();
        ledger.finish(g, "other", "other", gated, false, t0);
    }
    let mut refused = 0;
    let mut notes = Vec::new();
    for &g in &guessers {
        match guess(&mut ledger, g, false, t0) {
            Ok(n) => notes.extend(n),
            Err(r) => {
                assert!(r.reason.contains("for ntu lately"), "{r:?}");
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 50 - ACCOUNT_POLICY.free as usize);
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("password guessing at ntu")),
        "{notes:?}"
    );
    // An address with no record still gets its check.
    let owner = addr("203.0.113.9");
    assert_eq!(guess(&mut ledger, owner, true, t0), Ok(vec![]));
}

#[test]
fn an_address_the_account_used_before_is_not_held_back_by_its_budget() {
    let t0 = Instant::now();
    let mut ledger = Ledger::default();
    let home = addr("203.0.113.9");
    guess(&mut ledger, home, true, t0).unwrap();
    // The owner mistypes once; meanwhile others exhaust the account's budget.
    guess(&mut ledger, home, false, t0).unwrap();
    for i in 1..=30u8 {
        let g = AddrKey::of(IpAddr::from([198, 51, 100, i]));
        let gated = ledger.admit(g, "x", "x", t0).unwrap();
        ledger.finish(g, "x", "x", gated, false, t0);
        let _ = guess(&mut ledger, g, false, t0);
    }
    let stranger = addr("198.51.100.1");
    assert!(guess(&mut ledger, stranger, true, t0).is_err());
    assert_eq!(guess(&mut ledger, home, true, t0), Ok(vec![]));
}

#[test]
fn a_guess_dropped_unchecked_counts_for_nothing() {
    let guard = Arc::new(Guard::with_slots(1, 5));
    let peer = guard.peer(ip("192.0.2.1"));
    for _ in 0..ADDRESS_POLICY.free * 3 {
        drop(peer.begin_guess("ntu").unwrap());
    }
    let g = peer.begin_guess("ntu").unwrap();
    assert!(g.finish(false).is_empty());
    assert_eq!(guard.hashing.load(), (0, 0), "slots given back");
}

#[test]
fn a_busy_server_refuses_a_guess_and_takes_nothing_from_its_budget() {
    let guard = Arc::new(Guard::with_slots(1, 5));
    let peer = guard.peer(ip("192.0.2.1"));
    // One slot taken, and the waiting places of both lanes: the next is
    // refused at once.
    let _held = guard.hashing_slot().unwrap();
    let waiters: Vec<_> = [Lane::First, Lane::Second]
        .into_iter()
        .flat_map(|lane| std::iter::repeat_n(lane, WAITING_PER_SLOT))
        .map(|lane| {
            let guard = Arc::clone(&guard);
            std::thread::spawn(move || guard.hashing.acquire(lane, secs(30)).is_some())
        })
        .collect();
    while guard.hashing.load().1 < 2 * WAITING_PER_SLOT {
        std::thread::yield_now();
    }
    let refused = peer.begin_guess("ntu").unwrap_err();
    assert_eq!(refused, Refused::busy());
    assert_eq!(refused.retry_after_secs(), 2);
    assert!(guard.ledger().addresses[&peer.addr()].is_idle(Instant::now(), &ADDRESS_POLICY));
    drop(_held);
    for w in waiters {
        assert!(w.join().unwrap());
    }
}

#[test]
fn registrations_are_limited_per_connection_and_per_address() {
    let guard = Arc::new(Guard::with_slots(1, 5));
    let mut first = guard.peer(ip("192.0.2.1"));
    for i in 0..REGISTRATIONS_PER_CONNECTION {
        first
            .begin_registration()
            .unwrap()
            .stored(&mut first, &format!("n{i}"));
    }
    let refused = first.begin_registration().unwrap_err();
    assert!(
        refused
            .reason
            .starts_with("at most 3 registrations per connection"),
        "{refused:?}"
    );
    let mut second = guard.peer(ip("192.0.2.1"));
    // One that did not happen (the name was taken) is given back.
    drop(second.begin_registration().unwrap());
    for i in 0..2 {
        second
            .begin_registration()
            .unwrap()
            .stored(&mut second, &format!("m{i}"));
    }
    let refused = second.begin_registration().unwrap_err();
    assert!(
        refused
            .reason
            .starts_with("at most 5 registrations an hour from one address; try again in 60 min"),
        "{refused:?}"
    );
    assert_eq!(refused.retry_after_secs(), 3600);
    // Another address has its own allowance.
    let mut other = guard.peer(ip("192.0.2.2"));
    other.begin_registration().unwrap().stored(&mut other, "o");
    assert_eq!(guard.hashing.load(), (0, 0));
    // A registration is a login from home for the budget.
    assert!(guard.ledger().accounts["n0"].known.contains(&first.addr()));
}

#[test]
fn records_are_bounded() {
    let t0 = Instant::now();
    let mut ledger = Ledger::default();
    for i in 0..(MAX_TRACKED as u32 + 100) {
        let a = AddrKey::of(IpAddr::from(std::net::Ipv4Addr::from(i)));
        let gated = ledger.admit(a, "ntu", "ntu", t0).unwrap();
        ledger.finish(a, "ntu", "ntu", gated, false, t0);
    }
    assert!(ledger.addresses.len() <= MAX_TRACKED);
    // Accounts likewise: logins that succeed leave known addresses behind.
    for i in 0..(MAX_TRACKED + 100) {
        ledger.remember(addr("192.0.2.1"), &format!("a{i}"), t0);
    }
    assert!(ledger.accounts.len() <= MAX_TRACKED);
}

#[test]
fn waits_are_told_in_seconds_or_minutes() {
    assert_eq!(human(Duration::from_millis(1500)), "2 s");
    assert_eq!(human(secs(119)), "119 s");
    assert_eq!(human(secs(121)), "3 min");
    assert_eq!(human(secs(3600)), "60 min");
}
