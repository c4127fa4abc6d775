//! Where Redis is and how to log in: `redis://[[user]:password@]host[:port][/db]`,
//! and a password read from a file (`--cluster-password-file`) so it never
//! appears on a command line. The password is never printed: `Display` and
//! `Debug` show `***` in its place.

use std::fmt;
use std::path::Path;

use super::error::{RedisError, Result};

/// The port Redis listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 6379;
/// Longest URL accepted, in bytes.
pub const MAX_URL_BYTES: usize = 1024;
/// Longest password file read, in bytes (Redis passwords are short lines).
pub const MAX_PASSWORD_FILE_BYTES: u64 = 4096;

/// A parsed `redis://` URL.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    host: String,
    port: u16,
    username: Option<String>,
    password: Option<String>,
    db: u32,
}

impl RedisUrl {
    /// Parses `redis://[[user]:password@]host[:port][/db]`. The host is a
    /// name, an IPv4 address or a bracketed IPv6 address; the user and
    /// password may be percent-encoded. `rediss://` (TLS) and query options
    /// are refused: we speak plain TCP only.
    ///
    /// # Errors
    ///
    /// [`RedisError::BadUrl`] saying what is wrong (never quoting the password).
    pub fn parse(text: &str) -> Result<RedisUrl> {
        let bad = |reason| RedisError::BadUrl { reason };
        if text.len() > MAX_URL_BYTES {
            return Err(bad("longer than 1024 bytes"));
        }
        if text.starts_with("rediss://") {
            return Err(bad("TLS (rediss://) is not supported"));
        }
        let rest = text
            .strip_prefix("redis://")
            .ok_or(bad("it must start with redis://"))?;
        if rest.contains(['?', '#']) {
            return Err(bad("query options are not supported"));
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(info) => match info.split_once(':') {
                Some((user, pass)) => (
                    non_empty(percent_decode(user)?),
                    non_empty(percent_decode(pass)?),
                ),
                None => (non_empty(percent_decode(info)?), None),
            },
        };
        let (host, port) = host_port(hostport)?;
        let db = match path {
            "" => 0,
            digits if digits.bytes().all(|b| b.is_ascii_digit()) => digits
                .parse()
                .map_err(|_| bad("database number too large"))?,
            _ => return Err(bad("the path must be a database number")),
        };
        Ok(RedisUrl {
            host,
            port,
            username,
            password,
            db,
        })
    }

    /// The same URL with `password` instead of any password it had.
    pub fn with_password(mut self, password: &str) -> RedisUrl {
        self.password = Some(password.to_string());
        self
    }

    /// The same URL with the password read from `path`: the file's one line,
    /// without its line end (what `--cluster-password-file` names).
    ///
    /// # Errors
    ///
    /// [`RedisError::PasswordFile`] when the file cannot be read, is larger
    /// than [`MAX_PASSWORD_FILE_BYTES`], is not UTF-8, is empty, or holds
    /// more than one line.
    pub fn with_password_file(self, path: &Path) -> Result<RedisUrl> {
        let fail = |reason: String| RedisError::PasswordFile {
            path: path.to_path_buf(),
            reason,
        };
        let len = std::fs::metadata(path)
            .map_err(|e| fail(e.to_string()))?
            .len();
        if len > MAX_PASSWORD_FILE_BYTES {
            return Err(fail(format!("larger than {MAX_PASSWORD_FILE_BYTES} bytes")));
        }
        let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|_| fail("not UTF-8".to_string()))?;
        let line = text
            .strip_suffix('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .unwrap_or(&text);
        if line.is_empty() {
            return Err(fail("empty".to_string()));
        }
        if line.contains(['\n', '\r']) {
            return Err(fail("more than one line".to_string()));
        }
        Ok(self.with_password(line))
    }

    /// The host name or address (an IPv6 address without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The ACL user name, if the URL gave one (Redis then uses `default`).
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The password, if any.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The database number (`SELECT`), 0 unless the path gave one.
    pub fn db(&self) -> u32 {
        self.db
    }

    /// `host:port` for connecting, with an IPv6 host in brackets.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis://")?;
        match (&self.username, &self.password) {
            (Some(user), Some(_)) => write!(f, "{user}:***@")?,
            (Some(user), None) => write!(f, "{user}@")?,
            (None, Some(_)) => write!(f, ":***@")?,
            (None, None) => {}
        }
        write!(f, "{}/{}", self.addr(), self.db)
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({self})")
    }
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// `host[:port]` or `[v6][:port]`.
fn host_port(text: &str) -> Result<(String, u16)> {
    let bad = |reason| RedisError::BadUrl { reason };
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or(bad("unclosed [ in the host"))?;
        if host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(bad("bad IPv6 address"));
        }
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(after.strip_prefix(':').ok_or(bad("junk after ]"))?),
            ),
        }
    } else {
        match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let name_ok = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_';
    if !text.starts_with('[') && !host.bytes().all(name_ok) {
        return Err(bad("bad host name"));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => match p.parse() {
            Ok(0) | Err(_) => return Err(bad("port out of range")),
            Ok(port) => port,
        },
        Some(_) => return Err(bad("bad port")),
    };
    Ok((host.to_string(), port))
}

