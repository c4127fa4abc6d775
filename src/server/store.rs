//! Replacing a data file atomically, so a crash at any moment leaves either
//! the old version or the new one on disk, never half of either.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Writes `contents` to `path` through a temporary file in the same
/// directory: write, fsync, rename over the old file, fsync the directory
/// (so the rename itself survives a power cut). With `private`, the file is
/// readable by its owner only (mode 0600 on Unix).
///
/// # Errors
/// Any I/O error; the old file is then untouched and the temporary removed.
pub fn replace_file(path: &Path, contents: &[u8], private: bool) -> io::Result<()> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = Path::new(&tmp_name);
    let result = write_new(tmp, contents, private).and_then(|()| fs::rename(tmp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(tmp);
        return Err(e);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Directories cannot be opened for sync everywhere; the data is safe
        // in the renamed file either way, so this one is best effort.
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

fn write_new(path: &Path, contents: &[u8], private: bool) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path)?;
    // `mode` applies only when the file is created; a temporary left behind
    // by a crash (or by someone else) keeps its own, so set it again.
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents)?;
    file.sync_all()
}

/// Escapes `\`, tab, newline and carriage return, so that any text is one
/// tab-separated field on one line: the field encoding of `log.txt`,
/// `files.txt` and `accounts.txt`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

/// [`escape`], appended to `out`: the log writes a record's fields into
/// one line without a string per field.
pub fn escape_into(out: &mut String, s: &str) {
    if !s
        .bytes()
        .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
}

/// Undoes [`escape`]; a backslash followed by anything else is an error.
pub fn unescape(s: &str) -> Result<String, &'static str> {
    if !s.contains('\\') {
        return Ok(s.to_string());
    }
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
            _ => return Err("bad escape sequence"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_any_text_one_field_and_comes_back_unchanged() {
        let plain = "plain text, no specials";
        assert_eq!(escape(plain), plain);
        let hostile = "a\\b\tc\nd\re \\t é";
        let escaped = escape(hostile);
        assert_eq!(escaped, "a\\\\b\\tc\\nd\\re \\\\t é");
        assert!(!escaped.contains(['\t', '\n', '\r']));
        assert_eq!(unescape(&escaped).as_deref(), Ok(hostile));
        let mut line = String::from("x\t");
        escape_into(&mut line, "tab\there");
        assert_eq!(line, "x\ttab\\there");
    }

    #[test]
    fn replaces_contents_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("chat-store-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("data.txt");
        replace_file(&path, b"old", false).unwrap();
        replace_file(&path, b"new", true).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert!(!dir.join("data.txt.tmp").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_stale_readable_temporary_does_not_make_a_private_file_readable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("chat-store-stale-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secret.txt");
        let tmp = dir.join("secret.txt.tmp");
        fs::write(&tmp, b"left by a crash").unwrap();
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o644)).unwrap();
        replace_file(&path, b"hashes", true).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = std::env::temp_dir().join(format!("chat-store-fail-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("missing-subdir").join("data.txt");
        assert!(replace_file(&path, b"x", false).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
