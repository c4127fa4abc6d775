//! How an IRC connection is sent what the hub delivers: room messages and
//! whispers as `PRIVMSG` lines (split to fit, `/me` as a CTCP `ACTION`),
//! joins, leaves and nickname changes, shared files as a `NOTICE`, a room's
//! history on entering (and pages asked for with `CHATHISTORY`) as a
//! `chathistory` batch, and removals as `KICK` or `PART`. The tags a line
//! carries depend on the capabilities the client enabled, so each
//! combination that changes the bytes is a format of its own.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::event::{Event, Parting};
use crate::irc::cap::{Cap, CapSet};
use crate::irc::casemap::room_to_channel;
use crate::irc::render::{server_time_from_utc, shared_file_text};
use crate::irc::split::{split_text, text_budget};
use crate::irc::Message;
use crate::server::accounts::Accounts;
use crate::server::history::{Kind, Record};
use crate::server::hub::{Codec, Delivery, Removal};
use crate::text::name_key;

use super::{mask, SERVER};

/// The lowest format number of this door: `CHAT/1.0` is 0, the browser 1.
const FIRST_FORMAT: usize = 2;

/// Capability bits that change the bytes of what the hub fans out.
const TIME: u8 = 1;
const TAGS: u8 = 2;
const ACCOUNT: u8 = 4;
/// `batch` changes only what one connection is sent alone (its history on
/// entering a room, never shared), so it is not part of the format.
const BATCH: u8 = 8;
/// The bits that make up the format number (`FIRST_FORMAT + 0..8`).
const FORMAT_BITS: u8 = TIME | TAGS | ACCOUNT;

/// The bytes of a CTCP `ACTION` around its text: `\x01ACTION ` and `\x01`.
const ACTION_OVERHEAD: usize = 9;

/// What the door and its codec share about one connection: the
/// capabilities that shape its lines, its nickname (for what is addressed
/// to it alone), and a counter for batch ids.
#[derive(Default)]
pub struct Link {
    flags: AtomicU8,
    nick: Mutex<String>,
    batches: AtomicU64,
}

impl Link {
    /// Takes note of the capabilities now enabled.
    pub fn set_caps(&self, caps: CapSet) {
        let mut flags = 0;
        for (cap, bit) in [
            (Cap::ServerTime, TIME),
            (Cap::MessageTags, TAGS),
            (Cap::AccountTag, ACCOUNT),
            (Cap::Batch, BATCH),
        ] {
            if caps.contains(cap) {
                flags |= bit;
            }
        }
        self.flags.store(flags, Ordering::Relaxed);
    }

    /// Takes note of the connection's nickname (at login and after `NICK`).
    pub fn set_nick(&self, nick: &str) {
        *self.nick.lock().unwrap_or_else(PoisonError::into_inner) = nick.to_string();
    }

    fn nick(&self) -> String {
        self.nick
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn flags(&self) -> u8 {
        self.flags.load(Ordering::Relaxed)
    }

    /// A batch id unique on this connection.
    pub fn next_batch(&self) -> String {
        format!("h{}", self.batches.fetch_add(1, Ordering::Relaxed) + 1)
    }
}

/// The IRC codec of one connection.
pub struct IrcCodec {
    link: Arc<Link>,
}

impl IrcCodec {
    pub fn new(link: Arc<Link>) -> IrcCodec {
        IrcCodec { link }
    }
}

impl Codec for IrcCodec {
    fn format(&self) -> usize {
        FIRST_FORMAT + usize::from(self.link.flags() & FORMAT_BITS)
    }

    fn encode(&self, delivery: &Delivery) -> Vec<u8> {
        let flags = self.link.flags();
        let lines = match delivery {
            Delivery::Event(event) => event_lines(event, flags),
            Delivery::Entered {
                room,
                nick,
                history,
                unread_from,
                ..
            } => entered(&self.link, flags, room, nick, history, *unread_from),
            Delivery::Removed { room, why } => vec![removed(&self.link.nick(), room, why)],
            Delivery::Invited { room, by } => {
                let channel = room_to_channel(room);
                vec![Message::new("INVITE", [self.link.nick(), channel]).with_source(mask(by))]
            }
        };
        to_bytes(&lines)
    }
}

/// The wire bytes of `lines`; a line that cannot be written (a bug, never
/// the peer's doing) is left out rather than sent broken.
pub fn to_bytes(lines: &[Message]) -> Vec<u8> {
    if let [line] = lines {
        return line.to_line_truncated().unwrap_or_default();
    }
    let mut out = Vec::new();
    for line in lines {
        if let Ok(bytes) = line.to_line_truncated() {
            out.extend_from_slice(&bytes);
        }
    }
    out
}

/// What a message carries besides its text, for its tags.
struct Meta<'a> {
    date: Option<&'a str>,
    seq: Option<u64>,
    /// The sender, whose account (if registered) is the `account` tag.
    from: Option<&'a str>,
}

