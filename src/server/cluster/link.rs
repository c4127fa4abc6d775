//! The hub's handle on Redis: a few write connections (each rebuilt with
//! backoff when it breaks, answering "unavailable" at once while Redis is
//! down), the queue that appends room messages to the stream, the node's
//! name, and what the stream reader has delivered so a sender can learn
//! its message's local number.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::cluster::{
    xadd_command, Backoff, Client, Config, Reconnecting, RedisError, RedisUrl, StreamBound,
    StreamEntry, StreamId, Subscriber,
};

use crate::cluster::resp::Command;

use super::appender::Appender;
use super::progress::Progress;
use super::{keys, ClusterError};

/// Write connections, for what is not a room message (claims, presence,
/// whispers, the search for a message whose reply was lost): a caller
/// holds one for a round trip, so a few let callers on different
/// connections overlap. A client always uses the same one, so its own
/// requests reach Redis in the order it sent them.
const WRITERS: usize = 4;

/// A room message as it travels through the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamMessage {
    pub room: String,
    pub from: String,
    pub text: String,
    pub date: String,
    /// The node the sender is on, and its connection there (so that node
    /// can leave the sender out when its door does not echo).
    pub node: String,
    pub client: u64,
}

impl StreamMessage {
    /// The `XADD` that adds it to `stream`: its fields borrowed, not
    /// copied twice (once into pairs, once into the command).
    pub fn to_xadd(&self, stream: &str) -> Command {
        let client = self.client.to_string();
        xadd_command(
            stream,
            &[
                ("room", self.room.as_str()),
                ("from", self.from.as_str()),
                ("text", self.text.as_str()),
                ("date", self.date.as_str()),
                ("node", self.node.as_str()),
                ("client", client.as_str()),
            ],
        )
    }

    /// Reads an entry back; `None` when a field is missing or not UTF-8
    /// (an entry some other program wrote: skipped, never delivered half).
    pub fn from_entry(entry: &StreamEntry) -> Option<StreamMessage> {
        let text = |name: &str| {
            entry
                .field(name.as_bytes())
                .and_then(|v| std::str::from_utf8(v).ok())
                .map(str::to_string)
        };
        Some(StreamMessage {
            room: text("room")?,
            from: text("from")?,
            text: text("text")?,
            date: text("date")?,
            node: text("node")?,
            client: text("client")?.parse().ok()?,
        })
    }
}

/// One node's link to the cluster's Redis.
pub struct ClusterLink {
    node: String,
    /// What this process writes into its claims: the node id and a token
    /// of this run, so a node restarted at once does not mistake the
    /// claims of its killed predecessor (still alive for up to 30 s) for
    /// its own users'.
    holder: String,
    redis: Config,
    writers: Vec<Mutex<Reconnecting<Client>>>,
    /// Room messages' `XADD`s, pipelined.
    appender: Arc<Appender>,
    /// What the reader has delivered, and who waits for what.
    progress: Arc<Progress>,
    /// Nicknames this node holds online (`name_key` to nick), refreshed by
    /// the heartbeat and claimed again if Redis lost them.
    pub(super) nicks: Mutex<BTreeMap<String, String>>,
}

/// How long a sender whose `XADD` lost its reply waits for Redis to tell
/// whether the message was added.
const RESOLVE_WAIT: Duration = Duration::from_secs(3);
/// Between those attempts (each connection also keeps its own backoff).
const RESOLVE_RETRY: Duration = Duration::from_millis(100);
/// Entries searched for it at most: more in flight than that and the
/// answer is "unknown" rather than a scan of the whole stream.
const RESOLVE_SCAN: usize = 10_000;

/// Why a room message is not known to be in the stream.
#[derive(Debug)]
pub enum AppendFailed {
    /// It is not: nothing was done.
    NotAdded(RedisError),
    /// Redis went away with it in flight and did not come back in time:
    /// it may have been added, and then every node delivers it.
    Unknown(RedisError),
}

impl ClusterLink {
    /// A link to the Redis at `url` (password from `password_file`, if
    /// given) for the node called `node`. Nothing is connected yet: a
    /// node starts while Redis is down, and answers 503 until it is back.
    ///
    /// # Errors
    /// A malformed node id, URL or password file.
    pub fn new(
        url: &str,
        password_file: Option<&Path>,
        node: &str,
    ) -> Result<Arc<ClusterLink>, ClusterError> {
        check_node_id(node)?;
        let mut url = RedisUrl::parse(url)?;
        if let Some(path) = password_file {
            url = url.with_password_file(path)?;
        }
        let mut redis = Config::new(url);
        redis.client_name = Some(format!("chat-{node}"));
        let writers = (0..WRITERS)
            .map(|_| Mutex::new(reconnecting(&redis)))
            .collect();
        let progress: Arc<Progress> = Arc::default();
        // Bounds a sender's wait for another's pipeline: a connect and
        // two reads, and a second to spare.
        let wait = redis.connect_timeout + redis.io_timeout * 2 + Duration::from_secs(1);
        let appender = Arc::new(Appender::new(
            reconnecting(&redis),
            Arc::clone(&progress),
            wait,
        ));
        Ok(Arc::new(ClusterLink {
            node: node.to_string(),
            holder: format!("{node}/{:016x}", run_token()),
            redis,
            writers,
            appender,
            progress,
            nicks: Mutex::new(BTreeMap::new()),
        }))
    }

