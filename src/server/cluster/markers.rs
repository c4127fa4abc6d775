//! Read markers shared by the nodes: the hash `chat:markers:<user>`, room
//! key -> the stream ID of the last message read there. A seq is this
//! node's own number (whispers and a node's life before the cluster make
//! every `log.txt` number its records differently), but a room message's
//! stream ID is the same in every node's `log.txt`, so that is what
//! crosses: a node turns its seq into the message's ID when it stores a
//! marker, and an ID back into its own seq (the newest message of the room
//! at or before that ID) when it reads one. A marker only moves forward:
//! one script compares the IDs in Redis.

use std::sync::Arc;

use crate::cluster::resp::Command;
use crate::cluster::{Script, StreamId};
use crate::server::archive::{Archive, ArchiveError, Query, Ref, SharedMarkers, Target};
use crate::server::hub::Hub;

use super::{keys, ClusterLink};

/// Requests for markers use this writer connection's slot.
const SLOT: u64 = 1;

/// Sets field `ARGV[1]` of hash `KEYS[1]` to stream ID `ARGV[2]` unless it
/// holds that ID or a later one. IDs are compared as numbers written
/// without leading zeros: by length, then as text (no float rounding).
const ADVANCE: &str = r"
local function before(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end
local new_ms, new_seq = string.match(ARGV[2], '^(%d+)-(%d+)$')
if not new_ms then return redis.error_reply('not a stream id') end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local ms, seq = string.match(cur, '^(%d+)-(%d+)$')
  if ms and (before(new_ms, ms) or (new_ms == ms and not before(seq, new_seq))) then
    return 0
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
";
static ADVANCE_SCRIPT: Script = Script::new(ADVANCE);

/// The markers shared through Redis; the hub's log turns seqs into
/// stream IDs and back.
pub struct RedisMarkers {
    link: Arc<ClusterLink>,
    hub: Hub,
}

impl RedisMarkers {
    /// Markers on `link`, placed in `hub`'s log.
    pub fn new(link: Arc<ClusterLink>, hub: Hub) -> RedisMarkers {
        RedisMarkers { link, hub }
    }

    fn archive(&self) -> &Archive {
        self.hub.log().archive()
    }

    /// This node's seq for the marker at stream ID `id` in `room`.
    fn place(&self, room: &str, id: &[u8]) -> Option<u64> {
        let id: StreamId = std::str::from_utf8(id).ok()?.parse().ok()?;
        seq_at_or_before(self.archive(), room, id).ok().flatten()
    }
}

impl SharedMarkers for RedisMarkers {
    fn fetch(&self, user: &str, room: &str) -> Result<Option<u64>, String> {
        let id = self
            .link
            .with_writer(SLOT, |c| c.hget(keys::markers(user), room))
            .map_err(|e| e.to_string())?;
        Ok(id.and_then(|id| self.place(room, &id)))
    }

    fn fetch_all(&self, user: &str) -> Result<Vec<(String, u64)>, String> {
        let all = self
            .link
            .with_writer(SLOT, |c| c.hgetall(keys::markers(user)))
            .map_err(|e| e.to_string())?;
        Ok(all
            .into_iter()
            .filter_map(|(room, id)| {
                let room = String::from_utf8(room).ok()?;
                let seq = self.place(&room, &id)?;
                Some((room, seq))
            })
            .collect())
    }

    fn store(&self, user: &str, room: &str, seq: u64) -> Result<(), String> {
        // A message from before the cluster has no stream ID: no node
        // but this one can place it, so it is not shared.
        let Some(id) = stream_id_at(self.archive(), room, seq).map_err(|e| e.to_string())? else {
            return Ok(());
        };
        self.link
            .with_writer(SLOT, |c| {
                c.run_script(
                    &ADVANCE_SCRIPT,
                    &[keys::markers(user)],
                    &[room, &id.to_string()],
                )
            })
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn forget_user(&self, user: &str) {
        let _ = self.link.with_writer(SLOT, |c| {
            c.request(&Command::new("DEL").arg(keys::markers(user)))
        });
    }
}

/// The stream ID of `room`'s message `seq`, if it is one from the stream.
fn stream_id_at(archive: &Archive, room: &str, seq: u64) -> Result<Option<StreamId>, ArchiveError> {
    let target = Target::Room(room.to_string());
    let page = archive.page(&target, Query::After(Ref::Seq(seq.saturating_sub(1))), 1)?;
    Ok(page
        .records
        .first()
        .filter(|r| r.seq == seq)
        .and_then(|r| r.to.parse().ok()))
}

/// The seq of `room`'s newest message whose stream ID is at or before
/// `id`: a binary search over the room's messages, whose IDs grow with
/// their seqs (messages from before the cluster, without an ID, come
/// first). One short read of `log.txt` per step.
fn seq_at_or_before(
    archive: &Archive,
    room: &str,
    id: StreamId,
) -> Result<Option<u64>, ArchiveError> {
    let target = Target::Room(room.to_string());
    let Some(mut hi) = archive.latest_seq(&target) else {
        return Ok(None);
    };
    let (mut lo, mut best) = (0u64, None);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        let page = archive.page(&target, Query::Before(Ref::Seq(mid + 1)), 1)?;
        let Some(newest) = page.records.last() else {
            lo = mid;
            continue;
        };
        let fits = newest.to.parse::<StreamId>().map_or(true, |at| at <= id);
        if fits {
            best = Some(newest.seq);
            lo = mid;
        } else {
            hi = newest.seq.saturating_sub(1);
        }
    }
    Ok(best)
}
