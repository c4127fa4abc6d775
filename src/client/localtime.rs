//! The local time zone, for `--clock wall`, without a date crate: the
//! zone file the C library would use (`TZ=:PATH` or `TZ=Area/City` under
//! `/usr/share/zoneinfo`, else `/etc/localtime`), in TZif format (RFC
//! 8536), its transitions, and past the last one its POSIX `TZ` rule
//! (`CET-1CEST,M3.5.0,M10.5.0/3`); or a `TZ` rule given directly. Anything
//! unreadable is UTC, and the clock says so.

use std::path::PathBuf;

/// Largest zone file read (real ones are a few KiB).
const MAX_ZONE_BYTES: u64 = 256 * 1024;
/// Where zone files are, by name.
const ZONEINFO: &str = "/usr/share/zoneinfo";

/// A UTC offset and its abbreviation (`+3600`, `CET`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offset {
    pub seconds: i64,
    pub name: String,
}

impl Offset {
    fn utc() -> Offset {
        Offset {
            seconds: 0,
            name: "UTC".into(),
        }
    }
}

/// A time zone: transitions (UTC seconds, offset from then on), then a rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Zone {
    transitions: Vec<(i64, Offset)>,
    /// Before the first transition.
    initial: Option<Offset>,
    rule: Option<Rule>,
}

impl Zone {
    /// The zone of this machine and user, or UTC.
    pub fn local() -> Zone {
        let tz = std::env::var("TZ").ok();
        let path = match tz.as_deref() {
            Some(tz) if tz.starts_with(':') => Some(zone_path(&tz[1..])),
            Some("") => None,
            Some(tz) => match parse_rule(tz) {
                Some(rule) => {
                    return Zone {
                        rule: Some(rule),
                        ..Zone::default()
                    }
                }
                None => Some(zone_path(tz)),
            },
            None => Some(PathBuf::from("/etc/localtime")),
        };
        path.and_then(|path| read_capped(&path))
            .and_then(|bytes| parse_tzif(&bytes))
            .unwrap_or_default()
    }

    /// The offset in force at `unix` seconds.
    pub fn offset_at(&self, unix: i64) -> Offset {
        let after = self.transitions.partition_point(|(at, _)| *at <= unix);
        if after == self.transitions.len() {
            if let Some(rule) = &self.rule {
                return rule.offset_at(unix);
            }
        }
        match after.checked_sub(1) {
            Some(i) => self.transitions[i].1.clone(),
            None => self
                .initial
                .clone()
                .or_else(|| self.rule.as_ref().map(|r| r.std.clone()))
                .unwrap_or_else(Offset::utc),
        }
    }
}

fn zone_path(name: &str) -> PathBuf {
    if name.starts_with('/') {
        PathBuf::from(name)
    } else {
        PathBuf::from(ZONEINFO).join(name)
    }
}

fn read_capped(path: &std::path::Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_ZONE_BYTES)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(bytes)
}

/// A reader over the zone file that fails (None) instead of panicking.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
}

/// The counts in a TZif header.
struct Counts {
    isut: usize,
    isstd: usize,
    leap: usize,
    time: usize,
    types: usize,
    chars: usize,
}

fn header(bytes: &mut Bytes<'_>) -> Option<(u8, Counts)> {
    let head = bytes.take(20)?;
    if &head[..4] != b"TZif" {
        return None;
    }
    let version = head[4];
    let mut n = || bytes.u32().map(|v| v as usize);
    let counts = Counts {
        isut: n()?,
        isstd: n()?,
        leap: n()?,
        time: n()?,
        types: n()?,
        chars: n()?,
    };
    Some((version, counts))
}