    /// This node's id.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The value of this run's claims: `node/token`.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// A new connection that reconnects itself (for a background thread).
    pub fn connection(&self) -> Reconnecting<Client> {
        reconnecting(&self.redis)
    }

    /// A plain connection, made now, for one long transfer (a file's
    /// bytes) that must not hold a shared connection; every read and
    /// write on it times out.
    ///
    /// # Errors
    /// Redis unreachable.
    pub fn direct(&self) -> crate::cluster::Result<Client> {
        Client::connect(&self.redis)
    }

    /// A pub/sub connection subscribed to `channels`, made again (and
    /// subscribed again) whenever it breaks.
    pub fn subscriber(&self, channels: Vec<String>) -> Reconnecting<Subscriber> {
        let redis = self.redis.clone();
        Reconnecting::new(Backoff::default(), move || {
            let mut sub = Subscriber::connect(&redis)?;
            sub.subscribe(&channels)?;
            Ok(sub)
        })
    }

    /// Runs `op` on the write connection of client `client`.
    ///
    /// # Errors
    /// `Unavailable` while Redis is down; `op`'s own error.
    pub fn with_writer<T>(
        &self,
        client: u64,
        op: impl FnOnce(&mut Client) -> crate::cluster::Result<T>,
    ) -> crate::cluster::Result<T> {
        let slot = &self.writers[(client % WRITERS as u64) as usize];
        slot.lock().unwrap_or_else(PoisonError::into_inner).run(op)
    }

    /// Asks node `node` to act on one of its users: `fields` escaped and
    /// joined by tabs on its control channel. False when that node is not
    /// listening (gone).
    ///
    /// # Errors
    /// Redis unreachable.
    pub fn tell_node(&self, node: &str, fields: &[&str]) -> crate::cluster::Result<bool> {
        let payload: Vec<String> = fields
            .iter()
            .map(|f| crate::server::store::escape(f))
            .collect();
        let heard = self.with_writer(3, |c| {
            c.publish(super::keys::control(node), payload.join("\t"))
        })?;
        Ok(heard > 0)
    }

    /// Appends room messages to the stream, in order, in one pipeline
    /// (with whatever other senders' are waiting): once a message has its
    /// ID, Redis has it and every node will deliver it, in that place.
    /// One answer per message: Redis may refuse one and take the next.
    ///
    /// When the connection broke after the `XADD`s were sent, Redis may
    /// have added some: then the entries after the last one this node
    /// delivered are searched for them (on another connection, for up to
    /// [`RESOLVE_WAIT`]), so that a message in the stream is never
    /// reported as refused, and never sent twice by a sender told to try
    /// again.
    ///
    /// `NotAdded`: Redis unreachable or refusing, and the message is not
    /// in the stream. `Unknown`: Redis went away with the request in
    /// flight and did not come back in time to tell.
    pub fn append_all(&self, messages: &[StreamMessage]) -> Vec<Result<StreamId, AppendFailed>> {
        let Some(first) = messages.first() else {
            return Vec::new();
        };
        let since = self.progress.last();
        let commands = messages.iter().map(|m| m.to_xadd(keys::MESSAGES));
        let appended = self.appender.append_all(commands.collect());
        let added = appended.replies;
        let lost = added
            .iter()
            .zip(messages)
            .filter(|(added, _)| matches!(added, Err(e) if e.is_outcome_unknown()))
            .map(|(_, message)| message);
        // One ID (or none) for each lost message, in order; `None` when
        // the stream could not be searched.
        let mut found = self
            .search(first.client, since, &appended.lost_on, lost)
            .map(Vec::into_iter);
        added
            .into_iter()
            .map(|added| match added {
                Ok(id) => Ok(id),
                Err(e) if !e.is_outcome_unknown() => Err(AppendFailed::NotAdded(e)),
                Err(e) => match found.as_mut() {
                    Some(ids) => ids.next().flatten().ok_or(AppendFailed::NotAdded(e)),
                    None => Err(AppendFailed::Unknown(e)),
                },
            })
            .collect()
    }

