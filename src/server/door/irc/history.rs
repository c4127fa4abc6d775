//! History for IRC clients (IRCv3 drafts): `CHATHISTORY` pages of a
//! channel or a private conversation as a `chathistory` batch,
//! `CHATHISTORY TARGETS`, and `MARKREAD`, a registered user's read marker
//! per channel. Who may read what is the session's rule (`session::history`):
//! every page and marker goes through it. The session pages by message
//! number only, so a `timestamp=` reference is first turned into one (the
//! archive's time index), and `BETWEEN` and `LATEST` after a reference are
//! a page cut short at the second reference.

use crate::command::{Anchor, Conversation};
use crate::irc::cap::Cap;
use crate::irc::casemap::{room_to_channel, same};
use crate::irc::chathistory::{
    parse_chathistory, parse_markread, ChatHistory, Fail, Query, Reference, Target, Timestamp,
};
use crate::irc::render::server_time_from_utc;
use crate::irc::Message;
use crate::server::archive::{parse_time, MAX_PAGE};
use crate::server::history::{Kind, Record};
use crate::server::session::history::HistoryRefused;
use crate::server::session::Session;

use super::codec::{batched, history_page};
use super::{send, words, Flow, Online, SERVER};

/// The most conversations `CHATHISTORY TARGETS` looks at (each costs a
/// read of its newest message): the rooms one is in, then the private
/// conversations, most recent first, up to this many in all.
pub const MAX_TARGET_LOOKUPS: usize = 500;

/// `CHATHISTORY <subcommand> ...`: a page in a batch, or a `FAIL`.
pub fn chathistory(s: &mut Session<'_>, online: &mut Online, msg: &Message) -> Flow {
    let lines = match parse_chathistory(&msg.params) {
        Ok(ChatHistory::Page {
            sub,
            target,
            named,
            query,
            limit,
        }) => page(s, sub, &target, &named, &query, limit.min(MAX_PAGE))
            .map(|records| history_page(&online.link, &named, &records)),
        Ok(ChatHistory::Targets { from, to, limit }) => targets(s, &from, &to, limit.min(MAX_PAGE))
            .map(|found| {
                let lines = found
                    .into_iter()
                    .map(|(name, time)| {
                        Message::new("CHATHISTORY", ["TARGETS".to_string(), name, time])
                            .with_source(SERVER)
                    })
                    .collect();
                batched(&online.link, &["draft/chathistory-targets"], lines)
            }),
        Err(fail) => Err(fail),
    };
    match lines {
        Ok(lines) => send(s, &lines),
        Err(fail) => send(s, &[fail_line(&fail)]),
    }
    Flow::Go
}

/// `MARKREAD #channel [timestamp=T]`: moves the marker forward to the
/// newest message of the channel at or before T, then says where it is.
pub fn markread(s: &mut Session<'_>, _: &mut Online, msg: &Message) -> Flow {
    let line = match parse_markread(&msg.params) {
        Ok(req) => match req.target {
            Target::Room(room) => set_and_tell(s, &room, &req.named, req.set.as_ref()),
            Target::Nick(_) | Target::AllPrivate => Err(Fail::new(
                "MARKREAD",
                "INVALID_PARAMS",
                [req.named],
                "read markers are kept for channels only",
            )),
        },
        Err(fail) => Err(fail),
    };
    send(s, &[line.unwrap_or_else(|fail| fail_line(&fail))]);
    Flow::Go
}

/// What a client with `draft/read-marker` is told on entering `room`,
/// before its names: `MARKREAD #room timestamp=...`, or `*` without a
/// marker (guests never have one).
pub fn marker_on_join(s: &Session<'_>, online: &Online, room: &str) -> Option<Message> {
    if !online.caps.has(Cap::ReadMarker) {
        return None;
    }
    let channel = room_to_channel(room);
    let time = s
        .account()
        .and_then(|_| marker_time(s, room).ok().flatten());
    Some(marker_line(&channel, time))
}

