//! Wall-clock formatting without a date crate: UTC timestamps for the `Date`
//! header and `log.txt`, the same dates labelled `UTC` for people, and the
//! `h:mm:ss` elapsed time shown on messages.
//!
//! The machine format, which clients parse and which `log.txt` and
//! `files.txt` store, is `YYYY-MM-DD hh:mm:ss.uuuuuu`, always in UTC and
//! carrying no zone: a fixed 26 characters. Only what people read carries
//! the label.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now, as `2026-11-21 10:15:02.123456` (UTC).
pub fn now_utc() -> String {
    format_utc(SystemTime::now())
}

/// `t` as `YYYY-MM-DD hh:mm:ss.uuuuuu` in UTC; times before 1970 print as the epoch.
pub fn format_utc(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    // Every message is dated: digits written in place, not through
    // `format!`'s padding machinery (that was 2.7% of a flood's CPU).
    let mut out = [0u8; 26];
    let fields: [(u64, usize, u8); 7] = [
        (year.clamp(0, 9999) as u64, 4, b'-'),
        (u64::from(month), 2, b'-'),
        (u64::from(day), 2, b' '),
        (rem / 3600, 2, b':'),
        (rem / 60 % 60, 2, b':'),
        (rem % 60, 2, b'.'),
        (u64::from(since.subsec_micros()), 6, 0),
    ];
    let mut at = 0;
    for (value, width, sep) in fields {
        let mut v = value;
        for i in (0..width).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        at += width;
        if sep != 0 {
            out[at] = sep;
            at += 1;
        }
    }
    out.iter().map(|&b| char::from(b)).collect()
}

/// What people are told the dates are in: the server has no time zone
/// database, so it never converts, and says so instead.
pub const ZONE_LABEL: &str = "UTC";

/// A machine date cut to the minute and labelled for people:
/// `2026-11-21 10:15:02.123456` becomes `2026-11-21 10:15 UTC`. Text of
/// any other shape is returned as it is, unlabelled.
pub fn to_minute_label(date: &str) -> String {
    labelled(date, 16)
}

/// A machine date cut to the second and labelled for people:
/// `2026-11-21 10:15:02 UTC`.
pub fn to_second_label(date: &str) -> String {
    labelled(date, 19)
}

fn labelled(date: &str, len: usize) -> String {
    if is_machine_date(date) {
        format!("{} {ZONE_LABEL}", &date[..len])
    } else {
        date.to_string()
    }
}

/// True when `date` starts `YYYY-MM-DD hh:mm:ss`, as [`format_utc`] writes.
fn is_machine_date(date: &str) -> bool {
    let b = date.as_bytes();
    b.len() >= 19
        && b[..19].iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b' ',
            13 | 16 => c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// Elapsed time as `h:mm:ss` (hours are not capped at 24).
pub fn hms(elapsed: Duration) -> String {
    let s = elapsed.as_secs();
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`, exact for every day a `u64` of seconds can reach).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(UNIX_EPOCH), "1970-01-01 00:00:00.000000");
        let t = UNIX_EPOCH + Duration::from_micros(1_795_256_102_123_456);
        assert_eq!(format_utc(t), "2026-11-21 10:15:02.123456");
        // A leap day, and the day after it.
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(format_utc(leap), "2000-02-29 00:00:00.000000");
        assert_eq!(
            format_utc(leap + Duration::from_secs(86_400)),
            "2000-03-01 00:00:00.000000"
        );
    }

    #[test]
    fn dates_shown_to_people_say_utc() {
        let date = "2026-11-21 10:15:02.123456";
        assert_eq!(to_minute_label(date), "2026-11-21 10:15 UTC");
        assert_eq!(to_second_label(date), "2026-11-21 10:15:02 UTC");
        assert_eq!(to_minute_label(&now_utc()).len(), 20);
        // Whatever a peer sent that is no date of ours is not labelled.
        for other in ["", "yesterday", "2026-11-21", "2026-11-21T10:15:02Z"] {
            assert_eq!(to_minute_label(other), other);
        }
    }

    #[test]
    fn the_machine_format_has_no_zone_and_a_fixed_width() {
        let date = now_utc();
        assert_eq!(date.len(), 26, "{date}");
        assert!(is_machine_date(&date), "{date}");
        assert!(!date.contains("UTC") && !date.ends_with('Z'), "{date}");
    }

    #[test]
    fn elapsed_time_is_hours_minutes_seconds() {
        assert_eq!(hms(Duration::from_secs(17)), "0:00:17");
        assert_eq!(hms(Duration::from_secs(3600 + 62)), "1:01:02");
        assert_eq!(hms(Duration::from_secs(100 * 3600)), "100:00:00");
    }
}