/// A TZif file: the 64-bit data block when there is one (version 2+), and
/// its footer rule.
pub fn parse_tzif(data: &[u8]) -> Option<Zone> {
    let mut bytes = Bytes(data);
    let (version, counts) = header(&mut bytes)?;
    let mut time_size = 4;
    let mut counts = counts;
    if version >= b'2' {
        // Skip the 32-bit block; the 64-bit one follows with its own header.
        let v1 = counts.time * 5
            + counts.types * 6
            + counts.chars
            + counts.leap * 8
            + counts.isstd
            + counts.isut;
        bytes.take(v1)?;
        counts = header(&mut bytes)?.1;
        time_size = 8;
    }
    if counts.types == 0 || counts.types > 256 || counts.time > 100_000 {
        return None;
    }
    let times = bytes.take(counts.time * time_size)?;
    let indices = bytes.take(counts.time)?;
    let infos = bytes.take(counts.types * 6)?;
    let chars = bytes.take(counts.chars)?;
    bytes.take(counts.leap * (time_size + 4) + counts.isstd + counts.isut)?;
    let types: Vec<Offset> = infos
        .chunks_exact(6)
        .map(|info| {
            let seconds = i64::from(i32::from_be_bytes([info[0], info[1], info[2], info[3]]));
            let start = usize::from(info[5]).min(chars.len());
            let end = chars[start..]
                .iter()
                .position(|&b| b == 0)
                .map_or(chars.len(), |n| start + n);
            let name = String::from_utf8_lossy(&chars[start..end]).into_owned();
            Offset { seconds, name }
        })
        .collect();
    let mut transitions = Vec::with_capacity(counts.time);
    for (at, &index) in times.chunks_exact(time_size).zip(indices) {
        let at = match time_size {
            8 => i64::from_be_bytes(at.try_into().ok()?),
            _ => i64::from(i32::from_be_bytes(at.try_into().ok()?)),
        };
        transitions.push((at, types.get(usize::from(index))?.clone()));
    }
    let rule = if version >= b'2' {
        let footer = String::from_utf8_lossy(bytes.0);
        parse_rule(footer.trim_matches('\n'))
    } else {
        None
    };
    Some(Zone {
        transitions,
        initial: types.first().cloned(),
        rule,
    })
}

/// A POSIX `TZ` rule: standard time, and summer time between two dates.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    std: Offset,
    dst: Option<(Offset, Date, i64, Date, i64)>,
}

/// `Mm.w.d`: weekday `d` (0 Sunday) of week `w` (5: the last) of month `m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Date {
    month: u32,
    week: u32,
    weekday: u32,
}

impl Rule {
    fn offset_at(&self, unix: i64) -> Offset {
        let Some((dst, start, start_time, end, end_time)) = &self.dst else {
            return self.std.clone();
        };
        let year = year_of(unix + self.std.seconds);
        // Start is given in standard time, end in summer time.
        let begins = start.day(year) * 86_400 + start_time - self.std.seconds;
        let ends = end.day(year) * 86_400 + end_time - dst.seconds;
        let summer = if begins < ends {
            begins <= unix && unix < ends
        } else {
            !(ends <= unix && unix < begins)
        };
        if summer {
            dst.clone()
        } else {
            self.std.clone()
        }
    }
}

impl Date {
    /// The day (since 1970-01-01) this date falls on in `year`.
    fn day(&self, year: i64) -> i64 {
        let first = days_from_civil(year, self.month, 1);
        // 1970-01-01 was a Thursday (4).
        let weekday = (first + 4).rem_euclid(7);
        let mut day = first + (i64::from(self.weekday) - weekday).rem_euclid(7);
        day += 7 * (i64::from(self.week) - 1);
        let next_month = if self.month == 12 {
            days_from_civil(year + 1, 1, 1)
        } else {
            days_from_civil(year, self.month + 1, 1)
        };
        while day >= next_month {
            day -= 7;
        }
        day
    }
}

