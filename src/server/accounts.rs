//! The account store: registered nicknames, their password hashes and their
//! profiles, in memory behind a lock of its own (never the hub's) and in
//! `accounts.txt` in the data directory, which is replaced atomically on
//! every change (`store::replace_file`, owner-only). Sessions hash and check passwords themselves, on their own
//! threads and outside this lock; the store only keeps the results.
//!
//! The file never holds a password, only salted PBKDF2-HMAC-SHA256 hashes:
//!
//! ```text
//! file     = header *account            ; an empty file is an empty store
//! header   = "chat-accounts 1" LF
//! account  = nick TAB hash *( TAB attr "=" value ) LF
//! nick     = 1-8 of A-Z a-z 0-9 _ -      ; unique ignoring case
//! hash     = "pbkdf2-sha256$" iterations "$" salt "$" key
//!            ; iterations: decimal, 1 to MAX_PBKDF2_ITERATIONS
//!            ; salt: 32 hex digits (16 bytes), key: 64 hex digits (32 bytes)
//! attr     = "age" / "birthday" / "job" / "phone_number" / "self_description"
//!            ; each at most once per account; an unset attribute is absent
//! value    = 1 to 200 characters, no control characters; "\" is written
//!            "\\", and TAB LF CR would be \t \n \r (values never hold them,
//!            but the format does not depend on that)
//! ```
//!
//! Loading is strict: a line that does not follow this grammar stops the
//! server with the file and line named, because skipping it would silently
//! delete an account (and free its nickname for anyone to take).

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::crypto::{constant_time_eq, from_hex, pbkdf2_hmac_sha256, random_bytes, to_hex};
use crate::text::{self, name_key};

use super::store;

/// Name of the account file inside the data directory.
pub const ACCOUNTS_FILE: &str = "accounts.txt";
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
/// Longest profile value, in characters.
pub const MAX_PROFILE_CHARS: usize = 200;

/// First line of the file; the number is the format version.
const FILE_HEADER: &str = "chat-accounts 1";
/// Bytes of random salt per hash (NIST SP 800-132 asks for at least 16).
const SALT_BYTES: usize = 16;
/// Bytes of derived key per hash: one SHA-256 block of output.
const KEY_BYTES: usize = 32;
const HASH_SCHEME: &str = "pbkdf2-sha256";
/// Longest line the loader reads. A valid line is under 9 KiB (five values
/// of 200 four-byte characters, each byte possibly escaped); anything longer
/// is damage, and the cap keeps a damaged file from filling memory.
const MAX_LINE_BYTES: usize = 16 * 1024;

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
    fn encode(&self) -> String {
        format!(
            "{HASH_SCHEME}${}${}${}",
            self.iterations,
            to_hex(&self.salt),
            to_hex(&self.key)
        )
    }

    /// Reads a `hash` field.
    fn parse(field: &str) -> Result<PasswordHash, String> {
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

/// One attribute of a profile. The order here is the order they are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Attr {
    Age,
    Birthday,
    Job,
    PhoneNumber,
    SelfDescription,
}

impl Attr {
    /// Every attribute, in display order.
    pub const ALL: [Attr; 5] = [
        Attr::Age,
        Attr::Birthday,
        Attr::Job,
        Attr::PhoneNumber,
        Attr::SelfDescription,
    ];

    /// The name users type and the file stores.
    pub fn name(self) -> &'static str {
        match self {
            Attr::Age => "age",
            Attr::Birthday => "birthday",
            Attr::Job => "job",
            Attr::PhoneNumber => "phone_number",
            Attr::SelfDescription => "self_description",
        }
    }

    /// The attribute called `name` (exactly as `name()` spells it).
    pub fn parse(name: &str) -> Option<Attr> {
        Attr::ALL.into_iter().find(|a| a.name() == name)
    }

    /// `age, birthday, job, phone_number, self_description`, for messages.
    pub fn names() -> String {
        Attr::ALL.map(Attr::name).join(", ")
    }
}

