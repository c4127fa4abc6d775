//! File transfers on the client. `/send_file` streams a file from disk
//! right after its `UPLOAD` head; the reader thread streams a `DOWNLOAD`
//! reply's body into the download directory while hashing it, and keeps it
//! only if its SHA-256 matches the `Digest` the server recorded at upload.
//! Neither ever holds a file in memory.
//!
//! Which reply carries a file is known from the order of requests (see
//! [`super::pending`]).

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use crate::command::Upload;
use crate::crypto::{to_hex, Sha256};
use crate::fileshare::{chunk_buffer, human_size, parse_digest, safe_name};
use crate::protocol::{header, Frame, FrameError, Head, Status};
use crate::text::for_terminal;

use super::connection::Reader;
use super::output::{Line, Out};
use super::pending::{Awaited, Link};
use super::progress::Progress;
use super::render;

/// Where downloads are saved unless `--download-dir` says otherwise.
pub const DEFAULT_DOWNLOAD_DIR: &str = "downloads";
/// The upload limit assumed when a server does not announce `Max-File-Size`.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 64 << 20;
/// How long the reader waits for the input thread to finish reporting an
/// upload before it reports the server's answer anyway.
const SENT_WAIT: Duration = Duration::from_secs(5);
/// Give up finding a free name after this many ` (n)` suffixes.
const MAX_NAME_TRIES: u32 = 10_000;

/// An upload as the input thread sends it: the reader thread waits on it so
/// that `Successfully send` is always printed before `Successfully upload`.
pub struct Sending {
    /// `Some(digest)` once every byte was handed to the socket.
    sent: Mutex<Option<Option<[u8; 32]>>>,
    ready: Condvar,
}

impl Sending {
    pub(crate) fn new() -> Sending {
        Sending {
            sent: Mutex::new(None),
            ready: Condvar::new(),
        }
    }

    /// Records the outcome: the digest of what was sent, or `None` if sending failed.
    fn finish(&self, digest: Option<[u8; 32]>) {
        *self.sent.lock().unwrap_or_else(PoisonError::into_inner) = Some(digest);
        self.ready.notify_all();
    }

    /// The digest of what was sent, once known (waiting at most `SENT_WAIT`).
    fn wait(&self) -> Option<[u8; 32]> {
        let guard = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) = self
            .ready
            .wait_timeout_while(guard, SENT_WAIT, |sent| sent.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        guard.flatten()
    }
}

/// Why a transfer did not happen.
#[derive(Debug)]
pub enum TransferError {
    /// The file to send cannot be read.
    Open {
        path: String,
        source: io::Error,
    },
    NotAFile {
        path: String,
    },
    TooLarge {
        path: String,
        size: u64,
        limit: u64,
    },
    /// The connection failed mid-upload; it has been closed.
    Send {
        path: String,
        source: io::Error,
    },
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferError::Open { path, source } => write!(f, "cannot read {path}: {source}"),
            TransferError::NotAFile { path } => write!(f, "{path} is not a file"),
            TransferError::TooLarge { path, size, limit } => write!(
                f,
                "{path} is {} ({size} bytes); the server takes files up to {} ({limit} bytes); nothing was sent",
                human_size(*size),
                human_size(*limit)
            ),
            TransferError::Send { path, source } => {
                write!(f, "sending {path} failed: {source}; the connection was closed")
            }
        }
    }
}

impl std::error::Error for TransferError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TransferError::Open { source, .. } | TransferError::Send { source, .. } => Some(source),
            TransferError::NotAFile { .. } | TransferError::TooLarge { .. } => None,
        }
    }
}

/// File transfers: where downloads go, and how large an upload the
/// server takes.
#[derive(Clone)]
pub struct Transfers {
    download_dir: PathBuf,
    max_file_size: u64,
}

impl Transfers {
    pub fn new(download_dir: PathBuf, max_file_size: u64) -> Transfers {
        Transfers {
            download_dir,
            max_file_size,
        }
    }

