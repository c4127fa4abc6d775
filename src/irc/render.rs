//! What members of a channel see, as IRC lines: messages (split to fit,
//! tagged with `time`, `msgid` and `account` for clients that enabled the
//! matching capabilities), JOIN/PART/QUIT/NICK, a shared file as a NOTICE,
//! and a room's recent history as a `chathistory` batch. Plain arguments,
//! not the hub's events, so the door can call them whatever the events are.

use std::time::SystemTime;

use super::cap::{Cap, CapSet};
use super::error::IrcError;
use super::message::Message;
use super::split::{split_text, text_budget};

/// `nick!user@host`, the source of a user's lines.
pub fn user_mask(nick: &str, user: &str, host: &str) -> String {
    format!("{nick}!{user}@{host}")
}

/// `t` as the `server-time` tag wants it: `2026-11-21T10:15:02.123Z` (UTC,
/// milliseconds).
pub fn server_time(t: SystemTime) -> String {
    // clock::format_utc gives `YYYY-MM-DD hh:mm:ss.uuuuuu`.
    let utc = crate::clock::format_utc(t);
    let (date, time) = utc.split_once(' ').unwrap_or((&utc, ""));
    format!("{date}T{}Z", &time[..time.len().min(12)])
}

/// A date as the hub and `log.txt` write it (`clock::format_utc`:
/// `2026-11-21 10:15:02.123456`) as a `server-time` tag value
/// (`2026-11-21T10:15:02.123Z`); `None` if it is not of that shape.
pub fn server_time_from_utc(date: &str) -> Option<String> {
    let b = date.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let shape = b.len() >= 23
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b' '
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'.'
        && digits(20..23);
    shape.then(|| format!("{}T{}Z", &date[..10], &date[11..23]))
}

/// What the hub knows about one message, for its tags.
#[derive(Debug, Clone, Copy, Default)]
pub struct Meta<'a> {
    /// When the server accepted it, as the hub writes dates
    /// (`2026-11-21 10:15:02.123456`, UTC): the `time` tag, with `server-time`.
    pub time: Option<&'a str>,
    /// Its id (`msgid`, with `message-tags`).
    pub msgid: Option<&'a str>,
    /// The sender's account, if logged in (`account`, with `account-tag`).
    pub account: Option<&'a str>,
}

/// Adds the tags `caps` allows. With `message-tags`, `msgid` goes on each
/// line of a split message as `<msgid>` for the first and `<msgid>-<n>`
/// for the following ones, because a msgid must be unique per line.
fn tagged(mut m: Message, meta: &Meta, caps: CapSet, piece: usize) -> Message {
    if let (Some(t), true) = (meta.time, caps.contains(Cap::ServerTime)) {
        if let Some(t) = server_time_from_utc(t) {
            m = m.with_tag("time", t);
        }
    }
    if let (Some(id), true) = (meta.msgid, caps.contains(Cap::MessageTags)) {
        let id = if piece == 0 {
            id.to_string()
        } else {
            format!("{id}-{piece}")
        };
        m = m.with_tag("msgid", id);
    }
    if let (Some(account), true) = (meta.account, caps.contains(Cap::AccountTag)) {
        m = m.with_tag("account", account);
    }
    m
}

/// `PRIVMSG` lines carrying `text` from `source` to `target` (a channel or
/// a nickname), split without losing a byte, tagged for a client with `caps`.
///
/// # Errors
/// As [`split_text`]: a text with NUL or CR, or an absurdly long source.
pub fn privmsg(
    source: &str,
    target: &str,
    text: &str,
    meta: &Meta,
    caps: CapSet,
) -> Result<Vec<Message>, IrcError> {
    text_lines("PRIVMSG", source, target, text, meta, caps)
}

/// Like [`privmsg`], as `NOTICE` lines (server notices, shared files).
///
/// # Errors
/// As [`privmsg`].
pub fn notice(
    source: &str,
    target: &str,
    text: &str,
    meta: &Meta,
    caps: CapSet,
) -> Result<Vec<Message>, IrcError> {
    text_lines("NOTICE", source, target, text, meta, caps)
}