/// Checks a profile value: at most 200 characters, nothing a terminal would
/// interpret (control characters, direction overrides). Empty clears.
///
/// # Errors
/// A reason a person can act on.
pub fn check_profile_value(value: &str) -> Result<(), String> {
    let chars = value.chars().count();
    if chars > MAX_PROFILE_CHARS {
        return Err(format!(
            "value is {chars} characters long; at most {MAX_PROFILE_CHARS} are allowed"
        ));
    }
    if !text::is_printable(value) {
        return Err("value may not contain control characters (tabs, line breaks, escapes)".into());
    }
    Ok(())
}

/// A registered user's profile: the attributes they chose to set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile(BTreeMap<Attr, String>);

impl Profile {
    /// The value of `attr`, if set.
    pub fn get(&self, attr: Attr) -> Option<&str> {
        self.0.get(&attr).map(String::as_str)
    }

    /// The attributes that are set, in display order.
    pub fn iter(&self) -> impl Iterator<Item = (Attr, &str)> {
        self.0.iter().map(|(a, v)| (*a, v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A registered nickname.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// As registered (case kept for display); unique ignoring case.
    pub nick: String,
    pub hash: PasswordHash,
    pub profile: Profile,
}

/// Why the account file could not be loaded, or a change was not made.
#[derive(Debug)]
pub enum AccountsError {
    /// The file exists but could not be read.
    Read {
        path: PathBuf,
        source: io::Error,
    },
    /// A line of the file breaks the format; the server must not start.
    Corrupt {
        path: PathBuf,
        line_no: usize,
        reason: String,
    },
    /// The changed file could not be written; nothing was changed.
    Write {
        path: PathBuf,
        source: io::Error,
    },
    AlreadyRegistered {
        nick: String,
    },
    NotRegistered {
        nick: String,
    },
    /// A value that breaks the rules of `check_password` or `check_profile_value`.
    Invalid {
        reason: String,
    },
}

impl fmt::Display for AccountsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountsError::Read { path, source } => {
                write!(f, "cannot read accounts file {}: {source}", path.display())
            }
            AccountsError::Corrupt {
                path,
                line_no,
                reason,
            } => write!(
                f,
                "accounts file {} is damaged at line {line_no}: {reason}; not starting, \
                 so that no account is lost: repair or restore that line",
                path.display()
            ),
            AccountsError::Write { path, source } => {
                write!(f, "cannot write accounts file {}: {source}", path.display())
            }
            AccountsError::AlreadyRegistered { nick } => write!(f, "{nick} is registered already"),
            AccountsError::NotRegistered { nick } => write!(f, "{nick} is not registered"),
            AccountsError::Invalid { reason } => write!(f, "{reason}"),
        }
    }
}

impl std::error::Error for AccountsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AccountsError::Read { source, .. } | AccountsError::Write { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}

/// The store. Shared by every session (behind an `Arc`); its lock is its
/// own, so checking an account never waits for the hub, nor the hub for it.
pub struct Accounts {
    path: PathBuf,
    /// `name_key(nick)` to account. Changed only by `change`, which writes
    /// the file before it lets go of the lock: memory and file never
    /// disagree, and two changes cannot reach the disk out of order.
    accounts: Mutex<BTreeMap<String, Account>>,
}

