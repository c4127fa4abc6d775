//! The three-digit status codes of reply frames, with their HTTP reason
//! phrases.

/// A three-digit status code of a reply frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u16);

impl Status {
    pub const OK: Status = Status(200);
    /// The reply to `LOGOUT`: the connection is back to its state before login.
    pub const RESET_CONTENT: Status = Status(205);
    pub const BAD_REQUEST: Status = Status(400);
    pub const UNAUTHORIZED: Status = Status(401);
    pub const FORBIDDEN: Status = Status(403);
    pub const NOT_FOUND: Status = Status(404);
    pub const REQUEST_TIMEOUT: Status = Status(408);
    pub const CONFLICT: Status = Status(409);
    pub const PAYLOAD_TOO_LARGE: Status = Status(413);
    pub const TOO_MANY_REQUESTS: Status = Status(429);
    pub const HEADER_TOO_LARGE: Status = Status(431);
    pub const INTERNAL_ERROR: Status = Status(500);
    pub const UNAVAILABLE: Status = Status(503);
    pub const INSUFFICIENT_STORAGE: Status = Status(507);

    /// The standard reason phrase, as HTTP names these codes.
    pub fn reason(self) -> &'static str {
        match self.0 {
            200 => "OK",
            205 => "Reset Content",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            408 => "Request Timeout",
            409 => "Conflict",
            413 => "Payload Too Large",
            429 => "Too Many Requests",
            431 => "Header Fields Too Large",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            507 => "Insufficient Storage",
            _ => "Unknown",
        }
    }

    pub fn is_ok(self) -> bool {
        (200..300).contains(&self.0)
    }
}
