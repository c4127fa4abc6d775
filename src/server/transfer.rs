//! File requests on a session's thread: an upload streamed from the
//! connection into the store, a download handed to the writer thread to
//! stream from disk, and the list of a room's files.
//!
//! The hub is only asked who the client is and whether it may see a room,
//! then let go: no lock is held while file data moves, so everyone else
//! keeps chatting during a transfer. An upload's body is copied in chunks
//! of [`CHUNK_BYTES`](crate::fileshare::CHUNK_BYTES); at no point is a
//! whole file in memory.

use std::io::{self, BufRead, Read};
use std::time::{Duration, Instant};

use crate::clock;
use crate::command::Upload;
use crate::event::Event;
use crate::fileshare::{chunk_buffer, digest_header, human_size};
use crate::protocol::{self, header, Frame, Head, Status};
use crate::text::for_terminal;

use super::files::{FileError, FileStore};
use super::hub::{ClientId, Hub};
use super::outbox::{FileBody, Outbox};

/// Downloads one client may have waiting in its queue. Asking for more
/// waits until one has gone out: the session stops reading meanwhile, so
/// TCP pushes back on the client, and the server never holds more than
/// this many files open for one client.
pub const MAX_DOWNLOADS_QUEUED: usize = 4;
/// Most files one `FILES` reply lists (the newest), keeping the reply small.
const MAX_LISTED: usize = 200;
/// The slowest an upload may arrive on average: a 64 MiB file gets about
/// 17 minutes. Slower than that, a peer is holding a thread, not sending a
/// file (the slowloris defence of the frame deadline, scaled to the size).
pub const MIN_UPLOAD_BYTES_PER_SEC: u64 = 64 * 1024;

/// When an upload of `len` bytes must be complete: the frame timeout any
/// frame gets, plus the time the body takes at [`MIN_UPLOAD_BYTES_PER_SEC`].
pub fn upload_deadline(len: u64, frame_timeout: Duration) -> Instant {
    let body = Duration::from_secs(len / MIN_UPLOAD_BYTES_PER_SEC);
    Instant::now() + frame_timeout + body
}

/// What a session lends the file requests of one client.
pub struct Transfers<'a> {
    pub hub: &'a Hub,
    pub files: &'a FileStore,
    pub client: ClientId,
    /// The session's console tag, `[client-7 ThreadId(9)]`.
    pub tag: &'a str,
    pub max_file_size: u64,
}

/// An upload after which the connection cannot go on: the body could not
/// be read or may not be read, so the stream has lost its framing.
#[derive(Debug)]
pub struct Hangup {
    /// A last reply, when the peer can still read one.
    pub reply: Option<Frame>,
    /// Why, for the server console.
    pub reason: String,
}