impl Accounts {
    /// Loads the store from `path`; a missing file is an empty store. On
    /// Unix, a file others can read is made owner-only again.
    ///
    /// # Errors
    /// `Read` when the file cannot be read, `Corrupt` (with the line) when
    /// any line breaks the format.
    pub fn open(path: &Path) -> Result<Accounts, AccountsError> {
        let read_err = |source| AccountsError::Read {
            path: path.to_path_buf(),
            source,
        };
        let accounts = match File::open(path) {
            Ok(file) => {
                // Best effort: the first change rewrites the file owner-only
                // anyway, and a file we may not chmod is no reason to stop.
                let _ = make_private(&file);
                parse_file(BufReader::new(file)).map_err(|e| match e {
                    ParseError::Io(source) => read_err(source),
                    ParseError::Line { line_no, reason } => AccountsError::Corrupt {
                        path: path.to_path_buf(),
                        line_no,
                        reason,
                    },
                })?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(read_err(e)),
        };
        Ok(Accounts {
            path: path.to_path_buf(),
            accounts: Mutex::new(accounts),
        })
    }

    /// A copy of the account registered as `nick` (any case), so the caller
    /// can check a password without holding the lock.
    pub fn lookup(&self, nick: &str) -> Option<Account> {
        self.lock().get(&name_key(nick)).cloned()
    }

    /// True when `nick` (any case) is registered.
    pub fn is_registered(&self, nick: &str) -> bool {
        self.lock().contains_key(&name_key(nick))
    }

    /// Every registered nickname, sorted ignoring case.
    pub fn nicks(&self) -> Vec<String> {
        self.lock().values().map(|a| a.nick.clone()).collect()
    }

    /// Registers `nick` with an empty profile.
    ///
    /// # Errors
    /// `AlreadyRegistered`, or `Write` when the file could not be replaced.
    pub fn register(&self, nick: &str, hash: PasswordHash) -> Result<(), AccountsError> {
        self.change(|accounts| {
            let key = name_key(nick);
            if let Some(account) = accounts.get(&key) {
                return Err(AccountsError::AlreadyRegistered {
                    nick: account.nick.clone(),
                });
            }
            accounts.insert(
                key,
                Account {
                    nick: nick.to_string(),
                    hash,
                    profile: Profile::default(),
                },
            );
            Ok(())
        })
    }

    /// Replaces the password hash of `nick`.
    ///
    /// # Errors
    /// `NotRegistered`, or `Write` when the file could not be replaced.
    pub fn set_password(&self, nick: &str, hash: PasswordHash) -> Result<(), AccountsError> {
        self.change(|accounts| {
            account_mut(accounts, nick)?.hash = hash;
            Ok(())
        })
    }

    /// Sets one profile attribute of `nick`; an empty value clears it.
    ///
    /// # Errors
    /// `NotRegistered`, `Invalid` for a value `check_profile_value` refuses,
    /// or `Write` when the file could not be replaced.
    pub fn set_profile(&self, nick: &str, attr: Attr, value: &str) -> Result<(), AccountsError> {
        check_profile_value(value).map_err(|reason| AccountsError::Invalid { reason })?;
        self.change(|accounts| {
            let profile = &mut account_mut(accounts, nick)?.profile;
            if value.is_empty() {
                profile.0.remove(&attr);
            } else {
                profile.0.insert(attr, value.to_string());
            }
            Ok(())
        })
    }

    /// Applies `edit` to a copy of the accounts, writes that copy to the
    /// file, and only then makes it current. The lock is held throughout:
    /// changes are rare (a registration, a new password, a profile line),
    /// and holding it keeps the file in step with memory at the cost of
    /// making lookups wait for one small write. The hub lock is never taken
    /// here, so chat traffic does not wait for the disk.
    fn change(
        &self,
        edit: impl FnOnce(&mut BTreeMap<String, Account>) -> Result<(), AccountsError>,
    ) -> Result<(), AccountsError> {
        let mut accounts = self.lock();
        let mut next = accounts.clone();
        edit(&mut next)?;
        // Owner-only: the file holds password hashes.
        store::replace_file(&self.path, encode_file(&next).as_bytes(), true).map_err(|source| {
            AccountsError::Write {
                path: self.path.clone(),
                source,
            }
        })?;
        *accounts = next;
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Account>> {
        // `change` swaps in a whole new map in one assignment, so a panic
        // while the lock was held cannot have left it half-changed.
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn account_mut<'a>(
    accounts: &'a mut BTreeMap<String, Account>,
    nick: &str,
) -> Result<&'a mut Account, AccountsError> {
    accounts
        .get_mut(&name_key(nick))
        .ok_or_else(|| AccountsError::NotRegistered {
            nick: nick.to_string(),
        })
}

/// The whole file for `accounts`, in key order.
fn encode_file(accounts: &BTreeMap<String, Account>) -> String {
    let mut out = format!("{FILE_HEADER}\n");
    for account in accounts.values() {
        out.push_str(&account.nick);
        out.push('\t');
        out.push_str(&account.hash.encode());
        for (attr, value) in account.profile.iter() {
            out.push('\t');
            out.push_str(attr.name());
            out.push('=');
            out.push_str(&escape(value));
        }
        out.push('\n');
    }
    out
}

/// Why the file could not be parsed.
#[derive(Debug)]
enum ParseError {
    Io(io::Error),
    Line { line_no: usize, reason: String },
}

/// Reads a whole account file. Every line must parse: see the module docs.
fn parse_file(mut reader: impl BufRead) -> Result<BTreeMap<String, Account>, ParseError> {
    let mut accounts = BTreeMap::new();
    // Where each nickname was seen, to name both lines of a duplicate.
    let mut seen_on: BTreeMap<String, usize> = BTreeMap::new();
    let mut line = Vec::with_capacity(256);
    let mut line_no = 0;
    loop {
        line.clear();
        let n = reader
            .by_ref()
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(ParseError::Io)?;
        if n == 0 {
            return Ok(accounts);
        }
        line_no += 1;
        let bad = |reason: String| ParseError::Line { line_no, reason };
        if line.last() != Some(&b'\n') {
            return Err(bad(if n > MAX_LINE_BYTES {
                format!("line longer than {MAX_LINE_BYTES} bytes")
            } else {
                "the last line has no newline (the file was cut short?)".into()
            }));
        }
        line.pop();
        let text = std::str::from_utf8(&line).map_err(|_| bad("not valid UTF-8".into()))?;
        if line_no == 1 {
            if text != FILE_HEADER {
                return Err(bad(format!(
                    "expected the header {FILE_HEADER:?}, found {:?}",
                    shorten(text)
                )));
            }
            continue;
        }
        let account = parse_account(text).map_err(bad)?;
        let key = name_key(&account.nick);
        if let Some(first) = seen_on.insert(key.clone(), line_no) {
            return Err(bad(format!(
                "nickname {} is registered twice (first on line {first})",
                account.nick
            )));
        }
        accounts.insert(key, account);
    }
}

/// Parses one account line (without its newline).
fn parse_account(line: &str) -> Result<Account, String> {
    let mut fields = line.split('\t');
    let nick = fields.next().unwrap_or_default();
    text::check_nick(nick).map_err(|e| format!("bad nickname {:?}: {e}", shorten(nick)))?;
    let hash = PasswordHash::parse(
        fields
            .next()
            .ok_or_else(|| format!("account {nick} has no password hash"))?,
    )?;
    let mut profile = Profile::default();
    for field in fields {
        let (name, value) = field
            .split_once('=')
            .ok_or_else(|| format!("profile field {:?} has no '='", shorten(field)))?;
        let attr = Attr::parse(name)
            .ok_or_else(|| format!("unknown profile attribute {:?}", shorten(name)))?;
        let value = unescape(value)?;
        if value.is_empty() {
            return Err(format!("profile attribute {name} is empty"));
        }
        check_profile_value(&value).map_err(|e| format!("profile attribute {name}: {e}"))?;
        if profile.0.insert(attr, value).is_some() {
            return Err(format!("profile attribute {name} appears twice"));
        }
    }
    Ok(Account {
        nick: nick.to_string(),
        hash,
        profile,
    })
}

/// At most 40 characters of `s`, for quoting damaged input in a message.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
    out
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next() {
            Some('\\') => '\\',
            Some('t') => '\t',
            Some('n') => '\n',
            Some('r') => '\r',
            _ => return Err("bad escape sequence in a profile value".into()),
        });
    }
    Ok(out)
}

