//! Rooms shared by every node: the hash `chat:rooms` of `rooms.txt` lines
//! by `name_key`, and the channel `chat:rooms`, on which a node that
//! changed a room publishes its key so the others read it again (gone from
//! the hash: closed). A creation is `HSETNX`: of two nodes creating one
//! name, one wins.

use crate::cluster::resp::{Command, Value};
use crate::cluster::{Client, Result};
use crate::server::rooms::{encode_line, parse_line, RoomRecord};
use crate::text::name_key;

use super::{keys, ClusterLink};

/// What follows a closed room's key on the rooms channel when the
/// operator closed it.
pub const BY_OPERATOR: &str = "operator";

/// Requests about rooms use this writer connection's slot.
const SLOT: u64 = 2;

impl ClusterLink {
    /// Creates `room` unless a room of that name exists; false if one does.
    ///
    /// # Errors
    /// Redis unreachable: nothing was created.
    pub fn create_room(&self, room: &RoomRecord) -> Result<bool> {
        let key = name_key(&room.name);
        let line = line_of(room);
        let replies = self.with_writer(SLOT, |c| {
            c.pipeline(&[
                Command::new("HSETNX").arg(keys::ROOMS).arg(&key).arg(&line),
                Command::new("PUBLISH").arg(keys::ROOMS_CHANNEL).arg(&key),
            ])
        })?;
        let created = replies.into_iter().next().transpose()?;
        Ok(matches!(created, Some(Value::Integer(1))))
    }

    /// Stores a changed `room` and tells the other nodes.
    ///
    /// # Errors
    /// Redis unreachable: nothing was changed.
    pub fn store_room(&self, room: &RoomRecord) -> Result<()> {
        let key = name_key(&room.name);
        let line = line_of(room);
        self.room_write(&[
            Command::new("HSET").arg(keys::ROOMS).arg(&key).arg(&line),
            Command::new("PUBLISH").arg(keys::ROOMS_CHANNEL).arg(&key),
        ])
    }

    /// Removes the room keyed `key` (closed) and tells the other nodes
    /// (`key`, or `key TAB operator` when the operator closed it).
    ///
    /// # Errors
    /// Redis unreachable: nothing was changed.
    pub fn remove_room(&self, key: &str, by_operator: bool) -> Result<()> {
        let payload = if by_operator {
            format!("{key}\t{BY_OPERATOR}")
        } else {
            key.to_string()
        };
        self.room_write(&[
            Command::new("HDEL").arg(keys::ROOMS).arg(key),
            Command::new("PUBLISH")
                .arg(keys::ROOMS_CHANNEL)
                .arg(payload),
        ])
    }

    fn room_write(&self, commands: &[Command]) -> Result<()> {
        for reply in self.with_writer(SLOT, |c| c.pipeline(commands))? {
            reply?;
        }
        Ok(())
    }
}

/// The room keyed `key` as Redis holds it (`None`: there is none).
///
/// # Errors
/// Redis unreachable.
pub fn fetch_room(c: &mut Client, key: &str) -> Result<Option<RoomRecord>> {
    Ok(c.hget(keys::ROOMS, key)?
        .and_then(|line| String::from_utf8(line).ok())
        .and_then(|line| parse_line(&line).ok()))
}

/// Every room Redis holds (lines that do not parse are skipped).
///
/// # Errors
/// Redis unreachable.
pub fn fetch_rooms(c: &mut Client) -> Result<Vec<RoomRecord>> {
    Ok(c.hgetall(keys::ROOMS)?
        .into_iter()
        .filter_map(|(_, line)| parse_line(std::str::from_utf8(&line).ok()?).ok())
        .collect())
}

fn line_of(room: &RoomRecord) -> String {
    encode_line(room).trim_end_matches('\n').to_string()
}
