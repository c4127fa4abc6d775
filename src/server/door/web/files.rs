//! Files over HTTP, for the page: `POST /files?room=ROOM` streams an upload
//! into the store, and `GET`/`HEAD /files/ID?token=T` streams a download
//! from disk through the outbox's file path. Both act for the browser
//! session a file token (see [`super::tokens`]) was issued to, with the
//! rules of the chat door's `UPLOAD` and `DOWNLOAD`: the same size limit,
//! progress rule and digest, files only in a room the session is in, and a
//! file in a room it may not enter answered exactly as one that does not
//! exist.

use std::io;
use std::time::Instant;

use super::http::{log, respond};
use super::tokens::{tokens, Grant};
use crate::command::{Upload, MAX_FILE_NAME_BYTES};
use crate::fileshare::{digest_header, human_size, parse_digest, safe_name};
use crate::server::connection::Conn;
use crate::server::door::chat::{Body, Received, Sharer, MAX_DOWNLOADS_QUEUED};
use crate::server::door::Poll;
use crate::server::files::FileError;
use crate::server::outbox::FileBody;
use crate::server::session::{End, Session};
use crate::text::for_terminal;
use crate::web::handshake::OriginPolicy;
use crate::web::http::{decode_percent, encode_percent, Method, Request, Version};
use crate::web::response::{Response, StatusCode};

/// What a download carries: never rendered by the browser, never cached.
const DOWNLOAD_TYPE: &str = "application/octet-stream";
const DOWNLOAD_CACHE: &str = "private, no-store";

/// Answers `POST /files?room=ROOM`: the body is the file, `File-Name` its
/// name (percent-encoded UTF-8), `Authorization: Bearer TOKEN` whose it is.
/// Refused before a byte of the body is read, and the connection closed,
/// when nobody vouches for it (401, 403 for another site's page) or it is
/// over the size limit (413); other refusals read the body to its end and
/// keep the connection, as `UPLOAD` does.
pub fn upload(
    s: &mut Session<'_>,
    conn: &mut Conn,
    request: &Request,
    origins: &OriginPolicy,
) -> Poll {
    if request.method != Method::Post {
        let refusal = Response::method_not_allowed("POST");
        return respond(s, request, &refusal, request.content_length == 0);
    }
    // Storing a file ends with an fsync: pay what this thread owes first.
    s.owed.pay();
    let since = Instant::now();
    // The token is the wall; the origin a second one, for a page elsewhere.
    if !origins.allows(request.header("Origin"), request.header("Host")) {
        let refusal = Response::text(
            StatusCode::FORBIDDEN,
            "this page's origin may not upload here\n",
        );
        return respond(s, request, &refusal, false);
    }
    let bearer = request
        .header("Authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let grant = bearer.and_then(|t| tokens().file_grant(t));
    let Some((grant, nick)) = grant.and_then(|g| Some((g, g.nick_now(s.hub)?))) else {
        let refusal = Response::text(
            StatusCode::UNAUTHORIZED,
            "no valid file token: the page gets one over its WebSocket (TOKEN) while logged in\n",
        )
        .with_header("WWW-Authenticate", "Bearer");
        return respond(s, request, &refusal, false);
    };
    let len = request.content_length;
    let max = s.config.max_file_size;
    if len > max {
        let refusal = Response::text(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "file of {len} bytes is over the limit of {max} bytes ({})\n",
                human_size(max)
            ),
        );
        return respond(s, request, &refusal, false);
    }
    // A client that asked to hear first (curl does, for large bodies)
    // waits for this before sending the body it announced.
    if request.version == Version::Http11 && request.has_token("Expect", "100-continue") {
        s.send(b"HTTP/1.1 100 Continue\r\n\r\n".to_vec());
        s.owed.pay();
    }
    let mut body = Body::new(conn, len, s.config.frame_timeout);
    let upload = match upload_of(request) {
        Ok(upload) => upload,
        Err(why) => return refuse_after_body(s, request, &mut body, StatusCode::BAD_REQUEST, why),
    };
    let room = request.query_param("room");
    let Some(me) = Sharer::of(s.hub, grant.id, nick, room.as_deref()) else {
        let why = "name the room to share the file in: POST /files?room=ROOM".to_string();
        return refuse_after_body(s, request, &mut body, StatusCode::FORBIDDEN, why);
    };
    s.console.message(|| {
        format!(
            "{} POST /files from {} for {}: {:?}, {}",
            s.tag,
            me.nick,
            me.room,
            for_terminal(&upload.name),
            human_size(len)
        )
    });
    match s.receive_upload(&me, &upload, &mut body, since) {
        Ok(Received::Stored(entry)) => {
            let response = Response::new(StatusCode::CREATED)
                .with_body(
                    "text/plain; charset=utf-8",
                    format!("stored as file id:{} in {}\n", entry.id, entry.room).into_bytes(),
                )
                .with_header("File-Id", &entry.id.to_string())
                .with_header("File-Name", &encode_percent(&entry.name))
                .with_header("File-Size", &entry.size.to_string())
                .with_header("Digest", &digest_header(&entry.sha256))
                .with_header("Location", &format!("/files/{}", entry.id));
            respond(s, request, &response, true)
        }
        Ok(Received::Refused(status, text)) => {
            let response = Response::text(StatusCode(status.0), &format!("{text}\n"));
            respond(s, request, &response, true)
        }
        Err(hangup) => Poll::End(End::Dropped(hangup.reason)),
    }
}