/// `m` with the tags the client's capabilities ask for. `piece` numbers
/// the lines of one split message: a msgid is unique per line.
fn tagged(mut m: Message, flags: u8, meta: &Meta, piece: usize) -> Message {
    if let (Some(date), true) = (meta.date, flags & TIME != 0) {
        if let Some(time) = server_time_from_utc(date) {
            m = m.with_tag("time", time);
        }
    }
    if let (Some(seq), true) = (meta.seq, flags & TAGS != 0) {
        let id = match piece {
            0 => seq.to_string(),
            n => format!("{seq}-{n}"),
        };
        m = m.with_tag("msgid", id);
    }
    if let (Some(from), true) = (meta.from, flags & ACCOUNT != 0) {
        if accounts().is(from) {
            m = m.with_tag("account", from);
        }
    }
    m
}

/// The lines for one event; the same for every connection of a format.
fn event_lines(event: &Event, flags: u8) -> Vec<Message> {
    match event {
        Event::Message {
            room,
            from,
            date,
            seq,
            text,
            ..
        } => {
            let meta = Meta {
                date: Some(date),
                seq: Some(*seq),
                from: Some(from),
            };
            text_lines("PRIVMSG", from, &room_to_channel(room), text, flags, &meta)
        }
        Event::Whisper {
            from,
            to,
            date,
            seq,
            text,
            kept,
        } => {
            let meta = Meta {
                date: Some(date),
                seq: Some(*seq),
                from: Some(from),
            };
            // Without server-time, a whisper that waited says when it was sent.
            let text = if *kept && flags & TIME == 0 {
                format!("[{}] {text}", crate::clock::to_minute_label(date))
            } else {
                text.clone()
            };
            text_lines("PRIVMSG", from, to, &text, flags, &meta)
        }
        Event::Join { room, nick, .. } => {
            vec![Message::new("JOIN", [room_to_channel(room)]).with_source(mask(nick))]
        }
        Event::Leave {
            room, nick, why, ..
        } => vec![leave_line(room, nick, why)],
        Event::Renamed { old, new } => {
            vec![Message::new("NICK", [new.as_str()]).with_source(mask(old))]
        }
        Event::File {
            room,
            from,
            id,
            name,
            size,
            date,
        } => {
            let fetch = format!("fetch it with the terminal client: /get_file {id}");
            let text = shared_file_text(from, name, *size, &fetch);
            let meta = Meta {
                date: Some(date),
                seq: None,
                from: Some(from),
            };
            text_lines("NOTICE", from, &room_to_channel(room), &text, flags, &meta)
        }
        Event::Notice { text } => server_notice("*", text),
        Event::Ping => vec![Message::new("PING", [SERVER])],
        Event::Bye { reason } => vec![closing_link(reason)],
    }
}

/// `ERROR :Closing link: <reason>`, the last line before a hang-up.
pub fn closing_link(reason: &str) -> Message {
    Message::new("ERROR", [format!("Closing link: {reason}")])
}

/// A notice from the server to `target`, one line per line of `text`.
pub fn server_notice(target: &str, text: &str) -> Vec<Message> {
    let clean: String = text.chars().filter(|c| *c != '\r' && *c != '\0').collect();
    split_text(&clean, text_budget(SERVER, "NOTICE", target))
        .map(|pieces| {
            pieces
                .iter()
                .map(|p| Message::new("NOTICE", [target, p.text]).with_source(SERVER))
                .collect()
        })
        .unwrap_or_default()
}

