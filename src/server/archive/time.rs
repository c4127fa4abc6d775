//! Record dates as microseconds since 1970 (UTC), so a time reference (an
//! IRCv3 `timestamp=`) can be found among the records by binary search.

/// Parses `YYYY-MM-DD hh:mm:ss[.frac]` (the `log.txt` date) or
/// `YYYY-MM-DDThh:mm:ss[.frac]Z` (ISO 8601 as IRCv3 `server-time` writes
/// it) into microseconds since 1970-01-01 UTC. Fractions beyond
/// microseconds are cut. `None` for anything else, or an impossible date.
pub fn parse_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let iso = match b[10] {
        b' ' => false,
        b'T' => true,
        _ => return None,
    };
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    let mut rest = &b[19..];
    let mut micros = 0;
    if let Some((b'.', frac)) = rest.split_first() {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for i in 0..6 {
            micros = micros * 10
                + frac
                    .get(i)
                    .filter(|_| i < n)
                    .map_or(0, |c| i64::from(c - b'0'));
        }
        rest = &frac[n..];
    }
    match (iso, rest) {
        (false, []) | (true, [b'Z']) => {}
        _ => return None,
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second.min(59);
    Some(secs * 1_000_000 + micros)
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`, the inverse of the one in `clock`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::format_utc;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn reads_what_the_clock_writes() {
        for micros in [
            0u64,
            951_782_400_000_000,
            1_795_256_102_123_456,
            4_102_444_799_999_999,
        ] {
            let text = format_utc(UNIX_EPOCH + Duration::from_micros(micros));
            assert_eq!(parse_time(&text), Some(micros as i64), "{text}");
        }
    }

    #[test]
    fn reads_irc_server_time() {
        let log = parse_time("2026-11-21 10:15:02.123000").unwrap();
        assert_eq!(parse_time("2026-11-21T10:15:02.123Z"), Some(log));
        assert_eq!(parse_time("2026-11-21T10:15:02Z"), Some(log - 123_000));
        assert_eq!(
            parse_time("2026-11-21T10:15:02.123456789Z"),
            Some(log + 456)
        );
    }

    #[test]
    fn refuses_what_is_not_a_date() {
        for bad in [
            "",
            "2026-11-21",
            "2026-11-21 10:15:02.",
            "2026-11-21T10:15:02",
            "2026-11-21 10:15:02Z",
            "2026-13-01 00:00:00",
            "2026-02-29 00:00:00",
            "2026-11-21 24:00:00",
            "2026-11-21 10:15:02.12x",
            "+026-11-21 10:15:02",
            "２026-11-21 10:15:02",
        ] {
            assert_eq!(parse_time(bad), None, "{bad:?}");
        }
        assert!(parse_time("2024-02-29 00:00:00").is_some());
    }
}