impl Transfers<'_> {
    /// Receives the upload whose head was just read, streaming its body
    /// into `files/` while hashing it, and answers it. Whatever goes wrong,
    /// nothing partial is left on disk or in the index.
    ///
    /// # Errors
    /// A `Hangup` for an upload before login or over `max_file_size` (the
    /// body is not read: the server closes instead), or a body the peer
    /// did not finish sending. A refusal that leaves the framing intact
    /// (a missing `File-Name`, a full disk, a digest mismatch) is `Ok`:
    /// the body is read to its end and the connection stays open.
    pub fn upload(&self, head: &Head, reader: &mut impl BufRead) -> Result<Frame, Hangup> {
        // The room is read now; if it closes while the body arrives, the
        // store files the upload under the closed room, not a new namesake.
        let since = Instant::now();
        let Some(me) = self.hub.presence(self.client) else {
            return Err(Hangup {
                reply: Some(Frame::reply(
                    Status::FORBIDDEN,
                    "log in first; closing the connection, since an upload's body is not read before login",
                )),
                reason: "upload before login".into(),
            });
        };
        let len = head.content_length;
        if len > self.max_file_size {
            let text = format!(
                "file of {len} bytes is over the limit of {} bytes ({}); closing the connection, since its body cannot be skipped",
                self.max_file_size,
                human_size(self.max_file_size)
            );
            return Err(Hangup {
                reply: Some(Frame::reply(Status::PAYLOAD_TOO_LARGE, &text)),
                reason: format!("upload of {len} bytes over the file size limit"),
            });
        }
        let upload = match Upload::from_head(head) {
            Ok(upload) => upload,
            Err(refusal) => {
                skip(reader, len)?;
                return Ok(refusal.into_frame());
            }
        };
        self.dump_head(&me.nick, head);
        let mut partial = match self.files.begin() {
            Ok(partial) => partial,
            Err(e) => {
                skip(reader, len)?;
                return Ok(self.not_stored(&e));
            }
        };
        let mut failed = None;
        let mut buf = chunk_buffer(len);
        let mut left = len;
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = match reader.read(&mut buf[..want]) {
                Ok(0) => return Err(interrupted(&upload, len - left, "connection closed")),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if protocol::is_timeout(&e) => {
                    return Err(interrupted(&upload, len - left, "timed out"))
                }
                Err(e) => return Err(interrupted(&upload, len - left, &e.to_string())),
            };
            left -= n as u64;
            // After a disk error the rest is still read, to keep the framing.
            if failed.is_none() {
                failed = partial.write(&buf[..n]).err();
            }
        }
        if let Some(e) = failed {
            return Ok(self.not_stored(&e));
        }
        if upload.digest.is_some_and(|d| d != partial.digest()) {
            return Ok(Frame::reply(
                Status::BAD_REQUEST,
                "the file does not match its Digest header; it was not stored",
            ));
        }
        let committed = self
            .files
            .commit(partial, &me.room, since, &me.nick, &upload.name);
        let entry = match committed {
            Ok(entry) => entry,
            Err(e) => return Ok(self.not_stored(&e)),
        };
        self.hub.console().say(format!(
            "{} Successfully receive file id:{} ({:?}, {} bytes) from {}",
            self.tag,
            entry.id,
            for_terminal(&entry.name),
            entry.size,
            me.nick
        ));
        let shared = Event::File {
            room: entry.room.clone(),
            from: entry.uploader.clone(),
            id: entry.id,
            name: entry.name.clone(),
            size: entry.size,
            date: entry.date.clone(),
        };
        // Filed under a room closed meanwhile: nobody there to tell.
        if entry.room == me.room {
            self.hub
                .tell_room(&me.room, self.client, &shared.to_frame());
        }
        Ok(Frame::reply(
            Status::OK,
            &format!("stored as file id:{} in {}", entry.id, entry.room),
        )
        .with_header(header::FILE_ID, entry.id)
        .with_header(header::FILE_NAME, &entry.name)
        .with_header(header::FILE_SIZE, entry.size)
        .with_header(header::DIGEST, digest_header(&entry.sha256)))
    }

    /// Answers `DOWNLOAD /files/{id}`: queues the reply head and the open
    /// file for the writer thread, which streams it. `None` when queued;
    /// `Some` is a refusal to send instead. A file in a room the client may
    /// not enter gets exactly the answer a file that does not exist gets.
    pub fn download(&self, id: u64, outbox: &Outbox) -> Option<Frame> {
        let Some(nick) = self.hub.presence(self.client).map(|p| p.nick) else {
            return Some(Frame::reply(Status::FORBIDDEN, "log in first"));
        };
        let visible = self
            .files
            .get(id)
            .filter(|e| self.hub.may_enter(self.client, &e.room));
        let Some(entry) = visible else {
            return Some(Frame::reply(
                Status::NOT_FOUND,
                &format!("there is no file with id {id}"),
            ));
        };
        if !outbox.wait_for_file_slot(MAX_DOWNLOADS_QUEUED) {
            return None; // the connection is closing; no reply can go out
        }
        let file = match self.files.open_file(&entry) {
            Ok(file) => file,
            Err(e) => {
                self.hub
                    .console()
                    .say(format!("{} cannot send file id:{id}: {e}", self.tag));
                return Some(Frame::reply(
                    Status::INTERNAL_ERROR,
                    &format!("file id:{id} cannot be read on the server; tell its operator"),
                ));
            }
        };
        let head = Frame::status(Status::OK)
            .with_header(header::FILE_ID, id)
            .with_header(header::FILE_NAME, &entry.name)
            .with_header(header::DIGEST, digest_header(&entry.sha256))
            .with_header(header::CONTENT_TYPE, "application/octet-stream")
            .encode_head_for(entry.size);
        let console = self.hub.console().clone();
        let tag = self.tag.to_string();
        let done = move |result: &io::Result<()>| match result {
            Ok(()) => console.say(format!("Successfully send file id:{id} to {nick} !")),
            Err(e) => console.say(format!("{tag} sending file id:{id} to {nick} failed: {e}")),
        };
        // A closed queue means the session is ending; the file is dropped with it.
        outbox.push_file(FileBody {
            head,
            file,
            len: entry.size,
            done: Box::new(done),
        });
        None
    }

    /// Answers `FILES /`: the files shared in the client's room, newest last.
    pub fn list(&self) -> Frame {
        let Some(me) = self.hub.presence(self.client) else {
            return Frame::reply(Status::FORBIDDEN, "log in first");
        };
        let files = self.files.in_room(&me.room);
        if files.is_empty() {
            return Frame::reply(
                Status::OK,
                &format!(
                    "No files shared in {} yet; share one with /send_file PATH",
                    me.room
                ),
            );
        }
        let mut text = format!("{} file(s) in {}:", files.len(), me.room);
        let hidden = files.len().saturating_sub(MAX_LISTED);
        if hidden > 0 {
            text.push_str(&format!("\n  ({hidden} older ones not shown)"));
        }
        for e in &files[hidden..] {
            text.push_str(&format!(
                "\n  id:{}  {}  {}  from {}  {}",
                e.id,
                e.name,
                human_size(e.size),
                e.uploader,
                e.date.get(..16).unwrap_or(&e.date)
            ));
        }
        Frame::reply(Status::OK, &text)
    }

    /// A 507 for an upload the disk refused, and the full reason on the
    /// console (the client is not told the server's paths).
    fn not_stored(&self, e: &FileError) -> Frame {
        self.hub
            .console()
            .say(format!("{} upload not stored: {e}", self.tag));
        let why = match e {
            FileError::Io { source, .. } => source.to_string(),
            FileError::Damaged { .. } => "the stored copy changed".to_string(),
        };
        Frame::reply(
            Status::INSUFFICIENT_STORAGE,
            &format!("file not stored ({why}); try again later"),
        )
    }

    /// Prints an upload's head on the console in header form, as every
    /// handled message is; the body is summarised, never printed.
    fn dump_head(&self, nick: &str, head: &Head) {
        self.hub.console().message(|| {
            let mut out = format!(
                "{} UPLOAD /files CHAT/1.0\nFrom: {nick}\nDate: {}",
                self.tag,
                clock::now_utc()
            );
            for (name, value) in &head.headers {
                out.push_str(&format!(
                    "\n{}: {}",
                    for_terminal(name),
                    for_terminal(value)
                ));
            }
            out.push_str(&format!(
                "\nContent-Length: {}\n\n[{} of file data]",
                head.content_length,
                human_size(head.content_length)
            ));
            out
        });
    }
}

/// Reads and drops `len` body bytes, so that a refused upload does not
/// leave the stream in the middle of a frame.
fn skip(reader: &mut impl BufRead, len: u64) -> Result<(), Hangup> {
    match io::copy(&mut reader.take(len), &mut io::sink()) {
        Ok(n) if n == len => Ok(()),
        Ok(n) => Err(Hangup {
            reply: None,
            reason: format!("connection closed after {n} of {len} bytes of a refused upload"),
        }),
        Err(e) => Err(Hangup {
            reply: None,
            reason: format!("refused upload not read to its end: {e}"),
        }),
    }
}

/// The hangup for an upload whose body stopped coming.
fn interrupted(upload: &Upload, got: u64, why: &str) -> Hangup {
    Hangup {
        reply: None,
        reason: format!(
            "upload of {:?} interrupted after {got} of {} bytes ({why}); nothing was kept",
            for_terminal(&upload.name),
            upload.size
        ),
    }
}
