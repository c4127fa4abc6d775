//! Request targets (RFC 9112 section 3.2): which forms are accepted, and the
//! percent-decoding of paths and query values. A decoded path never holds a
//! control character, an encoded `/` or a dot segment, so no route can be
//! reached by a spelling the router does not expect.

use super::{HttpError, Method};

/// A request target split into its decoded path and its raw query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub path: String,
    pub query: Option<String>,
}

/// Parses a request target: origin-form (`/path?query`), absolute-form
/// (`http://host/path`, which RFC 9112 says a server must accept) and `*`
/// for `OPTIONS`.
///
/// # Errors
/// `BadRequest` for any other form, a character outside RFC 3986's set, a
/// fragment, a bad or dangerous percent-escape, or a dot segment.
pub fn parse_target(raw: &str, method: &Method) -> Result<Target, HttpError> {
    if raw == "*" {
        return if *method == Method::Options {
            Ok(Target {
                path: "*".to_string(),
                query: None,
            })
        } else {
            Err(HttpError::bad("* is a target for OPTIONS only"))
        };
    }
    if !raw.bytes().all(is_uri_char) {
        return Err(HttpError::bad("character not allowed in a request target"));
    }
    let origin_form = match strip_scheme(raw) {
        Some(rest) => match rest.find('/') {
            Some(slash) => &rest[slash..],
            None if !rest.contains('?') => "/",
            None => return Err(HttpError::bad("malformed absolute-form target")),
        },
        None if raw.starts_with('/') => raw,
        None => return Err(HttpError::bad("request target must start with /")),
    };
    let (path, query) = match origin_form.split_once('?') {
        Some((path, query)) => (path, Some(query.to_string())),
        None => (origin_form, None),
    };
    Ok(Target {
        path: decode_path(path)?,
        query,
    })
}

/// `http://` or `https://` (any case) stripped from an absolute-form target.
fn strip_scheme(raw: &str) -> Option<&str> {
    ["http://", "https://"].iter().find_map(|scheme| {
        let head = raw.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme)
            .then(|| &raw[scheme.len()..])
    })
}

/// Characters RFC 3986 allows in a URI (unreserved, reserved, `%`) but `#`:
/// a fragment never belongs in a request.
fn is_uri_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?[]@!$&'()*+,;=%".contains(&b)
}

fn decode_path(path: &str) -> Result<String, HttpError> {
    let bytes = percent_decode(path.as_bytes(), false)
        .ok_or_else(|| HttpError::bad("malformed percent-escape in the path"))?;
    let decoded =
        String::from_utf8(bytes).map_err(|_| HttpError::bad("path is not UTF-8 once decoded"))?;
    if decoded.chars().any(char::is_control) {
        return Err(HttpError::bad("control character in the path"));
    }
    // An encoded slash would make "/files%2F1" a different route from what
    // its segments say; nobody needs one in our paths.
    if path.contains("%2F") || path.contains("%2f") {
        return Err(HttpError::bad("encoded / in the path"));
    }
    if decoded
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err(HttpError::bad("dot segment in the path"));
    }
    Ok(decoded)
}

/// A query key or value decoded: `%XX` escapes, and `+` as a space.
/// `None` for a malformed escape or bytes that are not UTF-8.
pub fn decode_query_value(value: &str) -> Option<String> {
    String::from_utf8(percent_decode(value.as_bytes(), true)?).ok()
}

/// A header value sent percent-encoded (what `encodeURIComponent` makes,
/// such as a file's name): `%XX` escapes only, `+` stays `+`. `None` for a
/// malformed escape or bytes that are not UTF-8.
pub fn decode_percent(value: &str) -> Option<String> {
    String::from_utf8(percent_decode(value.as_bytes(), false)?).ok()
}

/// `value` with every byte but RFC 3986's unreserved characters as `%XX`:
/// safe in a header (RFC 8187's `filename*`) and in a URL alike.
pub fn encode_percent(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(input: &[u8], plus_is_space: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'%' => {
                let hi = hex_digit(*input.get(i + 1)?)?;
                let lo = hex_digit(*input.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).map(|d| d as u8)
}