    /// `/send_file PATH`: checks the file and its size before sending
    /// anything, then streams it after its head, showing progress for a
    /// large one. The reader thread reports the server's answer.
    ///
    /// # Errors
    /// A `TransferError` saying what is wrong with the file, or that the
    /// connection failed (and was closed) mid-upload.
    pub fn send_file(&self, link: &Link, path: &Path, out: &Out) -> Result<(), TransferError> {
        let shown = path.display().to_string();
        let open_err = |source| TransferError::Open {
            path: shown.clone(),
            source,
        };
        let meta = fs::metadata(path).map_err(open_err)?;
        if !meta.is_file() {
            return Err(TransferError::NotAFile { path: shown });
        }
        if meta.len() > self.max_file_size {
            return Err(TransferError::TooLarge {
                path: shown,
                size: meta.len(),
                limit: self.max_file_size,
            });
        }
        let mut file = File::open(path).map_err(open_err)?;
        // A name that is not UTF-8 on disk still travels, with its odd bytes replaced.
        let name = path
            .file_name()
            .map_or_else(|| "file".to_string(), |n| n.to_string_lossy().into_owned());
        let size = meta.len();
        let head = Upload {
            name: name.clone(),
            size,
            digest: None,
        }
        .encode_head();
        let sending = Arc::new(Sending::new());
        let mut hasher = Sha256::new();
        let mut progress = Progress::new(format!("sending {}", for_terminal(&name)), size, out);
        let awaited = Awaited::Upload(Arc::clone(&sending));
        let result = link.sending(awaited, |writer| {
            writer.send_streamed(&head, &mut file, size, |chunk| {
                hasher.update(chunk);
                progress.advance(chunk.len());
            })
        });
        progress.finish();
        match result {
            Ok(()) => {
                out.show(Line::info(format!(
                    "Successfully send file {} to server!",
                    for_terminal(&shown)
                )));
                sending.finish(Some(hasher.finalize()));
                Ok(())
            }
            Err(source) => {
                sending.finish(None);
                // The server is now waiting for the rest of a body that will
                // never come: this connection cannot carry another frame.
                link.writer().close();
                Err(TransferError::Send {
                    path: shown,
                    source,
                })
            }
        }
    }

    /// Streams the body of a 200 reply to `DOWNLOAD` into a new file in the
    /// download directory, then checks its digest. Returns the line to show:
    /// success, or what went wrong (a damaged or unsaveable file is deleted).
    ///
    /// # Errors
    /// The connection failed mid-body; the partial file is deleted.
    pub fn receive(
        &self,
        reader: &mut Reader,
        head: &Head,
        id: u64,
        out: &Out,
    ) -> Result<String, FrameError> {
        let len = head.content_length;
        let expected = head.header(header::DIGEST).and_then(parse_digest);
        let name = safe_name(head.header(header::FILE_NAME).unwrap_or("file"));
        let (file, path) = match create_unique(&self.download_dir, &name) {
            Ok(created) => created,
            Err(e) => {
                if io::copy(&mut reader.body().take(len), &mut io::sink())? < len {
                    return Err(FrameError::UnexpectedEof);
                }
                return Ok(format!(
                    "error: cannot save file id:{id} in {}: {e}",
                    self.download_dir.display()
                ));
            }
        };
        let shown = for_terminal(&path.display().to_string());
        let mut saved = Saved {
            file,
            path,
            keep: false,
        };
        let mut hasher = Sha256::new();
        let mut progress = Progress::new(format!("receiving {name}"), len, out);
        let mut failed = None;
        let mut buf = chunk_buffer(len);
        let mut left = len;
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = match reader.body().read(&mut buf[..want]) {
                Ok(0) => return Err(FrameError::UnexpectedEof),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(FrameError::from(e)),
            };
            left -= n as u64;
            hasher.update(&buf[..n]);
            // After a disk error the rest is still read, to keep the framing.
            if failed.is_none() {
                failed = saved.file.write_all(&buf[..n]).err();
            }
            progress.advance(n);
        }
        progress.finish();
        if let Some(e) = failed {
            return Ok(format!(
                "error: cannot save file id:{id} as {shown}: {e}; the partial file was deleted"
            ));
        }
        let actual = hasher.finalize();
        match expected {
            Some(digest) if digest == actual => {
                saved.keep = true;
                Ok(format!("Successfully receive file {shown} from server"))
            }
            Some(digest) => Ok(format!(
                "error: file id:{id} failed its SHA-256 check (expected {}, got {}); the damaged download {shown} was deleted",
                to_hex(&digest),
                to_hex(&actual)
            )),
            None => Ok(format!(
                "error: the server sent file id:{id} without a valid Digest, so it cannot be verified; {shown} was deleted"
            )),
        }
    }
}

