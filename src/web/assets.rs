//! The browser page, embedded in the binary so it works offline with no
//! build step: `index.html`, `app.js`, `style.css` and an icon, and the
//! answer to a request for one of them (`GET`/`HEAD`, `ETag` and 304, 404,
//! 405). The page's script speaks CHAT/1.0 over the WebSocket at `/ws`.

use super::http::{Method, Request};
use super::response::{Response, StatusCode, REVALIDATE};
use crate::crypto::{sha256, to_hex};

/// One embedded file of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// The path it is served at.
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

/// Every file of the page. `/` serves `index.html`.
pub const ASSETS: [Asset; 4] = [
    Asset {
        path: "/index.html",
        content_type: "text/html; charset=utf-8",
        body: include_str!("assets/index.html"),
    },
    Asset {
        path: "/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/app.js"),
    },
    Asset {
        path: "/style.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("assets/style.css"),
    },
    Asset {
        path: "/favicon.svg",
        content_type: "image/svg+xml",
        body: include_str!("assets/favicon.svg"),
    },
];

/// The methods an asset answers.
pub const ALLOWED_METHODS: &str = "GET, HEAD";

/// The asset served at `path`, if any.
pub fn find(path: &str) -> Option<&'static Asset> {
    let path = if path == "/" { "/index.html" } else { path };
    ASSETS.iter().find(|a| a.path == path)
}

impl Asset {
    /// A strong validator: the start of the body's SHA-256, so a new binary
    /// with a changed page gets a new tag.
    pub fn etag(&self) -> String {
        format!("\"{}\"", &to_hex(&sha256(self.body.as_bytes()))[..16])
    }
}

/// The answer to a request for a page file: 200 (or 304 when the browser's
/// `If-None-Match` holds the current tag) for `GET` and `HEAD`, 405 with
/// `Allow` for other methods, 404 for a path that is no asset. The caller
/// sends no body for `HEAD` (see [`Response::encode`]).
pub fn respond(request: &Request) -> Response {
    let Some(asset) = find(&request.path) else {
        return Response::text(StatusCode::NOT_FOUND, "no such page\n");
    };
    if !matches!(request.method, Method::Get | Method::Head) {
        return Response::method_not_allowed(ALLOWED_METHODS);
    }
    let etag = asset.etag();
    let fresh = request
        .header_values("If-None-Match")
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*");
    let status = if fresh {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let response = Response::new(status)
        .with_header("Cache-Control", REVALIDATE)
        .with_header("ETag", &etag);
    if fresh {
        response
    } else {
        response.with_body(asset.content_type, asset.body.as_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(head: &str) -> Response {
        let request = Request::read_from(&mut head.as_bytes()).unwrap().unwrap();
        respond(&request)
    }

    #[test]
    fn the_root_is_the_page() {
        let r = get("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
        assert_eq!(r.header("Cache-Control"), Some("no-cache"));
        assert!(r.header("Content-Security-Policy").is_some());
        assert!(String::from_utf8_lossy(r.body()).contains("<script src=\"/app.js\""));
    }

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let html = find("/").unwrap().body;
        assert!(!html.contains("<script>"), "inline script");
        assert!(!html.contains("<style"), "inline style element");
        assert!(!html.contains("style=\""), "style attribute");
        let handler = html.split(" on").skip(1).any(|rest| {
            let name_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            rest[name_len..].starts_with('=')
        });
        assert!(!handler, "inline event handler");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no CDN"
        );
        let js = find("/app.js").unwrap().body;
        assert!(!js.contains("innerHTML") && !js.contains("outerHTML"));
        assert!(!js.contains("insertAdjacentHTML") && !js.contains("document.write"));
        assert!(!js.contains("eval(") && !js.contains("new Function"));
    }

    #[test]
    fn a_matching_etag_gets_304_without_a_body() {
        let tag = find("/app.js").unwrap().etag();
        let r = get(&format!(
            "GET /app.js HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"x\", {tag}\r\n\r\n"
        ));
        assert_eq!(r.status, StatusCode::NOT_MODIFIED);
        assert_eq!(r.header("ETag"), Some(tag.as_str()));
        assert!(r.body().is_empty());
        let r = get("GET /app.js HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"other\"\r\n\r\n");
        assert_eq!(r.status, StatusCode::OK);
    }

    #[test]
    fn other_methods_and_paths_are_refused() {
        let r = get("POST /style.css HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(r.status.0, 405);
        assert_eq!(r.header("Allow"), Some("GET, HEAD"));
        assert_eq!(get("GET /nope HTTP/1.1\r\nHost: h\r\n\r\n").status.0, 404);
        assert_eq!(
            get("GET /assets/app.js HTTP/1.1\r\nHost: h\r\n\r\n")
                .status
                .0,
            404
        );
    }

    #[test]
    fn head_gets_the_length_and_no_body() {
        let r = get("HEAD /style.css HTTP/1.1\r\nHost: h\r\n\r\n");
        let bytes = String::from_utf8(r.encode(true, true)).unwrap();
        let len = find("/style.css").unwrap().body.len();
        assert!(bytes.contains(&format!("Content-Length: {len}\r\n")));
        assert!(bytes.ends_with("\r\n\r\n"));
    }
}
