//! Accounts shared by every node: one Redis hash, `chat:accounts`, of
//! account lines (the `accounts.txt` line format) by `name_key`. A
//! registration is `HSETNX` (of two nodes registering one name, one
//! wins); a change is `HSET`; every node reads it at login, so a password
//! changed on one node holds on all. Each node keeps its file as a copy.

use std::sync::Arc;

use crate::cluster::resp::Command;
use crate::server::accounts::SharedAccounts;

use super::{keys, ClusterLink};

/// The accounts hash (see `keys`).
pub struct RedisAccounts(pub Arc<ClusterLink>);

/// Requests for accounts use this writer connection's slot.
const SLOT: u64 = 1;

impl SharedAccounts for RedisAccounts {
    fn fetch(&self, key: &str) -> Result<Option<String>, String> {
        let line = self
            .0
            .with_writer(SLOT, |c| c.hget(keys::ACCOUNTS, key))
            .map_err(|e| e.to_string())?;
        Ok(line.and_then(|l| String::from_utf8(l).ok()))
    }

    fn create(&self, key: &str, line: &str) -> Result<bool, String> {
        let reply = self
            .0
            .with_writer(SLOT, |c| {
                c.request(
                    &Command::new("HSETNX")
                        .arg(keys::ACCOUNTS)
                        .arg(key)
                        .arg(line),
                )
            })
            .map_err(|e| e.to_string())?;
        Ok(matches!(reply, crate::cluster::resp::Value::Integer(1)))
    }

    fn store(&self, key: &str, line: &str) -> Result<(), String> {
        self.0
            .with_writer(SLOT, |c| c.hset(keys::ACCOUNTS, &[(key, line)]))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn remove(&self, key: &str) {
        let _ = self.0.with_writer(SLOT, |c| c.hdel(keys::ACCOUNTS, &[key]));
    }
}
