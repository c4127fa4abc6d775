//! Shared files across the nodes: the index in the hash `chat:files` (one
//! `files.txt` line per file, by id), ids from one counter, and each
//! file's bytes in the string `chat:file:<id>`, written in chunks and
//! renamed into place whole, read back in chunks by a node that lacks
//! them. Bytes in Redis rather than fetched from the node that received
//! the upload: no node-to-node connection (no second listener, no secret
//! between nodes), and a file stays downloadable when that node is down.

use std::fs::File;
use std::io::Read;
use std::sync::Arc;

use crate::cluster::resp::{Command, Value};
use crate::cluster::{Client, RedisError, Result, Script};
use crate::server::console::Console;
use crate::server::files::{Entry, FileStore, PartialFile, SharedFiles};
use crate::server::hub::{Hub, Owed};

use super::{keys, ClusterLink};

/// Bytes per `APPEND` or `GETRANGE`: well under the reply cap (16 MiB),
/// and small enough that one round trip stays short.
pub const CHUNK: usize = 1024 * 1024;
/// Requests for the index use this writer connection's slot.
const SLOT: u64 = 2;
/// How long a half-written file's bytes stay in Redis.
const UPLOAD_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// The next id, never below this node's own next id (`ARGV[1]`), so ids
/// a node gave before it joined the cluster are not given again.
const NEW_ID: &str = r"
local n = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[1])
if n < floor then
  redis.call('SET', KEYS[1], floor)
  n = floor
end
return n
";
static NEW_ID_SCRIPT: Script = Script::new(NEW_ID);

/// The files shared through Redis (see `keys`).
pub struct RedisFiles(pub Arc<ClusterLink>);

impl SharedFiles for RedisFiles {
    fn new_id(&self, floor: u64) -> std::result::Result<u64, String> {
        let reply = self
            .0
            .with_writer(SLOT, |c| {
                c.run_script(&NEW_ID_SCRIPT, &[keys::FILES_NEXT], &[floor.to_string()])
            })
            .map_err(|e| e.to_string())?;
        match reply {
            Value::Integer(n) if n > 0 => Ok(n as u64),
            other => Err(format!(
                "unexpected reply to a new file id: {}",
                other.describe()
            )),
        }
    }

    fn put(&self, id: u64, file: &mut File, len: u64) -> std::result::Result<(), String> {
        // Its own connection: a large file must not hold up the writer
        // connections chat messages use.
        let mut c = self.0.direct().map_err(|e| e.to_string())?;
        put_bytes(&mut c, self.0.holder(), id, file, len).map_err(|e| e.to_string())
    }

    /// A retired file's bytes leave Redis with it: no node offers it
    /// again, and they would hold Redis' memory for good.
    fn record(&self, entry: &Entry) -> std::result::Result<(), String> {
        let line = entry.encode();
        let id = entry.id.to_string();
        self.0
            .with_writer(SLOT, |c| {
                c.hset(keys::FILES, &[(id.as_str(), line.as_str())])?;
                if entry.is_retired() {
                    c.del(&[&keys::file_bytes(entry.id)])?;
                }
                c.publish(keys::FILES_CHANNEL, &id)
            })
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn fetch(&self, id: u64, size: u64, out: &mut PartialFile) -> std::result::Result<(), String> {
        let mut c = self.0.direct().map_err(|e| e.to_string())?;
        fetch_bytes(&mut c, id, size, out)
    }
}

/// Writes `len` bytes of `file` to a temporary key of `writer`'s own,
/// then renames it to the file's key: a reader sees the whole file or none
/// of it. The temporary key expires in an hour unless renamed, so a node
/// that dies mid-way leaves nothing behind for long.
pub(super) fn put_bytes(
    c: &mut Client,
    writer: &str,
    id: u64,
    file: &mut File,
    len: u64,
) -> Result<()> {
    let (temp, key) = (keys::file_upload(id, writer), keys::file_bytes(id));
    c.del(&[&temp])?;
    // An empty file is an empty string; APPEND creates the key either way.
    c.request(&Command::new("APPEND").arg(&temp).arg(""))?;
    c.pexpire(&temp, UPLOAD_TTL)?;
    let mut buf = vec![0u8; CHUNK.min(len as usize).max(1)];
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(left as usize);
        let n = file.read(&mut buf[..want]).map_err(RedisError::Io)?;
        if n == 0 {
            break; // The file is shorter: the digest check refuses the copy.
        }
        c.request(&Command::new("APPEND").arg(&temp).arg(&buf[..n]))?;
        left -= n as u64;
    }
    c.request(&Command::new("RENAME").arg(&temp).arg(&key))?;
    // RENAME keeps the temporary key's expiry: the file's bytes must not.
    c.request(&Command::new("PERSIST").arg(&key))?;
    Ok(())
}

