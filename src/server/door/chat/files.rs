//! File requests of a `CHAT/1.0` session: an upload streamed from the
//! connection into the store, a download handed to the writer thread to
//! stream from disk, and the list of a room's files.
//!
//! The hub is only asked who the client is and whether it may see a room,
//! then let go: no lock is held while file data moves, so everyone else
//! keeps chatting during a transfer. An upload's body is copied in chunks
//! of [`CHUNK_BYTES`](crate::fileshare::CHUNK_BYTES); at no point is a
//! whole file in memory.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use crate::clock;
use crate::command::Upload;
use crate::fileshare::{chunk_buffer, digest_header, human_size};
use crate::protocol::{self, header, Frame, Head, Status};
use crate::text::{for_terminal, name_key};

use crate::server::connection::Conn;
use crate::server::files::{Entry, FileError};
use crate::server::hub::{ClientId, Hub};
use crate::server::outbox::FileBody;
use crate::server::session::Session;

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
/// An upload must also keep moving: at least [`MIN_PROGRESS_BYTES`] (or
/// the rest of the file) in every window of this length (or of the frame
/// timeout, if shorter), so a peer that trickles a byte now and then
/// cannot hold a thread and a temporary file until the whole deadline runs out.
pub const PROGRESS_WINDOW: Duration = Duration::from_secs(10);
pub const MIN_PROGRESS_BYTES: u64 = 16 * 1024;

