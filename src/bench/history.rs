//! `chat-bench history`: the history storage (`server::archive`) measured
//! in process on a generated `log.txt` of millions of records: index build
//! and load time, memory, page latency, search time. No server and no
//! network: the figures are the storage layer's own, for the README.
//!
//! Each measurement runs in a child process of its own (`--phase`), so its
//! memory figures are not inflated by what an earlier one allocated.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant, UNIX_EPOCH};

use super::history_log::{
    date_micros, generate, room_name, Rng, ABSENT, BASE_SECS, CLOSED_ROOM, EVERY_1000TH, RARE,
};
use super::proc::proc_mem;
use crate::clock::format_utc;
use crate::server::archive::{
    Archive, Query, Ref, SearchLimits, SearchQuery, Target, INDEX_FILE, PAGE_HITS,
};
use crate::server::history::{FsyncPolicy, Kind, MessageLog, Record};

/// The `chat-bench history --help` text.
pub const HISTORY_USAGE: &str = "\
chat-bench history: the history storage on a large generated log.txt

USAGE:
    chat-bench history --dir DIR [OPTIONS]

OPTIONS:
    --dir DIR          where log.txt and log.idx go (use a temporary directory;
                       10,000,000 messages take about 1.3 GB)
    --messages N       messages to generate (default 10000000)
    --rooms K          rooms they are spread over, at random (default 100)
    --requests R       page requests per measurement (default 1000)
    --reuse            keep DIR/log.txt if it exists instead of generating it
    --phase P          all (default): generate, then build, log-open and serve,
                       each in a child process; or just one of those
    -h, --help         this text

About 1% of the messages are whispers between 1,000 nicknames; one room is
closed half-way and recreated. The word `xylophonist` is in the message at
10% of the log, `quokka` in every 1,000th message, `zebrafish` in none.
Times are wall-clock with the log in the page cache (it was just written).
";

/// One part of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    All,
    /// Build the index by scanning the whole log (no saved index).
    Build,
    /// `MessageLog::open` on the same log: what start-up costs today.
    LogOpen,
    /// Open with the saved index, then pages and searches.
    Serve,
}

/// What `chat-bench history` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryConfig {
    pub(crate) dir: PathBuf,
    pub(crate) messages: u64,
    pub(crate) rooms: u64,
    pub(crate) requests: usize,
    pub(crate) reuse: bool,
    pub(crate) phase: Phase,
}

/// Parses the arguments after `history`; `Ok(None)` asks for the help text.
///
/// # Errors
/// What is wrong with the command line.
pub fn parse_history(args: &[String]) -> Result<Option<HistoryConfig>, String> {
    let mut dir = None;
    let mut config = HistoryConfig {
        dir: PathBuf::new(),
        messages: 10_000_000,
        rooms: 100,
        requests: 1000,
        reuse: false,
        phase: Phase::All,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        match name {
            "-h" | "--help" => return Ok(None),
            "--reuse" => {
                config.reuse = true;
                continue;
            }
            _ => {}
        }
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))?,
        };
        let number = |max: u64| -> Result<u64, String> {
            value
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    format!("{name}: expected a whole number in 1..={max}, got {value:?}")
                })
        };
        match name {
            "--dir" => dir = Some(PathBuf::from(&value)),
            "--messages" => config.messages = number(100_000_000)?,
            "--rooms" => config.rooms = number(100_000)?,
            "--requests" => config.requests = number(1_000_000)? as usize,
            "--phase" => {
                config.phase = match value.as_str() {
                    "all" => Phase::All,
                    "build" => Phase::Build,
                    "log-open" => Phase::LogOpen,
                    "serve" => Phase::Serve,
                    _ => {
                        return Err(format!(
                            "--phase: expected all, build, log-open or serve, got {value:?}"
                        ))
                    }
                }
            }
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    config.dir = dir.ok_or("--dir is required (a temporary directory: the log is large)")?;
    Ok(Some(config))
}

/// Runs what `config` asks and prints the figures; failure on any error.
pub fn run_history(config: &HistoryConfig) -> ExitCode {
    let result = match config.phase {
        Phase::All => all(config),
        Phase::Build => build(config),
        Phase::LogOpen => log_open(config),
        Phase::Serve => serve(config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-bench history: {e}");
            ExitCode::FAILURE
        }
    }
}