/// Makes `file` readable and writable by its owner only.
fn make_private(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if file.metadata()?.permissions().mode() & 0o777 != 0o600 {
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap hashes: the tests check the bookkeeping, not PBKDF2's cost.
    const FAST: u32 = 10;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("chat-accounts-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn hash(password: &str) -> PasswordHash {
        PasswordHash::new(password, FAST).unwrap()
    }

    fn parse(text: &str) -> Result<BTreeMap<String, Account>, (usize, String)> {
        parse_file(text.as_bytes()).map_err(|e| match e {
            ParseError::Line { line_no, reason } => (line_no, reason),
            ParseError::Io(e) => panic!("{e}"),
        })
    }

    fn a_line() -> String {
        format!("ntu\t{}", hash("correct horse").encode())
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

    #[test]
    fn profile_values_are_bounded_and_printable() {
        assert!(check_profile_value("").is_ok());
        assert!(check_profile_value(&"é".repeat(200)).is_ok());
        assert!(check_profile_value(&"x".repeat(201))
            .unwrap_err()
            .contains("at most 200"));
        for bad in ["a\nb", "tab\there", "\u{1b}[2J", "bell\u{7}", "\u{202e}rtl"] {
            assert!(check_profile_value(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_file_round_trips_with_profiles() {
        let mut profile = Profile::default();
        profile.0.insert(Attr::Age, "19".into());
        profile
            .0
            .insert(Attr::SelfDescription, "back\\slash = fine, é 🎉".into());
        let mut accounts = BTreeMap::new();
        for (nick, profile) in [("Ma19", profile), ("ntu", Profile::default())] {
            accounts.insert(
                name_key(nick),
                Account {
                    nick: nick.into(),
                    hash: hash("correct horse"),
                    profile,
                },
            );
        }
        let text = encode_file(&accounts);
        assert!(text.starts_with("chat-accounts 1\n"), "{text}");
        assert_eq!(text.lines().count(), 3);
        assert_eq!(parse(&text).unwrap(), accounts);
    }

    #[test]
    fn an_empty_file_is_an_empty_store() {
        assert!(parse("").unwrap().is_empty());
        assert!(parse("chat-accounts 1\n").unwrap().is_empty());
    }

    #[test]
    fn hostile_lines_are_refused_with_their_line_number() {
        let good = a_line();
        let (_, good_hash) = good.split_once('\t').unwrap();
        // Each case: the file, and words the reason for its last line must contain.
        let body = |rest: &str| format!("chat-accounts 1\n{rest}");
        let zeros = |n: usize| "0".repeat(n);
        let cases: Vec<(String, &str)> = vec![
            ("chat-accounts 2\n".into(), "header"),
            (format!("{good}\n"), "header"),
            (body(&good), "no newline"),
            (body("\n"), "nickname"),
            (body("ntu\n"), "no password hash"),
            (body("ntu\tpassword123\n"), "scheme$"),
            (body("ntu\tmd5$1$00$00\n"), "unknown password hash scheme"),
            (body("ntu\tpbkdf2-sha256$0$00$00\n"), "iteration count"),
            (
                body("ntu\tpbkdf2-sha256$999999999999$00$00\n"),
                "iteration count",
            ),
            (body("ntu\tpbkdf2-sha256$10$zz$00\n"), "salt"),
            (
                body(&format!(
                    "ntu\tpbkdf2-sha256$10${}${}\n",
                    zeros(32),
                    zeros(63)
                )),
                "hash is not",
            ),
            (body(&format!("ABCDEFGHI\t{good_hash}\n")), "bad nickname"),
            (body(&format!("../etc\t{good_hash}\n")), "bad nickname"),
            (
                body(&format!("{good}\tshoe_size=42\n")),
                "unknown profile attribute",
            ),
            (body(&format!("{good}\tage\n")), "no '='"),
            (body(&format!("{good}\tage=\n")), "empty"),
            (body(&format!("{good}\tage=1\tage=2\n")), "appears twice"),
            (body(&format!("{good}\tjob=a\\q\n")), "escape"),
            (body(&format!("{good}\tjob=a\\nb\n")), "control"),
            (body(&format!("{good}\tjob=\u{1b}[2J\n")), "control"),
            (
                body(&format!("{good}\tjob={}\n", "x".repeat(201))),
                "at most 200",
            ),
            (
                body(&format!("{good}\nNTU\t{good_hash}\n")),
                "registered twice (first on line 2)",
            ),
        ];
        for (text, reason) in cases {
            let (line_no, why) = parse(&text).expect_err(&text);
            let expected_line = text.lines().count().max(1);
            assert_eq!(line_no, expected_line, "{text:?}: {why}");
            assert!(why.contains(reason), "{text:?}: {why}");
        }
    }

    #[test]
    fn binary_and_overlong_lines_are_refused_not_buffered() {
        let (line_no, why) = parse_file(&b"chat-accounts 1\n\xff\xfe\n"[..])
            .map_err(|e| match e {
                ParseError::Line { line_no, reason } => (line_no, reason),
                ParseError::Io(e) => panic!("{e}"),
            })
            .unwrap_err();
        assert_eq!((line_no, why.as_str()), (2, "not valid UTF-8"));
        let huge = format!("chat-accounts 1\n{}\n", "a".repeat(1 << 20));
        let (line_no, why) = parse(&huge).unwrap_err();
        assert_eq!(line_no, 2);
        assert!(why.contains("longer than"), "{why}");
    }

    #[test]
    fn changes_are_written_through_and_survive_a_reopen() {
        let dir = temp_dir("reopen");
        let path = dir.join(ACCOUNTS_FILE);
        let store = Accounts::open(&path).unwrap();
        assert!(store.nicks().is_empty());
        store.register("Ntu", hash("correct horse")).unwrap();
        assert!(matches!(
            store.register("NTU", hash("other password")),
            Err(AccountsError::AlreadyRegistered { nick }) if nick == "Ntu"
        ));
        store.set_profile("ntu", Attr::Job, "student").unwrap();
        store.set_profile("ntu", Attr::Age, "19").unwrap();
        store.set_profile("ntu", Attr::Age, "").unwrap();
        store.set_password("ntu", hash("new password")).unwrap();
        assert!(matches!(
            store.set_profile("ghost", Attr::Job, "x"),
            Err(AccountsError::NotRegistered { .. })
        ));
        assert!(matches!(
            store.set_profile("ntu", Attr::Job, "a\nb"),
            Err(AccountsError::Invalid { .. })
        ));
        drop(store);

        let store = Accounts::open(&path).unwrap();
        assert_eq!(store.nicks(), ["Ntu"]);
        let account = store.lookup("NTU").unwrap();
        assert!(account.hash.verify("new password"));
        assert_eq!(account.profile.get(Attr::Job), Some("student"));
        assert_eq!(account.profile.get(Attr::Age), None);
        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains("password"), "{text}");
        assert!(!dir.join("accounts.txt.tmp").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_write_changes_nothing() {
        let dir = temp_dir("failed");
        let path = dir.join("missing").join(ACCOUNTS_FILE);
        let store = Accounts::open(&path).unwrap();
        assert!(matches!(
            store.register("ntu", hash("correct horse")),
            Err(AccountsError::Write { .. })
        ));
        assert!(!store.is_registered("ntu"), "memory follows the file");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_readable_file_is_made_owner_only_on_open() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("chmod");
        let path = dir.join(ACCOUNTS_FILE);
        fs::write(&path, format!("chat-accounts 1\n{}\n", a_line())).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let store = Accounts::open(&path).unwrap();
        assert!(store.is_registered("ntu"));
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_corrupt_file_names_itself_and_the_line() {
        let dir = temp_dir("corrupt");
        let path = dir.join(ACCOUNTS_FILE);
        fs::write(&path, format!("chat-accounts 1\n{}\ngarbage\n", a_line())).unwrap();
        let err = Accounts::open(&path).err().unwrap().to_string();
        assert!(err.contains("accounts.txt"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
