//! The one error type of the archive layer.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why an archive operation failed.
#[derive(Debug)]
pub enum ArchiveError {
    /// A file could not be opened or created.
    Open { path: PathBuf, source: io::Error },
    /// A file could not be read.
    Read { path: PathBuf, source: io::Error },
    /// A file could not be written (the change was not made).
    Write { path: PathBuf, source: io::Error },
    /// `log.txt` does not hold what the index says, even after a rebuild
    /// (it is changing under the server): no record is returned rather
    /// than a wrong one.
    Damaged { reason: String },
    /// Too many searches are running; try again shortly.
    Busy,
    /// A user has as many whispers waiting as are allowed.
    MailboxFull { user: String, max: usize },
    /// A file's first line is not the header this version writes.
    Header { path: PathBuf, found: String },
}

impl fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArchiveError::Open { path, source } => {
                write!(f, "cannot open {}: {source}", path.display())
            }
            ArchiveError::Read { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            ArchiveError::Write { path, source } => {
                write!(f, "cannot write {}: {source}", path.display())
            }
            ArchiveError::Damaged { reason } => {
                write!(f, "log.txt does not match its index: {reason}")
            }
            ArchiveError::Busy => write!(f, "too many searches at once; try again"),
            ArchiveError::MailboxFull { user, max } => {
                write!(f, "{user} already has {max} whispers waiting")
            }
            ArchiveError::Header { path, found } => write!(
                f,
                "{} does not start with the expected header (found {found:?})",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ArchiveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ArchiveError::Open { source, .. }
            | ArchiveError::Read { source, .. }
            | ArchiveError::Write { source, .. } => Some(source),
            _ => None,
        }
    }
}
