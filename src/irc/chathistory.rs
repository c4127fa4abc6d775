//! The parameters of IRCv3 `CHATHISTORY` (draft/chathistory) and
//! `MARKREAD` (draft/read-marker), parsed into types, and the standard
//! replies (`FAIL ...`) for what does not parse. Pure: the door resolves
//! references against the archive and decides who may read what.
//!
//! ```text
//! CHATHISTORY LATEST  <target> <* | ref> <limit>
//! CHATHISTORY BEFORE  <target> <ref> <limit>
//! CHATHISTORY AFTER   <target> <ref> <limit>
//! CHATHISTORY AROUND  <target> <ref> <limit>
//! CHATHISTORY BETWEEN <target> <ref> <ref> <limit>
//! CHATHISTORY TARGETS <timestamp=T> <timestamp=T> <limit>
//! MARKREAD <target> [timestamp=T]
//!
//! target = #channel | nickname | *        (* = every private conversation)
//! ref    = msgid=N | msgid=N-K | timestamp=YYYY-MM-DDThh:mm:ss[.fraction]Z
//! limit  = 1 to MAX_LIMIT_DIGITS decimal digits, not 0
//! ```
//!
//! Our msgid is the message's sequence number in `log.txt`; a message too
//! long for one line goes out as pieces `N`, `N-1`, `N-2`..., and a
//! reference to any piece is a reference to message `N`.

use super::casemap::{channel_to_room, check_nick, is_channel};

/// The most digits of a limit or a msgid: more is no number we could
/// have sent (and would overflow), so it is refused, not clamped.
pub const MAX_LIMIT_DIGITS: usize = 9;
/// The most digits of a msgid's number: 19 always fit in a `u64`.
pub const MAX_MSGID_DIGITS: usize = 19;
/// The longest timestamp taken: the date, `T`, the time, a dot, nine
/// fraction digits (nanoseconds) and `Z`.
pub const MAX_TIMESTAMP_BYTES: usize = 30;

/// A point in a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A message, by its sequence number.
    Msgid(u64),
    Timestamp(Timestamp),
}

/// A `timestamp=` reference: the time as written (for the archive's own
/// date parser), and how long a stretch it names: a timestamp written to
/// the millisecond names that whole millisecond (messages are dated to
/// the microsecond, and `server-time` shows milliseconds), so "after" it
/// starts one unit later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    pub iso: String,
    pub unit_micros: i64,
}

/// Whose history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A room (the channel's name without `#`).
    Room(String),
    /// The private messages between the client and this nickname.
    Nick(String),
    /// `*`: every private conversation at once.
    AllPrivate,
}

/// Which messages of a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// The newest, only those after the reference if there is one.
    Latest(Option<Reference>),
    Before(Reference),
    After(Reference),
    Around(Reference),
    /// Strictly between the two, starting from the first (backwards in
    /// time when the first is the later).
    Between(Reference, Reference),
}

/// One `CHATHISTORY` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatHistory {
    Page {
        /// The subcommand as named (upper case), for replies.
        sub: &'static str,
        target: Target,
        /// The target as the client wrote it, for the batch and replies.
        named: String,
        query: Query,
        limit: usize,
    },
    /// The conversations with messages between the two times.
    Targets {
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    },
}

/// One `MARKREAD` request: a get, or a set when it carries a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkRead {
    pub target: Target,
    pub named: String,
    pub set: Option<Timestamp>,
}

/// Why a request does not parse: a standard reply, `FAIL <command> <code>
/// <context...> :<description>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail {
    pub command: &'static str,
    pub code: &'static str,
    pub context: Vec<String>,
    pub description: String,
}

impl Fail {
    /// A `FAIL` of `command`.
    pub fn new(
        command: &'static str,
        code: &'static str,
        context: impl IntoIterator<Item = String>,
        description: impl Into<String>,
    ) -> Fail {
        Fail {
            command,
            code,
            context: context.into_iter().collect(),
            description: description.into(),
        }
    }

    /// The parameters of the `FAIL` line.
    pub fn params(&self) -> Vec<String> {
        let mut params = vec![self.command.to_string(), self.code.to_string()];
        params.extend(self.context.iter().cloned());
        params.push(self.description.clone());
        params
    }
}

