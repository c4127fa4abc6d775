//! IRC (RFC 2812) as the bench speaks it, so that an existing IRC server can
//! be driven with the same workload: the line parser and the registration
//! and JOIN conversation.

use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::login::{await_reply, Verdict};
use super::wire::{find_newline, send, Inbound, Parsed, Protocol, Wire};

/// One IRC line from the front of `buf` (LF or CR LF ended). A line that is
/// not UTF-8 is ignored: the bench itself only sends ASCII.
pub(crate) fn parse_irc(buf: &[u8]) -> Parsed<'_> {
    let end = find_newline(buf)?;
    let line = &buf[..end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let msg = std::str::from_utf8(line).map_or(Inbound::Other, classify_irc);
    Some((msg, end + 1))
}

/// What an IRC line means to the bench.
fn classify_irc(line: &str) -> Inbound<'_> {
    let (source, rest) = match line.strip_prefix(':') {
        Some(r) => r.split_once(' ').unwrap_or((r, "")),
        None => ("", line),
    };
    let (command, params) = rest.split_once(' ').unwrap_or((rest, ""));
    match command {
        // Someone's JOIN echo: the bench waits for its own, since a server
        // may send other channels' replies (a 366 for a channel it put the
        // client in by itself) before it has carried out the bench's JOIN.
        "JOIN" => Inbound::Joined {
            room: params
                .split(' ')
                .next()
                .unwrap_or("")
                .trim_start_matches(':'),
            nick: source.split('!').next().unwrap_or(source),
        },
        "PING" => Inbound::Ping(format!("PONG {params}\r\n").into_bytes()),
        "PRIVMSG" => {
            let (target, text) = match params.split_once(" :") {
                Some((t, x)) => (t, x),
                None => params.split_once(' ').unwrap_or((params, "")),
            };
            Inbound::Delivery {
                room: target,
                history: false,
                body: text.as_bytes(),
            }
        }
        "ERROR" => Inbound::Closing(params.trim_start_matches(':').to_string()),
        c if c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()) => Inbound::Reply {
            code: c.parse().unwrap_or(0),
            text: line.to_string(),
        },
        _ => Inbound::Other,
    }
}

/// IRC login: NICK and USER until welcome (001), then JOIN until the end of
/// the names list (366).
pub(crate) fn login_irc(
    wire: &mut Wire,
    writer: &Mutex<Arc<TcpStream>>,
    nick: &str,
    room: &str,
    deadline: Instant,
) -> Result<(), String> {
    let failure = |code: u16| (400..600).contains(&code);
    let hello = format!("NICK {nick}\r\nUSER {nick} 0 * :bench\r\n");
    send(writer, hello.as_bytes()).map_err(|e| format!("send NICK: {e}"))?;
    let welcome = |code| match code {
        1 => Verdict::Done,
        c if failure(c) => Verdict::Fail,
        _ => Verdict::Skip,
    };
    await_reply(Protocol::Irc, wire, writer, deadline, welcome, None)
        .map_err(|e| format!("waiting for the welcome (001): {e}"))?
        .map_err(|e| format!("registration refused: {e}"))?;
    send(writer, format!("JOIN {room}\r\n").as_bytes()).map_err(|e| format!("send JOIN: {e}"))?;
    let end_of_names = |code| match code {
        366 => Verdict::Done,
        c if failure(c) => Verdict::Fail,
        _ => Verdict::Skip,
    };
    await_reply(
        Protocol::Irc,
        wire,
        writer,
        deadline,
        end_of_names,
        Some((room, nick)),
    )
    .map_err(|e| format!("waiting for JOIN {room} (366): {e}"))?
    .map_err(|e| format!("JOIN {room} refused: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn irc_lines() {
        let line = ":b0001!~b0001@127.0.0.1 PRIVMSG #room0 :123 xxxx\r\nrest";
        let (msg, used) = parse_irc(line.as_bytes()).expect("a complete line");
        assert_eq!(used, line.len() - "rest".len());
        assert_eq!(
            msg,
            Inbound::Delivery {
                room: "#room0",
                history: false,
                body: b"123 xxxx"
            }
        );
        assert_eq!(parse_irc(b"PING :srv"), None);
        assert_eq!(
            parse_irc(b"PING :srv\n").map(|m| m.0),
            Some(Inbound::Ping(b"PONG :srv\r\n".to_vec()))
        );
        assert!(matches!(
            classify_irc(":srv 001 b0001 :Welcome"),
            Inbound::Reply { code: 1, .. }
        ));
        assert_eq!(
            classify_irc("ERROR :Closing"),
            Inbound::Closing("Closing".to_string())
        );
        assert_eq!(
            classify_irc(":b0002!u@h JOIN :#room0"),
            Inbound::Joined {
                room: "#room0",
                nick: "b0002"
            }
        );
        assert_eq!(
            classify_irc(":b0002!u@h JOIN #room0 acct :Real"),
            Inbound::Joined {
                room: "#room0",
                nick: "b0002"
            }
        );
        assert_eq!(parse_irc(b"\xff\xfe\n").map(|m| m.0), Some(Inbound::Other));
    }
}
