//! RESP, the Redis serialization protocol (versions 2 and 3): the [`Value`]
//! a server replies with, a strict bounded incremental [`Decoder`] over a byte
//! buffer, and the encoder for the one thing a client sends, a [`Command`]
//! (an array of bulk strings). No sockets: `client.rs` owns those.
//!
//! ```text
//! value   = simple | error | integer | bulk | array            (RESP2)
//!         | null | double | boolean | blob-error | verbatim
//!         | big-number | map | set | push | attribute value    (RESP3)
//! simple  = "+" line            error   = "-" line
//! integer = ":" ["+"|"-"] digits CRLF
//! bulk    = "$" len CRLF <len bytes> CRLF  |  "$-1" CRLF (null)
//! array   = "*" count CRLF <count values>  |  "*-1" CRLF (null)
//! null    = "_" CRLF                boolean = "#t" CRLF | "#f" CRLF
//! double  = "," (decimal | "inf" | "-inf" | "nan") CRLF
//! big-number = "(" ["+"|"-"] digits CRLF
//! blob-error = "!" len CRLF <len bytes> CRLF
//! verbatim   = "=" len CRLF <3-byte format> ":" <len-4 bytes> CRLF
//! map = "%" count CRLF <count key/value pairs>      set  = "~" count ...
//! push = ">" count CRLF <count values>
//! attribute = "|" count CRLF <count pairs>, then the value it annotates
//! line = bytes without CR or LF, then CRLF; len and count: decimal, no sign
//! ```
//!
//! Attributes are parsed (within the caps) and dropped: Redis sends none to
//! the commands we use, and no caller needs them. RESP3 streamed strings and
//! aggregates (`$?`) are refused: Redis does not send them either.

mod decode;
mod error;
#[cfg(test)]
mod tests;

pub use decode::{parse, Decoder};
pub use error::RespError;

/// Longest bulk string, blob error or verbatim string accepted, in bytes.
/// Redis's own default (`proto-max-bulk-len`) is 512 MiB; the cluster stores
/// chat records and small index entries, never file bytes, so 16 MiB leaves
/// a wide margin and keeps one hostile length from costing much memory.
pub const MAX_BULK_BYTES: usize = 16 * 1024 * 1024;
/// Longest line (simple string, error, number, or a length header), in bytes,
/// without its CRLF. Redis's longest lines are error messages quoting a command.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Most elements in one aggregate (a map of n pairs counts 2n). Big enough
/// for `HGETALL` of every account or `SMEMBERS` of every online nickname.
pub const MAX_AGGREGATE_LEN: usize = 1024 * 1024;
/// Deepest nesting of aggregates. The deepest reply we read is a RESP2
/// `XREAD`: streams > stream > entries > entry > fields, five levels.
pub const MAX_DEPTH: usize = 16;
/// Most values (at every level) in one reply: bounds the memory one reply
/// can cost even when every aggregate stays under its own cap.
pub const MAX_REPLY_VALUES: usize = 2 * 1024 * 1024;
/// Most bytes buffered for one reply that is not complete yet.
pub const MAX_REPLY_BYTES: usize = 64 * 1024 * 1024;

/// The caps a [`Decoder`] enforces; [`Limits::default`] is the constants above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// See [`MAX_BULK_BYTES`].
    pub bulk_bytes: usize,
    /// See [`MAX_LINE_BYTES`].
    pub line_bytes: usize,
    /// See [`MAX_AGGREGATE_LEN`].
    pub aggregate_len: usize,
    /// See [`MAX_DEPTH`].
    pub depth: usize,
    /// See [`MAX_REPLY_VALUES`].
    pub reply_values: usize,
    /// See [`MAX_REPLY_BYTES`].
    pub reply_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            bulk_bytes: MAX_BULK_BYTES,
            line_bytes: MAX_LINE_BYTES,
            aggregate_len: MAX_AGGREGATE_LEN,
            depth: MAX_DEPTH,
            reply_values: MAX_REPLY_VALUES,
            reply_bytes: MAX_REPLY_BYTES,
        }
    }
}

/// One RESP value, as a server sends it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `+OK`: a short status text.
    Simple(String),
    /// `-ERR ...` or a RESP3 blob error: the text of a Redis error reply.
    /// Kept lossy if not UTF-8, because Redis quotes client bytes in errors.
    Error(String),
    /// `:42`.
    Integer(i64),
    /// `$5 hello`: binary-safe bytes.
    Bulk(Vec<u8>),
    /// `*n`: an ordered list.
    Array(Vec<Value>),
    /// RESP2 `$-1` or `*-1`, RESP3 `_`: no value.
    Null,
    /// RESP3 `,3.14` (also `inf`, `-inf`, `nan`).
    Double(f64),
    /// RESP3 `#t` / `#f`.
    Boolean(bool),
    /// RESP3 `(12345678901234567890`: an integer too big for `i64`, as digits.
    BigNumber(String),
    /// RESP3 `=`: text with a three-letter format (`txt`, `mkd`).
    Verbatim {
        /// The format, e.g. `txt`.
        format: String,
        /// The text itself, bytes after the `xxx:` prefix.
        text: Vec<u8>,
    },
    /// RESP3 `%`: key/value pairs in the server's order.
    Map(Vec<(Value, Value)>),
    /// RESP3 `~`: unordered distinct values, in the server's order.
    Set(Vec<Value>),
    /// RESP3 `>`: out-of-band data such as a pub/sub message.
    Push(Vec<Value>),
}

