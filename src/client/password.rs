//! A password from a `--password-file`: its first line. (The `Password: `
//! prompt is a secret [`super::keyboard::Keyboard`] line.)

use std::io;
use std::path::Path;

use super::ClientError;

/// Largest password file read: a password is at most 128 characters, so
/// anything bigger is the wrong file.
const MAX_FILE_BYTES: u64 = 4096;

/// The password in the first line of the file at `path`, without its line
/// ending and surrounding spaces (which the protocol would drop anyway).
///
/// # Errors
/// `ClientError::PasswordFile` when it cannot be read, is not UTF-8, is
/// too big to be a password file, or its first line is empty.
pub fn read_file(path: &Path) -> Result<String, ClientError> {
    let fail = |source| ClientError::PasswordFile {
        path: path.to_path_buf(),
        source,
    };
    let invalid = |what: &str| fail(io::Error::new(io::ErrorKind::InvalidData, what));
    let file = std::fs::File::open(path).map_err(fail)?;
    let mut text = String::new();
    io::Read::read_to_string(&mut io::Read::take(file, MAX_FILE_BYTES + 1), &mut text)
        .map_err(fail)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(invalid("larger than 4 KiB; is it the right file?"));
    }
    let password = text.lines().next().unwrap_or_default().trim();
    if password.is_empty() {
        return Err(invalid("its first line is empty"));
    }
    Ok(password.to_string())
}
