//! `PRIVMSG` and `NOTICE`: to `#room`, a room message (the same `log.txt`
//! append, and the same order, as a message from any other door); to a
//! nickname, a whisper. IRC text is made into chat text first: a CTCP
//! `ACTION` (`/me waves`) is kept as `* nick waves` and a `NOTICE` as
//! `-nick- text` (as IRC clients show them), which IRC members get back as
//! an `ACTION` and a `NOTICE`; formatting codes (bold, colours, ...) are
//! stripped, since the hub refuses control characters. Other CTCP requests
//! have nobody to answer them and are not carried.

use crate::irc::casemap::{is_channel, room_to_channel, targets};
use crate::irc::{Message, Numeric};
use crate::server::hub::Refused;
use crate::server::session::Session;
use crate::text::for_terminal;

use super::channels::room_of;
use super::codec::server_notice;
use super::{answer, me, reply, send, words, Flow, Online, MAX_TARGETS};

/// `PRIVMSG targets :text`.
pub fn privmsg(s: &mut Session<'_>, _: &mut Online, msg: &Message) -> Flow {
    deliver(s, msg, false);
    Flow::Go
}

/// `NOTICE targets :text`: as `PRIVMSG`, but never answered with an error
/// (RFC 2812). It is stored as `-nick- text` (as IRC clients show a
/// notice), which IRC members get back as a `NOTICE`.
pub fn notice(s: &mut Session<'_>, _: &mut Online, msg: &Message) -> Flow {
    deliver(s, msg, true);
    Flow::Go
}

/// `TAGMSG`: a message of tags only (typing notifications). The hub
/// carries texts, not tags, so it goes nowhere.
pub fn tagmsg(_: &mut Session<'_>, _: &mut Online, _: &Message) -> Flow {
    Flow::Go
}

/// What an IRC text becomes.
#[derive(Debug, PartialEq, Eq)]
pub enum Translated {
    /// Chat text to send.
    Text(String),
    /// A CTCP request other than `ACTION` (upper-cased), not carried.
    Ctcp(String),
    /// Nothing left to send.
    Empty,
}

/// The chat text for an IRC text from `nick`.
pub fn translate(nick: &str, raw: &str) -> Translated {
    if let Some(ctcp) = raw.strip_prefix('\u{1}') {
        let body = ctcp.strip_suffix('\u{1}').unwrap_or(ctcp);
        let (command, args) = body.split_once(' ').unwrap_or((body, ""));
        if !command.eq_ignore_ascii_case("ACTION") {
            return Translated::Ctcp(command.to_ascii_uppercase());
        }
        let args = strip_formatting(args);
        if args.trim().is_empty() {
            return Translated::Empty;
        }
        return Translated::Text(format!("* {nick} {args}"));
    }
    let text = strip_formatting(raw);
    if text.trim().is_empty() {
        Translated::Empty
    } else {
        Translated::Text(text)
    }
}