/// Parses a POSIX `TZ` rule; `None` for what it does not understand
/// (then the transitions, or UTC, are used).
fn parse_rule(text: &str) -> Option<Rule> {
    let mut rest = text;
    let std_name = name(&mut rest)?;
    let std = Offset {
        seconds: -signed_time(&mut rest)?,
        name: std_name,
    };
    if rest.is_empty() {
        return Some(Rule { std, dst: None });
    }
    let dst_name = name(&mut rest)?;
    let dst_seconds = if rest.starts_with(',') {
        std.seconds + 3600
    } else {
        -signed_time(&mut rest)?
    };
    let dst = Offset {
        seconds: dst_seconds,
        name: dst_name,
    };
    let part = |rest: &mut &str| -> Option<(Date, i64)> {
        *rest = rest.strip_prefix(',')?;
        let date = month_date(rest)?;
        let time = match rest.strip_prefix('/') {
            Some(after) => {
                *rest = after;
                signed_time(rest)?
            }
            None => 7200,
        };
        Some((date, time))
    };
    let (start, start_time) = part(&mut rest)?;
    let (end, end_time) = part(&mut rest)?;
    rest.is_empty().then_some(Rule {
        std,
        dst: Some((dst, start, start_time, end, end_time)),
    })
}

/// A zone abbreviation: letters, or anything in `<...>`.
fn name(rest: &mut &str) -> Option<String> {
    if let Some(quoted) = rest.strip_prefix('<') {
        let end = quoted.find('>')?;
        let name = quoted[..end].to_string();
        *rest = &quoted[end + 1..];
        return (!name.is_empty()).then_some(name);
    }
    let end = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    let name = rest[..end].to_string();
    *rest = &rest[end..];
    (name.len() >= 3).then_some(name)
}

/// `[+-]hh[:mm[:ss]]` in seconds.
fn signed_time(rest: &mut &str) -> Option<i64> {
    let negative = rest.starts_with('-');
    *rest = rest.trim_start_matches(['+', '-']);
    let end = rest
        .find(|c: char| !c.is_ascii_digit() && c != ':')
        .unwrap_or(rest.len());
    let mut seconds = 0;
    for (i, part) in rest[..end].split(':').enumerate() {
        let n: i64 = part.parse().ok()?;
        seconds += n * [3600, 60, 1].get(i)?;
    }
    *rest = &rest[end..];
    Some(if negative { -seconds } else { seconds })
}

