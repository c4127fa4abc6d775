//! What a run measured, and its report: text for people or one JSON object.
//! Decides from the final counts whether the run failed.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::args::Config;
use super::json::JsonObject;
use super::shared::{lock, Shared};
use super::workload::{expected_deliveries, who_missed};

/// Server memory over the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ServerMem {
    pub(crate) pid: u32,
    /// Before the first client connected.
    pub(crate) baseline_kib: u64,
    /// With every client logged in (at the end of the hold, when holding).
    pub(crate) connected_kib: u64,
    /// Peak RSS over the server's life (VmHWM), sampled before the clients quit.
    pub(crate) peak_kib: u64,
    pub(crate) threads_connected: u64,
}

impl ServerMem {
    /// Memory each connected client added, in bytes.
    fn per_client_bytes(&self, clients: usize) -> u64 {
        self.connected_kib.saturating_sub(self.baseline_kib) * 1024 / clients.max(1) as u64
    }
}

/// Everything the run measured, and its first failure.
pub(crate) struct Report {
    pub(crate) config: Config,
    pub(crate) addr: String,
    pub(crate) connected: usize,
    pub(crate) login: Duration,
    pub(crate) sent: u64,
    pub(crate) replies_ok: u64,
    pub(crate) replies_rejected: u64,
    pub(crate) deliveries: u64,
    pub(crate) expected: u64,
    pub(crate) misrouted: u64,
    pub(crate) malformed: u64,
    /// First send to last delivery.
    pub(crate) send_phase: Option<Duration>,
    /// (p50, p90, p99, max) in nanoseconds.
    pub(crate) latency: Option<(u64, u64, u64, u64)>,
    pub(crate) max_send_lag: Duration,
    pub(crate) server: Option<ServerMem>,
    /// CPU the bench and the server used from the first connect until the
    /// clients quit: on a small machine the bench competes with the server.
    pub(crate) bench_cpu: Option<Duration>,
    pub(crate) server_cpu: Option<Duration>,
    /// The clients whose delivery counts are off, if any.
    pub(crate) who_missed: Option<String>,
    pub(crate) error: Option<String>,
}

impl Report {
    pub(crate) fn new(config: &Config) -> Report {
        Report {
            config: config.clone(),
            addr: format!("{}:{}", config.host, config.port),
            connected: 0,
            login: Duration::ZERO,
            sent: 0,
            replies_ok: 0,
            replies_rejected: 0,
            deliveries: 0,
            expected: 0,
            misrouted: 0,
            malformed: 0,
            send_phase: None,
            latency: None,
            max_send_lag: Duration::ZERO,
            server: None,
            bench_cpu: None,
            server_cpu: None,
            who_missed: None,
            error: None,
        }
    }

    /// Takes the final counters, after every reader has stopped, and decides
    /// whether the run failed.
    pub(crate) fn fill_counts(&mut self, shared: &Shared, sent: &[u64], rooms: usize) {
        self.sent = sent.iter().sum();
        self.expected = expected_deliveries(sent, rooms);
        self.deliveries = shared.deliveries.load(Ordering::Relaxed);
        self.replies_ok = shared.replies_ok.load(Ordering::Relaxed);
        self.replies_rejected = shared.replies_rejected.load(Ordering::Relaxed);
        self.misrouted = shared.misrouted.load(Ordering::Relaxed);
        if sent.len() == shared.per_client.len() {
            self.who_missed = who_missed(&shared.per_client_counts(), sent, rooms);
        }
        self.malformed = shared.malformed.load(Ordering::Relaxed);
        let first = shared.first_send_ns.load(Ordering::Relaxed);
        let last = shared.last_delivery_ns.load(Ordering::Relaxed);
        if first != u64::MAX && last > first {
            self.send_phase = Some(Duration::from_nanos(last - first));
        }
        let latency = lock(&shared.latency);
        let p = |q| latency.percentile(q);
        if let (Some(p50), Some(p90), Some(p99)) = (p(0.50), p(0.90), p(0.99)) {
            self.latency = Some((p50, p90, p99, latency.max));
        }
        drop(latency);
        self.error = shared.failure().or_else(|| self.count_error());
    }

    /// A failure the counts alone show.
    fn count_error(&self) -> Option<String> {
        let planned = (self.config.clients * self.config.messages) as u64;
        if self.connected == self.config.clients && self.sent != planned {
            return Some(format!("sent {} of {planned} messages", self.sent));
        }
        if self.deliveries != self.expected {
            let mut error = format!(
                "received {} deliveries, expected {}",
                self.deliveries, self.expected
            );
            if let Some(who) = &self.who_missed {
                let _ = write!(error, "; {who}");
            }
            return Some(error);
        }
        if self.misrouted > 0 {
            return Some(format!(
                "{} deliveries arrived in the wrong room",
                self.misrouted
            ));
        }
        if self.malformed > 0 {
            return Some(format!("{} deliveries had no send time", self.malformed));
        }
        None
    }

    /// Deliveries per second over the send phase.
    fn delivery_rate(&self) -> Option<f64> {
        self.send_phase
            .map(|d| self.deliveries as f64 / d.as_secs_f64())
    }