/// The upload a request head describes.
///
/// # Errors
/// Why it is a bad request: no name, a name not percent-encoded UTF-8, a
/// malformed `Digest`.
fn upload_of(request: &Request) -> Result<Upload, String> {
    let name = request
        .header("File-Name")
        .and_then(decode_percent)
        .filter(|n| !n.trim().is_empty())
        .ok_or("a File-Name header is needed: the file's name, percent-encoded UTF-8")?;
    let digest = match request.header("Digest") {
        None => None,
        Some(value) => Some(parse_digest(value).ok_or("Digest must be sha-256=<64 hex digits>")?),
    };
    // A label, never a path, and as long as a CHAT/1.0 upload's may be.
    let mut end = name.len().min(MAX_FILE_NAME_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    Ok(Upload {
        name: name[..end].to_string(),
        size: request.content_length,
        digest,
    })
}

/// Reads the body to its end (so the next request is where it should be)
/// and refuses the upload, keeping the connection.
fn refuse_after_body(
    s: &mut Session<'_>,
    request: &Request,
    body: &mut Body<'_>,
    status: StatusCode,
    why: String,
) -> Poll {
    if let Err(hangup) = body.skip() {
        return Poll::End(End::Dropped(hangup.reason));
    }
    respond(
        s,
        request,
        &Response::text(status, &format!("{why}\n")),
        true,
    )
}

/// Answers `GET` or `HEAD /files/ID?token=TOKEN`: the file, streamed from
/// disk by the writer thread, as an attachment under its safe name.
pub fn download(s: &mut Session<'_>, request: &Request, id: &str) -> Poll {
    let keep = request.content_length == 0;
    if !matches!(request.method, Method::Get | Method::Head) {
        return respond(s, request, &Response::method_not_allowed("GET, HEAD"), keep);
    }
    let grant = request
        .query_param("token")
        .and_then(|t| tokens().file_grant(&t));
    let Some((grant, nick)) = grant.and_then(|g: Grant| Some((g, g.nick_now(s.hub)?))) else {
        // Whatever the id: a bad token tells nothing about files.
        let refusal = Response::text(
            StatusCode::UNAUTHORIZED,
            "this download link is not valid (any more): the page renews its links while it is online\n",
        );
        return respond(s, request, &refusal, keep);
    };
    let visible = id
        .parse::<u64>()
        .ok()
        .and_then(|id| s.files.get(id))
        .filter(|e| s.hub.may_enter(grant.id, &e.room));
    let Some(entry) = visible else {
        // A file in a room the holder may not enter is answered exactly
        // as one that does not exist: ids cannot be probed.
        return respond(s, request, &not_found(), keep);
    };
    let response = Response::new(StatusCode::OK)
        .with_streamed_body(DOWNLOAD_TYPE, entry.size)
        .with_header("Cache-Control", DOWNLOAD_CACHE)
        .with_header("Content-Disposition", &disposition(&entry.name))
        .with_header("Digest", &digest_header(&entry.sha256))
        .with_header("File-Id", &entry.id.to_string());
    if request.method == Method::Head {
        return respond(s, request, &response, keep);
    }
    // Waiting for a slot may take a while: nobody waits with us.
    s.owed.pay();
    if !s.outbox.wait_for_file_slot(MAX_DOWNLOADS_QUEUED) {
        return Poll::End(End::Dropped("closed while waiting to send a file".into()));
    }
    let file = match s.files.open_file(&entry) {
        Ok(file) => file,
        Err(e) => {
            s.console
                .say(format!("{} cannot send file id:{}: {e}", s.tag, entry.id));
            let failure = match e {
                FileError::Unavailable { .. } => Response::text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "this file is stored on another node and cannot be fetched from the cluster now; try again later\n",
                ),
                _ => Response::text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "this file cannot be read on the server; tell its operator\n",
                ),
            };
            return respond(s, request, &failure, keep);
        }
    };
    let keep_alive = keep && request.keep_alive();
    let (console, tag, id) = (s.console.clone(), s.tag.clone(), entry.id);
    let done = move |result: &io::Result<()>| match result {
        Ok(()) => console.say(format!("Successfully send file id:{id} to {nick} !")),
        Err(e) => console.say(format!("{tag} sending file id:{id} to {nick} failed: {e}")),
    };
    s.outbox.push_file(FileBody {
        head: response.encode_head(keep_alive),
        file,
        len: entry.size,
        done: Box::new(done),
    });
    log(s, request, response.status);
    if keep_alive {
        Poll::Done
    } else {
        Poll::End(End::Eof)
    }
}

