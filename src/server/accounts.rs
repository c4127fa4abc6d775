//! The account store: registered nicknames, their password hashes and their
//! profiles, in memory behind a lock of its own (never the hub's) and in
//! `accounts.txt` in the data directory, replaced atomically and owner-only
//! on every change (`store::replace_file`). Sessions hash and check
//! passwords themselves, on their own threads and outside this lock; the
//! store only keeps the results.
//!
//! - `password`: the password rules and `PasswordHash` (salted PBKDF2).
//! - `file`: the line format of `accounts.txt` (specified there), its
//!   encoder and its strict parser. A damaged file stops the server rather
//!   than losing accounts.

mod file;
mod password;

pub use password::{
    check_password, PasswordHash, DEFAULT_PBKDF2_ITERATIONS, MAX_PASSWORD_CHARS,
    MAX_PBKDF2_ITERATIONS, MIN_PASSWORD_CHARS,
};

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use crate::text::{self, name_key};

use super::store;

/// Name of the account file inside the data directory.
pub const ACCOUNTS_FILE: &str = "accounts.txt";
/// Longest profile value, in characters.
pub const MAX_PROFILE_CHARS: usize = 200;

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
    /// Cluster mode, and Redis (where accounts are shared) cannot be
    /// reached: nothing was changed.
    ClusterUnavailable(String),
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
            AccountsError::ClusterUnavailable(why) => write!(f, "cluster unavailable: {why}"),
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
    /// Cluster mode: where every node's accounts meet (Redis), which has
    /// the last word; the file stays a full copy, to restore Redis from.
    shared: OnceLock<Arc<dyn SharedAccounts>>,
}

/// Accounts shared by the nodes of a cluster, as account lines by `name_key`.
pub trait SharedAccounts: Send + Sync {
    /// The line stored for `key`, if any.
    ///
    /// # Errors
    /// Redis unreachable (the reason).
    fn fetch(&self, key: &str) -> Result<Option<String>, String>;
    /// Stores `line` for `key` unless one is there; false if one is.
    ///
    /// # Errors
    /// Redis unreachable.
    fn create(&self, key: &str, line: &str) -> Result<bool, String>;
    /// Stores `line` for `key`, replacing any.
    ///
    /// # Errors
    /// Redis unreachable.
    fn store(&self, key: &str, line: &str) -> Result<(), String>;
    /// Takes back a `create` whose local copy could not be written.
    fn remove(&self, key: &str);
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
                file::parse(BufReader::new(file)).map_err(|e| match e {
                    file::ParseError::Io(source) => read_err(source),
                    file::ParseError::Line { line_no, reason } => AccountsError::Corrupt {
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
            shared: OnceLock::new(),
        })
    }

    /// Shares the accounts through `shared` from now on (cluster mode).
    pub fn share(&self, shared: Arc<dyn SharedAccounts>) {
        let _ = self.shared.set(shared);
    }

    /// Every account as its shared line, by key (to restore Redis from).
    pub fn lines(&self) -> Vec<(String, String)> {
        self.lock()
            .iter()
            .map(|(k, a)| (k.clone(), file::encode_account(a)))
            .collect()
    }

    /// A copy of the account registered as `nick` (any case), so the caller
    /// can check a password without holding the lock. In a cluster, what
    /// Redis holds (registered or changed on any node) is taken first and
    /// kept here too; while Redis is unreachable, the copy here answers.
    pub fn lookup(&self, nick: &str) -> Option<Account> {
        let key = name_key(nick);
        if let Some(shared) = self.shared.get() {
            if let Ok(Some(line)) = shared.fetch(&key) {
                if let Ok(account) = file::parse_account(&line) {
                    if self.lock().get(&key) != Some(&account) {
                        // Best effort: if the copy cannot be written, Redis still has it.
                        let copy = account.clone();
                        let _ = self.write_local(|accounts| {
                            accounts.insert(key, copy);
                            Ok(())
                        });
                    }
                    return Some(account);
                }
            }
        }
        self.lock().get(&key).cloned()
    }

    /// True when `nick` (any case) is registered.
    pub fn is_registered(&self, nick: &str) -> bool {
        self.lookup(nick).is_some()
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
        let key = name_key(nick);
        if let Some(shared) = self.shared.get() {
            let line = file::encode_account(&Account {
                nick: nick.to_string(),
                hash: hash.clone(),
                profile: Profile::default(),
            });
            match shared.create(&key, &line) {
                Ok(true) => {}
                Ok(false) => {
                    let nick = self
                        .lookup(nick)
                        .map_or_else(|| nick.to_string(), |a| a.nick);
                    return Err(AccountsError::AlreadyRegistered { nick });
                }
                Err(why) => return Err(AccountsError::ClusterUnavailable(why)),
            }
            let done = self.write_local(|accounts| {
                accounts.insert(
                    key.clone(),
                    Account {
                        nick: nick.to_string(),
                        hash,
                        profile: Profile::default(),
                    },
                );
                Ok(())
            });
            if done.is_err() {
                shared.remove(&key);
            }
            return done;
        }
        self.change(|accounts| {
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
    /// In a cluster, the changed accounts go to Redis before the file.
    fn change(
        &self,
        edit: impl FnOnce(&mut BTreeMap<String, Account>) -> Result<(), AccountsError>,
    ) -> Result<(), AccountsError> {
        let Some(shared) = self.shared.get() else {
            return self.write_local(edit);
        };
        self.write_local(|next| {
            let before = next.clone();
            edit(next)?;
            for (key, account) in next.iter().filter(|(k, a)| before.get(*k) != Some(*a)) {
                shared
                    .store(key, &file::encode_account(account))
                    .map_err(AccountsError::ClusterUnavailable)?;
            }
            Ok(())
        })
    }

    /// Applies `edit` to a copy, writes the file, then makes the copy current.
    fn write_local(
        &self,
        edit: impl FnOnce(&mut BTreeMap<String, Account>) -> Result<(), AccountsError>,
    ) -> Result<(), AccountsError> {
        let mut accounts = self.lock();
        let mut next = accounts.clone();
        edit(&mut next)?;
        // Owner-only: the file holds password hashes.
        store::replace_file(&self.path, file::encode(&next).as_bytes(), true).map_err(
            |source| AccountsError::Write {
                path: self.path.clone(),
                source,
            },
        )?;
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

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("chat-accounts-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Cheap hashes: the tests check the bookkeeping, not PBKDF2's cost.
    fn hash(password: &str) -> PasswordHash {
        PasswordHash::new(password, 10).unwrap()
    }

    fn a_line() -> String {
        format!("ntu\t{}", hash("correct horse").encode())
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
