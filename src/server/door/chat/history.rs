//! History over `CHAT/1.0`: a page comes as the stored messages (events
//! marked `History: yes`, oldest first) followed by the reply, whose
//! `More` header says whether older messages remain; search results and
//! unread counts come as the reply's text.

use std::fmt::Write as _;

use crate::command::{Conversation, HistoryRequest};
use crate::event::Event;
use crate::protocol::{header, Frame, Status};
use crate::server::archive::{ArchiveError, Page};
use crate::server::history::{Kind, Record};
use crate::server::session::history::{HistoryRefused, Unread};
use crate::server::session::Session;

use super::{words, Wire};

/// Carries out a history request: the reply, after any events it sends
/// (through `wire`, the connection's framing).
pub fn request(s: &mut Session<'_>, wire: &dyn Wire, request: HistoryRequest) -> Frame {
    match request {
        HistoryRequest::History { of, anchor, limit } => match s.history(&of, anchor, limit) {
            Ok(page) => page_reply(s, wire, &of, &page),
            Err(refused) => refusal(&refused),
        },
        HistoryRequest::Search { text, room, before } => {
            match s.search(&text, room.as_deref(), before) {
                Ok(page) => search_reply(&text, &page),
                Err(refused) => refusal(&refused),
            }
        }
        HistoryRequest::Unread => {
            if s.account().is_none() {
                return refusal(&HistoryRefused::GuestsHaveNone);
            }
            Frame::reply(Status::OK, &unread_text(&s.unread()))
        }
        HistoryRequest::MarkRead { room, seq } => match s.mark_read(&room, seq) {
            Ok(()) => Frame::reply(Status::OK, &format!("{room} read up to {seq}")),
            Err(refused) => refusal(&refused),
        },
    }
}

/// The lines a returning user is told at login: one per room with news.
pub fn unread_notice(unread: &[Unread]) -> Option<Frame> {
    if unread.is_empty() {
        return None;
    }
    Some(
        Event::Notice {
            text: unread_text(unread),
        }
        .to_frame(),
    )
}

fn unread_text(unread: &[Unread]) -> String {
    if unread.is_empty() {
        return "nothing new since you were last here".to_string();
    }
    let lines: Vec<String> = unread
        .iter()
        .map(|u| {
            format!(
                "{} new message{} in {} since you were last here",
                u.count,
                if u.count == 1 { "" } else { "s" },
                u.room
            )
        })
        .collect();
    lines.join("\n")
}

/// Sends the page's messages as history events, then answers.
fn page_reply(s: &mut Session<'_>, wire: &dyn Wire, of: &Conversation, page: &Page) -> Frame {
    for record in &page.records {
        s.send(wire.wrap(history_event(record).to_frame().encode()));
    }
    let whose = match of {
        Conversation::Room(room) => room.clone(),
        Conversation::With(peer) => format!("your whispers with {peer}"),
    };
    let text = match (page.records.first(), page.records.last()) {
        (Some(first), Some(last)) => format!(
            "{} message(s) of {whose}, {} to {}{}",
            page.records.len(),
            first.seq,
            last.seq,
            if page.more_before {
                "; older ones remain"
            } else {
                "; that is the first message"
            }
        ),
        _ => format!("no messages of {whose} there"),
    };
    Frame::reply(Status::OK, &text)
        .with_header(header::MORE, if page.more_before { "yes" } else { "no" })
        .with_header(
            header::MORE_AFTER,
            if page.more_after { "yes" } else { "no" },
        )
}

/// A stored record as the event a client knows, marked as history.
fn history_event(record: &Record) -> Event {
    match record.kind {
        Kind::Whisper => Event::Whisper {
            from: record.from.clone(),
            to: record.to.clone(),
            date: record.date.clone(),
            seq: record.seq,
            text: record.text.clone(),
            kept: false,
        },
        Kind::Message | Kind::Closed => record.message_event(true),
    }
}

fn search_reply(text: &str, page: &crate::server::archive::SearchPage) -> Frame {
    let mut body = if page.hits.is_empty() && page.next.is_some() {
        format!("nothing with {text:?} yet; older messages are still to be searched (search again to go on)")
    } else if page.hits.is_empty() {
        format!("no (more) messages with {text:?}")
    } else {
        format!(
            "{} message(s) with {text:?}, newest first:",
            page.hits.len()
        )
    };
    for hit in &page.hits {
        let r = &hit.record;
        let place = match r.kind {
            Kind::Whisper => format!("{} -> {}", r.from, r.to),
            _ => format!("#{} {}", r.room, r.from),
        };
        let _ = write!(
            body,
            "\n  [{}] {place}: {}  (Seq {})",
            crate::clock::to_second_label(&r.date),
            hit.snippet,
            r.seq
        );
    }
    if page.next.is_none() && !page.hits.is_empty() {
        body.push_str("\nno more pages");
    }
    let reply = Frame::reply(Status::OK, &body)
        .with_header(header::MORE, if page.next.is_some() { "yes" } else { "no" });
    match page.next {
        Some(next) => reply.with_header(header::BEFORE, next),
        None => reply,
    }
}

/// Why a history request was refused, in this door's words.
fn refusal(refused: &HistoryRefused) -> Frame {
    match refused {
        HistoryRefused::Hub(refused) => words::refusal(refused),
        HistoryRefused::GuestsHaveNone => Frame::reply(
            Status::FORBIDDEN,
            "whispers and read markers are kept for registered nicknames only (/register PASSWORD)",
        ),
        HistoryRefused::Archive(ArchiveError::Busy) => Frame::reply(
            Status::UNAVAILABLE,
            "too many searches are running; try again in a moment",
        ),
        HistoryRefused::Archive(ArchiveError::MailboxFull { user, max }) => Frame::reply(
            Status::INSUFFICIENT_STORAGE,
            &format!("{user} has {max} whispers waiting already; try again after they log in"),
        ),
        HistoryRefused::Archive(e) => Frame::reply(
            Status::INTERNAL_ERROR,
            &format!("the message archive cannot answer ({e}); tell the server's operator"),
        ),
    }
}

/// The reply to a whisper that could not go out.
pub fn whisper_refusal(refused: &HistoryRefused) -> Frame {
    match refused {
        HistoryRefused::Hub(crate::server::hub::Refused::NoSuchUser { nick }) => Frame::reply(
            Status::NOT_FOUND,
            &format!(
                "nobody called {nick} is online (whispers wait only for registered users who are away)"
            ),
        ),
        HistoryRefused::Hub(refused) => words::message_refusal(refused),
        other => refusal(other),
    }
}
