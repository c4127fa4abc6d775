//! The hub as one node of a cluster: room messages go to the Redis stream
//! first and are stored and delivered here only when the node's stream
//! reader brings them back, in stream order (the sender's own node
//! included, so every client everywhere sees one order); nicknames are
//! claimed in Redis. Without a cluster none of this runs.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cluster::{RedisError, StreamId};
use crate::server::cluster::{keys, whisper_payload, AppendFailed, ClusterLink, StreamMessage};
use crate::server::history::{Kind, Record};
use crate::text::name_key;

use super::messages::whisper_event;
use super::outcome::{Said, Whispered};
use super::{ClientId, Delivery, Hub, Owed, Refused, Remote};

/// How long a sender waits for its message to come back from the stream
/// (to learn its number here) before answering without one.
const ECHO_WAIT: Duration = Duration::from_secs(5);

impl Hub {
    /// Makes this hub a node of the cluster behind `link` (once, at start-up).
    pub fn join_cluster(&self, link: Arc<ClusterLink>) {
        let _ = self.inner.cluster.set(link);
    }

    /// The cluster link, in cluster mode.
    pub fn cluster(&self) -> Option<&Arc<ClusterLink>> {
        self.inner.cluster.get()
    }

    pub(super) fn in_cluster(&self) -> bool {
        self.inner.cluster.get().is_some()
    }

    /// Claims `nick` in Redis for connection `id` (nothing without a cluster).
    pub(super) fn claim_in_cluster(&self, id: ClientId, nick: &str) -> Result<(), Refused> {
        let Some(link) = self.cluster() else {
            return Ok(());
        };
        match link.claim_nick(id, nick) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Refused::NickInUse {
                nick: nick.to_string(),
            }),
            Err(e) => Err(redis_refusal(&e)),
        }
    }

    /// Releases a claim made by `claim_in_cluster`.
    pub(super) fn release_in_cluster(&self, id: ClientId, nick: &str) {
        if let Some(link) = self.cluster() {
            link.release_nick(id, nick);
        }
    }

    /// Room messages in cluster mode (one, or a burst from one client to
    /// one room): checked here, added to the stream in one pipeline, and
    /// each answered once Redis has it (with its number here once the
    /// reader has stored it, which is what the sender waits for). Each
    /// message gets its own answer: Redis may refuse one of a burst and
    /// take the next.
    pub(super) fn say_all_in_cluster(
        &self,
        link: &ClusterLink,
        id: ClientId,
        room: Option<&str>,
        texts: Vec<String>,
    ) -> Vec<Result<Said, Refused>> {
        let count = texts.len();
        let messages = match self.stream_messages(link, id, room, texts) {
            Ok(messages) => messages,
            Err(refused) => return vec![Err(refused); count],
        };
        let added = link.append_all(&messages);
        // The reader delivers them in order: waiting for the first waits,
        // in effect, for the lot.
        let deadline = Instant::now() + ECHO_WAIT;
        added
            .into_iter()
            .zip(messages)
            .map(|(added, message)| {
                let stream_id = added.map_err(|failed| match failed {
                    AppendFailed::NotAdded(e) => redis_refusal(&e),
                    AppendFailed::Unknown(e) => Refused::ClusterUncertain(e.to_string()),
                })?;
                let left = deadline.saturating_duration_since(Instant::now());
                let seq = link.wait_applied(stream_id, left).unwrap_or(0);
                Ok(Said {
                    seq,
                    room: message.room,
                })
            })
            .collect()
    }

    /// `texts` from `id` to `room` (by default its one room) as stream
    /// entries, or why `id` cannot say anything there.
    fn stream_messages(
        &self,
        link: &ClusterLink,
        id: ClientId,
        room: Option<&str>,
        texts: Vec<String>,
    ) -> Result<Vec<StreamMessage>, Refused> {
        let st = self.lock();
        let client = st.client(id)?;
        let key = st.my_room(client, room)?;
        let (room, date) = (st.room_name(&key), crate::clock::now_utc());
        Ok(texts
            .into_iter()
            .map(|text| StreamMessage {
                room: room.clone(),
                from: client.nick.clone(),
                text,
                date: date.clone(),
                node: link.node().to_string(),
                client: id,
            })
            .collect())
    }

    /// Stores stream entries in `log.txt` (each with its ID in its record)
    /// in one write, and enqueues them to their rooms' members on this
    /// node, as `say_all` does for a single node; the writes are the
    /// caller's to pay. Returns their numbers here, in order.
    ///
    /// # Errors
    /// `log.txt` refused them: nobody here was sent any; the reader retries.
    pub fn deliver_from_stream(
        &self,
        node: &str,
        entries: &[(StreamId, StreamMessage)],
        owed: &mut Owed,
    ) -> io::Result<Vec<u64>> {
        let mut records: Vec<Record> = entries
            .iter()
            .map(|(stream_id, m)| Record {
                seq: 0,
                date: m.date.clone(),
                kind: Kind::Message,
                room: m.room.clone(),
                from: m.from.clone(),
                to: stream_id.to_string(),
                text: m.text.clone(),
            })
            .collect();
        // Each entry's room key, once (before the locks).
        let keys: Vec<String> = entries.iter().map(|(_, m)| name_key(&m.room)).collect();
        let mut log = self.inner.log.lock();
        log.append_all(&mut records)?;
        let mut st = self.lock();
        let seqs = records.iter().map(|r| r.seq).collect();
        // Each run of entries to one room goes to its members in one
        // enqueue each, less the senders here whose doors do not echo.
        let mut start = 0;
        while let Some(key) = keys.get(start) {
            let end = start + keys[start..].iter().take_while(|k| *k == key).count();
            let deliveries: Vec<(Delivery, Option<ClientId>)> = records[start..end]
                .iter()
                .zip(&entries[start..end])
                .map(|(record, (_, m))| {
                    let sender = (m.node == node).then_some(m.client);
                    let skip = sender.filter(|id| st.clients.get(id).is_some_and(|c| !c.echo));
                    (Delivery::Event(record.message_event(false)), skip)
                })
                .collect();
            st.fan_out_each(key, &deliveries, owed);
            start = end;
        }
        for (record, key) in records.into_iter().zip(&keys) {
            st.remember(key, [record]);
        }
        drop(st);
        drop(log);
        Ok(seqs)
    }
}

