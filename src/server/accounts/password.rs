//! Passwords: the rules a new one must meet, and how one is kept, as a
//! salted PBKDF2-HMAC-SHA256 hash with its iteration count. Hashing is slow
//! on purpose; callers run it on their own thread with no lock held.

use std::fmt;
use std::io;

use crate::crypto::{constant_time_eq, from_hex, pbkdf2_hmac_sha256, random_bytes, to_hex};

/// Shortest password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password, in characters.
pub const MAX_PASSWORD_CHARS: usize = 128;
/// PBKDF2 iterations for new hashes unless `--pbkdf2-iterations` says
/// otherwise: OWASP's recommendation for PBKDF2-HMAC-SHA256.
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 600_000;
/// Most iterations a hash may ask for, here or in the file: far above any
/// sensible setting, and low enough that a doctored file cannot make one
/// login check run for hours.
pub const MAX_PBKDF2_ITERATIONS: u32 = 100_000_000;

/// Bytes of random salt per hash (NIST SP 800-132 asks for at least 16).
const SALT_BYTES: usize = 16;
/// Bytes of derived key per hash: one SHA-256 block of output.
const KEY_BYTES: usize = 32;
const HASH_SCHEME: &str = "pbkdf2-sha256";

/// Checks a new password: 8 to 128 characters, no control characters, and
/// no space at either end (protocol header values are trimmed, so such a
/// password could not be sent back as typed).
///
/// # Errors
/// A reason a person can act on.
pub fn check_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!(
            "password is {chars} characters long; at least {MIN_PASSWORD_CHARS} are needed"
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!(
            "password is {chars} characters long; at most {MAX_PASSWORD_CHARS} are allowed"
        ));
    }
    if password.chars().any(char::is_control) {
        return Err("password may not contain control characters".into());
    }
    if password.trim() != password {
        return Err("password may not start or end with a space".into());
    }
    Ok(())
}

/// A salted PBKDF2-HMAC-SHA256 password hash with its iteration count, so
/// that raising `--pbkdf2-iterations` later leaves old hashes checkable.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash {
    iterations: u32,
    salt: [u8; SALT_BYTES],
    key: [u8; KEY_BYTES],
}

impl PasswordHash {
    /// Hashes `password` with a fresh random salt. Slow on purpose (that is
    /// what the iterations are for): call it without holding any lock.
    ///
    /// # Errors
    /// The operating system's random source could not be read.
    pub fn new(password: &str, iterations: u32) -> io::Result<PasswordHash> {
        let mut salt = [0; SALT_BYTES];
        random_bytes(&mut salt)?;
        let iterations = iterations.clamp(1, MAX_PBKDF2_ITERATIONS);
        Ok(PasswordHash {
            iterations,
            salt,
            key: derive(password, &salt, iterations),
        })
    }

    /// True when `password` is the one hashed. Slow, like `new`, and the
    /// comparison takes the same time however many bytes match.
    pub fn verify(&self, password: &str) -> bool {
        let key = derive(password, &self.salt, self.iterations);
        constant_time_eq(&key, &self.key)
    }

    /// The iteration count this hash was made with.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// The `hash` field of the file format.
    pub(super) fn encode(&self) -> String {
        format!(
            "{HASH_SCHEME}${}${}${}",
            self.iterations,
            to_hex(&self.salt),
            to_hex(&self.key)
        )
    }

    /// Reads a `hash` field.
    pub(super) fn parse(field: &str) -> Result<PasswordHash, String> {
        let mut parts = field.split('$');
        let (Some(scheme), Some(iterations), Some(salt), Some(key), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err("password hash is not scheme$iterations$salt$key".into());
        };
        if scheme != HASH_SCHEME {
            return Err(format!("unknown password hash scheme {scheme:?}"));
        }
        let iterations = iterations
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PBKDF2_ITERATIONS).contains(n))
            .ok_or_else(|| {
                format!(
                    "iteration count {iterations:?} is not between 1 and {MAX_PBKDF2_ITERATIONS}"
                )
            })?;
        let salt = from_hex(salt)
            .and_then(|bytes| <[u8; SALT_BYTES]>::try_from(bytes).ok())
            .ok_or_else(|| format!("salt is not {} hex digits", 2 * SALT_BYTES))?;
        let key = from_hex(key)
            .and_then(|bytes| <[u8; KEY_BYTES]>::try_from(bytes).ok())
            .ok_or_else(|| format!("hash is not {} hex digits", 2 * KEY_BYTES))?;
        Ok(PasswordHash {
            iterations,
            salt,
            key,
        })
    }
}

/// Never prints the salt or the key, so a hash cannot leak through a log line.
impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHash")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

fn derive(password: &str, salt: &[u8], iterations: u32) -> [u8; KEY_BYTES] {
    let mut key = [0; KEY_BYTES];
    pbkdf2_hmac_sha256(password.as_bytes(), salt, iterations, &mut key);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap hashes: the tests check the bookkeeping, not PBKDF2's cost.
    const FAST: u32 = 10;

    fn hash(password: &str) -> PasswordHash {
        PasswordHash::new(password, FAST).unwrap()
    }

    #[test]
    fn password_rules_give_reasons() {
        assert!(check_password("12345678").is_ok());
        assert!(check_password(&"p".repeat(128)).is_ok());
        assert!(check_password("correct horse battery").is_ok());
        assert!(check_password("1234567")
            .unwrap_err()
            .contains("at least 8"));
        assert!(check_password(&"p".repeat(129))
            .unwrap_err()
            .contains("at most 128"));
        assert!(check_password("pass\tword")
            .unwrap_err()
            .contains("control"));
        assert!(check_password(" password").unwrap_err().contains("space"));
        // Length counts characters, not bytes.
        assert!(check_password("ééééééé").is_err());
        assert!(check_password("éééééééé").is_ok());
    }

    #[test]
    fn a_hash_verifies_its_password_only_and_salts_differ() {
        let h = hash("correct horse");
        assert!(h.verify("correct horse"));
        assert!(!h.verify("correct horsf"));
        assert!(!h.verify(""));
        assert_eq!(h.iterations(), FAST);
        let again = hash("correct horse");
        assert_ne!(h.salt, again.salt, "every hash gets its own salt");
        assert_ne!(h.key, again.key);
    }

    #[test]
    fn a_hash_round_trips_and_debug_hides_it() {
        let h = hash("correct horse");
        let field = h.encode();
        assert!(field.starts_with("pbkdf2-sha256$10$"), "{field}");
        assert_eq!(PasswordHash::parse(&field).unwrap(), h);
        let debug = format!("{h:?}");
        assert!(!debug.contains(&to_hex(&h.key)), "{debug}");
    }
}
