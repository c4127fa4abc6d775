//! The typed commands the cluster needs on a [`Client`]: keys with expiry,
//! counters, hashes, sets, publishing, and Lua scripts (with the two the
//! cluster's claims need: delete or extend a key only while it holds our
//! value). Streams are in `streams.rs`, subscribing in `subscriber.rs`.

use std::sync::OnceLock;
use std::time::Duration;

use super::client::Client;
use super::error::{RedisError, Result};
use super::reply;
use super::resp::{Command, Value};

/// Deletes `KEYS[1]` only if it holds `ARGV[1]`; returns 1 if it did.
const COMPARE_AND_DELETE: &str = "\
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// Sets `KEYS[1]`'s expiry to `ARGV[2]` ms only if it holds `ARGV[1]`.
const COMPARE_AND_PEXPIRE: &str = "\
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0";

static COMPARE_AND_DELETE_SCRIPT: Script = Script::new(COMPARE_AND_DELETE);
static COMPARE_AND_PEXPIRE_SCRIPT: Script = Script::new(COMPARE_AND_PEXPIRE);

/// A Lua script run by its SHA-1 (`EVALSHA`), falling back to sending its
/// source (`EVAL`) when Redis does not know it (after a restart or a
/// `SCRIPT FLUSH`). Redis computes the SHA-1 (`SCRIPT LOAD`), so we need none.
#[derive(Debug)]
pub struct Script {
    source: &'static str,
    sha: OnceLock<String>,
}

impl Script {
    /// A script with this source; it is loaded on first use.
    pub const fn new(source: &'static str) -> Script {
        Script {
            source,
            sha: OnceLock::new(),
        }
    }

    /// The Lua source.
    pub fn source(&self) -> &'static str {
        self.source
    }
}

/// Milliseconds for `PX`/`PEXPIRE`: rounded up, at least 1 (Redis refuses 0,
/// and a TTL must never be shorter than asked).
fn millis(ttl: Duration) -> u128 {
    ttl.as_nanos().div_ceil(1_000_000).max(1)
}

impl Client {
    /// `PING`: checks that Redis answers.
    ///
    /// # Errors
    ///
    /// As for every command: an error reply is [`RedisError::Server`];
    /// I/O, protocol and timeout errors break the connection.
    pub fn ping(&mut self) -> Result<()> {
        match self.request(&Command::new("PING"))? {
            Value::Simple(s) if s == "PONG" => Ok(()),
            other => Err(RedisError::UnexpectedReply {
                command: "PING".to_string(),
                reply: other.describe(),
            }),
        }
    }

