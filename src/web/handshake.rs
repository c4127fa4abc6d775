//! The opening handshake of a WebSocket (RFC 6455 section 4): checking a
//! browser's upgrade request, the `Origin` check that stops other sites from
//! opening a socket with the user's browser, and the `101` answer.

use std::io;

use super::http::{Method, Request, Version};
use super::response::{Response, StatusCode};
use crate::base64;
use crate::crypto::sha1::sha1;

/// The GUID RFC 6455 appends to a key before hashing it.
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The only protocol version there is (RFC 6455 section 4.1).
pub const WEBSOCKET_VERSION: &str = "13";

/// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`: base64 of the
/// SHA-1 of the key followed by [`WEBSOCKET_GUID`].
pub fn accept_key(key: &str) -> String {
    let mut input = Vec::with_capacity(key.len() + WEBSOCKET_GUID.len());
    input.extend_from_slice(key.as_bytes());
    input.extend_from_slice(WEBSOCKET_GUID.as_bytes());
    base64::encode(&sha1(&input))
}

/// A fresh `Sec-WebSocket-Key` for a client: 16 random bytes in base64.
///
/// # Errors
/// When the OS random source cannot be read.
pub fn new_key() -> io::Result<String> {
    let mut nonce = [0u8; 16];
    crate::crypto::random_bytes(&mut nonce)?;
    Ok(base64::encode(&nonce))
}

/// True for a key that is the base64 of 16 bytes, as RFC 6455 requires,
/// checked without decoding: 22 base64 digits, the last of which has its
/// four low bits zero (16 bytes fill 128 of their 132 bits), then `==`.
pub fn is_valid_key(key: &str) -> bool {
    // The strict decoder refuses non-canonical trailing bits, so a key
    // that decodes is exactly 22 digits, the last with its low bits zero.
    key.len() == 24 && base64::decode(key.as_bytes()).is_ok_and(|nonce| nonce.len() == 16)
}

/// Which pages may open a WebSocket: the server's own origin, plus the
/// origins an operator lists (`--allow-origin`). Without this check any web
/// site a user visits could open a socket to the chat server in the user's
/// browser (cross-site WebSocket hijacking).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginPolicy {
    allowed: Vec<String>,
}

impl OriginPolicy {
    /// Same origin only.
    pub fn same_origin() -> OriginPolicy {
        OriginPolicy::default()
    }

    /// Same origin, and `origin` too (`https://chat.example.org`; compared
    /// ignoring case and a trailing `/`).
    pub fn allow(mut self, origin: &str) -> OriginPolicy {
        self.allowed.push(normalise(origin));
        self
    }

    /// Whether a request with this `Origin` and `Host` may open a socket.
    /// No `Origin` at all is not a browser (browsers always send one), so it
    /// is allowed: the check protects browsers' users, not the server. The
    /// opaque origin `null` (sandboxed frames, `file:` pages) is refused.
    pub fn allows(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        let origin = normalise(origin);
        if origin == "null" {
            return false;
        }
        let same = host.is_some_and(|host| {
            let host = host.to_ascii_lowercase();
            origin == format!("http://{host}") || origin == format!("https://{host}")
        });
        same || self.allowed.contains(&origin)
    }
}