/// The line for the server's answer to an upload: waits until the input
/// thread has reported the upload sent, then confirms the id, or says what
/// went wrong (a refusal, or a stored copy whose digest differs from what
/// was sent).
pub fn upload_answered(sending: &Sending, reply: &Frame) -> String {
    let sent = sending.wait();
    if reply.status_code() != Some(Status::OK) {
        return render::reply(reply)
            .map_or_else(|| "error: upload refused".to_string(), |l| l.to_string());
    }
    let id = reply.header(header::FILE_ID).unwrap_or("?");
    let name = reply.header(header::FILE_NAME).unwrap_or("?");
    let stored = reply.header(header::DIGEST).and_then(parse_digest);
    let line = match (sent, stored) {
        (Some(mine), Some(theirs)) if mine != theirs => format!(
            "error: the server's copy of {name} (file id:{id}) differs from what was sent (SHA-256 mismatch); send it again"
        ),
        _ => format!("Successfully upload file {name} to server, file id:{id}"),
    };
    for_terminal(&line)
}

/// A download being written; deleted on drop unless kept.
struct Saved {
    file: File,
    path: PathBuf,
    keep: bool,
}

impl Drop for Saved {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Creates `dir` if needed and a new file in it called `name`, or
/// `stem (1).ext`, `stem (2).ext`, ...: never an existing file.
fn create_unique(dir: &Path, name: &str) -> io::Result<(File, PathBuf)> {
    fs::create_dir_all(dir)?;
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => name.split_at(i),
        _ => (name, ""),
    };
    for n in 0..MAX_NAME_TRIES {
        let candidate = if n == 0 {
            name.to_string()
        } else {
            format!("{stem} ({n}){ext}")
        };
        let path = dir.join(candidate);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((file, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{MAX_NAME_TRIES} files called {name} already exist"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn unique_names_never_overwrite() {
        let dir = std::env::temp_dir().join(format!(
            "chat-unique-{}-{:?}",
            std::process::id(),
            Instant::now()
        ));
        let names: Vec<String> = (0..3)
            .map(|_| {
                let (_, path) = create_unique(&dir, "notes.txt").unwrap();
                path.file_name().unwrap().to_string_lossy().into_owned()
            })
            .collect();
        assert_eq!(names, ["notes.txt", "notes (1).txt", "notes (2).txt"]);
        let (_, path) = create_unique(&dir, "README").unwrap();
        let (_, again) = create_unique(&dir, "README").unwrap();
        assert_eq!(path.file_name().unwrap(), "README");
        assert_eq!(again.file_name().unwrap(), "README (1)");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_upload_answer_names_the_id_or_the_problem() {
        let sending = Sending::new();
        let digest = crate::crypto::sha256(b"abc");
        sending.finish(Some(digest));
        let ok = Frame::reply(Status::OK, "stored")
            .with_header(header::FILE_ID, 3)
            .with_header(header::FILE_NAME, "a.txt")
            .with_header(header::DIGEST, crate::fileshare::digest_header(&digest));
        assert_eq!(
            upload_answered(&sending, &ok),
            "Successfully upload file a.txt to server, file id:3"
        );
        let other = crate::crypto::sha256(b"abd");
        let bad = Frame::reply(Status::OK, "stored")
            .with_header(header::FILE_ID, 3)
            .with_header(header::FILE_NAME, "a.txt")
            .with_header(header::DIGEST, crate::fileshare::digest_header(&other));
        assert!(upload_answered(&sending, &bad).contains("SHA-256 mismatch"));
        let refused = Frame::reply(Status::INSUFFICIENT_STORAGE, "file not stored (disk full)");
        assert_eq!(
            upload_answered(&sending, &refused),
            "error: file not stored (disk full)"
        );
    }
}
