//! Trimming the message stream: every few seconds each node records the
//! last entry it stored (`chat:read`, node -> ID) and removes the entries
//! every live node has stored (`XTRIM MINID` at the smallest of the live
//! nodes' IDs). A node whose liveness key expired is not waited for; a
//! live node that has not said where it is holds trimming back, except
//! past `--cluster-stream-max` entries. A node
//! that comes back after the stream was trimmed past its resume point says
//! so on its console and goes on from the oldest entry left.

use std::collections::HashMap;

use crate::cluster::resp::Value;
use crate::cluster::{Client, Result, Script, StreamBound, StreamId};

use super::{keys, ClusterLink};

/// Removes the entries of stream `KEYS[1]` before ID `ARGV[1]` and keeps
/// in `KEYS[2]` the ID of the last one removed (`XINFO`'s
/// `max-deleted-entry-id` does not count trimming), so that a node coming
/// back can tell whether it lost entries. Floors only ever remove what is
/// left, so `KEYS[2]` only grows.
const TRIM: &str = r"
local gone = redis.call('XREVRANGE', KEYS[1], '(' .. ARGV[1], '-', 'COUNT', 1)
if #gone == 0 then return 0 end
local n = redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1])
redis.call('SET', KEYS[2], gone[1][1])
return n
";
static TRIM_SCRIPT: Script = Script::new(TRIM);

/// Keeps at most `ARGV[1]` entries of stream `KEYS[1]`, keeping the last
/// one removed in `KEYS[2]` as [`TRIM`] does. Run every few seconds, so
/// what it lists at once is what came past the cap since.
const CAP: &str = r"
local over = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[1])
if over <= 0 then return 0 end
local gone = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', over)
local n = redis.call('XTRIM', KEYS[1], 'MAXLEN', ARGV[1])
redis.call('SET', KEYS[2], gone[#gone][1])
return n
";
static CAP_SCRIPT: Script = Script::new(CAP);

/// Records that this node stored everything up to `last`, then trims what
/// every live node has stored, and past `cap` entries whatever is left.
/// Returns how many entries were removed.
///
/// # Errors
/// Redis unreachable: nothing more is trimmed.
pub(super) fn record_and_trim(
    c: &mut Client,
    link: &ClusterLink,
    last: StreamId,
    cap: Option<u64>,
) -> Result<u64> {
    let trimmed = trim_read(c, link, last)?;
    let Some(cap) = cap else {
        return Ok(trimmed);
    };
    let reply = c.run_script(
        &CAP_SCRIPT,
        &[keys::MESSAGES, keys::TRIMMED],
        &[cap.to_string()],
    )?;
    Ok(trimmed + count(&reply))
}

/// What `record_and_trim` does without a cap.
fn trim_read(c: &mut Client, link: &ClusterLink, last: StreamId) -> Result<u64> {
    c.hset(keys::READ, &[(link.node(), last.to_string())])?;
    let read: HashMap<String, StreamId> = c
        .hgetall(keys::READ)?
        .into_iter()
        .filter_map(|(node, id)| {
            let node = String::from_utf8(node).ok()?;
            Some((node, StreamId::parse_bytes(&id).ok()?))
        })
        .collect();
    let mut floor: Option<StreamId> = None;
    for node in c.smembers(keys::NODES)? {
        let Ok(node) = String::from_utf8(node) else {
            continue;
        };
        let live = node == link.node() || c.get(keys::node(&node))?.is_some();
        if !live {
            continue;
        }
        // A live node that has not said where it is: wait for it.
        let Some(&at) = read.get(&node) else {
            return Ok(0);
        };
        floor = Some(floor.map_or(at, |f| f.min(at)));
    }
    match floor {
        // MINID keeps the entry at the floor itself: a reader resumes after it.
        Some(floor) if floor > StreamId::ZERO => {
            let reply = c.run_script(
                &TRIM_SCRIPT,
                &[keys::MESSAGES, keys::TRIMMED],
                &[floor.to_string()],
            )?;
            Ok(count(&reply))
        }
        _ => Ok(0),
    }
}

/// A script's count of removed entries.
fn count(reply: &Value) -> u64 {
    match reply {
        Value::Integer(n) => (*n).max(0) as u64,
        _ => 0,
    }
}

/// What the console says when the stream lost entries this node had not
/// stored: `None` when nothing after `last` was removed.
pub(super) fn check_resume(c: &mut Client, last: StreamId) -> Result<Option<String>> {
    let Some(gone) = c.get(keys::TRIMMED)? else {
        return Ok(None);
    };
    let Ok(gone) = StreamId::parse_bytes(&gone) else {
        return Ok(None);
    };
    if gone <= last {
        return Ok(None);
    }
    let first = c.xrange(keys::MESSAGES, StreamBound::Min, StreamBound::Max, Some(1))?;
    let from = first.first().map_or_else(
        || "the next new entry".to_string(),
        |e| format!("entry {}", e.id),
    );
    Ok(Some(format!(
        "cluster: the stream was trimmed past this node's resume point {last} (entries up to {gone} are gone); \
         going on from {from}: the room messages in between are not in this node's log.txt"
    )))
}