const SUBCOMMANDS: [&str; 6] = ["LATEST", "BEFORE", "AFTER", "AROUND", "BETWEEN", "TARGETS"];

/// Parses the parameters of `CHATHISTORY`.
///
/// # Errors
/// The `FAIL` to answer: `NEED_MORE_PARAMS`, `UNKNOWN_COMMAND`,
/// `INVALID_PARAMS` (a bad reference or limit), `INVALID_TARGET` (a name
/// that can be neither a channel nor a nickname here).
pub fn parse_chathistory(params: &[String]) -> Result<ChatHistory, Fail> {
    let Some(given) = params.first() else {
        return Err(Fail::new(
            "CHATHISTORY",
            "NEED_MORE_PARAMS",
            [],
            "CHATHISTORY needs a subcommand: LATEST, BEFORE, AFTER, AROUND, BETWEEN or TARGETS",
        ));
    };
    let upper = given.to_ascii_uppercase();
    let Some(&sub) = SUBCOMMANDS.iter().find(|s| **s == upper) else {
        return Err(Fail::new(
            "CHATHISTORY",
            "UNKNOWN_COMMAND",
            [short(given)],
            "unknown subcommand: LATEST, BEFORE, AFTER, AROUND, BETWEEN or TARGETS",
        ));
    };
    let wanted = if sub == "BETWEEN" { 5 } else { 4 };
    if params.len() < wanted {
        return Err(Fail::new(
            "CHATHISTORY",
            "NEED_MORE_PARAMS",
            [sub.to_string()],
            format!("CHATHISTORY {sub} needs {} parameters", wanted - 1),
        ));
    }
    let limit = parse_limit(sub, &params[wanted - 1])?;
    if sub == "TARGETS" {
        return Ok(ChatHistory::Targets {
            from: timestamp_only(sub, &params[1])?,
            to: timestamp_only(sub, &params[2])?,
            limit,
        });
    }
    let named = params[1].clone();
    let target = parse_target(sub, &named)?;
    let reference = |i: usize| parse_reference(sub, &params[i]);
    let query = match sub {
        "LATEST" if params[2] == "*" => Query::Latest(None),
        "LATEST" => Query::Latest(Some(reference(2)?)),
        "BEFORE" => Query::Before(reference(2)?),
        "AFTER" => Query::After(reference(2)?),
        "AROUND" => Query::Around(reference(2)?),
        _ => Query::Between(reference(2)?, reference(3)?),
    };
    Ok(ChatHistory::Page {
        sub,
        target,
        named,
        query,
        limit,
    })
}

/// Parses the parameters of `MARKREAD`.
///
/// # Errors
/// The `FAIL` to answer: `NEED_MORE_PARAMS`, `INVALID_PARAMS` (a bad
/// target, or a time that is not `timestamp=...`; `*` is only ours to send).
pub fn parse_markread(params: &[String]) -> Result<MarkRead, Fail> {
    let Some(named) = params.first().filter(|t| !t.is_empty()) else {
        return Err(Fail::new(
            "MARKREAD",
            "NEED_MORE_PARAMS",
            [],
            "MARKREAD needs a target",
        ));
    };
    let invalid = |why: String| Fail::new("MARKREAD", "INVALID_PARAMS", [short(named)], why);
    let target = match parse_target("MARKREAD", named) {
        Ok(target) => target,
        Err(fail) => return Err(invalid(fail.description)),
    };
    let set = match params.get(1) {
        None => None,
        Some(time) => match parse_reference("MARKREAD", time) {
            Ok(Reference::Timestamp(t)) => Some(t),
            _ => {
                return Err(invalid(
                    "the time read up to must be timestamp=YYYY-MM-DDThh:mm:ss.sssZ".into(),
                ))
            }
        },
    };
    Ok(MarkRead {
        target,
        named: named.clone(),
        set,
    })
}

/// `#room`, a nickname, or `*`.
fn parse_target(sub: &'static str, named: &str) -> Result<Target, Fail> {
    let invalid = |why: String| {
        Fail::new(
            "CHATHISTORY",
            "INVALID_TARGET",
            [sub.to_string(), short(named)],
            why,
        )
    };
    if named == "*" {
        return Ok(Target::AllPrivate);
    }
    if is_channel(named) {
        return channel_to_room(named)
            .map(|room| Target::Room(room.to_string()))
            .map_err(|why| invalid(format!("no such channel: {why}")));
    }
    check_nick(named)
        .map(|()| Target::Nick(named.to_string()))
        .map_err(|why| invalid(format!("neither a channel nor a nickname: {why}")))
}

