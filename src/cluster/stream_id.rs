//! Stream IDs: `<ms>-<seq>`, the place of an entry in a Redis stream. They
//! are totally ordered (milliseconds, then sequence), and a reader resumes
//! from the last one it saw, never from `$` (which means "only what comes
//! after now" and would lose whatever arrived while it was away).

use std::fmt;
use std::str::FromStr;

use super::error::RedisError;

/// A stream entry's ID: Redis's clock in milliseconds when the entry was
/// added, and a sequence number among entries of the same millisecond.
/// Ordered as Redis orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    /// Milliseconds since the Unix epoch, on Redis's clock.
    pub ms: u64,
    /// Position among entries added in the same millisecond.
    pub seq: u64,
}

impl StreamId {
    /// `0-0`: before every entry. Reading after it reads a stream from its start.
    pub const ZERO: StreamId = StreamId { ms: 0, seq: 0 };

    /// The ID `ms-seq`.
    pub fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The smallest ID after this one (`None` after the largest possible):
    /// an inclusive range that starts there skips this entry.
    pub fn next(self) -> Option<StreamId> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(StreamId::new(self.ms, seq)),
            None => Some(StreamId::new(self.ms.checked_add(1)?, 0)),
        }
    }

    /// Parses `<ms>-<seq>` from bytes (as Redis sends it).
    ///
    /// # Errors
    ///
    /// [`RedisError::BadStreamId`] unless it is two decimal numbers without
    /// signs or leading zeros, each fitting in 64 bits, joined by `-`.
    pub fn parse_bytes(bytes: &[u8]) -> Result<StreamId, RedisError> {
        let bad = || RedisError::BadStreamId {
            text: String::from_utf8_lossy(&bytes[..bytes.len().min(64)]).into_owned(),
        };
        let dash = bytes.iter().position(|&b| b == b'-').ok_or_else(bad)?;
        let ms = number(&bytes[..dash]).ok_or_else(bad)?;
        let seq = number(&bytes[dash + 1..]).ok_or_else(bad)?;
        Ok(StreamId { ms, seq })
    }
}

/// Plain decimal, no sign, no leading zero (so each ID has one spelling).
fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl FromStr for StreamId {
    type Err = RedisError;

    fn from_str(s: &str) -> Result<StreamId, RedisError> {
        StreamId::parse_bytes(s.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let id: StreamId = "1526919030474-55".parse().unwrap();
        assert_eq!(id, StreamId::new(1_526_919_030_474, 55));
        assert_eq!(id.to_string(), "1526919030474-55");
        let max = format!("{}-{}", u64::MAX, u64::MAX);
        assert_eq!(max.parse::<StreamId>().unwrap().to_string(), max);
        assert_eq!("0-0".parse::<StreamId>().unwrap(), StreamId::ZERO);
    }

    #[test]
    fn orders_by_milliseconds_then_sequence() {
        let ids: Vec<StreamId> = ["0-0", "0-1", "1-0", "1-9", "2-0", "10-0"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        // Text order is not ID order: "10-0" < "2-0" as strings.
        assert!(StreamId::new(10, 0) > StreamId::new(2, 0));
    }

    #[test]
    fn next_is_the_smallest_later_id() {
        assert_eq!(StreamId::new(5, 1).next(), Some(StreamId::new(5, 2)));
        assert_eq!(StreamId::new(5, u64::MAX).next(), Some(StreamId::new(6, 0)));
        assert_eq!(StreamId::new(u64::MAX, u64::MAX).next(), None);
    }

    #[test]
    fn refuses_other_spellings() {
        for bad in [
            "",
            "-",
            "1",
            "1-",
            "-1",
            "1-2-3",
            "01-1",
            "1-01",
            "+1-1",
            "1-+1",
            " 1-1",
            "1-1 ",
            "a-1",
            "1-b",
            "$",
            "*",
            "18446744073709551616-0",
            "0-18446744073709551616",
        ] {
            assert!(bad.parse::<StreamId>().is_err(), "{bad:?}");
        }
    }
}