impl Value {
    /// Appends this value's RESP3 encoding to `out` (RESP2 for the kinds RESP2
    /// has). Servers encode replies; we use it to test the decoder round trip.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Value::Simple(s) => line(out, b'+', s.as_bytes()),
            Value::Error(s) => line(out, b'-', s.as_bytes()),
            Value::Integer(n) => line(out, b':', n.to_string().as_bytes()),
            Value::Bulk(b) => blob(out, b'$', &[b]),
            Value::Null => out.extend_from_slice(b"_\r\n"),
            Value::Double(d) => line(out, b',', format_double(*d).as_bytes()),
            Value::Boolean(b) => out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
            Value::BigNumber(s) => line(out, b'(', s.as_bytes()),
            Value::Verbatim { format, text } => blob(out, b'=', &[format.as_bytes(), b":", text]),
            Value::Array(items) => aggregate(out, b'*', items),
            Value::Set(items) => aggregate(out, b'~', items),
            Value::Push(items) => aggregate(out, b'>', items),
            Value::Map(pairs) => {
                line(out, b'%', pairs.len().to_string().as_bytes());
                for (k, v) in pairs {
                    k.encode(out);
                    v.encode(out);
                }
            }
        }
    }

    /// A short description for error messages: the kind, and the text of a
    /// simple string or error (never the bytes of a bulk string).
    pub fn describe(&self) -> String {
        match self {
            Value::Simple(s) => format!("simple string {s:?}"),
            Value::Error(s) => format!("error {s:?}"),
            Value::Integer(n) => format!("integer {n}"),
            Value::Bulk(b) => format!("bulk string of {} bytes", b.len()),
            Value::Array(v) => format!("array of {}", v.len()),
            Value::Null => "null".to_string(),
            Value::Double(d) => format!("double {d}"),
            Value::Boolean(b) => format!("boolean {b}"),
            Value::BigNumber(s) => format!("big number {s}"),
            Value::Verbatim { text, .. } => format!("verbatim string of {} bytes", text.len()),
            Value::Map(p) => format!("map of {} pairs", p.len()),
            Value::Set(v) => format!("set of {}", v.len()),
            Value::Push(v) => format!("push of {}", v.len()),
        }
    }
}

/// How a double is written: Rust's shortest round-trip form, and the RESP3
/// words for the three values that have no digits.
fn format_double(d: f64) -> String {
    if d.is_nan() {
        "nan".to_string()
    } else if d.is_infinite() {
        if d > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format!("{d}")
    }
}

fn line(out: &mut Vec<u8>, kind: u8, text: &[u8]) {
    out.push(kind);
    out.extend_from_slice(text);
    out.extend_from_slice(b"\r\n");
}

fn blob(out: &mut Vec<u8>, kind: u8, parts: &[&[u8]]) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    line(out, kind, len.to_string().as_bytes());
    for part in parts {
        out.extend_from_slice(part);
    }
    out.extend_from_slice(b"\r\n");
}

fn aggregate(out: &mut Vec<u8>, kind: u8, items: &[Value]) {
    line(out, kind, items.len().to_string().as_bytes());
    for item in items {
        item.encode(out);
    }
}

/// A command to send: its name and arguments, each a binary-safe bulk string
/// on the wire (`*<n> CRLF` then `$<len> CRLF <bytes> CRLF` per part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    parts: Vec<Vec<u8>>,
}

impl Command {
    /// A command with no arguments yet, e.g. `Command::new("GET")`.
    pub fn new(name: &str) -> Command {
        Command {
            parts: vec![name.as_bytes().to_vec()],
        }
    }

    /// Adds one argument (bytes are sent as they are, binary-safe).
    pub fn arg(mut self, arg: impl AsRef<[u8]>) -> Command {
        self.parts.push(arg.as_ref().to_vec());
        self
    }

    /// Adds one argument written in decimal (a count, a TTL, a number).
    pub fn arg_int(self, n: impl std::fmt::Display) -> Command {
        let text = n.to_string();
        self.arg(text)
    }

    /// Adds every argument of `args`, in order.
    pub fn args<I>(mut self, args: I) -> Command
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        self.parts
            .extend(args.into_iter().map(|a| a.as_ref().to_vec()));
        self
    }

    /// The command's name as given to [`Command::new`], for error messages.
    pub fn name(&self) -> String {
        String::from_utf8_lossy(&self.parts[0]).into_owned()
    }

    /// The name and arguments, in order.
    pub fn parts(&self) -> &[Vec<u8>] {
        &self.parts
    }

    /// Appends the command's wire form to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        line(out, b'*', self.parts.len().to_string().as_bytes());
        for part in &self.parts {
            blob(out, b'$', &[part]);
        }
    }
}
