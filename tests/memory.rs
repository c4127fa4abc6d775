//! The server's memory under output nobody reads (issue 19): queues before
//! login stay small, all queues together stay under a ceiling with the
//! largest cut off first, nobody else waits, and the memory goes back
//! afterwards. Bounds are read from /proc/PID/status (VmRSS, VmHWM).

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use chat::command::{ChatRequest, Control};
use chat::event::Event;
use support::{Raw, Server, TempDir};

const MIB: u64 = 1024;

/// Waits until the server's RSS (KiB) is within `slack` of `baseline`;
/// returns the last reading.
fn rss_settles(server: &Server, baseline: u64, slack: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rss = server.proc_status("VmRSS");
        if rss <= baseline + slack || Instant::now() > deadline {
            return rss;
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// 100 connections that never log in and never read, sending PINGs as
/// fast as the server takes them for 5 seconds: each is capped (rate,
/// then flooding) and its output stays small; the server grows by little
/// and gives it back.
#[test]
fn pings_from_connections_that_never_read_cost_little_and_are_given_back() {
    let dir = TempDir::new("mem-pings");
    let server = Server::start_with(
        dir.path(),
        &["--no-replay", "--quiet", "--max-per-ip", "1000"],
    );
    let mut calm = Raw::login(server.port, "calm");
    let baseline = server.proc_status("VmRSS");
    let ping = Control::Ping.into_frame().encode().repeat(64);
    let started = Instant::now();
    let flooders: Vec<_> = (0..100)
        .map(|_| {
            let ping = ping.clone();
            let port = server.port;
            thread::spawn(move || {
                let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
                    return;
                };
                support::shrink_receive_buffer(&s, 4096);
                // A write that waits is the server not keeping up with
                // 100 flooders on two cores: keep pushing until the time is up.
                let _ = s.set_write_timeout(Some(Duration::from_millis(500)));
                while started.elapsed() < Duration::from_secs(5) {
                    match s.write(&ping) {
                        Ok(_) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    // Meanwhile a logged-in client is served as usual.
    calm.say("still here");
    for f in flooders {
        f.join().unwrap();
    }
    let grown = server.proc_status("VmHWM").saturating_sub(baseline);
    eprintln!("baseline {baseline} KiB, peak growth {grown} KiB");
    assert!(grown < 64 * MIB, "grew by {grown} KiB during the attack");
    let after = rss_settles(&server, baseline, 16 * MIB);
    eprintln!("after {after} KiB");
    assert!(
        after <= baseline + 16 * MIB,
        "{after} KiB after, {baseline} KiB before"
    );
}

/// 100 logged-in clients that never read while a busy room fills their
/// queues: all queues together stay under --max-queued-bytes (the largest
/// cut off first, "send queue exceeded"), a client who reads gets every
/// message, and the memory goes back once they are gone. (Room messages
/// are shared by all the queues that hold them, so the charge, which
/// counts each in full for every queue, passes the ceiling well before
/// the memory does.)
#[test]
fn queues_nobody_reads_stay_under_the_ceiling_and_memory_goes_back() {
    let dir = TempDir::new("mem-ceiling");
    let server = Server::start_with(
        dir.path(),
        &[
            "--no-replay",
            "--quiet",
            "--no-rate-limit",
            "--max-per-ip",
            "1000",
            "--announce-limit",
            "10",
            "--queue-bytes",
            "100000000",
            "--max-queued-bytes",
            "16000000",
        ],
    );
    let mut reader = Raw::login(server.port, "reader");
    let mut talker = Raw::login(server.port, "talker");
    let baseline = server.proc_status("VmRSS");
    let sleepers: Vec<Raw> = (0..100)
        .map(|i| {
            let raw = Raw::login(server.port, &format!("s{i}"));
            support::shrink_receive_buffer(&raw.stream, 4096);
            raw
        })
        .collect();
    // Each message reaches 101 queues: 100 of them nobody reads.
    let text = "x".repeat(4000);
    let count = 3000;
    let talk = thread::spawn(move || {
        for _ in 0..count {
            let frame = ChatRequest::Say {
                room: None,
                text: text.clone(),
            }
            .into_frame()
            .encode();
            if talker.stream.write_all(&frame).is_err() {
                break;
            }
        }
        talker
    });
    let mut got = 0;
    while got < count {
        reader.expect_event(|e| matches!(e, Event::Message { from, .. } if from == "talker"));
        got += 1;
    }
    talk.join().unwrap();
    // No queue reached its own bound: the ceiling cut the largest.
    server.stdout.wait_for(
        "disconnected: send queue exceeded (all queues together passed --max-queued-bytes",
    );
    let grown = server.proc_status("VmHWM").saturating_sub(baseline);
    eprintln!("baseline {baseline} KiB, peak growth {grown} KiB");
    assert!(grown < 64 * MIB, "grew by {grown} KiB");
    drop(sleepers);
    let after = rss_settles(&server, baseline, 16 * MIB);
    eprintln!("after {after} KiB");
    assert!(
        after <= baseline + 16 * MIB,
        "{after} KiB after, {baseline} KiB before"
    );
}

/// The server runs with glibc's per-thread cache of freed blocks off (it
/// re-executes itself once so, with its other tunables, which
/// `memory::with_ours` tests: glibc cuts the copy of the environment that
/// /proc shows after the first tunable it reads): that cache held most of
/// an idle client's heap. An environment that sizes the cache itself is
/// left alone.
#[test]
fn the_server_runs_without_per_thread_allocator_caches() {
    let environ = |server: &Server| {
        let raw = std::fs::read(format!("/proc/{}/environ", server.pid())).expect("environ");
        String::from_utf8_lossy(&raw)
            .split('\0')
            .find_map(|v| v.strip_prefix("GLIBC_TUNABLES=").map(str::to_string))
    };
    let dir = TempDir::new("tcache");
    let server = Server::start(dir.path());
    assert_eq!(
        environ(&server).as_deref(),
        Some("glibc.malloc.tcache_count=0")
    );
    drop(server);
    let dir = TempDir::new("tcache-own");
    let server = Server::start_in_shell(
        dir.path(),
        "export GLIBC_TUNABLES=glibc.malloc.tcache_count=3",
        &["--no-replay"],
    );
    assert_eq!(
        environ(&server).as_deref(),
        Some("glibc.malloc.tcache_count=3")
    );
}

/// The resident KiB of each session thread's stack: the mapping that
/// holds the stack pointer of each `client-N` thread waiting in a system
/// call (from /proc/PID/task/TID/syscall), as /proc/PID/smaps counts it.
fn session_stacks_kib(pid: u32) -> Vec<u64> {
    let mut pointers = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let path = task.unwrap().path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let syscall = std::fs::read_to_string(path.join("syscall")).unwrap_or_default();
        let fields: Vec<&str> = syscall.split_whitespace().collect();
        if comm.starts_with("client-") && fields.len() == 9 {
            let sp = fields[7].trim_start_matches("0x");
            pointers.push(u64::from_str_radix(sp, 16).unwrap());
        }
    }
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let mut found = Vec::new();
    let mut holds = false;
    for line in smaps.lines() {
        let range = line.split_whitespace().next().unwrap_or("");
        if let Some((low, high)) = range.split_once('-') {
            if let (Ok(low), Ok(high)) =
                (u64::from_str_radix(low, 16), u64::from_str_radix(high, 16))
            {
                holds = pointers.iter().any(|&sp| low <= sp && sp < high);
                continue;
            }
        }
        if let (true, Some(rss)) = (holds, line.strip_prefix("Rss:")) {
            found.push(rss.trim().trim_end_matches("kB").trim().parse().unwrap());
        }
    }
    found
}

/// What an idle session's stack keeps resident once it waits at the top
/// of its thread: one page (glibc 2.36 on x86-64, as in CI: the thread's
/// control block and thread-locals share it with the waiting frames);
/// unoptimized frames are larger, and a debug build keeps two.
const QUIET_STACK_KIB: u64 = if cfg!(debug_assertions) { 8 } else { 4 };

/// A client silent for longer than a session waits before it goes quiet
/// (`--quiet-after`, 1 s here, so that the default of 5 would miss the
/// deadline) has its session wait at the top of its thread with one
/// resident stack page, and still gets what others say, is still read as
/// soon as it speaks, is still pinged, and is still dropped when it leaves
/// the ping unanswered.
#[test]
fn a_client_quiet_for_long_is_served_pinged_and_timed_out_as_before() {
    let dir = TempDir::new("mem-quiet");
    let server = Server::start_with(
        dir.path(),
        &["--no-replay", "--idle-timeout", "8", "--quiet-after", "1"],
    );
    let mut witness = Raw::login(server.port, "witness");
    let mut sleepy = Raw::login(server.port, "sleepy");
    // Both silent: after 1 s both sessions go quiet (and are pinged at 8 s).
    let deadline = Instant::now() + Duration::from_secs(4);
    loop {
        let stacks = session_stacks_kib(server.pid());
        if stacks.len() == 2 && stacks.iter().all(|&kib| kib <= QUIET_STACK_KIB) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "idle sessions' resident stack (KiB each): {stacks:?}"
        );
        thread::sleep(Duration::from_millis(100));
    }
    witness.say("hello sleepy");
    sleepy.expect_event(|e| matches!(e, Event::Message { text, .. } if text == "hello sleepy"));
    sleepy.say("back");
    witness.expect_event(|e| matches!(e, Event::Message { text, .. } if text == "back"));
    // Silent once more: quiet after 1 s, pinged after 8 from there, then
    // dropped for leaving the ping unanswered (the ping is remembered
    // across the next quiet wait).
    sleepy.expect_event(|e| matches!(e, Event::Ping));
    let out = server
        .stdout
        .wait_for("Client (sleepy) disconnected: ping timeout");
    assert!(out.contains("sleepy leaves the room!"), "{out}");
}