/// A page of `target`'s history, oldest first.
fn page(
    s: &Session<'_>,
    sub: &'static str,
    target: &Target,
    named: &str,
    query: &Query,
    limit: usize,
) -> Result<Vec<Record>, Fail> {
    let of = match target {
        Target::Room(room) => Conversation::Room(room.clone()),
        Target::Nick(nick) => Conversation::With(nick.clone()),
        Target::AllPrivate => {
            return Err(Fail::new(
                "CHATHISTORY",
                "INVALID_TARGET",
                [sub.to_string(), named.to_string()],
                "* (every private conversation at once) is not kept here: ask for one nickname (CHATHISTORY TARGETS lists them)",
            ))
        }
    };
    let fetch = |anchor: Anchor| {
        s.history(&of, anchor, limit)
            .map(|page| page.records)
            .map_err(|refused| refusal("CHATHISTORY", sub, named, &refused))
    };
    let cut = |r: &Reference| cut(s, sub, r);
    Ok(match query {
        Query::Latest(None) => fetch(Anchor::Latest)?,
        Query::Latest(Some(r)) => {
            let c = cut(r)?;
            let mut records = fetch(Anchor::Latest)?;
            records.retain(|rec| rec.seq >= c.after);
            records
        }
        Query::Before(r) => fetch(Anchor::Before(cut(r)?.before))?,
        // `After(n)` pages from n + 1 on.
        Query::After(r) => fetch(Anchor::After(cut(r)?.after.saturating_sub(1)))?,
        Query::Around(r) => fetch(Anchor::Around(cut(r)?.before))?,
        Query::Between(a, b) => {
            let (a, b) = (cut(a)?, cut(b)?);
            if a.before <= b.before {
                let mut records = fetch(Anchor::After(a.after.saturating_sub(1)))?;
                records.retain(|rec| rec.seq < b.before);
                records
            } else {
                let mut records = fetch(Anchor::Before(a.before))?;
                records.retain(|rec| rec.seq >= b.after);
                records
            }
        }
    })
}

/// Where a reference cuts a history: messages before it have numbers
/// below `before`; messages after it, at or above `after`.
#[derive(Debug, Clone, Copy)]
struct Cut {
    before: u64,
    after: u64,
}

/// A reference as message numbers: a msgid is one message; a time names
/// the stretch its precision says (`2026-11-21T10:15:02.123Z` is that
/// whole millisecond), and the archive finds the first message at or
/// after each end.
fn cut(s: &Session<'_>, sub: &'static str, reference: &Reference) -> Result<Cut, Fail> {
    match reference {
        Reference::Msgid(seq) => Ok(Cut {
            before: *seq,
            after: seq.saturating_add(1),
        }),
        Reference::Timestamp(t) => {
            let micros = micros(sub, t)?;
            let at = |micros: i64| {
                s.hub.log().archive().seq_at_time(micros).map_err(|e| {
                    Fail::new(
                        "CHATHISTORY",
                        "MESSAGE_ERROR",
                        [sub.to_string()],
                        format!("the message archive cannot answer ({e}); try again later"),
                    )
                })
            };
            Ok(Cut {
                before: at(micros)?,
                after: at(micros.saturating_add(t.unit_micros))?,
            })
        }
    }
}

/// A timestamp's microseconds since 1970, if it is a real date.
fn micros(sub: &'static str, t: &Timestamp) -> Result<i64, Fail> {
    parse_time(&t.iso).ok_or_else(|| {
        Fail::new(
            "CHATHISTORY",
            "INVALID_PARAMS",
            [sub.to_string(), t.iso.clone()],
            "no such date and time",
        )
    })
}

/// The conversations with a message strictly between the two times (each
/// time naming the stretch its precision says), as (target, time of its
/// newest message): the rooms this client is in, and for a registered
/// user its private conversations. From the first time towards the
/// second: oldest first when it is the earlier, newest first when not.
fn targets(
    s: &Session<'_>,
    from: &Timestamp,
    to: &Timestamp,
    limit: usize,
) -> Result<Vec<(String, String)>, Fail> {
    let (a, b) = (micros("TARGETS", from)?, micros("TARGETS", to)?);
    let forwards = a <= b;
    let (low, high) = if forwards { (from, to) } else { (to, from) };
    let (low, high) = (
        micros("TARGETS", low)?.saturating_add(low.unit_micros),
        micros("TARGETS", high)?,
    );
    let mut conversations: Vec<Conversation> = s
        .hub
        .rooms_of(s.id)
        .into_iter()
        .map(Conversation::Room)
        .collect();
    if let Some(me) = s.account() {
        let peers = s.hub.log().archive().whisper_peers(me);
        conversations.extend(peers.into_iter().map(|(peer, _)| Conversation::With(peer)));
    }
    conversations.truncate(MAX_TARGET_LOOKUPS);
    let mut found: Vec<(i64, String, String)> = conversations
        .iter()
        .filter_map(|of| {
            let page = s.history(of, Anchor::Latest, 1).ok()?;
            let newest = page.records.last()?;
            let at = parse_time(&newest.date)?;
            let time = server_time_from_utc(&newest.date)?;
            (low <= at && at < high).then(|| (at, name_of(s, newest), time))
        })
        .collect();
    found.sort();
    if !forwards {
        found.reverse();
    }
    found.truncate(limit);
    Ok(found
        .into_iter()
        .map(|(_, name, time)| (name, time))
        .collect())
}