/// Decodes `%XX` escapes (the only escapes a URL's user and password have).
fn percent_decode(text: &str) -> Result<String> {
    let bad = || RedisError::BadUrl {
        reason: "bad %-escape in the user or password",
    };
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
            let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> RedisUrl {
        RedisUrl::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn refused(text: &str) -> &'static str {
        match RedisUrl::parse(text) {
            Err(RedisError::BadUrl { reason }) => reason,
            other => panic!("{text} should be refused: {other:?}"),
        }
    }

    #[test]
    fn parses_host_port_and_db() {
        let u = url("redis://127.0.0.1:6380/2");
        assert_eq!((u.host(), u.port(), u.db()), ("127.0.0.1", 6380, 2));
        assert_eq!((u.username(), u.password()), (None, None));
        let u = url("redis://cache.example");
        assert_eq!(
            (u.host(), u.port(), u.db()),
            ("cache.example", DEFAULT_PORT, 0)
        );
        assert_eq!(url("redis://h/").db(), 0);
        let u = url("redis://[::1]:7000");
        assert_eq!((u.host(), u.addr()), ("::1", "[::1]:7000".to_string()));
    }

    #[test]
    fn parses_password_and_user() {
        let u = url("redis://:s3cret@h:1");
        assert_eq!((u.username(), u.password()), (None, Some("s3cret")));
        let u = url("redis://ann:p%40ss%3Aw@h");
        assert_eq!((u.username(), u.password()), (Some("ann"), Some("p@ss:w")));
        let u = url("redis://ann@h");
        assert_eq!((u.username(), u.password()), (Some("ann"), None));
        // The last @ ends the user part, so a password may hold a raw @.
        assert_eq!(url("redis://:a@b@h").password(), Some("a@b"));
    }

    #[test]
    fn never_shows_the_password() {
        let u = url("redis://ann:hunter2@h:5/1");
        assert_eq!(u.to_string(), "redis://ann:***@h:5/1");
        assert!(!format!("{u:?}").contains("hunter2"));
        assert_eq!(url("redis://:x@h").to_string(), "redis://:***@h:6379/0");
    }

    #[test]
    fn refuses_bad_urls() {
        for text in [
            "http://h",
            "h:6379",
            "redis://",
            "redis://:pw@",
            "redis://h:",
            "redis://h:0",
            "redis://h:65536",
            "redis://h:63a",
            "redis://h/x",
            "redis://h/-1",
            "redis://h/99999999999",
            "redis://h?db=1",
            "redis://h#x",
            "redis://[::1",
            "redis://[zz]:1",
            "redis://[::1]x",
            "redis://h h",
            "redis://:%zz@h",
            "redis://:%4@h",
            "rediss://h",
        ] {
            refused(text);
        }
        assert!(refused("rediss://h").contains("TLS"));
        assert!(RedisUrl::parse(&format!("redis://{}", "h".repeat(MAX_URL_BYTES))).is_err());
    }

    fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path =
            std::env::temp_dir().join(format!("chat-url-test-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).expect("write temp file");
        path
    }

    #[test]
    fn reads_a_password_file() {
        for (name, bytes) in [
            ("lf", &b"pw1\n"[..]),
            ("crlf", b"pw1\r\n"),
            ("bare", b"pw1"),
        ] {
            let path = temp_file(name, bytes);
            let u = url("redis://:old@h").with_password_file(&path).unwrap();
            assert_eq!(u.password(), Some("pw1"), "{name}");
            let _ = std::fs::remove_file(path);
        }
    }

    #[test]
    fn refuses_bad_password_files() {
        let cases: [(&str, Vec<u8>); 5] = [
            ("empty", b"".to_vec()),
            ("newline", b"\n".to_vec()),
            ("two-lines", b"a\nb\n".to_vec()),
            ("binary", b"\xff\xfe".to_vec()),
            ("huge", vec![b'p'; MAX_PASSWORD_FILE_BYTES as usize + 1]),
        ];
        for (name, bytes) in cases {
            let path = temp_file(name, &bytes);
            let err = url("redis://h").with_password_file(&path).unwrap_err();
            assert!(
                matches!(err, RedisError::PasswordFile { .. }),
                "{name}: {err}"
            );
            let _ = std::fs::remove_file(path);
        }
        let missing = std::env::temp_dir().join("chat-url-test-no-such-file");
        assert!(url("redis://h").with_password_file(&missing).is_err());
    }
}