/// `command` lines carrying `text` from `from` to `target`, split without
/// losing a byte. A text stored as `* NICK rest` by NICK (how an IRC `/me`
/// is kept, see `messages.rs`) goes out as a CTCP `ACTION` again, and one
/// stored as `-NICK- rest` (an IRC `NOTICE`) as a `NOTICE`.
fn text_lines(
    command: &str,
    from: &str,
    target: &str,
    text: &str,
    flags: u8,
    meta: &Meta,
) -> Vec<Message> {
    let source = mask(from);
    let action = text
        .strip_prefix("* ")
        .and_then(|rest| rest.strip_prefix(from))
        .and_then(|rest| rest.strip_prefix(' '))
        .filter(|_| command == "PRIVMSG");
    let notice = text
        .strip_prefix('-')
        .and_then(|rest| rest.strip_prefix(from))
        .and_then(|rest| rest.strip_prefix("- "))
        .filter(|_| command == "PRIVMSG" && action.is_none());
    let command = if notice.is_some() { "NOTICE" } else { command };
    let body = action.or(notice).unwrap_or(text);
    let overhead = if action.is_some() { ACTION_OVERHEAD } else { 0 };
    let budget = text_budget(&source, command, target).saturating_sub(overhead);
    // The hub refuses NUL and CR in texts, so the split cannot fail on
    // them; an absurd source would be our bug: send nothing then.
    let Ok(pieces) = split_text(body, budget) else {
        return Vec::new();
    };
    pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            let param = match action {
                Some(_) => format!("\u{1}ACTION {}\u{1}", piece.text),
                None => piece.text.to_string(),
            };
            let m = Message::new(command, [target.to_string(), param]).with_source(source.as_str());
            tagged(m, flags, meta, i)
        })
        .collect()
}

/// What a connection that just entered `room` is sent: the JOIN echo, then
/// the room's recent history, as a `chathistory` batch if it has `batch`,
/// with a notice where what is new to a returning user starts. The door
/// sends the names list (353/366) after the join's outcome.
fn entered(
    link: &Link,
    flags: u8,
    room: &str,
    nick: &str,
    history: &[Record],
    unread_from: Option<u64>,
) -> Vec<Message> {
    let channel = room_to_channel(room);
    let mut lines = vec![Message::new("JOIN", [channel.as_str()]).with_source(mask(nick))];
    if history.is_empty() {
        return lines;
    }
    let batch = (flags & BATCH != 0).then(|| link.next_batch());
    if let Some(id) = &batch {
        let start = Message::new(
            "BATCH",
            [format!("+{id}"), "chathistory".into(), channel.clone()],
        );
        lines.push(start.with_source(SERVER));
    }
    let mut marked = unread_from.is_none();
    for record in history {
        if !marked && unread_from.is_some_and(|since| record.seq > since) {
            let text = format!("--- new in {channel} since you were last here ---");
            lines.extend(in_batch(server_notice(&channel, &text), &batch));
            marked = true;
        }
        lines.extend(in_batch(past(record, &channel, flags), &batch));
    }
    if let Some(id) = batch {
        lines.push(Message::new("BATCH", [format!("-{id}")]).with_source(SERVER));
    }
    lines
}

/// One stored record of a room's history, as lines. Without server-time a
/// replayed line would pass for a new one, so its text starts with its date.
fn past(record: &Record, channel: &str, flags: u8) -> Vec<Message> {
    if record.kind == Kind::Closed {
        return server_notice(channel, &record.text);
    }
    let meta = Meta {
        date: Some(&record.date),
        seq: Some(record.seq),
        from: Some(&record.from),
    };
    if flags & TIME != 0 {
        return text_lines("PRIVMSG", &record.from, channel, &record.text, flags, &meta);
    }
    let text = format!(
        "[{}] {}",
        crate::clock::to_minute_label(&record.date),
        record.text
    );
    text_lines("PRIVMSG", &record.from, channel, &text, flags, &meta)
}

/// A page of history asked for with `CHATHISTORY`: the records as they
/// were sent (to their channel, or between their two people), in a
/// `chathistory` batch for `target` if the client has `batch`.
pub fn history_page(link: &Link, target: &str, records: &[Record]) -> Vec<Message> {
    let flags = link.flags();
    let lines = records
        .iter()
        .flat_map(|record| {
            let to = match record.kind {
                Kind::Whisper => record.to.clone(),
                Kind::Message | Kind::Closed => room_to_channel(&record.room),
            };
            past(record, &to, flags)
        })
        .collect();
    batched(link, &["chathistory", target], lines)
}