fn text_lines(
    command: &str,
    source: &str,
    target: &str,
    text: &str,
    meta: &Meta,
    caps: CapSet,
) -> Result<Vec<Message>, IrcError> {
    let pieces = split_text(text, text_budget(source, command, target))?;
    Ok(pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            let m = Message::new(command, [target, piece.text]).with_source(source);
            tagged(m, meta, caps, i)
        })
        .collect())
}

/// `:mask JOIN #channel`, the echo every member (the joiner included) gets.
pub fn join(mask: &str, channel: &str, meta: &Meta, caps: CapSet) -> Message {
    tagged(
        Message::new("JOIN", [channel]).with_source(mask),
        meta,
        caps,
        0,
    )
}

/// `:mask PART #channel [:reason]`.
pub fn part(mask: &str, channel: &str, reason: Option<&str>, meta: &Meta, caps: CapSet) -> Message {
    let mut params = vec![channel];
    params.extend(reason);
    tagged(
        Message::new("PART", params).with_source(mask),
        meta,
        caps,
        0,
    )
}

/// `:mask QUIT :reason`, to everyone who shares a channel with `mask`.
pub fn quit(mask: &str, reason: &str, meta: &Meta, caps: CapSet) -> Message {
    tagged(
        Message::new("QUIT", [reason]).with_source(mask),
        meta,
        caps,
        0,
    )
}

/// `:old-mask NICK new`, to the user and everyone who shares a channel.
pub fn nick_change(mask: &str, new_nick: &str, meta: &Meta, caps: CapSet) -> Message {
    tagged(
        Message::new("NICK", [new_nick]).with_source(mask),
        meta,
        caps,
        0,
    )
}

/// `:op-mask KICK #channel nick :reason`.
pub fn kick(
    mask: &str,
    channel: &str,
    nick: &str,
    reason: &str,
    meta: &Meta,
    caps: CapSet,
) -> Message {
    tagged(
        Message::new("KICK", [channel, nick, reason]).with_source(mask),
        meta,
        caps,
        0,
    )
}

/// The NOTICE text for a file shared in a room: who, what, how big, and
/// how to fetch it (the door says how: a command or a URL).
pub fn shared_file_text(sender: &str, name: &str, size_bytes: u64, fetch: &str) -> String {
    format!(
        "{sender} shared the file \"{name}\" ({}): {fetch}",
        crate::fileshare::human_size(size_bytes)
    )
}

/// One past message of a room, for the history shown on join.
#[derive(Debug, Clone, Copy)]
pub struct Past<'a> {
    /// The sender's `nick!user@host` (or just the nickname).
    pub mask: &'a str,
    /// What was said.
    pub text: &'a str,
    /// Its tags.
    pub meta: Meta<'a>,
}

/// A room's recent history for a client that just joined `channel`: with
/// `batch`, wrapped in `BATCH +id chathistory #channel` ... `BATCH -id`, each
/// line tagged `batch=id` (and `time` with `server-time`, which the batch is
/// useless without); without `batch`, the plain PRIVMSG lines.
///
/// # Errors
/// As [`privmsg`].
pub fn history(
    server: &str,
    batch_id: &str,
    channel: &str,
    past: &[Past],
    caps: CapSet,
) -> Result<Vec<Message>, IrcError> {
    let batch = caps.contains(Cap::Batch) && !past.is_empty();
    let mut lines = Vec::new();
    if batch {
        let start = Message::new("BATCH", [&format!("+{batch_id}"), "chathistory", channel]);
        lines.push(start.with_source(server));
    }
    for p in past {
        for m in privmsg(p.mask, channel, p.text, &p.meta, caps)? {
            lines.push(if batch {
                m.with_tag("batch", batch_id)
            } else {
                m
            });
        }
    }
    if batch {
        lines.push(Message::new("BATCH", [format!("-{batch_id}")]).with_source(server));
    }
    Ok(lines)
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
