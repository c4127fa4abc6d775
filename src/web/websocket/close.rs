//! Close codes and close-frame payloads (RFC 6455 sections 5.5.1 and 7.4):
//! which codes may travel on the wire, and how a payload is checked.

use super::frame::MAX_CONTROL_PAYLOAD;
use super::WsError;

/// A close status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseCode(pub u16);

impl CloseCode {
    pub const NORMAL: CloseCode = CloseCode(1000);
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// Never on the wire: what an empty close payload means.
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// Never on the wire: the connection dropped without a close frame.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// IANA-registered: the server is restarting; a client may reconnect.
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);

    /// Whether a close frame may carry this code: 1000-1003 and 1007-1014
    /// (RFC 6455 plus the three IANA registered later: restart, try again,
    /// bad gateway), and 3000-4999 for libraries and applications. 1005,
    /// 1006 and 1015 stand for "no code" and are never sent.
    pub fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

/// The code and reason a close frame carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    pub code: CloseCode,
    pub reason: String,
}

/// Reads a close frame's payload: empty (no code), or a valid code and a
/// UTF-8 reason.
///
/// # Errors
/// `Protocol` for a one-byte payload or a code not allowed on the wire,
/// `InvalidUtf8` for a reason that is not UTF-8.
pub fn parse_close_payload(payload: &[u8]) -> Result<Option<CloseFrame>, WsError> {
    match payload {
        [] => Ok(None),
        [_] => Err(WsError::protocol("close payload of one byte")),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_valid_on_wire() {
                return Err(WsError::protocol("close code not allowed on the wire"));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| WsError::InvalidUtf8)?;
            Ok(Some(CloseFrame {
                code,
                reason: reason.to_string(),
            }))
        }
    }
}

/// The payload of a close frame carrying `code` and `reason`; the reason is
/// cut on a character boundary to fit the 125 bytes of a control frame.
pub fn close_payload(code: CloseCode, reason: &str) -> Vec<u8> {
    let mut end = reason.len().min(MAX_CONTROL_PAYLOAD - 2);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut payload = code.0.to_be_bytes().to_vec();
    payload.extend_from_slice(&reason.as_bytes()[..end]);
    payload
}