fn all(config: &HistoryConfig) -> Result<(), String> {
    fs::create_dir_all(&config.dir).map_err(|e| format!("{}: {e}", config.dir.display()))?;
    let log = config.dir.join("log.txt");
    if config.reuse && log.exists() {
        println!("log.txt: reusing {}", log.display());
    } else {
        let started = Instant::now();
        let bytes = generate(&log, config.messages, config.rooms)
            .map_err(|e| format!("writing {}: {e}", log.display()))?;
        println!(
            "log.txt: {} messages, {:.2} GB, generated in {:.1} s",
            config.messages,
            bytes as f64 / 1e9,
            started.elapsed().as_secs_f64()
        );
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
    for phase in ["build", "log-open", "serve"] {
        let status = Command::new(&exe)
            .arg("history")
            .arg("--dir")
            .arg(&config.dir)
            .args(["--messages", &config.messages.to_string()])
            .args(["--rooms", &config.rooms.to_string()])
            .args(["--requests", &config.requests.to_string()])
            .args(["--phase", phase])
            .status()
            .map_err(|e| format!("cannot run phase {phase}: {e}"))?;
        if !status.success() {
            return Err(format!("phase {phase} failed ({status})"));
        }
    }
    Ok(())
}

fn paths(config: &HistoryConfig) -> (PathBuf, PathBuf) {
    (config.dir.join("log.txt"), config.dir.join(INDEX_FILE))
}

fn build(config: &HistoryConfig) -> Result<(), String> {
    let (log, index) = paths(config);
    let _ = fs::remove_file(&index);
    let started = Instant::now();
    let (archive, opened) = Archive::open(&log, &index).map_err(|e| e.to_string())?;
    let took = started.elapsed();
    let stats = archive.stats();
    println!(
        "build (no saved index): {:.2} s for {} records, {} rooms, {} conversations; \
         index {:.1} MiB in memory; {}",
        took.as_secs_f64(),
        opened.records,
        stats.rooms,
        stats.conversations,
        mib(stats.heap_bytes as u64),
        memory()
    );
    if let Some(e) = opened.save_error {
        return Err(format!("saving the index: {e}"));
    }
    let size = fs::metadata(&index).map_or(0, |m| m.len());
    println!("  (that includes saving log.idx, {:.1} MiB)", mib(size));
    Ok(())
}

fn log_open(config: &HistoryConfig) -> Result<(), String> {
    let (log, _) = paths(config);
    let started = Instant::now();
    let (_log, loaded) =
        MessageLog::open(&log, FsyncPolicy::Never, 20).map_err(|e| e.to_string())?;
    println!(
        "MessageLog::open (the server's start-up: the saved index, and the last 20 of each room): {:.2} s for {} records; {}",
        started.elapsed().as_secs_f64(),
        loaded.records,
        memory()
    );
    Ok(())
}

fn serve(config: &HistoryConfig) -> Result<(), String> {
    let (log, index) = paths(config);
    let started = Instant::now();
    let (archive, opened) = Archive::open(&log, &index).map_err(|e| e.to_string())?;
    println!(
        "open with saved index: {:.3} s ({:?}, {} bytes scanned past it); {}",
        started.elapsed().as_secs_f64(),
        opened.saved_index,
        opened.scanned_bytes,
        memory()
    );
    let n = opened.records;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    // Any room but the one closed half-way, whose pages before that are empty.
    let room = |rng: &mut Rng| {
        let i = rng.below(config.rooms.saturating_sub(1).max(1));
        let i = if i >= CLOSED_ROOM && config.rooms > CLOSED_ROOM {
            i + 1
        } else {
            i
        };
        Target::Room(room_name(i, config.rooms))
    };
    let newest = time_pages(&archive, config.requests, |_| {
        (room(&mut rng), Query::Latest)
    })?;
    println!("page of {PAGE_HITS}, newest:          {newest}");
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let middle = time_pages(&archive, config.requests, |_| {
        let seq = n / 2 + rng.below(n / 100 + 1);
        (room(&mut rng), Query::Before(Ref::Seq(seq)))
    })?;
    println!("page of {PAGE_HITS}, middle (Before):  {middle}");
    let mut rng = Rng(0x0fed_cba9_8765_4321);
    let by_time = time_pages(&archive, config.requests, |_| {
        let seq = 1 + rng.below(n);
        let micros = date_micros(seq) as i64;
        (room(&mut rng), Query::Around(Ref::Time(micros)))
    })?;
    println!("page of {PAGE_HITS}, Around a time:    {by_time}");

    for (label, word) in [
        ("once, at 10% of the log", RARE),
        ("in every 1,000th message", EVERY_1000TH),
        ("nowhere", ABSENT),
    ] {
        search_report(&archive, label, word, None)?;
    }
    search_report(
        &archive,
        "in every 1,000th message, one room",
        EVERY_1000TH,
        Some(&room_name(3, config.rooms)),
    )?;

    let started = Instant::now();
    let saved = archive.save_index().map_err(|e| e.to_string())?;
    println!(
        "save_index: {:.3} s for {:.1} MiB, of which {:.1} ms under the read lock",
        started.elapsed().as_secs_f64(),
        mib(saved.bytes),
        ms(saved.locked)
    );
    let started = Instant::now();
    let recent = archive.recent(20).map_err(|e| e.to_string())?;
    println!(
        "recent(20) for {} rooms (what start-up loads for newcomers): {:.1} ms",
        recent.len(),
        ms(started.elapsed())
    );
    note_append_cost(&archive, opened.end, opened.next_seq);
    println!("at the end: {}", memory());
    Ok(())
}

/// Runs `requests` page requests, checking each page is full.
fn time_pages(
    archive: &Archive,
    requests: usize,
    mut next: impl FnMut(usize) -> (Target, Query),
) -> Result<String, String> {
    let mut times = Vec::with_capacity(requests);
    for i in 0..requests {
        let (target, query) = next(i);
        let started = Instant::now();
        let page = archive
            .page(&target, query, PAGE_HITS)
            .map_err(|e| e.to_string())?;
        times.push(started.elapsed());
        if page.records.len() != PAGE_HITS {
            return Err(format!(
                "{target:?} {query:?}: {} records, expected {PAGE_HITS}",
                page.records.len()
            ));
        }
    }
    Ok(percentiles(&mut times))
}

fn percentiles(times: &mut [Duration]) -> String {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    format!(
        "p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms ({} requests)",
        ms(at(0.5)),
        ms(at(0.99)),
        ms(at(1.0)),
        times.len()
    )
}

/// A search with default limits, continued until the first page of hits
/// is full or the log is exhausted; reports time, requests and bytes.
fn search_report(
    archive: &Archive,
    label: &str,
    word: &str,
    room: Option<&str>,
) -> Result<(), String> {
    let started = Instant::now();
    let mut before = None;
    let mut hits = 0;
    let mut requests = 0;
    let mut scanned = 0;
    loop {
        let query = SearchQuery {
            text: word,
            me: "u0001",
            room,
            before,
        };
        let page = archive
            .search(&query, &|_| true, SearchLimits::default())
            .map_err(|e| e.to_string())?;
        requests += 1;
        hits += page.hits.len();
        scanned += page.scanned_bytes;
        match page.next {
            Some(next) if hits < PAGE_HITS => before = Some(next),
            _ => break,
        }
    }
    println!(
        "search for a word {label}: {:.3} s, {hits} hits, {requests} request(s), {:.0} MB read",
        started.elapsed().as_secs_f64(),
        scanned as f64 / 1e6
    );
    Ok(())
}

/// What `note_append` costs under the log's lock: 100,000 records noted at
/// offsets past the file (the index is not saved afterwards, and nothing
/// reads them).
fn note_append_cost(archive: &Archive, end: u64, next_seq: u64) {
    let mut record = Record {
        seq: 0,
        date: format_utc(UNIX_EPOCH + Duration::from_secs(BASE_SECS)),
        kind: Kind::Message,
        room: "room01".into(),
        from: "u0001".into(),
        to: "-".into(),
        text: "hello".into(),
    };
    let count = 100_000u64;
    let started = Instant::now();
    for i in 0..count {
        record.seq = next_seq + i;
        archive.note_append(&record, end + i * 100, 100);
    }
    println!(
        "note_append: {:.2} us a record ({count} records)",
        started.elapsed().as_secs_f64() * 1e6 / count as f64
    );
}

fn memory() -> String {
    match proc_mem(std::process::id()) {
        Ok(m) => format!(
            "RSS {:.0} MiB (peak {:.0} MiB)",
            m.rss_kib as f64 / 1024.0,
            m.peak_kib as f64 / 1024.0
        ),
        Err(e) => e,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_options_and_requires_a_directory() {
        let c = parse_history(&args(
            "--dir /tmp/x --messages 5000 --rooms 7 --reuse --phase serve",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(c.dir, PathBuf::from("/tmp/x"));
        assert_eq!(
            (c.messages, c.rooms, c.reuse, c.phase),
            (5000, 7, true, Phase::Serve)
        );
        assert!(parse_history(&args("--messages 5"))
            .unwrap_err()
            .contains("--dir"));
        assert!(parse_history(&args("--dir x --phase fast")).is_err());
        assert!(parse_history(&args("--dir x --rooms 0")).is_err());
        assert_eq!(parse_history(&args("--help")), Ok(None));
    }

    /// The whole bench on a small log: every phase runs and checks its pages.
    #[test]
    fn a_small_run_measures_every_phase() {
        let dir = std::env::temp_dir().join(format!("chat-bench-history-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let config = HistoryConfig {
            dir: dir.clone(),
            messages: 20_000,
            rooms: 10,
            requests: 20,
            reuse: false,
            phase: Phase::All,
        };
        generate(&dir.join("log.txt"), config.messages, config.rooms).unwrap();
        for phase in [Phase::Build, Phase::LogOpen, Phase::Serve] {
            let config = HistoryConfig {
                phase,
                ..config.clone()
            };
            assert_eq!(run_history(&config), ExitCode::SUCCESS, "{phase:?}");
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