/// `msgid=N`, `msgid=N-K` or `timestamp=...`.
fn parse_reference(sub: &'static str, param: &str) -> Result<Reference, Fail> {
    let invalid = |why: &str| {
        Fail::new(
            "CHATHISTORY",
            "INVALID_PARAMS",
            [sub.to_string(), short(param)],
            why.to_string(),
        )
    };
    if let Some(id) = param.strip_prefix("msgid=") {
        let seq = id.split_once('-').map_or(id, |(seq, piece)| {
            // A piece number is digits too, or the id is not ours.
            if digits(piece, MAX_MSGID_DIGITS).is_some() {
                seq
            } else {
                ""
            }
        });
        return digits(seq, MAX_MSGID_DIGITS)
            .map(Reference::Msgid)
            .ok_or_else(|| invalid("a msgid here is a message's number (as in its msgid tag)"));
    }
    if let Some(time) = param.strip_prefix("timestamp=") {
        return parse_timestamp(time)
            .map(Reference::Timestamp)
            .ok_or_else(|| invalid("a timestamp is YYYY-MM-DDThh:mm:ss.sssZ (UTC)"));
    }
    Err(invalid(
        "a reference is msgid=N or timestamp=YYYY-MM-DDThh:mm:ss.sssZ",
    ))
}

/// A `timestamp=` that must be one (TARGETS takes no msgid).
fn timestamp_only(sub: &'static str, param: &str) -> Result<Timestamp, Fail> {
    match parse_reference(sub, param)? {
        Reference::Timestamp(t) => Ok(t),
        Reference::Msgid(_) => Err(Fail::new(
            "CHATHISTORY",
            "INVALID_PARAMS",
            [sub.to_string(), short(param)],
            "TARGETS takes two timestamp= references",
        )),
    }
}

/// The shape of an ISO 8601 UTC time as `server-time` writes it (the
/// calendar is checked where the time is used), and the stretch it names.
fn parse_timestamp(time: &str) -> Option<Timestamp> {
    let b = time.as_bytes();
    if b.len() < 20 || b.len() > MAX_TIMESTAMP_BYTES || !time.is_ascii() {
        return None;
    }
    let shape = b"dddd-dd-ddTdd:dd:dd";
    let fits = shape.iter().zip(b).all(|(want, got)| match want {
        b'd' => got.is_ascii_digit(),
        other => other == got,
    });
    let rest = &time[19..];
    let fraction = rest.strip_suffix('Z')?;
    let places = match fraction.strip_prefix('.') {
        None if fraction.is_empty() => 0,
        Some(f) if !f.is_empty() && f.bytes().all(|c| c.is_ascii_digit()) => f.len(),
        _ => return None,
    };
    // Past microseconds, the archive cuts: a finer time names 1 µs.
    let unit_micros = 10i64.pow(6u32.saturating_sub(places.min(6) as u32));
    fits.then(|| Timestamp {
        iso: time.to_string(),
        unit_micros,
    })
}

fn parse_limit(sub: &'static str, param: &str) -> Result<usize, Fail> {
    match digits(param, MAX_LIMIT_DIGITS) {
        Some(n) if n > 0 => Ok(n as usize),
        _ => Err(Fail::new(
            "CHATHISTORY",
            "INVALID_PARAMS",
            [sub.to_string(), short(param)],
            "the limit is a number of messages, at least 1",
        )),
    }
}

/// `s` as a number, if it is 1 to `max` ASCII digits.
fn digits(s: &str, max: usize) -> Option<u64> {
    if s.is_empty() || s.len() > max || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A parameter quoted back in a reply, cut so that the reply still fits
/// a line (on a character boundary).
fn short(param: &str) -> String {
    const MAX_QUOTED: usize = 64;
    if param.len() <= MAX_QUOTED {
        return param.to_string();
    }
    let mut end = MAX_QUOTED;
    while !param.is_char_boundary(end) {
        end -= 1;
    }
    param[..end].to_string()
}

#[cfg(test)]
#[path = "chathistory_tests.rs"]
mod tests;
