//! The arithmetic of a workload: who joins which room, nicks and room names,
//! message bodies that carry their send time, how many deliveries the server
//! owes and how long each phase may take. Pure functions, no I/O.

use std::fmt::Write as _;
use std::time::Duration;

use super::args::Config;
use super::chat::LOBBY;
use super::wire::Protocol;

/// The room (0-based) client `client` joins: round robin.
pub(crate) fn room_of(client: usize, rooms: usize) -> usize {
    client % rooms
}

/// Members of each room.
fn room_sizes(clients: usize, rooms: usize) -> Vec<usize> {
    let mut sizes = vec![0; rooms];
    for c in 0..clients {
        sizes[room_of(c, rooms)] += 1;
    }
    sizes
}

/// Deliveries the server owes when client `i` sent `sent[i]` messages:
/// each goes to every other member of the sender's room.
pub(crate) fn expected_deliveries(sent: &[u64], rooms: usize) -> u64 {
    let sizes = room_sizes(sent.len(), rooms);
    sent.iter()
        .enumerate()
        .map(|(i, &n)| n * (sizes[room_of(i, rooms)] as u64).saturating_sub(1))
        .sum()
}

/// The nick of client `i`: short, unique, valid in both protocols.
pub(crate) fn nick(i: usize) -> String {
    format!("b{i:04}")
}

/// The name of room `k` as the protocol spells it. With one chat room the
/// clients stay in `lobby`, where LOGIN puts them.
pub(crate) fn room_name(protocol: Protocol, k: usize, rooms: usize) -> String {
    match protocol {
        Protocol::Chat | Protocol::Ws if rooms == 1 => LOBBY.to_string(),
        Protocol::Chat | Protocol::Ws => format!("room{k}"),
        Protocol::Irc => format!("#room{k}"),
    }
}

/// A message body of exactly `size` bytes (or the token alone, if longer):
/// the send time, a space, then padding.
pub(crate) fn message_body(sent_ns: u64, size: usize) -> String {
    let mut body = sent_ns.to_string();
    if body.len() < size {
        body.push(' ');
    }
    while body.len() < size {
        body.push('x');
    }
    body
}

/// The send time a message body starts with, if it has one.
pub(crate) fn body_send_time(body: &[u8]) -> Option<u64> {
    let token = body.split(|&b| b == b' ').next()?;
    std::str::from_utf8(token).ok()?.parse().ok()
}

/// How long each phase may take, computed from the workload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    /// Connecting and logging in every client.
    pub(crate) login: Duration,
    /// From the first send until the last delivery and reply.
    pub(crate) run: Duration,
}

impl Budget {
    /// Generous but finite: 10 s plus 20 ms per client for logins; for the
    /// run, 15 s plus the paced send time (with 20% slack), plus time for
    /// messages at 10,000/s and deliveries at 20,000/s, far below what a
    /// loopback server manages.
    pub(crate) fn for_config(config: &Config) -> Budget {
        let login = Duration::from_secs(10) + Duration::from_millis(20) * config.clients as u32;
        let messages = (config.clients * config.messages) as f64;
        let sent = vec![config.messages as u64; config.clients];
        let deliveries = expected_deliveries(&sent, config.rooms) as f64;
        let paced = config
            .rate
            .map_or(0.0, |r| config.messages as f64 / r * 1.2);
        let run = config.timeout.unwrap_or_else(|| {
            Duration::from_secs_f64(15.0 + paced + messages / 10_000.0 + deliveries / 20_000.0)
        });
        Budget { login, run }
    }
}

/// The clients that got other than their share of deliveries, at most five
/// named: `b0199 got 9948 of 9950, ...`. `None` when every count is right.
pub(crate) fn who_missed(got: &[u64], sent: &[u64], rooms: usize) -> Option<String> {
    let mut room_sent = vec![0u64; rooms];
    for (i, &n) in sent.iter().enumerate() {
        room_sent[room_of(i, rooms)] += n;
    }
    let off: Vec<String> = got
        .iter()
        .zip(sent)
        .enumerate()
        .filter_map(|(i, (&g, &own))| {
            let want = room_sent[room_of(i, rooms)] - own;
            (g != want).then(|| format!("{} got {g} of {want}", nick(i)))
        })
        .collect();
    if off.is_empty() {
        return None;
    }
    let mut text = off[..off.len().min(5)].join(", ");
    if off.len() > 5 {
        let _ = write!(text, " and {} more clients", off.len() - 5);
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_deliveries_per_room() {
        // 3 clients in one room, 5 messages each: 15 messages x 2 others.
        assert_eq!(expected_deliveries(&[5, 5, 5], 1), 30);
        // 5 clients in 2 rooms (3 + 2): 3x2 + 2x1 messages x others.
        assert_eq!(expected_deliveries(&[1, 1, 1, 1, 1], 2), 3 * 2 + 2);
        // Alone in a room: nobody to deliver to.
        assert_eq!(expected_deliveries(&[7, 7], 2), 0);
        assert_eq!(room_sizes(5, 2), vec![3, 2]);
    }

    #[test]
    fn who_missed_names_the_short_clients() {
        // 3 clients in one room sent 5 each: everyone is owed 10.
        assert_eq!(who_missed(&[10, 10, 10], &[5, 5, 5], 1), None);
        assert_eq!(
            who_missed(&[10, 8, 11], &[5, 5, 5], 1).as_deref(),
            Some("b0001 got 8 of 10, b0002 got 11 of 10")
        );
        let many = who_missed(&[0; 8], &[1; 8], 1).unwrap_or_default();
        assert!(many.starts_with("b0000 got 0 of 7, "), "{many}");
        assert!(many.ends_with(" and 3 more clients"), "{many}");
    }

    #[test]
    fn message_bodies_carry_their_send_time() {
        let body = message_body(123_456_789, 64);
        assert_eq!(body.len(), 64);
        assert_eq!(body_send_time(body.as_bytes()), Some(123_456_789));
        let exact = message_body(1_234_567_890_123_456, 16);
        assert_eq!(exact, "1234567890123456");
        assert_eq!(body_send_time(b"hello world"), None);
    }
}