/// Copies file `id`'s bytes from Redis into `out`, chunk by chunk.
fn fetch_bytes(
    c: &mut Client,
    id: u64,
    size: u64,
    out: &mut PartialFile,
) -> std::result::Result<(), String> {
    let key = keys::file_bytes(id);
    let exists = c
        .request(&Command::new("EXISTS").arg(&key))
        .map_err(|e| e.to_string())?;
    if matches!(exists, Value::Integer(0)) {
        return Err("its bytes are not in Redis (lost with Redis' data?)".into());
    }
    let held = match c
        .request(&Command::new("STRLEN").arg(&key))
        .map_err(|e| e.to_string())?
    {
        Value::Integer(n) => n as u64,
        other => return Err(format!("unexpected reply to STRLEN: {}", other.describe())),
    };
    if held != size {
        return Err(format!("Redis holds {held} bytes of it, not {size}"));
    }
    let mut at = 0u64;
    while at < size {
        let end = (at + CHUNK as u64).min(size) - 1;
        let reply = c
            .request(
                &Command::new("GETRANGE")
                    .arg(&key)
                    .arg(at.to_string())
                    .arg(end.to_string()),
            )
            .map_err(|e| e.to_string())?;
        let chunk = match reply {
            Value::Bulk(b) if !b.is_empty() => b,
            _ => return Err("its bytes changed in Redis while being read".into()),
        };
        out.write(&chunk).map_err(|e| e.to_string())?;
        at += chunk.len() as u64;
    }
    Ok(())
}

/// Every file the cluster's index holds (entries it cannot read skipped).
pub(super) fn fetch_all(c: &mut Client) -> Result<Vec<Entry>> {
    Ok(c.hgetall(keys::FILES)?
        .into_iter()
        .filter_map(|(_, line)| Entry::parse(std::str::from_utf8(&line).ok()?).ok())
        .collect())
}

/// The cluster's entry for file `id`, if it has one.
pub(super) fn fetch_one(c: &mut Client, id: &str) -> Result<Option<Entry>> {
    Ok(c.hget(keys::FILES, id)?
        .and_then(|line| Entry::parse(std::str::from_utf8(&line).ok()?).ok()))
}

/// Writes back this node's file entries where Redis has none, the bytes
/// of those it holds, and the id counter past them. Returns how many
/// files' bytes were written.
pub(super) fn write_back(c: &mut Client, files: &FileStore, writer: &str) -> Result<usize> {
    let entries = files.entries();
    let mut written = 0;
    for entry in &entries {
        c.request(
            &Command::new("HSETNX")
                .arg(keys::FILES)
                .arg(entry.id.to_string())
                .arg(entry.encode()),
        )?;
        let exists = c.request(&Command::new("EXISTS").arg(keys::file_bytes(entry.id)))?;
        if !entry.is_retired() && files.has_bytes(entry) && matches!(exists, Value::Integer(0)) {
            if let Ok(mut file) = files.open_file(entry) {
                put_bytes(c, writer, entry.id, &mut file, entry.size)?;
                written += 1;
            }
        }
    }
    if let Some(last) = entries.last() {
        let script = "if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end return 1";
        c.eval(script, &[keys::FILES_NEXT], &[last.id.to_string()])?;
    }
    Ok(written)
}

/// Takes in a file another node stored (or retired); a new one is
/// announced to its room's members here when `announce` (pub/sub said
/// so just now; a full read finds older files, long announced).
pub(super) fn adopt(hub: &Hub, files: &FileStore, console: &Console, entry: Entry, announce: bool) {
    let event = entry.event();
    let room = entry.room.clone();
    match files.adopt(entry) {
        Ok(true) if announce => {
            let mut owed = Owed::new();
            // No client has this id: everyone in the room hears it.
            hub.tell_room(&room, hub.next_id(), event, &mut owed);
            owed.pay();
        }
        Ok(_) => {}
        Err(e) => console.say(format!("cluster: a shared file's entry not kept: {e}")),
    }
}