fn normalise(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// True when a request asks for a WebSocket (`Upgrade: websocket`).
pub fn is_upgrade(request: &Request) -> bool {
    request.has_token("Upgrade", "websocket")
}

/// Answers a request for a WebSocket: `Ok` with the `101` to send (after
/// which the connection speaks WebSocket frames), or `Err` with the refusal
/// to send before closing: 405 not `GET`, 426 (with `Sec-WebSocket-Version:
/// 13`) no upgrade or another version, 403 an origin not allowed, 400 any
/// other broken rule.
///
/// # Errors
/// The refusal, as a response.
pub fn accept(request: &Request, origins: &OriginPolicy) -> Result<Response, Response> {
    if request.method != Method::Get {
        return Err(Response::method_not_allowed("GET"));
    }
    if !is_upgrade(request) || request.header("Sec-WebSocket-Version") != Some(WEBSOCKET_VERSION) {
        return Err(Response::text(
            StatusCode::UPGRADE_REQUIRED,
            "this is a WebSocket endpoint (version 13)\n",
        )
        .with_header("Sec-WebSocket-Version", WEBSOCKET_VERSION)
        .with_header("Upgrade", "websocket")
        .with_header("Connection", "Upgrade"));
    }
    if request.version != Version::Http11 || !request.has_token("Connection", "upgrade") {
        return Err(Response::text(
            StatusCode::BAD_REQUEST,
            "a WebSocket upgrade needs HTTP/1.1 and Connection: Upgrade\n",
        ));
    }
    if request.content_length != 0 {
        return Err(Response::text(
            StatusCode::BAD_REQUEST,
            "a WebSocket upgrade has no body\n",
        ));
    }
    let key = match request
        .header_values("Sec-WebSocket-Key")
        .collect::<Vec<_>>()[..]
    {
        [key] if is_valid_key(key) => key,
        _ => {
            return Err(Response::text(
                StatusCode::BAD_REQUEST,
                "Sec-WebSocket-Key must be one base64 nonce of 16 bytes\n",
            ))
        }
    };
    if !origins.allows(request.header("Origin"), request.header("Host")) {
        return Err(Response::text(
            StatusCode::FORBIDDEN,
            "this page's origin may not open a socket here\n",
        ));
    }
    // No subprotocol and no extension is chosen: a browser that insists on
    // one fails the connection itself, as RFC 6455 section 4.1 says.
    Ok(Response::new(StatusCode::SWITCHING_PROTOCOLS)
        .with_header("Upgrade", "websocket")
        .with_header("Connection", "Upgrade")
        .with_header("Sec-WebSocket-Accept", &accept_key(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(extra: &str) -> Request {
        let head = format!(
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:7777\r\nUpgrade: websocket\r\n\
             Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
        );
        Request::read_from(&mut head.as_bytes()).unwrap().unwrap()
    }

    const KEY: &str = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

    #[test]
    fn accept_key_matches_the_rfc_example() {
        // RFC 6455 section 1.3.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn keys_must_be_sixteen_bytes_of_base64() {
        assert!(is_valid_key("dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(is_valid_key(&new_key().unwrap()));
        for bad in [
            "",
            "dGhlIHNhbXBsZSBub25jZQ=",
            "dGhlIHNhbXBsZSBub25jZR==", // low bits set: not 16 bytes
            "dGhlIHNhbXBsZSBub25j!Q==",
            "dGhlIHNhbXBsZSBub25jZQ==x",
            "dGhlIHNhbXBsZSBub25jZQ",
        ] {
            assert!(!is_valid_key(bad), "{bad}");
        }
    }

    #[test]
    fn a_browser_upgrade_is_accepted() {
        let origin = "Origin: http://127.0.0.1:7777\r\n";
        let response = accept(
            &request(&format!("{KEY}{origin}")),
            &OriginPolicy::same_origin(),
        )
        .expect("accepted");
        assert_eq!(response.status, StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(
            response.header("Sec-WebSocket-Accept"),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
        assert_eq!(response.header("Upgrade"), Some("websocket"));
        let head = String::from_utf8(response.encode(false, true)).unwrap();
        assert!(head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        assert!(!head.contains("Content-Length"));
    }

    #[test]
    fn a_wrong_version_gets_426_naming_13() {
        let head = format!(
            "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Version: 8\r\n{KEY}\r\n"
        );
        let req = Request::read_from(&mut head.as_bytes()).unwrap().unwrap();
        let refusal = accept(&req, &OriginPolicy::same_origin()).unwrap_err();
        assert_eq!(refusal.status, StatusCode::UPGRADE_REQUIRED);
        assert_eq!(refusal.header("Sec-WebSocket-Version"), Some("13"));
        // No Upgrade header at all: a plain GET of the socket's URL.
        let plain = Request::read_from(&mut &b"GET /ws HTTP/1.1\r\nHost: h\r\n\r\n"[..])
            .unwrap()
            .unwrap();
        let refusal = accept(&plain, &OriginPolicy::same_origin()).unwrap_err();
        assert_eq!(refusal.status.0, 426);
        assert_eq!(refusal.header("Upgrade"), Some("websocket"));
    }

    #[test]
    fn broken_upgrades_are_refused() {
        let policy = OriginPolicy::same_origin();
        assert_eq!(
            accept(&request(""), &policy).unwrap_err().status.0,
            400,
            "no key"
        );
        let two = format!("{KEY}{KEY}");
        assert_eq!(accept(&request(&two), &policy).unwrap_err().status.0, 400);
        let bad = "Sec-WebSocket-Key: short\r\n";
        assert_eq!(accept(&request(bad), &policy).unwrap_err().status.0, 400);
        let body = format!("{KEY}Content-Length: 3\r\n");
        assert_eq!(accept(&request(&body), &policy).unwrap_err().status.0, 400);
        let head = format!(
            "POST /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Version: 13\r\n{KEY}\r\n"
        );
        let post = Request::read_from(&mut head.as_bytes()).unwrap().unwrap();
        let refusal = accept(&post, &policy).unwrap_err();
        assert_eq!(refusal.status.0, 405);
        assert_eq!(refusal.header("Allow"), Some("GET"));
        let head = format!(
            "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\n{KEY}\r\n"
        );
        let no_connection = Request::read_from(&mut head.as_bytes()).unwrap().unwrap();
        assert_eq!(accept(&no_connection, &policy).unwrap_err().status.0, 400);
    }

    #[test]
    fn other_sites_cannot_open_a_socket() {
        let policy = OriginPolicy::same_origin();
        for origin in [
            "http://evil.example",
            "null",
            "http://127.0.0.1:7778",
            "file://",
        ] {
            let req = request(&format!("{KEY}Origin: {origin}\r\n"));
            assert_eq!(accept(&req, &policy).unwrap_err().status.0, 403, "{origin}");
        }
        let widened = OriginPolicy::same_origin().allow("https://Chat.Example.org/");
        let req = request(&format!("{KEY}Origin: https://chat.example.org\r\n"));
        assert!(accept(&req, &widened).is_ok());
        assert!(accept(&req, &policy).is_err());
    }

    #[test]
    fn origin_rules() {
        let policy = OriginPolicy::same_origin();
        assert!(policy.allows(None, Some("h:1")), "not a browser");
        assert!(policy.allows(Some("http://H:1"), Some("h:1")));
        assert!(
            policy.allows(Some("https://h"), Some("h")),
            "behind a TLS proxy"
        );
        assert!(!policy.allows(Some("http://h:1"), None));
        assert!(!policy.allows(Some("http://h:1.evil"), Some("h:1")));
        assert!(!policy.allows(Some("null"), Some("null")));
    }
}
