//! Nicknames unique across the cluster: a login claims `chat:nick:<key>`
//! with `SET NX PX` (so of two nodes racing, exactly one wins), a logout
//! releases it only while it is still ours, and one heartbeat script a
//! node runs every [`HEARTBEAT_EVERY`] extends all its claims at once (and
//! claims again those Redis lost), so a node that dies frees its users'
//! nicknames within [`CLAIM_TTL`].

use std::io;
use std::sync::{Arc, PoisonError};
use std::thread;

use crate::cluster::resp::Value;
use crate::cluster::{Result, Script};
use crate::server::console::Console;
use crate::server::hub::Hub;
use crate::text::name_key;

use super::{keys, ClusterLink, CLAIM_TTL, HEARTBEAT_EVERY};

/// For each key: extend it if it holds ARGV[1], set it if it is gone
/// (Redis lost it), else report it as lost to another holder.
const HEARTBEAT: &str = "\
local lost = {}
for _, key in ipairs(KEYS) do
  local held = redis.call('GET', key)
  if held == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
  elseif not held then
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
  else
    table.insert(lost, key)
  end
end
return lost";

static HEARTBEAT_SCRIPT: Script = Script::new(HEARTBEAT);

impl ClusterLink {
    /// Claims `nick` for this node; `false` when another connection (on
    /// any node) holds it.
    ///
    /// # Errors
    /// Redis unreachable: nothing was claimed.
    pub fn claim_nick(&self, client: u64, nick: &str) -> Result<bool> {
        let key = name_key(nick);
        let won = self.with_writer(client, |c| {
            c.set_nx_px(keys::nick(&key), self.holder(), CLAIM_TTL)
        })?;
        if won {
            self.held_nicks().insert(key, nick.to_string());
        }
        Ok(won)
    }

    /// Releases `nick` if this node still holds it. If Redis is down the
    /// claim simply expires.
    pub fn release_nick(&self, client: u64, nick: &str) {
        let key = name_key(nick);
        self.held_nicks().remove(&key);
        let _ = self.with_writer(client, |c| {
            c.compare_and_delete(keys::nick(&key), self.holder())
        });
    }

    /// Extends every claim of this node in one round trip; the nicknames
    /// another node holds now (this node lost them while cut off).
    ///
    /// # Errors
    /// Redis unreachable.
    pub fn heartbeat(&self) -> Result<Vec<String>> {
        let held = self.held_nicks().clone();
        let claim_keys: Vec<String> = held.keys().map(|k| keys::nick(k)).collect();
        let ttl = CLAIM_TTL.as_millis().to_string();
        let args = [self.holder(), ttl.as_str()];
        let reply = self.with_writer(0, |c| c.run_script(&HEARTBEAT_SCRIPT, &claim_keys, &args))?;
        let Value::Array(lost) = reply else {
            return Ok(Vec::new());
        };
        let prefix = keys::nick("");
        Ok(lost
            .into_iter()
            .filter_map(|v| match v {
                Value::Bulk(b) => String::from_utf8(b).ok(),
                _ => None,
            })
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_string))
            .filter_map(|k| held.get(&k).cloned())
            .collect())
    }

    fn held_nicks(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<String, String>> {
        self.nicks.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Starts the heartbeat thread: every [`HEARTBEAT_EVERY`] it extends this
/// node's claims; a user whose nickname another node took meanwhile is
/// disconnected (two people must never share a name).
///
/// # Errors
/// The thread could not be started.
pub fn spawn_heartbeat(hub: Hub, link: Arc<ClusterLink>, console: Console) -> io::Result<()> {
    thread::Builder::new()
        .name("cluster-heartbeat".into())
        .stack_size(128 * 1024)
        .spawn(move || loop {
            match link.heartbeat() {
                Ok(lost) => {
                    for nick in lost {
                        console.say(format!(
                            "cluster: nickname {nick} was claimed on another node while this one was cut off; disconnecting it here"
                        ));
                        link.held_nicks().remove(&name_key(&nick));
                        let _ = hub.kick_local(&nick, "your nickname was taken on another server");
                    }
                }
                Err(e) => console.say(format!("cluster: heartbeat failed: {e}")),
            }
            thread::sleep(HEARTBEAT_EVERY);
        })?;
    Ok(())
}
