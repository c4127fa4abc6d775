//! Redis streams on a [`Client`]: `XADD` (the entry's place is its returned
//! [`StreamId`]), `XREAD` from the last IDs a reader saw (optionally blocking
//! until something arrives), and `XRANGE` to read back a span.

use std::time::Duration;

use super::client::Client;
use super::error::{RedisError, Result};
use super::reply;
use super::resp::{Command, Value};
use super::stream_id::StreamId;

/// One stream entry: its ID and its field/value pairs, in the order added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEntry {
    /// The entry's place in its stream.
    pub id: StreamId,
    /// Field/value pairs as given to `XADD`.
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

impl StreamEntry {
    /// The value of the first field called `name`.
    pub fn field(&self, name: &[u8]) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// What `XREAD` returned for one stream: entries after the ID asked, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamBatch {
    /// The stream's key.
    pub key: Vec<u8>,
    /// Its new entries, oldest first.
    pub entries: Vec<StreamEntry>,
}

/// One end of an `XRANGE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamBound {
    /// `-`: the stream's first entry.
    Min,
    /// `+`: the stream's last entry.
    Max,
    /// This ID, included.
    Included(StreamId),
    /// This ID, excluded (`(id`, Redis 6.2 and later).
    Excluded(StreamId),
}

impl StreamBound {
    fn to_arg(self) -> String {
        match self {
            StreamBound::Min => "-".to_string(),
            StreamBound::Max => "+".to_string(),
            StreamBound::Included(id) => id.to_string(),
            StreamBound::Excluded(id) => format!("({id}"),
        }
    }
}

/// The `XADD key * field value ...` command, for a pipeline of them
/// ([`Client::xadd`] sends one).
pub fn xadd_command<F: AsRef<[u8]>, V: AsRef<[u8]>>(
    key: impl AsRef<[u8]>,
    fields: &[(F, V)],
) -> Command {
    let mut command = Command::new("XADD").arg(key).arg("*");
    for (field, value) in fields {
        command = command.arg(field).arg(value);
    }
    command
}

/// The ID in an `XADD`'s reply.
///
/// # Errors
///
/// [`RedisError::UnexpectedReply`] for anything but an ID.
pub fn xadd_reply(reply: Value) -> Result<StreamId> {
    StreamId::parse_bytes(&reply::bytes("XADD", reply)?)
}

impl Client {
    /// `XADD key * field value ...`: appends an entry and returns the ID
    /// Redis gave it (greater than every ID already in the stream).
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`]; `ERR` for an empty `fields`. If the
    /// connection breaks, the entry may or may not have been added.
    pub fn xadd<F: AsRef<[u8]>, V: AsRef<[u8]>>(
        &mut self,
        key: impl AsRef<[u8]>,
        fields: &[(F, V)],
    ) -> Result<StreamId> {
        xadd_reply(self.request(&xadd_command(key, fields))?)
    }

    /// `XREAD [COUNT n] [BLOCK ms] STREAMS key... id...`: for each stream,
    /// the entries after its ID (at most `count` each). Streams with nothing
    /// new are left out; with none at all, the result is empty.
    ///
    /// With `block`, Redis waits up to that long (rounded up to a
    /// millisecond) for an entry to arrive in any of the streams; the read
    /// timeout is that plus the configured I/O timeout. A blocked call holds
    /// the connection: give a blocking reader its own [`Client`], and use an
    /// [`Interrupter`](super::Interrupter) to wake it early.
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`].
    pub fn xread<K: AsRef<[u8]>>(
        &mut self,
        streams: &[(K, StreamId)],
        count: Option<usize>,
        block: Option<Duration>,
    ) -> Result<Vec<StreamBatch>> {
        let mut command = Command::new("XREAD");
        if let Some(count) = count {
            command = command.arg("COUNT").arg_int(count);
        }
        if let Some(block) = block {
            let ms = block.as_nanos().div_ceil(1_000_000).max(1);
            command = command.arg("BLOCK").arg_int(ms);
        }
        command = command
            .arg("STREAMS")
            .args(streams.iter().map(|(key, _)| key))
            .args(streams.iter().map(|(_, id)| id.to_string()));
        let wait = self.io_timeout() + block.unwrap_or(Duration::ZERO);
        let reply = self.request_waiting(&command, Some(wait))?;
        // RESP3: a map of key => entries; RESP2: an array of [key, entries].
        let batches = match reply {
            Value::Array(items) => items
                .into_iter()
                .map(|item| {
                    let pair = reply::list("XREAD", item)?;
                    let [key, entries]: [Value; 2] = pair.try_into().map_err(|p: Vec<Value>| {
                        unexpected(&format!("a stream of {} parts", p.len()))
                    })?;
                    Ok((key, entries))
                })
                .collect::<Result<Vec<_>>>()?,
            other => reply::pairs("XREAD", other)?,
        };
        batches
            .into_iter()
            .map(|(key, entries)| {
                Ok(StreamBatch {
                    key: reply::bytes("XREAD", key)?,
                    entries: entries_of("XREAD", entries)?,
                })
            })
            .collect()
    }

    /// `XRANGE key start end [COUNT n]`: the entries between two bounds,
    /// oldest first.
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`].
    pub fn xrange(
        &mut self,
        key: impl AsRef<[u8]>,
        start: StreamBound,
        end: StreamBound,
        count: Option<usize>,
    ) -> Result<Vec<StreamEntry>> {
        let mut command = Command::new("XRANGE")
            .arg(key)
            .arg(start.to_arg())
            .arg(end.to_arg());
        if let Some(count) = count {
            command = command.arg("COUNT").arg_int(count);
        }
        let reply = self.request(&command)?;
        entries_of("XRANGE", reply)
    }

    /// `XTRIM key MINID id`: removes the entries before `id` (exactly, not
    /// `~`: what a node has not read is never removed). How many went.
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`].
    pub fn xtrim_minid(&mut self, key: impl AsRef<[u8]>, id: StreamId) -> Result<u64> {
        let command = Command::new("XTRIM")
            .arg(key)
            .arg("MINID")
            .arg(id.to_string());
        reply::count("XTRIM", self.request(&command)?)
    }
}

