//! How events and replies look: each becomes a [`Line`]. Everything a peer
//! controls goes through `for_terminal`, so nothing received is ever
//! printed raw.

use crate::clock;
use crate::event::{Event, Parting};
use crate::fileshare::human_size;
use crate::protocol::Frame;
use crate::text::for_terminal;

use super::output::{Kind, Line};
use super::state::Clock;

/// The line for an event; `None` for events with nothing to show (`PING`).
/// `clock` stamps live messages (the reader's time in the chat, `h:mm:ss`,
/// unless the wall clock was asked for).
pub fn event(event: &Event, clock: &Clock) -> Option<Line> {
    let notice = |text: String| Line::new(Kind::Notice, for_terminal(&text));
    let line = match event {
        Event::Message {
            from,
            text,
            history: false,
            ..
        } => said(Kind::Message, clock.stamp(), None, from, text),
        Event::Message {
            from,
            text,
            date,
            history: true,
            ..
        } => said(
            Kind::History,
            format!("(history {})", for_terminal(&clock::to_minute_label(date))),
            None,
            from,
            text,
        ),
        Event::Whisper {
            from,
            text,
            kept: false,
            ..
        } => said(
            Kind::Whisper,
            clock.stamp(),
            Some("(whisper)".into()),
            from,
            text,
        ),
        // It waited for us while we were away: its own time, not ours.
        Event::Whisper {
            from,
            text,
            date,
            kept: true,
            ..
        } => said(
            Kind::Whisper,
            format!("({})", for_terminal(&clock::to_minute_label(date))),
            Some("(whisper, kept while you were away)".into()),
            from,
            text,
        ),
        Event::Join { nick, members, .. } => notice(format!(
            "Welcome {nick} to the room! There are {members} member(s) online!"
        )),
        Event::Leave { nick, why, .. } => notice(leave_line(nick, why)),
        Event::File {
            from,
            id,
            name,
            size,
            ..
        } => notice(format!(
            "*** {from} shared file {name:?} ({}), file id:{id}; type /get_file {id} to fetch it",
            human_size(*size)
        )),
        Event::Renamed { old, new } => notice(format!("{old} is now known as {new}")),
        Event::Notice { text } => notice(format!("*** {text}")),
        Event::Bye { reason } => notice(format!("*** server: {reason}")),
        Event::Ping => return None,
    };
    Some(line)
}

/// A line someone said: `STAMP [TAG] [FROM]: TEXT`.
pub fn said(kind: Kind, stamp: String, tag: Option<String>, from: &str, text: &str) -> Line {
    Line {
        kind,
        stamp: Some(stamp),
        tag,
        from: Some(for_terminal(from)),
        text: for_terminal(text),
    }
}

/// The line for a reply: its text for a success that carries one, and
/// `error: ...` for a refusal.
pub fn reply(frame: &Frame) -> Option<Line> {
    let status = frame.status_code()?;
    let text = frame.text_lossy();
    if status.is_ok() {
        return (!text.is_empty()).then(|| Line::info(lines(&text)));
    }
    let reason = if text.is_empty() {
        status.reason().to_string()
    } else {
        text
    };
    Some(Line::new(Kind::Error, lines(&format!("error: {reason}"))))
}

/// Multi-line text, each line made safe on its own.
fn lines(text: &str) -> String {
    text.lines()
        .map(for_terminal)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The seeds' leave line, with why when there is a why: a reason given,
/// how a connection ended, or who sent them out.
fn leave_line(nick: &str, why: &Parting) -> String {
    let reason = for_terminal(why.reason());
    match why {
        Parting::Kicked { by, .. } if reason.is_empty() => {
            format!("{nick} leaves the room! (sent out by {})", for_terminal(by))
        }
        Parting::Kicked { by, .. } => format!(
            "{nick} leaves the room! (sent out by {}: {reason})",
            for_terminal(by)
        ),
        _ if reason.is_empty() => format!("{nick} leaves the room!"),
        _ => format!("{nick} leaves the room! ({reason})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::config::ClockKind;
    use crate::protocol::Status;

    fn message(text: &str, history: bool) -> Event {
        Event::Message {
            room: "lobby".into(),
            from: "Ma19".into(),
            date: "2026-11-21 10:15:02.123456".into(),
            seq: 1,
            text: text.into(),
            history,
        }
    }

    fn shown(event: &Event) -> String {
        let clock = Clock::start(ClockKind::Elapsed);
        super::event(event, &clock).unwrap().to_string()
    }

    #[test]
    fn messages_show_elapsed_time_and_sender() {
        let line = shown(&message("Hello World! I'm Ma 19", false));
        assert_eq!(line, "0:00:00 [Ma19]: Hello World! I'm Ma 19");
        let line = shown(&message("old", true));
        assert_eq!(line, "(history 2026-11-21 10:15 UTC) [Ma19]: old");
    }

    #[test]
    fn welcome_leave_and_whisper_lines_match_the_seeds() {
        let join = Event::Join {
            room: "lobby".into(),
            nick: "ntu".into(),
            members: 1,
        };
        assert_eq!(
            shown(&join),
            "Welcome ntu to the room! There are 1 member(s) online!"
        );
        let leave = |why| Event::Leave {
            room: "lobby".into(),
            nick: "ABC".into(),
            members: 1,
            why,
        };
        assert_eq!(
            shown(&leave(Parting::Left(String::new()))),
            "ABC leaves the room!"
        );
        assert_eq!(
            shown(&leave(Parting::Quit("connection closed".into()))),
            "ABC leaves the room! (connection closed)"
        );
        let kicked = Parting::Kicked {
            by: "own".into(),
            reason: "\u{1b}[2Jcalm down".into(),
        };
        assert_eq!(
            shown(&leave(kicked)),
            "ABC leaves the room! (sent out by own: ^[[2Jcalm down)"
        );
        let whisper = Event::Whisper {
            from: "bob".into(),
            to: "ntu".into(),
            date: String::new(),
            seq: 3,
            text: "psst".into(),
            kept: false,
        };
        assert_eq!(shown(&whisper), "0:00:00 (whisper) [bob]: psst");
        let clock = Clock::start(ClockKind::Elapsed);
        assert_eq!(event(&Event::Ping, &clock), None);
    }

    #[test]
    fn a_shared_file_says_who_what_and_how_to_fetch_it() {
        let file = Event::File {
            room: "lobby".into(),
            from: "ntu".into(),
            id: 3,
            name: "notes.txt".into(),
            size: 1536,
            date: String::new(),
        };
        assert_eq!(
            shown(&file),
            "*** ntu shared file \"notes.txt\" (1.5 KiB), file id:3; type /get_file 3 to fetch it"
        );
    }

    #[test]
    fn escape_sequences_in_messages_are_neutralised() {
        let line = shown(&message("\u{1b}[2Jgotcha\u{7}", false));
        assert!(
            !line.contains('\u{1b}') && !line.contains('\u{7}'),
            "{line:?}"
        );
    }

    #[test]
    fn replies_show_text_or_error() {
        assert_eq!(reply(&Frame::status(Status::OK)), None);
        assert_eq!(
            reply(&Frame::reply(Status::OK, "2 user(s) online:\n  a in lobby"))
                .unwrap()
                .to_string(),
            "2 user(s) online:\n  a in lobby"
        );
        let refused = reply(&Frame::reply(
            Status::NOT_FOUND,
            "nobody called x is online",
        ))
        .unwrap();
        assert_eq!(refused.kind, Kind::Error);
        assert_eq!(refused.to_string(), "error: nobody called x is online");
        assert_eq!(reply(&Frame::request("PING", "/")), None);
    }
}