/// `lines` in a batch of type and parameters `kind` (`BATCH +id kind...`
/// before them, `BATCH -id` after), if the client has `batch`; else as
/// they are.
pub fn batched(link: &Link, kind: &[&str], lines: Vec<Message>) -> Vec<Message> {
    if link.flags() & BATCH == 0 {
        return lines;
    }
    let id = link.next_batch();
    let mut params = vec![format!("+{id}")];
    params.extend(kind.iter().map(|p| p.to_string()));
    let mut out = vec![Message::new("BATCH", params).with_source(SERVER)];
    out.extend(in_batch(lines, &Some(id.clone())));
    out.push(Message::new("BATCH", [format!("-{id}")]).with_source(SERVER));
    out
}

fn in_batch(lines: Vec<Message>, batch: &Option<String>) -> Vec<Message> {
    match batch {
        Some(id) => lines
            .into_iter()
            .map(|m| m.with_tag("batch", id.as_str()))
            .collect(),
        None => lines,
    }
}

/// How a room hears that `nick` left it: a `PART` (with what they said),
/// a `QUIT` when their connection ended, a `KICK` by the owner or, for the
/// room's rules, by the server.
fn leave_line(room: &str, nick: &str, why: &Parting) -> Message {
    let channel = room_to_channel(room);
    let reason = why.reason();
    match why {
        Parting::Left(_) if reason.is_empty() => Message::new("PART", [channel]),
        Parting::Left(_) => Message::new("PART", [channel.as_str(), reason]),
        Parting::Quit(_) => Message::new("QUIT", [reason]),
        Parting::Kicked { by, .. } => {
            return Message::new("KICK", [channel.as_str(), nick, reason]).with_source(mask(by))
        }
        Parting::Removed(_) => {
            return Message::new("KICK", [channel.as_str(), nick, reason]).with_source(SERVER)
        }
    }
    .with_source(mask(nick))
}

/// How `nick` hears that it is no longer in `room`: kicked by its owner,
/// kicked by the server for a ban or a lost permit, or parted when the room
/// was closed.
fn removed(nick: &str, room: &str, why: &Removal) -> Message {
    let channel = room_to_channel(room);
    let text = super::words::removal(room, why);
    match why {
        Removal::Kicked { by, .. } => {
            Message::new("KICK", [channel.as_str(), nick, &text]).with_source(mask(by))
        }
        Removal::Banned | Removal::Unpermitted => {
            Message::new("KICK", [channel.as_str(), nick, &text]).with_source(SERVER)
        }
        Removal::Closed { .. } => Message::new("PART", [channel, text]).with_source(mask(nick)),
    }
}

/// How long the registered nicknames read for account tags stay fresh.
const ACCOUNTS_FRESH: Duration = Duration::from_secs(10);

/// Registered nicknames, as this door last read them from the account
/// store, for `account` tags. A tag is decided while the hub's lock is
/// held, and the store's own lock is held across disk writes, so the
/// codec never asks the store: the door refreshes this copy at each IRC
/// login and when it is older than [`ACCOUNTS_FRESH`]. A nickname online
/// and registered is logged in to that account: nobody may use a
/// registered nickname without its password.
pub struct AccountNames {
    snapshot: RwLock<(HashSet<String>, Option<Instant>)>,
}

/// The one copy for the server.
pub fn accounts() -> &'static AccountNames {
    static NAMES: OnceLock<AccountNames> = OnceLock::new();
    NAMES.get_or_init(|| AccountNames {
        snapshot: RwLock::new((HashSet::new(), None)),
    })
}

impl AccountNames {
    /// True when `nick` was registered at the last refresh.
    pub fn is(&self, nick: &str) -> bool {
        let snapshot = self.snapshot.read().unwrap_or_else(PoisonError::into_inner);
        snapshot.0.contains(&name_key(nick))
    }

    /// Reads the store again, if `force` or the copy is stale.
    pub fn refresh(&self, store: &Accounts, force: bool) {
        let stale = {
            let snapshot = self.snapshot.read().unwrap_or_else(PoisonError::into_inner);
            snapshot.1.is_none_or(|at| at.elapsed() >= ACCOUNTS_FRESH)
        };
        if !(force || stale) {
            return;
        }
        let keys = store.nicks().iter().map(|n| name_key(n)).collect();
        *self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = (keys, Some(Instant::now()));
    }
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
