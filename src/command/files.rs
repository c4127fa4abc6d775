//! File requests: the streamed `UPLOAD` (a head, then the file as its
//! body), `DOWNLOAD` and the room's file list.

use crate::fileshare::parse_digest;
use crate::protocol::{header, Frame, Head};

use super::{target_name, Refusal};

/// Longest `File-Name` a client sends, in bytes: it must fit a header line
/// (1 KiB) with room to spare; the stored and saved names are shorter still.
pub const MAX_FILE_NAME_BYTES: usize = 255;

/// A file request whose whole frame is read into memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRequest {
    /// Fetch file `id`; the reply's body is the file.
    Download { id: u64 },
    /// List the files shared in the sender's room.
    List,
}

impl FileRequest {
    pub(super) fn parse(verb: &str, frame: &Frame) -> Option<Result<FileRequest, Refusal>> {
        Some(match verb {
            "DOWNLOAD" => target_name(frame.target(), "/files/")
                .and_then(|id| id.parse().ok())
                .map(|id| FileRequest::Download { id })
                .ok_or_else(|| Refusal::bad_request("DOWNLOAD needs a target /files/N")),
            "FILES" => Ok(FileRequest::List),
            // The session streams uploads from their head; a whole frame
            // here means a caller skipped that step.
            "UPLOAD" => Err(Refusal::bad_request("UPLOAD is read as a stream")),
            _ => return None,
        })
    }

    /// The frame for this request.
    pub fn into_frame(self) -> Frame {
        match self {
            FileRequest::Download { id } => Frame::request("DOWNLOAD", &format!("/files/{id}")),
            FileRequest::List => Frame::request("FILES", "/"),
        }
    }
}

/// The head of an `UPLOAD /files` request. Its body is the file itself, up
/// to the server's `Max-File-Size`, so it is never read into a `Frame`: the
/// server reads this head, checks the length, then streams the body to disk,
/// and the client writes this head, then streams the file after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The name the sender gave the file; a label, never a path.
    pub name: String,
    pub size: u64,
    /// The SHA-256 the sender computed, if it did: the server refuses to
    /// store a body that does not match it.
    pub digest: Option<[u8; 32]>,
}

impl Upload {
    /// Reads the upload from a request head (whose verb the caller checked).
    ///
    /// # Errors
    /// A 400 `Refusal` for a missing or empty `File-Name`, or a `Digest`
    /// that is not `sha-256=<64 hex digits>`.
    pub fn from_head(head: &Head) -> Result<Upload, Refusal> {
        let name = head
            .header(header::FILE_NAME)
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| Refusal::bad_request("UPLOAD needs a File-Name header"))?;
        let digest =
            match head.header(header::DIGEST) {
                None => None,
                Some(value) => Some(parse_digest(value).ok_or_else(|| {
                    Refusal::bad_request("Digest must be sha-256=<64 hex digits>")
                })?),
            };
        Ok(Upload {
            name: name.to_string(),
            size: head.content_length,
            digest,
        })
    }

    /// The encoded head; the caller sends exactly `size` bytes after it.
    /// A name longer than [`MAX_FILE_NAME_BYTES`] is cut on a character boundary.
    pub fn encode_head(&self) -> Vec<u8> {
        let mut end = self.name.len().min(MAX_FILE_NAME_BYTES);
        while !self.name.is_char_boundary(end) {
            end -= 1;
        }
        let frame =
            Frame::request("UPLOAD", "/files").with_header(header::FILE_NAME, &self.name[..end]);
        let frame = match &self.digest {
            Some(d) => frame.with_header(header::DIGEST, crate::fileshare::digest_header(d)),
            None => frame,
        };
        frame.encode_head_for(self.size)
    }
}