/// `Mm.w.d`.
fn month_date(rest: &mut &str) -> Option<Date> {
    let after = rest.strip_prefix('M')?;
    let end = after
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(after.len());
    let mut parts = after[..end].split('.').map(str::parse::<u32>);
    let date = Date {
        month: parts.next()?.ok()?,
        week: parts.next()?.ok()?,
        weekday: parts.next()?.ok()?,
    };
    *rest = &after[end..];
    ((1..=12).contains(&date.month) && (1..=5).contains(&date.week) && date.weekday <= 6)
        .then_some(date)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The year `unix` seconds fall in.
fn year_of(unix: i64) -> i64 {
    let days = unix.div_euclid(86_400);
    let mut year = 1970 + days.div_euclid(366);
    while days_from_civil(year + 1, 1, 1) <= days {
        year += 1;
    }
    year
}

/// `hh:mm:ss` of `unix` seconds at `offset`.
pub fn hms_at(unix: i64, offset: &Offset) -> String {
    let secs = (unix + offset.seconds).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-15 12:00 and 2026-07-15 12:00 UTC.
    const WINTER: i64 = 1_768_478_400;
    const SUMMER: i64 = 1_784_116_800;

    #[test]
    fn civil_days_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(year_of(WINTER), 2026);
        assert_eq!(year_of(days_from_civil(2024, 12, 31) * 86_400), 2024);
    }

    #[test]
    fn a_posix_rule_with_summer_time() {
        let rule = parse_rule("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        assert_eq!(rule.offset_at(WINTER).name, "CET");
        assert_eq!(rule.offset_at(WINTER).seconds, 3600);
        assert_eq!(rule.offset_at(SUMMER).name, "CEST");
        assert_eq!(hms_at(SUMMER, &rule.offset_at(SUMMER)), "14:00:00");
        // 2026-03-29 01:00 UTC is when Europe moves its clocks.
        let change = days_from_civil(2026, 3, 29) * 86_400 + 3600;
        assert_eq!(rule.offset_at(change - 1).name, "CET");
        assert_eq!(rule.offset_at(change).name, "CEST");
        let south = parse_rule("AEST-10AEDT,M10.1.0,M4.1.0/3").unwrap();
        assert_eq!(south.offset_at(WINTER).name, "AEDT");
        assert_eq!(south.offset_at(SUMMER).name, "AEST");
        let fixed = parse_rule("<+0530>-5:30").unwrap();
        assert_eq!(fixed.offset_at(WINTER).seconds, 19_800);
        assert_eq!(
            parse_rule("EST5EDT,M3.2.0,M11.1.0")
                .unwrap()
                .offset_at(SUMMER)
                .seconds,
            -4 * 3600
        );
        for bad in [
            "",
            "X",
            "CET-1CEST,M13.1.0,M1.1.0",
            "CET-1CEST,M3.5.0",
            "CET-x",
        ] {
            assert_eq!(parse_rule(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_tzif_file_with_transitions_and_a_footer() {
        // Version 2: an empty 32-bit block, then one transition to CET in
        // 1970 and the footer for what follows.
        let mut file = Vec::new();
        let head = |file: &mut Vec<u8>, time: u32, types: u32, chars: u32| {
            file.extend_from_slice(b"TZif2");
            file.extend_from_slice(&[0; 15]);
            for n in [0, 0, 0, time, types, chars] {
                file.extend_from_slice(&u32::to_be_bytes(n));
            }
        };
        head(&mut file, 0, 1, 4);
        file.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        file.extend_from_slice(b"UTC\0");
        head(&mut file, 1, 2, 8);
        file.extend_from_slice(&i64::to_be_bytes(0));
        file.push(1);
        file.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        file.extend_from_slice(&[0, 0, 0x0e, 0x10, 0, 4]);
        file.extend_from_slice(b"UTC\0CET\0");
        file.extend_from_slice(b"\nCET-1CEST,M3.5.0,M10.5.0/3\n");
        let zone = parse_tzif(&file).unwrap();
        assert_eq!(zone.offset_at(-10).name, "UTC");
        assert_eq!(zone.offset_at(WINTER).name, "CET");
        assert_eq!(zone.offset_at(SUMMER).name, "CEST");
        assert_eq!(parse_tzif(&file[..30]), None, "truncated");
        assert_eq!(parse_tzif(b"not a zone file at all, no no no no no"), None);
    }

    #[test]
    fn real_zone_files_when_the_machine_has_them() {
        for (name, winter, summer) in [
            ("Europe/Berlin", ("CET", 3600), ("CEST", 7200)),
            ("America/New_York", ("EST", -18_000), ("EDT", -14_400)),
            ("Australia/Sydney", ("AEDT", 39_600), ("AEST", 36_000)),
            ("Asia/Kolkata", ("IST", 19_800), ("IST", 19_800)),
        ] {
            let Some(bytes) = read_capped(&zone_path(name)) else {
                continue; // no tzdata here
            };
            let zone = parse_tzif(&bytes).unwrap();
            let w = zone.offset_at(WINTER);
            let s = zone.offset_at(SUMMER);
            assert_eq!((w.name.as_str(), w.seconds), winter, "{name}");
            assert_eq!((s.name.as_str(), s.seconds), summer, "{name}");
            // Far past the transitions, the footer rule answers.
            let later = SUMMER + 40 * 365 * 86_400;
            assert_eq!(zone.offset_at(later).seconds, summer.1, "{name} in 2066");
        }
    }

    #[test]
    fn the_machines_zone_reads_or_falls_back_to_utc() {
        let zone = Zone::local();
        assert!(!zone.offset_at(WINTER).name.is_empty());
    }
}
