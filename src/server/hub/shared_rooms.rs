//! Rooms in a cluster: a room is created, changed or closed in Redis
//! before this node's `rooms.txt` (of two nodes creating one name, one
//! wins), and what other nodes did is applied here: a room created
//! elsewhere appears, a changed list takes out whom it no longer admits,
//! and a room closed elsewhere is closed here too, its members told.
//! Without a cluster none of this runs.

use std::collections::BTreeMap;

use crate::cluster::RedisError;
use crate::server::cluster::ClusterLink;
use crate::server::rooms::{RoomRecord, RoomsGuard};
use crate::text::{name_key, LOBBY};

use super::cluster::redis_refusal;
use super::{Hub, Owed, Refused, Removal, Room};

impl Hub {
    /// Claims `record`'s name in Redis (nothing without a cluster).
    ///
    /// # Errors
    /// `RoomExists` when another node has it; `ClusterUnavailable`.
    pub(super) fn share_created(&self, record: &RoomRecord) -> Result<(), Refused> {
        match self.with_link(|link| link.create_room(record))? {
            Some(false) => Err(Refused::RoomExists {
                room: record.name.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Stores a changed room in Redis (nothing without a cluster).
    ///
    /// # Errors
    /// `ClusterUnavailable`: nothing was changed.
    pub(super) fn share_changed(&self, record: &RoomRecord) -> Result<(), Refused> {
        self.with_link(|link| link.store_room(record)).map(|_| ())
    }

    /// Removes a closed room from Redis (nothing without a cluster),
    /// saying whether the operator closed it (the other nodes tell its
    /// members who did).
    ///
    /// # Errors
    /// `ClusterUnavailable`: the room stays open.
    pub(super) fn share_removed(&self, key: &str, by_operator: bool) -> Result<(), Refused> {
        self.with_link(|link| link.remove_room(key, by_operator))
            .map(|_| ())
    }

    fn with_link<T>(
        &self,
        op: impl FnOnce(&ClusterLink) -> Result<T, RedisError>,
    ) -> Result<Option<T>, Refused> {
        match self.cluster() {
            None => Ok(None),
            Some(link) => op(link).map(Some).map_err(|e| redis_refusal(&e)),
        }
    }

    /// Applies what Redis holds for the room keyed `key` (`None`: it was
    /// closed, by the operator of another node if `by_operator`) to this node.
    ///
    /// # Errors
    /// `rooms.txt` could not be written (the change holds in memory).
    pub fn apply_shared_room(
        &self,
        key: &str,
        record: Option<RoomRecord>,
        by_operator: bool,
    ) -> Result<(), String> {
        let store = self.inner.room_store.lock();
        self.apply_room(&store, key, record, by_operator)
    }

    fn apply_room(
        &self,
        store: &RoomsGuard<'_>,
        key: &str,
        record: Option<RoomRecord>,
        by_operator: bool,
    ) -> Result<(), String> {
        if key == name_key(LOBBY) {
            return Ok(());
        }
        let mut owed = Owed::new();
        match record {
            None => {
                if self.lock().rooms.contains_key(key) {
                    self.remove_room(store, key, "(another node)", by_operator, &mut owed)
                        .map_err(|e| e.to_string())?;
                }
                Ok(())
            }
            Some(record) => {
                let records = {
                    let mut st = self.lock();
                    if !st.adopt_room(key, record, &mut owed) {
                        return Ok(());
                    }
                    st.room_records()
                };
                store.write(&records).map_err(|e| e.to_string())
            }
        }
    }

    /// Applies every room Redis holds, as `fetch` reads them (under the
    /// room store's lock, so no room is created here meanwhile). With
    /// `authoritative` (Redis has not lost its data), rooms here that Redis
    /// lacks were closed elsewhere and are closed here. Returns this node's
    /// rooms Redis lacked.
    ///
    /// # Errors
    /// `fetch`'s.
    pub fn apply_shared_rooms<E>(
        &self,
        fetch: impl FnOnce() -> Result<Vec<RoomRecord>, E>,
        authoritative: bool,
    ) -> Result<Vec<RoomRecord>, E> {
        let store = self.inner.room_store.lock();
        let shared: BTreeMap<String, RoomRecord> = fetch()?
            .into_iter()
            .map(|r| (name_key(&r.name), r))
            .collect();
        let missing: Vec<RoomRecord> = self
            .lock()
            .room_records()
            .into_iter()
            .filter(|r| !shared.contains_key(&name_key(&r.name)))
            .collect();
        for (key, record) in shared {
            let _ = self.apply_room(&store, &key, Some(record), false);
        }
        if authoritative {
            for record in &missing {
                let _ = self.apply_room(&store, &name_key(&record.name), None, false);
            }
        }
        Ok(missing)
    }
}

impl super::State {
    /// Makes the room keyed `key` what `record` says; members it no longer
    /// admits are taken out. False when nothing changed.
    fn adopt_room(&mut self, key: &str, record: RoomRecord, owed: &mut Owed) -> bool {
        let lists = |names: Vec<String>| -> BTreeMap<String, String> {
            names.into_iter().map(|n| (name_key(&n), n)).collect()
        };
        let (bans, permits) = (lists(record.bans), lists(record.permits));
        let room = self
            .rooms
            .entry(key.to_string())
            .or_insert_with(|| Room::new(&record.name, Some(record.owner.clone()), record.private));
        let same = room.owner.as_deref() == Some(record.owner.as_str())
            && room.private == record.private
            && room.bans == bans
            && room.permits == permits
            && room.name == record.name;
        room.owner = Some(record.owner);
        room.private = record.private;
        room.bans = bans;
        room.permits = permits;
        let unwelcome: Vec<(u64, Removal)> = room
            .members
            .iter()
            .filter_map(|id| {
                let nick = &self.clients.get(id)?.nick;
                match room.admits(nick) {
                    Ok(()) => None,
                    Err(Refused::Banned { .. }) => Some((*id, Removal::Banned)),
                    Err(_) => Some((*id, Removal::Unpermitted)),
                }
            })
            .collect();
        for (id, why) in unwelcome {
            self.remove(id, key, why, owed);
        }
        !same
    }
}