/// `text` without mIRC formatting codes (bold, italics, underline,
/// strike-through, monospace, reverse, reset; colours `\x03fg[,bg]` and
/// hex colours `\x04rrggbb[,rrggbb]` with their numbers) and without any
/// other control character but the tab.
pub fn strip_formatting(text: &str) -> String {
    // Most lines are plain printable ASCII: nothing to strip.
    if text
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
    {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{3}' | '\u{4}' => {
                let (max, digit): (usize, fn(&char) -> bool) = if c == '\u{3}' {
                    (2, |d| d.is_ascii_digit())
                } else {
                    (6, |d| d.is_ascii_hexdigit())
                };
                let mut took = 0;
                while took < max && chars.peek().is_some_and(digit) {
                    chars.next();
                    took += 1;
                }
                // A background only after a foreground, and only with digits.
                if took > 0 && chars.peek() == Some(&',') {
                    let mut ahead = chars.clone();
                    ahead.next();
                    if ahead.peek().is_some_and(digit) {
                        chars.next();
                        let mut took = 0;
                        while took < max && chars.peek().is_some_and(digit) {
                            chars.next();
                            took += 1;
                        }
                    }
                }
            }
            '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Carries a `PRIVMSG` or `NOTICE` to each of its targets; `quiet` (a
/// notice) says nothing when it cannot.
fn deliver(s: &mut Session<'_>, msg: &Message, quiet: bool) {
    let command = msg.command.as_str();
    let Some(list) = msg.param(0).filter(|t| !t.is_empty()) else {
        if !quiet {
            let why = format!("no recipient given ({command})");
            send(s, &[reply(s, Numeric::ERR_NORECIPIENT, [why])]);
        }
        return;
    };
    let nick = me(s);
    let text = match translate(&nick, msg.param(1).unwrap_or_default()) {
        Translated::Text(text) if quiet => format!("-{nick}- {text}"),
        Translated::Text(text) => text,
        Translated::Ctcp(ctcp) => {
            if !quiet && ctcp != "PING" {
                let why = format!(
                    "CTCP {ctcp} is not carried: people here use many kinds of client, and only /me (ACTION) means the same to all"
                );
                send(s, &server_notice(&nick, &why));
            }
            return;
        }
        Translated::Empty => {
            if !quiet {
                let why = "no text to send (formatting codes alone are not sent)";
                send(s, &[reply(s, Numeric::ERR_NOTEXTTOSEND, [why])]);
            }
            return;
        }
    };
    for (i, target) in targets(list).enumerate() {
        if i == MAX_TARGETS {
            if !quiet {
                let why = format!("at most {MAX_TARGETS} targets in one {command}");
                send(s, &[reply(s, Numeric::from_code(407), [target, &why])]);
            }
            break;
        }
        dump(s, command, target, &text);
        let refusal = if is_channel(target) {
            to_room(s, target, &text)
        } else {
            to_person(s, target, &text, quiet)
        };
        if let (Some(line), false) = (refusal, quiet) {
            send(s, &[line]);
        }
    }
}

/// Several `PRIVMSG`s to one channel, as one step (see `Session::say_all`):
/// each one refused gets the refusal it would have got alone.
pub fn to_room_all(s: &mut Session<'_>, channel: &str, texts: Vec<String>) {
    for text in &texts {
        dump(s, "PRIVMSG", channel, text);
    }
    let count = texts.len();
    let refusals: Vec<Message> = match room_of(s, channel) {
        Ok(room) => s
            .say_all(Some(room), texts)
            .into_iter()
            .filter_map(Result::err)
            .map(|refused| refusal(s, channel, refused))
            .collect(),
        Err(line) => vec![line; count],
    };
    if !refusals.is_empty() {
        send(s, &refusals);
    }
}

/// A room message; the refusal, if any.
fn to_room(s: &mut Session<'_>, channel: &str, text: &str) -> Option<Message> {
    let room = match room_of(s, channel) {
        Ok(room) => room,
        Err(line) => return Some(line),
    };
    let refused = s.say(Some(room), text.to_string()).err()?;
    Some(refusal(s, channel, refused))
}

/// The line that says why a message to `channel` was refused.
fn refusal(s: &Session<'_>, channel: &str, refused: Refused) -> Message {
    match refused {
        Refused::NotIn { room, .. } => match s.hub.room_view(Some(s.id), &room) {
            Err(missing) => answer(s, words::refusal(&missing, "PRIVMSG", channel)),
            Ok(view) => {
                let channel = room_to_channel(&view.info.name);
                let why = format!("you are not in {}: JOIN it first", view.info.name);
                reply(s, Numeric::ERR_CANNOTSENDTOCHAN, [channel, why])
            }
        },
        refused => answer(s, words::refusal(&refused, "PRIVMSG", channel)),
    }
}

/// A whisper; the refusal, if any. Whispering someone away gets `301`
/// with their message; a registered user who is offline has it kept.
fn to_person(s: &mut Session<'_>, nick: &str, text: &str, quiet: bool) -> Option<Message> {
    let away = s.hub.presence(Some(s.id), nick).and_then(|p| p.away);
    match s.whisper(nick, text.to_string()) {
        Ok(sent) if sent.kept && !quiet => {
            let why = format!(
                "{} is not online: your message waits for them and is delivered when they next log in",
                sent.to
            );
            send(s, &server_notice(&me(s), &why));
            None
        }
        Ok(sent) => match away {
            Some(away) if !quiet => Some(reply(s, Numeric::RPL_AWAY, [sent.to, away])),
            _ => None,
        },
        Err(refused) => Some(answer(s, words::history_refusal(&refused, "PRIVMSG", nick))),
    }
}

/// Prints a message this thread handles on the server console, in IRC's
/// own form, with the thread's tag and the date (as the other doors do).
fn dump(s: &Session<'_>, command: &str, target: &str, text: &str) {
    let nick = s.nick.as_deref().unwrap_or("?");
    s.console.message(|| {
        format!(
            "{} IRC :{nick} {command} {target} :{}  ({})",
            s.tag,
            for_terminal(text),
            crate::clock::to_second_label(&crate::clock::now_utc())
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn me_becomes_a_star_line_and_other_ctcp_is_not_carried() {
        assert_eq!(
            translate("al", "\u{1}ACTION waves\u{1}"),
            Translated::Text("* al waves".into())
        );
        // Some clients leave out the closing \x01.
        assert_eq!(
            translate("al", "\u{1}ACTION waves"),
            Translated::Text("* al waves".into())
        );
        assert_eq!(
            translate("al", "\u{1}VERSION\u{1}"),
            Translated::Ctcp("VERSION".into())
        );
        assert_eq!(translate("al", "\u{1}ACTION \u{1}"), Translated::Empty);
    }

    #[test]
    fn formatting_is_stripped_and_text_kept() {
        assert_eq!(strip_formatting("\u{2}bold\u{2} \u{1d}it\u{f}"), "bold it");
        assert_eq!(
            strip_formatting("\u{3}4red\u{3} \u{3}04,12both\u{3}"),
            "red both"
        );
        // A comma after a colour with no background digits is text.
        assert_eq!(strip_formatting("\u{3}4,x"), ",x");
        assert_eq!(strip_formatting("\u{3},5x"), ",5x");
        // Three digits: the third is text.
        assert_eq!(strip_formatting("\u{3}123"), "3");
        assert_eq!(strip_formatting("\u{4}ff0000,00ff00hex"), "hex");
        assert_eq!(strip_formatting("tab\there\u{7}bell"), "tab\therebell");
        assert_eq!(translate("al", "\u{2}\u{3}4"), Translated::Empty);
        assert_eq!(
            translate("al", "é ünïcode 🦀"),
            Translated::Text("é ünïcode 🦀".into())
        );
    }
}