    /// Where `lost` (messages whose `XADD` lost its reply, in the order
    /// sent) are in the stream after `since`: each one's ID, or `None` when
    /// it is not there (it was not added). `None` for all when Redis could
    /// not be asked within [`RESOLVE_WAIT`], or more entries than
    /// [`RESOLVE_SCAN`] came after `since`. Nothing is asked when nothing
    /// was lost.
    ///
    /// The connections they went on (`lost_on`) are ended first: an `XADD`
    /// still on its way (the reply timed out on a slow network rather than
    /// a broken connection) could otherwise be added after the search, and
    /// the sender, told it was not, send it again. Best effort where the
    /// Redis user may not `CLIENT KILL`, or Redis does not say a
    /// connection's number (before Redis 5).
    fn search<'a>(
        &self,
        client: u64,
        since: Option<StreamId>,
        lost_on: &[u64],
        lost: impl Iterator<Item = &'a StreamMessage>,
    ) -> Option<Vec<Option<StreamId>>> {
        let mut lost = lost.peekable();
        lost.peek()?;
        let start = since.map_or(StreamBound::Min, StreamBound::Excluded);
        let deadline = Instant::now() + RESOLVE_WAIT;
        let entries = loop {
            match self.with_writer(client, |c| {
                for &id in lost_on {
                    match c.client_kill(id) {
                        Ok(_) | Err(RedisError::Server { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
                c.xrange(keys::MESSAGES, start, StreamBound::Max, Some(RESOLVE_SCAN))
            }) {
                Ok(entries) if entries.len() < RESOLVE_SCAN => break entries,
                Ok(_) => return None,
                Err(_) if Instant::now() < deadline => std::thread::sleep(RESOLVE_RETRY),
                Err(_) => return None,
            }
        };
        // In order: each one is looked for after the one before it, so two
        // equal messages of one burst find two entries.
        let mut from = 0;
        Some(
            lost.map(|message| {
                let at = entries[from..]
                    .iter()
                    .position(|e| StreamMessage::from_entry(e).as_ref() == Some(message))?;
                from += at + 1;
                Some(entries[from - 1].id)
            })
            .collect(),
        )
    }

    /// Waits up to `timeout` until the reader has delivered entry `id`;
    /// its local number if it was this node's own message.
    pub fn wait_applied(&self, id: StreamId, timeout: Duration) -> Option<u64> {
        self.progress.wait(id, timeout)
    }

    /// The reader delivered every entry up to `last`, among them `own`:
    /// this node's own messages with their local numbers.
    pub fn note_applied(&self, own: &[(StreamId, u64)], last: StreamId) {
        self.progress.applied(own, last);
    }

    /// Connects the room messages' connection now, in the background, so
    /// the first message finds it made while Redis was up (best effort:
    /// else the first message connects).
    ///
    /// # Errors
    /// The thread could not be started.
    pub fn connect_appender(&self) -> std::io::Result<()> {
        let appender = Arc::clone(&self.appender);
        std::thread::Builder::new()
            .name("cluster-connect".into())
            .spawn(move || appender.connect())?;
        Ok(())
    }
}

/// A value unlikely to repeat across runs: the time and the process id.
fn run_token() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 40)
}

fn reconnecting(redis: &Config) -> Reconnecting<Client> {
    let redis = redis.clone();
    Reconnecting::new(Backoff::default(), move || Client::connect(&redis))
}

/// Longest node id: it is part of Redis keys and console lines.
pub const MAX_NODE_ID: usize = 32;

fn check_node_id(node: &str) -> Result<(), ClusterError> {
    let ok = (1..=MAX_NODE_ID).contains(&node.len())
        && node
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ClusterError::BadNodeId(node.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_are_short_and_plain() {
        assert!(check_node_id("a").is_ok());
        assert!(check_node_id("node-7_b").is_ok());
        for bad in ["", "a b", "a:b", "é", &"x".repeat(33)] {
            assert!(check_node_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_message_round_trips_through_stream_fields() {
        let m = StreamMessage {
            room: "lobby".into(),
            from: "ann".into(),
            text: "hi\tthere\n".into(),
            date: "2026-01-01 00:00:00.000000".into(),
            node: "a".into(),
            client: 42,
        };
        // XADD key * field value ...: the pairs after the ID.
        let xadd = m.to_xadd("s");
        assert_eq!(&xadd.parts()[..3], [&b"XADD"[..], b"s", b"*"]);
        let entry = StreamEntry {
            id: StreamId::new(1, 0),
            fields: xadd.parts()[3..]
                .chunks(2)
                .map(|pair| (pair[0].clone(), pair[1].clone()))
                .collect(),
        };
        assert_eq!(StreamMessage::from_entry(&entry), Some(m));
        let mut broken = entry.clone();
        broken.fields.pop();
        assert_eq!(StreamMessage::from_entry(&broken), None);
    }

    #[test]
    fn a_sender_learns_its_number_once_the_reader_got_there() {
        let link = ClusterLink::new("redis://127.0.0.1:1", None, "a").unwrap();
        let id = StreamId::new(5, 0);
        assert_eq!(link.wait_applied(id, Duration::from_millis(1)), None);
        link.note_applied(&[], StreamId::new(4, 0));
        assert_eq!(link.wait_applied(id, Duration::from_millis(1)), None);
        link.note_applied(&[(id, 17)], id);
        assert_eq!(link.wait_applied(id, Duration::from_millis(1)), Some(17));
        assert_eq!(
            link.wait_applied(id, Duration::from_millis(1)),
            None,
            "once"
        );
    }
}