fn unexpected(what: &str) -> RedisError {
    RedisError::UnexpectedReply {
        command: "XREAD".to_string(),
        reply: what.to_string(),
    }
}

/// `[[id, [field, value, ...]], ...]` into entries.
fn entries_of(command: &str, value: Value) -> Result<Vec<StreamEntry>> {
    reply::list(command, value)?
        .into_iter()
        .map(|entry| {
            let parts = reply::list(command, entry)?;
            let [id, fields]: [Value; 2] =
                parts
                    .try_into()
                    .map_err(|p: Vec<Value>| RedisError::UnexpectedReply {
                        command: command.to_string(),
                        reply: format!("an entry of {} parts", p.len()),
                    })?;
            let id = reply::bytes(command, id)?;
            Ok(StreamEntry {
                id: StreamId::parse_bytes(&id)?,
                // A deleted entry can come back with null fields: none.
                fields: reply::byte_pairs(command, fields)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::Bulk(s.as_bytes().to_vec())
    }

    #[test]
    fn decodes_entries() {
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("5-1"),
            Value::Array(vec![bulk("text"), bulk("hi"), bulk("from"), bulk("ann")]),
        ])]);
        let entries = entries_of("XRANGE", reply).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].id, StreamId::new(5, 1));
        assert_eq!(entries[0].field(b"from"), Some(&b"ann"[..]));
        assert_eq!(entries[0].field(b"nope"), None);
    }

    #[test]
    fn refuses_malformed_entries() {
        let bad_id = Value::Array(vec![Value::Array(vec![bulk("5"), Value::Array(vec![])])]);
        assert!(matches!(
            entries_of("XRANGE", bad_id),
            Err(RedisError::BadStreamId { .. })
        ));
        let short = Value::Array(vec![Value::Array(vec![bulk("5-1")])]);
        assert!(matches!(
            entries_of("XRANGE", short),
            Err(RedisError::UnexpectedReply { .. })
        ));
    }

    #[test]
    fn bounds_are_written_as_redis_reads_them() {
        assert_eq!(StreamBound::Min.to_arg(), "-");
        assert_eq!(StreamBound::Max.to_arg(), "+");
        assert_eq!(StreamBound::Included(StreamId::new(1, 2)).to_arg(), "1-2");
        assert_eq!(StreamBound::Excluded(StreamId::new(1, 2)).to_arg(), "(1-2");
    }
}
