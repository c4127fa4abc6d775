//! Whispers kept for registered users who are offline, shared by every
//! node: a Redis list per recipient (`chat:pending:<key>`), so the
//! whisper reaches them on whichever node they log in next. Taking the
//! list empties it in one script, so each whisper is handed over once.

use crate::cluster::resp::Value;
use crate::cluster::{Result, Script};
use crate::server::history::{Kind, Record};
use crate::text::name_key;

use super::events::{parse_whisper, whisper_payload};
use super::{keys, ClusterLink};

/// Returns the whole list and deletes it, atomically.
const TAKE_ALL: &str = "\
local all = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return all";

static TAKE_ALL_SCRIPT: Script = Script::new(TAKE_ALL);

/// Requests about kept whispers use this writer connection's slot.
const SLOT: u64 = 3;

impl ClusterLink {
    /// Keeps `whisper` for its recipient, who is offline everywhere.
    ///
    /// # Errors
    /// Redis unreachable: it was not kept.
    pub fn keep_whisper(&self, whisper: &Record) -> Result<()> {
        let payload = whisper_payload(&whisper.from, &whisper.to, &whisper.date, &whisper.text);
        let key = keys::pending(&name_key(&whisper.to));
        self.with_writer(SLOT, |c| {
            c.request(
                &crate::cluster::resp::Command::new("RPUSH")
                    .arg(&key)
                    .arg(&payload),
            )
        })
        .map(|_| ())
    }

    /// Takes the whispers kept for `user`, oldest first (their numbers are
    /// 0: the receiving node stores them and numbers them itself).
    ///
    /// # Errors
    /// Redis unreachable: they stay kept.
    pub fn take_whispers(&self, user: &str) -> Result<Vec<Record>> {
        let key = keys::pending(&name_key(user));
        let reply = self.with_writer(SLOT, |c| {
            c.run_script(&TAKE_ALL_SCRIPT, &[key], &[] as &[&str])
        })?;
        let Value::Array(items) = reply else {
            return Ok(Vec::new());
        };
        Ok(items
            .into_iter()
            .filter_map(|v| match v {
                Value::Bulk(b) => String::from_utf8(b).ok(),
                _ => None,
            })
            .filter_map(|p| parse_whisper(&p))
            .map(|(from, to, date, text)| Record {
                seq: 0,
                date,
                kind: Kind::Whisper,
                room: "-".to_string(),
                from,
                to,
                text,
            })
            .collect())
    }
}
