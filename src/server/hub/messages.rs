//! Messages on the hub: a room message or a whisper is checked, appended to
//! `log.txt`, and enqueued to its recipients in log order. The socket writes
//! come after the log lock is released: a session thread defers them until
//! it has handled the frames it has in hand (see `outbox::Deferral`).

use std::sync::Arc;

use crate::clock;
use crate::command::Refusal;
use crate::event::Event;
use crate::protocol::Status;
use crate::text::name_key;

use super::{message_event, ClientId, Hub, SendError, State};
use crate::server::history::{Kind, Record};
use crate::server::outbox::Outbox;

impl Hub {
    /// Stores a message from `id` to its room in `log.txt`, then delivers it
    /// to every other member. Returns the message's sequence number.
    ///
    /// # Errors
    /// `Refused` for an empty message; `NotStored` when `log.txt` failed.
    pub fn say(&self, id: ClientId, text: String) -> Result<u64, SendError> {
        check_text(&text).map_err(SendError::Refused)?;
        let Some(me) = self.presence(id) else {
            return Err(SendError::Refused(Refusal::new(
                Status::FORBIDDEN,
                "log in first",
            )));
        };
        let record = Record {
            seq: 0,
            date: clock::now_utc(),
            kind: Kind::Message,
            room: me.room.clone(),
            from: me.nick,
            to: "-".to_string(),
            text,
        };
        let key = name_key(&me.room);
        // Enqueued in log order, under the log lock.
        self.inner
            .log
            .append(record, |record| {
                let frame: Arc<[u8]> = message_event(record, false).encode().into();
                for outbox in self.remember_and_snapshot(&key, id, record) {
                    outbox.push(Arc::clone(&frame));
                }
                record.seq
            })
            .map_err(SendError::NotStored)
    }

    /// Keeps `record` in the room's recent history and returns the queues of
    /// every member but the sender.
    fn remember_and_snapshot(&self, key: &str, sender: ClientId, record: &Record) -> Vec<Outbox> {
        let mut st = self.lock();
        let State { clients, rooms, .. } = &mut *st;
        let Some(room) = rooms.get_mut(key) else {
            return Vec::new();
        };
        if self.inner.history > 0 {
            if room.recent.len() >= self.inner.history {
                room.recent.pop_front();
            }
            room.recent.push_back(record.clone());
        }
        room.members
            .iter()
            .filter(|&&m| m != sender)
            .filter_map(|m| clients.get(m).map(|c| c.outbox.clone()))
            .collect()
    }

    /// Sends a private message to one online user, wherever they are,
    /// stored in `log.txt` first.
    ///
    /// # Errors
    /// 404 when nobody online has that nickname; `NotStored` when `log.txt` failed.
    pub fn whisper(&self, id: ClientId, to: &str, text: String) -> Result<(), SendError> {
        let refused = |status, reason: String| SendError::Refused(Refusal::new(status, reason));
        check_text(&text).map_err(SendError::Refused)?;
        let (from, target) = {
            let st = self.lock();
            let from = st.clients.get(&id).map(|c| c.nick.clone());
            let target = st
                .client_by_nick(to)
                .map(|c| (c.nick.clone(), c.outbox.clone()));
            (from, target)
        };
        let Some(from) = from else {
            return Err(refused(Status::FORBIDDEN, "log in first".into()));
        };
        let Some((to, outbox)) = target else {
            return Err(refused(
                Status::NOT_FOUND,
                format!("nobody called {to} is online"),
            ));
        };
        let record = Record {
            seq: 0,
            date: clock::now_utc(),
            kind: Kind::Whisper,
            room: "-".to_string(),
            from,
            to,
            text,
        };
        self.inner
            .log
            .append(record, |r| {
                outbox.push_frame(
                    &Event::Whisper {
                        from: r.from.clone(),
                        to: r.to.clone(),
                        date: r.date.clone(),
                        text: r.text.clone(),
                    }
                    .to_frame(),
                );
            })
            .map_err(SendError::NotStored)
    }
}

/// Refuses empty messages and control characters (terminal escape
/// sequences above all); tabs and line breaks are fine.
fn check_text(text: &str) -> Result<(), Refusal> {
    if text.trim().is_empty() {
        return Err(Refusal::bad_request("empty message"));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Refusal::bad_request(
            "message contains control characters (such as terminal escape sequences); remove them",
        ));
    }
    Ok(())
}