/// When an upload of `len` bytes must be complete: the frame timeout any
/// frame gets, plus the time the body takes at [`MIN_UPLOAD_BYTES_PER_SEC`].
pub fn upload_deadline(len: u64, frame_timeout: Duration) -> Instant {
    let body = Duration::from_secs(len / MIN_UPLOAD_BYTES_PER_SEC);
    Instant::now() + frame_timeout + body
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

/// Who shares or lists files, and about which room: a `CHAT/1.0` client
/// itself, or for the web door the session a file token was issued to.
pub struct Sharer {
    /// The connection the files are shared as (its rooms, its rights).
    pub id: ClientId,
    pub nick: String,
    /// The room as it is spelled, if the sharer is in it; else as asked.
    pub room: String,
    pub is_member: bool,
}

impl Sharer {
    /// Connection `id`, online as `nick`, asking about room `asked` (else
    /// its one room, its latest if it is in several). `None` when it is in
    /// no room and named none.
    pub fn of(hub: &Hub, id: ClientId, nick: String, asked: Option<&str>) -> Option<Sharer> {
        let mine = hub.rooms_of(id);
        let room = match asked {
            Some(asked) => mine
                .iter()
                .find(|r| name_key(r) == name_key(asked))
                .cloned()
                .unwrap_or_else(|| asked.to_string()),
            None => mine.last()?.clone(),
        };
        let is_member = mine.contains(&room);
        Some(Sharer {
            id,
            nick,
            room,
            is_member,
        })
    }
}

/// The session's own client as a sharer; `None` before login.
fn sharer(s: &Session<'_>, asked: Option<&str>) -> Option<Sharer> {
    Sharer::of(s.hub, s.id, s.nick.clone()?, asked)
}

/// What became of an upload whose body was read to its end: the
/// connection can go on either way.
#[derive(Debug)]
pub enum Received {
    Stored(Entry),
    /// Not stored, with the status and the reason to tell the sender.
    Refused(Status, String),
}

impl Session<'_> {
    /// Receives the upload whose head was just read, streaming its body
    /// into `files/` while hashing it, and answers it. Whatever goes wrong,
    /// nothing partial is left on disk or in the index.
    ///
    /// # Errors
    /// A `Hangup` for an upload before login or over the file size limit
    /// (the body is not read: the server closes instead), or a body the
    /// peer did not finish sending, or sent too slowly. A refusal that
    /// leaves the framing intact (a missing `File-Name`, a room it may not
    /// share in, a full disk, a digest mismatch) is `Ok`: the body is read
    /// to its end and the connection stays open.
    pub(super) fn upload(&mut self, head: &Head, conn: &mut Conn) -> Result<Frame, Hangup> {
        // The room is read now; if it closes while the body arrives, the
        // store files the upload under the closed room, not a new namesake.
        let since = Instant::now();
        let Some(me) = sharer(self, head.header(header::ROOM)) else {
            return Err(Hangup {
                reply: Some(Frame::reply(
                    Status::FORBIDDEN,
                    "log in first; closing the connection, since an upload's body is not read before login",
                )),
                reason: "upload before login".into(),
            });
        };
        let len = head.content_length;
        let max_file_size = self.config.max_file_size;
        if len > max_file_size {
            let text = format!(
                "file of {len} bytes is over the limit of {} bytes ({}); closing the connection, since its body cannot be skipped",
                max_file_size,
                human_size(max_file_size)
            );
            return Err(Hangup {
                reply: Some(Frame::reply(Status::PAYLOAD_TOO_LARGE, &text)),
                reason: format!("upload of {len} bytes over the file size limit"),
            });
        }
        let mut body = Body::new(conn, len, self.config.frame_timeout);
        let upload = match Upload::from_head(head) {
            Ok(upload) => upload,
            Err(refusal) => {
                body.skip()?;
                return Ok(refusal.into_frame());
            }
        };
        if me.is_member {
            self.dump_head(&me.nick, head);
        }
        Ok(match self.receive_upload(&me, &upload, &mut body, since)? {
            Received::Refused(status, text) => Frame::reply(status, &text),
            Received::Stored(entry) => Frame::reply(
                Status::OK,
                &format!("stored as file id:{} in {}", entry.id, entry.room),
            )
            .with_header(header::FILE_ID, entry.id)
            .with_header(header::FILE_NAME, &entry.name)
            .with_header(header::FILE_SIZE, entry.size)
            .with_header(header::DIGEST, digest_header(&entry.sha256)),
        })
    }

    /// Streams an upload's `body` into the store as `me` shares it in
    /// `me.room` (read at `since`), checks its digest, records it, and tells
    /// the room with a `FILE` event: everyone there but this connection
    /// (a `CHAT/1.0` uploader, who gets the reply instead; an HTTP upload's
    /// connection is in no room, so a browser's own page hears it too).
    ///
    /// # Errors
    /// A `Hangup` when the body stops coming (closed, too slow, too late);
    /// nothing partial is kept.
    pub fn receive_upload(
        &mut self,
        me: &Sharer,
        upload: &Upload,
        body: &mut Body<'_>,
        since: Instant,
    ) -> Result<Received, Hangup> {
        if !me.is_member {
            body.skip()?;
            return Ok(Received::Refused(
                Status::FORBIDDEN,
                format!(
                    "you are not in {}; share files in a room you are in",
                    me.room
                ),
            ));
        }
        let mut partial = match self.files.begin() {
            Ok(partial) => partial,
            Err(e) => {
                body.skip()?;
                return Ok(self.not_stored(&e));
            }
        };
        let mut failed = None;
        let mut buf = chunk_buffer(upload.size);
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(why) => return Err(interrupted(upload, body.got(), &why)),
            };
            // After a disk error the rest is still read, to keep the framing.
            if failed.is_none() {
                failed = partial.write(&buf[..n]).err();
            }
        }
        if let Some(e) = failed {
            return Ok(self.not_stored(&e));
        }
        if upload.digest.is_some_and(|d| d != partial.digest()) {
            return Ok(Received::Refused(
                Status::BAD_REQUEST,
                "the file does not match its Digest header; it was not stored".into(),
            ));
        }
        let committed = self
            .files
            .commit(partial, &me.room, since, &me.nick, &upload.name);
        let entry = match committed {
            Ok(entry) => entry,
            Err(e) => return Ok(self.not_stored(&e)),
        };
        self.console.say(format!(
            "{} Successfully receive file id:{} ({:?}, {} bytes) from {}",
            self.tag,
            entry.id,
            for_terminal(&entry.name),
            entry.size,
            me.nick
        ));
        let shared = entry.event();
        // Filed under a room closed meanwhile: nobody there to tell.
        if entry.room == me.room {
            self.hub
                .tell_room(&me.room, self.id, shared, &mut self.owed);
        }
        Ok(Received::Stored(entry))
    }

    /// Answers `DOWNLOAD /files/{id}`: queues the reply head and the open
    /// file for the writer thread, which streams it. `None` when queued;
    /// `Some` is a refusal to send instead. A file in a room the client may
    /// not enter gets exactly the answer a file that does not exist gets.
    pub(super) fn download(&mut self, id: u64) -> Option<Frame> {
        let Some(nick) = self.nick.clone() else {
            return Some(Frame::reply(Status::FORBIDDEN, "log in first"));
        };
        let visible = self
            .files
            .get(id)
            .filter(|e| self.hub.may_enter(self.id, &e.room));
        let Some(entry) = visible else {
            return Some(Frame::reply(
                Status::NOT_FOUND,
                &format!("there is no file with id {id}"),
            ));
        };
        // Waiting for a slot may take a while: nobody waits with us.
        self.owed.pay();
        if !self.outbox.wait_for_file_slot(MAX_DOWNLOADS_QUEUED) {
            return None; // the connection is closing; no reply can go out
        }
        let file = match self.files.open_file(&entry) {
            Ok(file) => file,
            Err(e) => {
                self.console
                    .say(format!("{} cannot send file id:{id}: {e}", self.tag));
                return Some(match e {
                    FileError::Unavailable { .. } => Frame::reply(
                        Status::UNAVAILABLE,
                        &format!("file id:{id} is stored on another node and cannot be fetched from the cluster now; try again later"),
                    ),
                    _ => Frame::reply(
                        Status::INTERNAL_ERROR,
                        &format!("file id:{id} cannot be read on the server; tell its operator"),
                    ),
                });
            }
        };
        let head = Frame::status(Status::OK)
            .with_header(header::FILE_ID, id)
            .with_header(header::FILE_NAME, &entry.name)
            .with_header(header::DIGEST, digest_header(&entry.sha256))
            .with_header(header::CONTENT_TYPE, "application/octet-stream")
            .encode_head_for(entry.size);
        let console = self.console.clone();
        let tag = self.tag.to_string();
        let done = move |result: &io::Result<()>| match result {
            Ok(()) => console.say(format!("Successfully send file id:{id} to {nick} !")),
            Err(e) => console.say(format!("{tag} sending file id:{id} to {nick} failed: {e}")),
        };
        // A closed queue means the session is ending; the file is dropped with it.
        self.outbox.push_file(FileBody {
            head,
            file,
            len: entry.size,
            done: Box::new(done),
        });
        None
    }

    /// Answers `FILES /` (or `FILES /rooms/ROOM`, a room the client is
    /// in): the files shared there, newest last.
    pub(super) fn file_list(&self, room: Option<&str>) -> Frame {
        let Some(me) = sharer(self, room) else {
            return Frame::reply(Status::FORBIDDEN, "log in first");
        };
        if !me.is_member {
            return Frame::reply(
                Status::FORBIDDEN,
                &format!("you are not in {}; /join it to see its files", me.room),
            );
        }
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
                clock::to_minute_label(&e.date)
            ));
        }
        Frame::reply(Status::OK, &text)
    }

    /// A 507 for an upload the disk refused, and the full reason on the
    /// console (the client is not told the server's paths).
    fn not_stored(&self, e: &FileError) -> Received {
        self.console
            .say(format!("{} upload not stored: {e}", self.tag));
        let why = match e {
            FileError::Io { source, .. } => source.to_string(),
            FileError::Damaged { .. } => "the stored copy changed".to_string(),
            FileError::Unavailable { .. } => {
                return Received::Refused(
                    Status::UNAVAILABLE,
                    "file not stored: cluster unavailable, retrying; try again later".into(),
                )
            }
        };
        Received::Refused(
            Status::INSUFFICIENT_STORAGE,
            format!("file not stored ({why}); try again later"),
        )
    }

    /// Prints an upload's head on the console in header form, as every
    /// handled message is; the body is summarised, never printed.
    fn dump_head(&self, nick: &str, head: &Head) {
        self.console.message(|| {
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

/// An upload's body as it arrives: exactly its length, within its
/// deadline, and never stalling for a whole progress window.
pub struct Body<'a> {
    conn: &'a mut Conn,
    len: u64,
    got: u64,
    deadline: Instant,
    /// How long each stretch of [`MIN_PROGRESS_BYTES`] may take.
    window: Duration,
    /// When the current progress window started, and what it brought.
    window_start: Instant,
    window_bytes: u64,
}

impl<'a> Body<'a> {
    /// The next `len` bytes of `conn`, due by [`upload_deadline`] and
    /// progressing every [`PROGRESS_WINDOW`] (or `frame_timeout`, if shorter).
    pub fn new(conn: &'a mut Conn, len: u64, frame_timeout: Duration) -> Body<'a> {
        let deadline = upload_deadline(len, frame_timeout);
        let window = PROGRESS_WINDOW.min(frame_timeout);
        // A read waits at most one window: a silent peer is noticed then.
        conn.set_timeout(window);
        Body {
            conn,
            len,
            got: 0,
            deadline,
            window,
            window_start: Instant::now(),
            window_bytes: 0,
        }
    }

    fn got(&self) -> u64 {
        self.got
    }

    /// Reads the next piece into `buf`; `Ok(0)` once the whole body is in.
    ///
    /// # Errors
    /// Why the body stopped: closed, timed out, too slow, or a read error.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, String> {
        loop {
            let left = self.len - self.got;
            if left == 0 {
                return Ok(0);
            }
            let want = left.min(buf.len() as u64) as usize;
            let n = match self.conn.read(&mut buf[..want]) {
                Ok(0) => return Err("connection closed".into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if protocol::is_timeout(&e) => 0,
                Err(e) => return Err(e.to_string()),
            };
            self.got += n as u64;
            self.window_bytes += n as u64;
            let now = Instant::now();
            if now > self.deadline {
                return Err("timed out".into());
            }
            if now.duration_since(self.window_start) >= self.window {
                let needed = MIN_PROGRESS_BYTES.min(self.len - self.got + self.window_bytes);
                if self.window_bytes < needed {
                    return Err(format!(
                        "too slow: {} bytes in {} s, at least {MIN_PROGRESS_BYTES} needed",
                        self.window_bytes,
                        self.window.as_secs()
                    ));
                }
                self.window_start = now;
                self.window_bytes = 0;
            }
            if n > 0 {
                return Ok(n);
            }
        }
    }

    /// Reads and drops the rest, so that a refused upload does not leave
    /// the stream in the middle of a frame.
    ///
    /// # Errors
    /// A `Hangup` (with no reply) when the rest does not come.
    pub fn skip(&mut self) -> Result<(), Hangup> {
        let mut scratch = vec![0u8; 16 * 1024];
        loop {
            match self.read(&mut scratch) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(why) => {
                    return Err(Hangup {
                        reply: None,
                        reason: format!(
                            "refused upload not read to its end: {why} after {} of {} bytes",
                            self.got, self.len
                        ),
                    })
                }
            }
        }
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