    /// The report for people.
    pub(crate) fn text(&self) -> String {
        let c = &self.config;
        let mut out = String::new();
        let pacing = c.rate.map_or("unpaced".to_string(), |r| {
            format!("paced at {r} msg/s per client")
        });
        let acks = if c.quick_ack { "quick" } else { "delayed" };
        let _ = writeln!(
            out,
            "chat-bench: {} at {}, {} clients in {} room(s), {} messages x {} B each, {pacing}, {acks} ACKs",
            c.protocol.name(),
            self.addr,
            c.clients,
            c.rooms,
            c.messages,
            c.size
        );
        let _ = writeln!(
            out,
            "connect+login:   {:.3} s for {} of {} clients",
            self.login.as_secs_f64(),
            self.connected,
            c.clients
        );
        if let Some(hold) = c.hold {
            let _ = writeln!(out, "held idle:       {:.1} s", hold.as_secs_f64());
        }
        let _ = writeln!(
            out,
            "messages sent:   {} (replies: {} ok, {} rejected)",
            self.sent, self.replies_ok, self.replies_rejected
        );
        let _ = writeln!(
            out,
            "deliveries:      {} of {} expected",
            self.deliveries, self.expected
        );
        if let (Some(phase), Some(rate)) = (self.send_phase, self.delivery_rate()) {
            let _ = writeln!(
                out,
                "send phase:      {:.3} s, {:.0} deliveries/s",
                phase.as_secs_f64(),
                rate
            );
        }
        if let Some((p50, p90, p99, max)) = self.latency {
            let _ = writeln!(
                out,
                "latency:         p50 {}  p90 {}  p99 {}  max {}",
                ms(p50),
                ms(p90),
                ms(p99),
                ms(max)
            );
        }
        if c.rate.is_some() {
            let _ = writeln!(
                out,
                "max send lag:    {}",
                ms(duration_ns(self.max_send_lag))
            );
        }
        if let Some(s) = &self.server {
            let _ = writeln!(
                out,
                "server pid {}:  RSS {} KiB -> {} KiB with clients ({} B per client), peak {} KiB, {} threads",
                s.pid,
                s.baseline_kib,
                s.connected_kib,
                s.per_client_bytes(c.clients),
                s.peak_kib,
                s.threads_connected
            );
        }
        if let Some(bench) = self.bench_cpu {
            let server = self.server_cpu.map_or(String::new(), |s| {
                format!(", server {:.2} s", s.as_secs_f64())
            });
            let _ = writeln!(
                out,
                "cpu (user+sys):  bench {:.2} s{server}",
                bench.as_secs_f64()
            );
        }
        match &self.error {
            None => out.push_str("result:          ok\n"),
            Some(e) => {
                let _ = writeln!(out, "result:          FAILED: {e}");
            }
        }
        out
    }

    /// The report as one JSON object.
    pub(crate) fn json(&self) -> String {
        let c = &self.config;
        let mut j = JsonObject::default();
        j.string("protocol", c.protocol.name());
        j.string("addr", &self.addr);
        j.number("clients", c.clients);
        j.number("rooms", c.rooms);
        j.number("messages", c.messages);
        j.number("size", c.size);
        j.float("rate", c.rate);
        j.float("hold_s", c.hold.map(|h| h.as_secs_f64()));
        j.raw("quickack", if c.quick_ack { "true" } else { "false" });
        j.number("readers", c.readers);
        j.number("connected", self.connected);
        j.float("login_s", Some(self.login.as_secs_f64()));
        j.number("messages_sent", self.sent);
        j.number("replies_ok", self.replies_ok);
        j.number("replies_rejected", self.replies_rejected);
        j.number("deliveries", self.deliveries);
        j.number("expected_deliveries", self.expected);
        j.number("misrouted", self.misrouted);
        j.number("malformed", self.malformed);
        j.float("send_phase_s", self.send_phase.map(|d| d.as_secs_f64()));
        j.float("deliveries_per_s", self.delivery_rate());
        let lat = self.latency;
        j.opt_number("latency_p50_ns", lat.map(|l| l.0));
        j.opt_number("latency_p90_ns", lat.map(|l| l.1));
        j.opt_number("latency_p99_ns", lat.map(|l| l.2));
        j.opt_number("latency_max_ns", lat.map(|l| l.3));
        j.number("max_send_lag_ns", duration_ns(self.max_send_lag));
        let s = self.server;
        j.opt_number("server_pid", s.map(|s| s.pid));
        j.opt_number("server_rss_baseline_kib", s.map(|s| s.baseline_kib));
        j.opt_number("server_rss_connected_kib", s.map(|s| s.connected_kib));
        j.opt_number(
            "server_rss_per_client_bytes",
            s.map(|s| s.per_client_bytes(c.clients)),
        );
        j.opt_number("server_peak_rss_kib", s.map(|s| s.peak_kib));
        j.opt_number("server_threads", s.map(|s| s.threads_connected));
        j.float("bench_cpu_s", self.bench_cpu.map(|d| d.as_secs_f64()));
        j.float("server_cpu_s", self.server_cpu.map(|d| d.as_secs_f64()));
        j.raw(
            "ok",
            if self.error.is_none() {
                "true"
            } else {
                "false"
            },
        );
        match &self.error {
            Some(e) => j.string("error", e),
            None => j.raw("error", "null"),
        }
        j.finish()
    }
}

/// Nanoseconds as milliseconds, for people.
fn ms(ns: u64) -> String {
    format!("{:.3} ms", ns as f64 / 1e6)
}

/// A duration in whole nanoseconds, saturating.
fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