    /// `GET key`: the value, or `None` if the key does not exist (or expired).
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`]; `WRONGTYPE` if the key is not a string.
    pub fn get(&mut self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        let reply = self.request(&Command::new("GET").arg(key))?;
        reply::optional_bytes("GET", reply)
    }

    /// `SET key value`, no expiry.
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`].
    pub fn set(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let reply = self.request(&Command::new("SET").arg(key).arg(value))?;
        reply::ok("SET", reply)
    }

    /// `SET key value NX`: sets only if the key does not exist. True if it was set.
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`].
    pub fn set_nx(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<bool> {
        let command = Command::new("SET").arg(key).arg(value).arg("NX");
        set_outcome(self.request(&command)?)
    }

    /// `SET key value NX PX ms`: claims the key for `ttl` (rounded up to a
    /// millisecond) only if nobody holds it. True if this call claimed it:
    /// of many clients racing, exactly one gets true.
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`].
    pub fn set_nx_px(
        &mut self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Duration,
    ) -> Result<bool> {
        let command = Command::new("SET")
            .arg(key)
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg_int(millis(ttl));
        set_outcome(self.request(&command)?)
    }

    /// `DEL key...`: how many of the keys existed.
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`].
    pub fn del<K: AsRef<[u8]>>(&mut self, keys: &[K]) -> Result<u64> {
        let reply = self.request(&Command::new("DEL").args(keys))?;
        reply::count("DEL", reply)
    }

    /// `PEXPIRE key ms`: true if the key exists and now expires after `ttl`.
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`].
    pub fn pexpire(&mut self, key: impl AsRef<[u8]>, ttl: Duration) -> Result<bool> {
        let command = Command::new("PEXPIRE").arg(key).arg_int(millis(ttl));
        let reply = self.request(&command)?;
        reply::flag("PEXPIRE", reply)
    }

    /// `INCR key`: the value after adding 1 (a missing key counts as 0).
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`]; `ERR` if the value is not an integer.
    pub fn incr(&mut self, key: impl AsRef<[u8]>) -> Result<i64> {
        let reply = self.request(&Command::new("INCR").arg(key))?;
        reply::integer("INCR", reply)
    }

    /// `HSET key field value [field value ...]`: how many fields are new.
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`]; `ERR` for an empty `fields`.
    pub fn hset<F: AsRef<[u8]>, V: AsRef<[u8]>>(
        &mut self,
        key: impl AsRef<[u8]>,
        fields: &[(F, V)],
    ) -> Result<u64> {
        let mut command = Command::new("HSET").arg(key);
        for (field, value) in fields {
            command = command.arg(field).arg(value);
        }
        let reply = self.request(&command)?;
        reply::count("HSET", reply)
    }

    /// `HGET key field`: the field's value, if the hash and field exist.
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`].
    pub fn hget(
        &mut self,
        key: impl AsRef<[u8]>,
        field: impl AsRef<[u8]>,
    ) -> Result<Option<Vec<u8>>> {
        let reply = self.request(&Command::new("HGET").arg(key).arg(field))?;
        reply::optional_bytes("HGET", reply)
    }

    /// `HGETALL key`: every field and value, in Redis's order (empty if none).
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`].
    pub fn hgetall(&mut self, key: impl AsRef<[u8]>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let reply = self.request(&Command::new("HGETALL").arg(key))?;
        reply::byte_pairs("HGETALL", reply)
    }

    /// `HDEL key field...`: how many fields were removed.
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`].
    pub fn hdel<F: AsRef<[u8]>>(&mut self, key: impl AsRef<[u8]>, fields: &[F]) -> Result<u64> {
        let reply = self.request(&Command::new("HDEL").arg(key).args(fields))?;
        reply::count("HDEL", reply)
    }

    /// `SADD key member...`: how many members are new.
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`].
    pub fn sadd<M: AsRef<[u8]>>(&mut self, key: impl AsRef<[u8]>, members: &[M]) -> Result<u64> {
        let reply = self.request(&Command::new("SADD").arg(key).args(members))?;
        reply::count("SADD", reply)
    }

    /// `SREM key member...`: how many members were removed.
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`].
    pub fn srem<M: AsRef<[u8]>>(&mut self, key: impl AsRef<[u8]>, members: &[M]) -> Result<u64> {
        let reply = self.request(&Command::new("SREM").arg(key).args(members))?;
        reply::count("SREM", reply)
    }

    /// `SMEMBERS key`: every member, in no particular order.
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`].
    pub fn smembers(&mut self, key: impl AsRef<[u8]>) -> Result<Vec<Vec<u8>>> {
        let reply = self.request(&Command::new("SMEMBERS").arg(key))?;
        reply::bytes_list("SMEMBERS", reply)
    }

    /// `PUBLISH channel payload`: how many subscribers received it (on this
    /// Redis). Fire and forget: a subscriber not connected now never sees it.
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`].
    pub fn publish(&mut self, channel: impl AsRef<[u8]>, payload: impl AsRef<[u8]>) -> Result<u64> {
        let reply = self.request(&Command::new("PUBLISH").arg(channel).arg(payload))?;
        reply::count("PUBLISH", reply)
    }

    /// `CLIENT KILL ID id`: ends another connection, dropping whatever it
    /// sent that Redis has not read yet. True when there was one to end.
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`]; `NOPERM` for a user not allowed to.
    pub fn client_kill(&mut self, id: u64) -> Result<bool> {
        let command = Command::new("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(id.to_string());
        match self.request(&command) {
            Ok(reply) => Ok(reply::count("CLIENT KILL", reply)? > 0),
            // Gone already: as good as ended.
            Err(RedisError::Server { message, .. }) if message.contains("No such client") => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// `EVAL source numkeys key... arg...`: the script's reply as it is.
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`]; a script error is [`RedisError::Server`].
    pub fn eval<K: AsRef<[u8]>, A: AsRef<[u8]>>(
        &mut self,
        source: &str,
        keys: &[K],
        args: &[A],
    ) -> Result<Value> {
        self.request(&script_command("EVAL", source, keys, args))
    }

    /// `EVALSHA sha numkeys key... arg...`.
    ///
    /// # Errors
    ///
    /// As for [`Client::eval`]; `NOSCRIPT` if Redis does not know the script.
    pub fn evalsha<K: AsRef<[u8]>, A: AsRef<[u8]>>(
        &mut self,
        sha: &str,
        keys: &[K],
        args: &[A],
    ) -> Result<Value> {
        self.request(&script_command("EVALSHA", sha, keys, args))
    }

    /// `SCRIPT LOAD source`: the SHA-1 Redis knows the script by.
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`]; `ERR` if the script does not compile.
    pub fn script_load(&mut self, source: &str) -> Result<String> {
        let reply = self.request(&Command::new("SCRIPT").arg("LOAD").arg(source))?;
        let sha = reply::bytes("SCRIPT LOAD", reply)?;
        Ok(String::from_utf8_lossy(&sha).into_owned())
    }

    /// Runs `script` by SHA-1, loading it first if this process has not yet,
    /// and sending its source if Redis has forgotten it.
    ///
    /// # Errors
    ///
    /// As for [`Client::eval`].
    pub fn run_script<K: AsRef<[u8]>, A: AsRef<[u8]>>(
        &mut self,
        script: &Script,
        keys: &[K],
        args: &[A],
    ) -> Result<Value> {
        let sha = match script.sha.get() {
            Some(sha) => sha.clone(),
            None => {
                let sha = self.script_load(script.source)?;
                script.sha.get_or_init(|| sha).clone()
            }
        };
        match self.evalsha(&sha, keys, args) {
            Err(e) if e.server_code() == Some("NOSCRIPT") => self.eval(script.source, keys, args),
            other => other,
        }
    }

    /// Deletes `key` only while it holds `expected` (one atomic script): a
    /// node releases a nickname it claimed, never one another node has
    /// claimed since its own claim expired. True if it was deleted.
    ///
    /// # Errors
    ///
    /// As for [`Client::eval`].
    pub fn compare_and_delete(
        &mut self,
        key: impl AsRef<[u8]>,
        expected: impl AsRef<[u8]>,
    ) -> Result<bool> {
        let reply = self.run_script(&COMPARE_AND_DELETE_SCRIPT, &[key], &[expected])?;
        reply::flag("compare-and-delete", reply)
    }

    /// Extends `key`'s expiry to `ttl` only while it holds `expected`: the
    /// heartbeat of a claim. False means the claim was lost (it expired and
    /// perhaps someone else holds it now).
    ///
    /// # Errors
    ///
    /// As for [`Client::eval`].
    pub fn compare_and_pexpire(
        &mut self,
        key: impl AsRef<[u8]>,
        expected: impl AsRef<[u8]>,
        ttl: Duration,
    ) -> Result<bool> {
        let ttl = millis(ttl).to_string();
        let args: [&[u8]; 2] = [expected.as_ref(), ttl.as_bytes()];
        let reply = self.run_script(&COMPARE_AND_PEXPIRE_SCRIPT, &[key], &args)?;
        reply::flag("compare-and-pexpire", reply)
    }
}

/// `SET ... NX` answers `OK` when it set the key and a null when it did not.
fn set_outcome(reply: Value) -> Result<bool> {
    match reply {
        Value::Null => Ok(false),
        other => reply::ok("SET", other).map(|()| true),
    }
}

fn script_command<K: AsRef<[u8]>, A: AsRef<[u8]>>(
    verb: &str,
    script: &str,
    keys: &[K],
    args: &[A],
) -> Command {
    Command::new(verb)
        .arg(script)
        .arg_int(keys.len())
        .args(keys)
        .args(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_rounds_up_to_whole_milliseconds() {
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_micros(1)), 1);
        assert_eq!(millis(Duration::from_millis(1500)), 1500);
        assert_eq!(millis(Duration::from_micros(1500)), 2);
    }
}