/// The refusal for a whisper Redis did not take: "cluster unavailable",
/// or, when the connection broke with it sent, that it may have reached
/// them (a `PUBLISH` cannot be looked for afterwards, as a stream entry
/// can).
pub(crate) fn whisper_refused(e: &RedisError) -> Refused {
    if e.is_outcome_unknown() {
        Refused::WhisperUncertain(e.to_string())
    } else {
        redis_refusal(e)
    }
}

/// The refusal for a Redis error: "cluster unavailable, retrying", or,
/// when Redis answered and refused, what it said (the node is not
/// retrying anything then, and the next message may well be taken).
pub(super) fn redis_refusal(e: &RedisError) -> Refused {
    match e {
        RedisError::Server { .. } => Refused::ClusterRefused(e.to_string()),
        _ => Refused::ClusterUnavailable(e.to_string()),
    }
}

impl Hub {
    /// A whisper to `to`, a user on another node: published to that node
    /// (which stores and delivers it), then stored here too, for the
    /// sender's history.
    pub(super) fn whisper_in_cluster(
        &self,
        link: &ClusterLink,
        id: ClientId,
        to: &Remote,
        text: String,
        owed: &mut Owed,
    ) -> Result<Whispered, Refused> {
        let (from, echo) = {
            let st = self.lock();
            let client = st.client(id)?;
            (client.nick.clone(), client.echo)
        };
        let date = crate::clock::now_utc();
        let payload = whisper_payload(&from, &to.nick, &date, &text);
        let heard = link
            .with_writer(id, |c| c.publish(keys::whispers(&to.node), &payload))
            .map_err(|e| whisper_refused(&e))?;
        if heard == 0 {
            return Err(Refused::NoSuchUser {
                nick: to.nick.clone(),
            });
        }
        let mut log = self.inner.log.lock();
        let record = log
            .append(Record {
                seq: 0,
                date,
                kind: Kind::Whisper,
                room: "-".to_string(),
                from,
                to: to.nick.clone(),
                text,
            })
            .map_err(Refused::not_stored)?;
        if echo {
            let st = self.lock();
            st.deliver(&[id], &Delivery::Event(whisper_event(&record, false)), owed);
        }
        Ok(Whispered {
            seq: record.seq,
            to: record.to,
            kept: false,
        })
    }

    /// A whisper another node published for `to`, on this node: stored,
    /// then delivered to them if they are still here.
    ///
    /// # Errors
    /// `NotStored` when `log.txt` refused it (nobody was sent it).
    pub fn whisper_from_cluster(
        &self,
        from: &str,
        to: &str,
        date: &str,
        text: String,
    ) -> Result<(), Refused> {
        let mut owed = Owed::new();
        let mut log = self.inner.log.lock();
        let record = log
            .append(Record {
                seq: 0,
                date: date.to_string(),
                kind: Kind::Whisper,
                room: "-".to_string(),
                from: from.to_string(),
                to: to.to_string(),
                text,
            })
            .map_err(Refused::not_stored)?;
        let st = self.lock();
        if let Some(&target) = st.nicks.get(&name_key(to)) {
            st.deliver(
                &[target],
                &Delivery::Event(whisper_event(&record, false)),
                &mut owed,
            );
        }
        Ok(())
    }
}

impl Hub {
    /// Asks the node that has `nick` online to act (`fields`: the request);
    /// their nickname as spelled.
    ///
    /// # Errors
    /// `NoSuchUser` when no node has them; `ClusterUnavailable`.
    pub(super) fn tell_elsewhere(&self, nick: &str, fields: &[&str]) -> Result<String, Refused> {
        let no_such_user = || Refused::NoSuchUser {
            nick: nick.to_string(),
        };
        let (Some(link), Some(remote)) = (self.cluster(), self.remote_user(nick)) else {
            return Err(no_such_user());
        };
        match link.tell_node(&remote.node, fields) {
            Ok(true) => Ok(remote.nick),
            Ok(false) => Err(no_such_user()),
            Err(e) => Err(redis_refusal(&e)),
        }
    }

    /// Another node's room owner sends `nick` (here) out of `room`.
    pub fn kick_here(&self, room: &str, nick: &str, by: &str, reason: &str) {
        let mut owed = Owed::new();
        let mut st = self.lock();
        let key = name_key(room);
        let Some(&target) = st.nicks.get(&name_key(nick)) else {
            return;
        };
        if st
            .clients
            .get(&target)
            .is_some_and(|c| c.rooms.contains(&key))
        {
            let why = super::Removal::Kicked {
                by: by.to_string(),
                reason: reason.to_string(),
            };
            st.remove(target, &key, why, &mut owed);
        }
    }
}

impl Hub {
    /// Stores a whisper kept in Redis for a user of this node, as it is
    /// handed over; the record with its number here (as it came, numbered
    /// 0, if `log.txt` refused it: it is delivered all the same).
    pub fn store_kept(&self, record: Record) -> Record {
        let mut log = self.inner.log.lock();
        log.append(record.clone()).unwrap_or(record)
    }
}
