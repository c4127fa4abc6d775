//! Messages on the hub: a room message or a whisper is checked, appended to
//! `log.txt`, and enqueued to its recipients, in one step under the log's
//! lock, so the order in the file is the order everyone receives. The
//! socket writes come later, from the caller's [`Owed`].

use std::sync::Arc;

use crate::clock;
use crate::event::Event;

use super::outcome::{Said, Whispered};
use super::{ClientId, Delivery, Hub, Owed, Refused};
use crate::server::history::{Kind, Record};

impl Hub {
    /// Stores a message from `id` to `room` (by default its one room) in
    /// `log.txt`, then delivers it to every other member (and to the sender
    /// too, if its door echoes).
    ///
    /// # Errors
    /// `EmptyMessage`, `ControlCharacters`, `NotIn`/`NoRoom` for a room it
    /// is not in, `NotStored` when `log.txt` failed (nobody got it).
    pub fn say(
        &self,
        id: ClientId,
        room: Option<&str>,
        text: String,
        owed: &mut Owed,
    ) -> Result<Said, Refused> {
        self.say_all(id, room, vec![text], owed)
            .pop()
            // Cannot fail: `say_all` answers every text given, one here.
            .expect("one text said is one answer")
    }

    /// Several messages from `id` to one room, in order, as one step (what
    /// a flood, or a pasted block of text, costs a server is mostly per
    /// step, not per byte): one answer per text, in order. On one node
    /// that is one write to `log.txt` and one enqueue per recipient for the
    /// lot, and all are stored and delivered or none is (each answered
    /// with the same refusal). In a cluster it is one pipeline of stream
    /// entries, and each is answered as Redis answered it.
    pub fn say_all(
        &self,
        id: ClientId,
        room: Option<&str>,
        texts: Vec<String>,
        owed: &mut Owed,
    ) -> Vec<Result<Said, Refused>> {
        let count = texts.len();
        if let Err(refused) = texts.iter().try_for_each(|text| check_text(text)) {
            return vec![Err(refused); count];
        }
        if let Some(link) = self.cluster() {
            return self.say_all_in_cluster(&Arc::clone(link), id, room, texts);
        }
        match self.store_and_deliver(id, room, texts, owed) {
            Ok(said) => said.into_iter().map(Ok).collect(),
            Err(refused) => vec![Err(refused); count],
        }
    }

    /// `texts` (checked) from `id` to one room, numbered in order: appended
    /// to `log.txt` in one write, then enqueued to the members, each one
    /// once for the lot, under the log's lock, so the file's order is
    /// everyone's; then kept as the room's recent history.
    fn store_and_deliver(
        &self,
        id: ClientId,
        room: Option<&str>,
        texts: Vec<String>,
        owed: &mut Owed,
    ) -> Result<Vec<Said>, Refused> {
        let mut log = self.inner.log.lock();
        let (mut records, key) = {
            let st = self.lock();
            let client = st.client(id)?;
            let key = st.my_room(client, room)?;
            let (room, date) = (st.room_name(&key), clock::now_utc());
            let records: Vec<Record> = texts
                .into_iter()
                .map(|text| Record {
                    seq: 0,
                    date: date.clone(),
                    kind: Kind::Message,
                    room: room.clone(),
                    from: client.nick.clone(),
                    to: "-".to_string(),
                    text,
                })
                .collect();
            (records, key)
        };
        log.append_all(&mut records).map_err(Refused::not_stored)?;
        let mut st = self.lock();
        let events: Vec<Delivery> = records
            .iter()
            .map(|r| Delivery::Event(r.message_event(false)))
            .collect();
        let echo = st.clients.get(&id).is_some_and(|c| c.echo);
        st.fan_out_all(&key, &events, (!echo).then_some(id), owed);
        let said = records
            .iter()
            .map(|r| Said {
                seq: r.seq,
                room: r.room.clone(),
            })
            .collect();
        st.remember(&key, records);
        Ok(said)
    }

