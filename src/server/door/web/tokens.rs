//! The tokens a browser session is given over its WebSocket: short-lived
//! file tokens that let plain HTTP requests (an upload, a download link)
//! act for the session, and one resume token that lets the same page, after
//! a network drop, replace its old session still holding the nickname.
//!
//! Tokens are 32 random bytes (base64url): never derived from anything a
//! peer knows. A token is only as good as its session: it names the
//! connection it was issued on, acts as whoever that connection is online
//! as now (a `/nick` takes it along), and is revoked when the connection
//! logs out or ends. The table lives in this process (one server
//! per process), behind its own lock, never held across I/O.

use std::collections::HashMap;
use std::io;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::base64;
use crate::crypto::random_bytes;
use crate::server::hub::{ClientId, Hub};

/// How long a file token is good for. The page renews it at half-life, so
/// a download link on screen always carries a valid one while it is online.
pub const FILE_TOKEN_LIFETIME: Duration = Duration::from_secs(600);
/// File tokens one session holds at once: the newest and the one before
/// (links made with it may still be clicked until it expires).
const FILE_TOKENS_KEPT: usize = 2;
/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;

/// Whom a token acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The WebSocket connection it was issued on.
    pub id: ClientId,
}

impl Grant {
    /// The nickname the grant's connection is online as now, if it is.
    pub fn nick_now(&self, hub: &Hub) -> Option<String> {
        hub.nick(self.id)
    }
}

/// The tokens of every browser session.
#[derive(Default)]
pub struct Tokens {
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    /// File token to its grant and expiry.
    files: HashMap<String, (Grant, Instant)>,
    /// Resume token to its grant.
    resume: HashMap<String, Grant>,
    /// Each connection's file tokens, oldest first, and its resume token.
    owned: HashMap<ClientId, Owned>,
}

#[derive(Default)]
struct Owned {
    files: Vec<String>,
    resume: Option<String>,
}

/// The process's token table.
pub fn tokens() -> &'static Tokens {
    static TOKENS: OnceLock<Tokens> = OnceLock::new();
    TOKENS.get_or_init(Tokens::default)
}

impl Tokens {
    /// A fresh file token for connection `id`, good for
    /// [`FILE_TOKEN_LIFETIME`]; the session's oldest is dropped past
    /// [`FILE_TOKENS_KEPT`].
    ///
    /// # Errors
    /// When the OS random source cannot be read.
    pub fn issue_file_token(&self, id: ClientId) -> io::Result<String> {
        let token = new_token()?;
        let grant = Grant { id };
        let now = Instant::now();
        let mut table = self.lock();
        let Table { files, owned, .. } = &mut *table;
        let mine = owned.entry(id).or_default();
        mine.files
            .retain(|t| files.get(t).is_some_and(|(_, end)| *end > now));
        while mine.files.len() >= FILE_TOKENS_KEPT {
            let oldest = mine.files.remove(0);
            files.remove(&oldest);
        }
        mine.files.push(token.clone());
        files.insert(token.clone(), (grant, now + FILE_TOKEN_LIFETIME));
        Ok(token)
    }

    /// Connection `id`'s resume token, made on first use.
    ///
    /// # Errors
    /// When the OS random source cannot be read.
    pub fn resume_token(&self, id: ClientId) -> io::Result<String> {
        let grant = Grant { id };
        let mut table = self.lock();
        let Table { resume, owned, .. } = &mut *table;
        let mine = owned.entry(id).or_default();
        if let Some(token) = &mine.resume {
            return Ok(token.clone());
        }
        let token = new_token()?;
        mine.resume = Some(token.clone());
        resume.insert(token.clone(), grant);
        Ok(token)
    }

    /// Whom a file token acts for, if it is known and not expired.
    pub fn file_grant(&self, token: &str) -> Option<Grant> {
        let table = self.lock();
        let (grant, end) = table.files.get(token)?;
        (*end > Instant::now()).then_some(*grant)
    }

    /// Whom a resume token stands for, if it is known.
    pub fn resume_grant(&self, token: &str) -> Option<Grant> {
        self.lock().resume.get(token).copied()
    }

    /// Revokes every token of connection `id` (it logged out, or ended).
    pub fn revoke(&self, id: ClientId) {
        let mut table = self.lock();
        let Some(mine) = table.owned.remove(&id) else {
            return;
        };
        for token in mine.files {
            table.files.remove(&token);
        }
        if let Some(token) = mine.resume {
            table.resume.remove(&token);
        }
    }

    /// Tokens held in all (for tests: the table stays bounded).
    #[cfg(test)]
    fn len(&self) -> usize {
        let table = self.lock();
        table.files.len() + table.resume.len()
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // Each change completes without a panic in between: a poisoned
        // lock holds a consistent table.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// 32 random bytes, base64url without padding (43 characters, safe in a
/// URL's query and a header alike).
fn new_token() -> io::Result<String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    random_bytes(&mut bytes)?;
    Ok(base64::encode(&bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    #[test]
    fn a_file_token_names_its_session_until_revoked() {
        let tokens = Tokens::default();
        let t = tokens.issue_file_token(7).unwrap();
        assert_eq!(tokens.file_grant(&t), Some(Grant { id: 7 }));
        assert_eq!(tokens.file_grant("not-a-token"), None);
        assert_eq!(tokens.resume_grant(&t), None, "kinds do not mix");
        tokens.revoke(7);
        assert_eq!(tokens.file_grant(&t), None);
        assert_eq!(tokens.len(), 0);
    }

    #[test]
    fn a_session_holds_its_two_newest_file_tokens() {
        let tokens = Tokens::default();
        let first = tokens.issue_file_token(1).unwrap();
        let second = tokens.issue_file_token(1).unwrap();
        let third = tokens.issue_file_token(1).unwrap();
        assert_eq!(tokens.file_grant(&first), None);
        assert!(tokens.file_grant(&second).is_some());
        assert!(tokens.file_grant(&third).is_some());
        for _ in 0..100 {
            tokens.issue_file_token(1).unwrap();
        }
        assert_eq!(tokens.len(), FILE_TOKENS_KEPT, "bounded per session");
    }

    #[test]
    fn the_resume_token_is_one_per_session_until_revoked() {
        let tokens = Tokens::default();
        let r = tokens.resume_token(3).unwrap();
        assert_eq!(tokens.resume_token(3).unwrap(), r);
        assert_ne!(tokens.resume_token(4).unwrap(), r);
        assert_eq!(tokens.resume_grant(&r), Some(Grant { id: 3 }));
        assert_eq!(tokens.file_grant(&r), None, "kinds do not mix");
        tokens.revoke(3);
        assert_eq!(tokens.resume_grant(&r), None);
        tokens.revoke(4);
        assert_eq!(tokens.len(), 0);
    }
}