/// The one answer for a file that is not there for the asker.
fn not_found() -> Response {
    Response::text(StatusCode::NOT_FOUND, "no such file\n")
}

/// `Content-Disposition` for a download: always an attachment (a shared
/// `.html` is saved, never shown in our origin), under its safe name: an
/// ASCII fallback and the UTF-8 name (RFC 6266, RFC 8187).
fn disposition(name: &str) -> String {
    let safe = safe_name(name);
    // `safe_name` leaves no quote, backslash or control character.
    let ascii: String = safe
        .chars()
        .map(|c| if c.is_ascii() { c } else { '_' })
        .collect();
    format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        encode_percent(&safe)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_are_attachments_under_their_safe_name() {
        assert_eq!(
            disposition("report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
        assert_eq!(
            disposition("../../résumé \"x\".txt"),
            "attachment; filename=\"r_sum_ _x_.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20_x_.txt"
        );
        let d = disposition("evil\r\nSet-Cookie: a=b.html");
        assert!(!d.contains('\r') && !d.contains('\n'), "{d}");
    }

    fn request(head: &str) -> Request {
        Request::read_from(&mut head.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn an_upload_names_its_file_percent_encoded() {
        let r = request(
            "POST /files?room=lobby HTTP/1.1\r\nHost: h\r\nFile-Name: a%20b%2Bc%C3%A9.txt\r\nContent-Length: 3\r\n\r\n",
        );
        let upload = upload_of(&r).unwrap();
        assert_eq!(upload.name, "a b+cé.txt");
        assert_eq!(upload.size, 3);
        assert_eq!(upload.digest, None);
        for bad in [
            "",
            "File-Name: %20\r\n",
            "File-Name: %zz\r\n",
            "File-Name: x\r\nDigest: md5=1\r\n",
        ] {
            let r = request(&format!("POST /files HTTP/1.1\r\nHost: h\r\n{bad}\r\n"));
            assert!(upload_of(&r).is_err(), "{bad:?}");
        }
        let long = format!(
            "POST /files HTTP/1.1\r\nHost: h\r\nFile-Name: {}\r\n\r\n",
            "%C3%A9".repeat(200)
        );
        let name = upload_of(&request(&long)).unwrap().name;
        assert!(name.len() <= MAX_FILE_NAME_BYTES && name.chars().all(|c| c == 'é'));
    }
}