    /// Sends a private message to one online user, wherever they are,
    /// stored in `log.txt` first.
    ///
    /// # Errors
    /// `EmptyMessage`, `ControlCharacters`, `NoSuchUser` when nobody online
    /// has that nickname, `NotStored` when `log.txt` failed.
    pub fn whisper(
        &self,
        id: ClientId,
        to: &str,
        text: String,
        owed: &mut Owed,
    ) -> Result<Whispered, Refused> {
        check_text(&text)?;
        if let Some(link) = self.cluster() {
            let here = self.lock().client_by_nick(to).is_some();
            if let Some(remote) = self.remote_user(to).filter(|_| !here) {
                return self.whisper_in_cluster(&Arc::clone(link), id, &remote, text, owed);
            }
        }
        let mut log = self.inner.log.lock();
        let (record, target) = {
            let st = self.lock();
            let from = st.client(id)?.nick.clone();
            let target = st.client_by_nick(to).ok_or_else(|| Refused::NoSuchUser {
                nick: to.to_string(),
            })?;
            let target_id = st.nicks[&crate::text::name_key(&target.nick)];
            let record = Record {
                seq: 0,
                date: clock::now_utc(),
                kind: Kind::Whisper,
                room: "-".to_string(),
                from,
                to: target.nick.clone(),
                text,
            };
            (record, target_id)
        };
        let record = log.append(record).map_err(Refused::not_stored)?;
        let st = self.lock();
        let event = Delivery::Event(whisper_event(&record, false));
        let echo = st.clients.get(&id).is_some_and(|c| c.echo && id != target);
        let recipients = [target, id];
        st.deliver(&recipients[..if echo { 2 } else { 1 }], &event, owed);
        Ok(Whispered {
            seq: record.seq,
            to: record.to,
            kept: false,
        })
    }

    /// Stores a whisper from `id` to `to`, who is not online (a registered
    /// user, whose whispers wait for them), in `log.txt`; nobody is sent
    /// anything. Returns the stored record.
    ///
    /// # Errors
    /// `EmptyMessage`, `ControlCharacters`, `NotLoggedIn`, `NotStored`.
    pub fn store_whisper(&self, id: ClientId, to: &str, text: String) -> Result<Record, Refused> {
        check_text(&text)?;
        let mut log = self.inner.log.lock();
        let from = self.lock().client(id)?.nick.clone();
        let record = Record {
            seq: 0,
            date: clock::now_utc(),
            kind: Kind::Whisper,
            room: "-".to_string(),
            from,
            to: to.to_string(),
            text,
        };
        log.append(record).map_err(Refused::not_stored)
    }

    /// Sends whispers that waited for connection `id` while it was away,
    /// oldest first, each marked as kept.
    pub fn hand_over_kept(&self, id: ClientId, whispers: &[Record], owed: &mut Owed) {
        let st = self.lock();
        if let Some(client) = st.clients.get(&id) {
            for record in whispers {
                st.send(client, &Delivery::Event(whisper_event(record, true)), owed);
            }
        }
    }

    /// Tells everyone in `room` but `except` something that is not a
    /// stored message, such as a file shared there.
    pub fn tell_room(&self, room: &str, except: ClientId, event: Event, owed: &mut Owed) {
        let st = self.lock();
        st.fan_out(
            &crate::text::name_key(room),
            &Delivery::Event(event),
            Some(except),
            owed,
        );
    }

    /// Tells the user called `nick`, if they are online (here, or on
    /// another node of the cluster), that `by` invites them into `room`;
    /// whether they were.
    pub fn invite(&self, nick: &str, room: &str, by: &str, owed: &mut Owed) -> bool {
        if self.invite_here(nick, room, by, owed) {
            return true;
        }
        self.tell_elsewhere(nick, &["invite", nick, room, by])
            .is_ok()
    }

    /// [`Hub::invite`] for a user of this node only.
    pub fn invite_here(&self, nick: &str, room: &str, by: &str, owed: &mut Owed) -> bool {
        let st = self.lock();
        let client = st
            .nicks
            .get(&crate::text::name_key(nick))
            .and_then(|id| st.clients.get(id));
        let Some(client) = client else {
            return false;
        };
        let invited = Delivery::Invited {
            room: room.to_string(),
            by: by.to_string(),
        };
        st.send(client, &invited, owed);
        true
    }
}

/// The event for a stored whisper.
pub(super) fn whisper_event(record: &Record, kept: bool) -> Event {
    Event::Whisper {
        from: record.from.clone(),
        to: record.to.clone(),
        date: record.date.clone(),
        seq: record.seq,
        text: record.text.clone(),
        kept,
    }
}

/// Refuses empty messages and control characters (terminal escape
/// sequences above all); tabs and line breaks are fine.
pub fn check_text(text: &str) -> Result<(), Refused> {
    if text.trim().is_empty() {
        return Err(Refused::EmptyMessage);
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Refused::ControlCharacters);
    }
    Ok(())
}