/// The target a record belongs to, as this client names it: its channel,
/// or the other person of a private message.
fn name_of(s: &Session<'_>, record: &Record) -> String {
    match record.kind {
        Kind::Whisper if s.account().is_some_and(|me| same(me, &record.from)) => record.to.clone(),
        Kind::Whisper => record.from.clone(),
        Kind::Message | Kind::Closed => room_to_channel(&record.room),
    }
}

/// Sets the marker in `room` (when `set`), then the `MARKREAD` saying
/// where it is.
fn set_and_tell(
    s: &Session<'_>,
    room: &str,
    named: &str,
    set: Option<&Timestamp>,
) -> Result<Message, Fail> {
    let refused = |r: HistoryRefused| refusal("MARKREAD", "MARKREAD", named, &r);
    if s.account().is_none() {
        return Err(refused(HistoryRefused::GuestsHaveNone));
    }
    if let Some(t) = set {
        let micros = micros("MARKREAD", t).map_err(|f| Fail {
            command: "MARKREAD",
            ..f
        })?;
        let internal = |e: crate::server::archive::ArchiveError| {
            refusal("MARKREAD", "MARKREAD", named, &HistoryRefused::Archive(e))
        };
        let end = s
            .hub
            .log()
            .archive()
            .seq_at_time(micros.saturating_add(t.unit_micros))
            .map_err(internal)?;
        // The newest message of the room at or before T: markers are
        // message numbers of their room, so that a marker gives back the
        // time of a message the client has seen.
        let of = Conversation::Room(room.to_string());
        let page = s.history(&of, Anchor::Before(end), 1).map_err(refused)?;
        if let Some(read) = page.records.last() {
            s.mark_read(room, read.seq).map_err(refused)?;
        }
    }
    let time = marker_time(s, room).map_err(refused)?;
    Ok(marker_line(named, time))
}

/// The time of the message this user's marker in `room` stands at, if it
/// has one there; asking is reading the room, so it is refused to whoever
/// may not.
fn marker_time(s: &Session<'_>, room: &str) -> Result<Option<String>, HistoryRefused> {
    let marker = s.account().and_then(|me| s.markers.get(me, room));
    let anchor = marker.map_or(Anchor::Latest, |seq| Anchor::Before(seq.saturating_add(1)));
    let page = s.history(&Conversation::Room(room.to_string()), anchor, 1)?;
    Ok(marker
        .and(page.records.last())
        .and_then(|r| server_time_from_utc(&r.date)))
}

/// `MARKREAD <target> timestamp=T`, or `*` for no marker.
fn marker_line(target: &str, time: Option<String>) -> Message {
    let time = time.map_or_else(|| "*".to_string(), |t| format!("timestamp={t}"));
    Message::new("MARKREAD", [target.to_string(), time]).with_source(SERVER)
}

/// The `FAIL` for a history request the session refused: no access is
/// `INVALID_TARGET` (`INVALID_PARAMS` for `MARKREAD`, which has no such
/// code), with the reason in our words; the archive failing is
/// `MESSAGE_ERROR` (`INTERNAL_ERROR`).
fn refusal(command: &'static str, sub: &str, named: &str, refused: &HistoryRefused) -> Fail {
    let (_, params) = words::history_refusal(refused, command, named);
    let why = params.last().cloned().unwrap_or_default();
    let code = match (refused, command) {
        (HistoryRefused::Archive(_), "MARKREAD") => "INTERNAL_ERROR",
        (HistoryRefused::Archive(_), _) => "MESSAGE_ERROR",
        (HistoryRefused::GuestsHaveNone, "MARKREAD") => "ACCOUNT_REQUIRED",
        (_, "MARKREAD") => "INVALID_PARAMS",
        _ => "INVALID_TARGET",
    };
    let context = if command == "MARKREAD" {
        vec![named.to_string()]
    } else {
        vec![sub.to_string(), named.to_string()]
    };
    Fail::new(command, code, context, why)
}

/// `:server FAIL <command> <code> <context...> :<description>`.
fn fail_line(fail: &Fail) -> Message {
    Message::new("FAIL", fail.params()).with_source(SERVER)
}
