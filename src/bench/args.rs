//! The `chat-bench` command line: its options, their limits and defaults,
//! and the `--help` text. Parsing only; nothing here touches the network.

use std::time::Duration;

use super::wire::Protocol;

/// Default logins in flight at once: enough to keep the server busy, few
/// enough not to look like a connection flood.
const LOGINS_IN_FLIGHT: usize = 64;

/// Smallest message: the send-time token must fit.
const MIN_SIZE: usize = 16;
/// Largest body a chat `SAY` may carry.
const MAX_CHAT_SIZE: usize = 4096;
/// Largest IRC payload: a relayed line (prefix, command, channel, payload)
/// must stay under the 512-byte IRC line limit.
const MAX_IRC_SIZE: usize = 400;
/// Most clients: nicks are `b` plus digits and must fit in 8 characters,
/// and each client costs the bench two file descriptors.
const MAX_CLIENTS: usize = 50_000;

/// Most reader threads: each watches its share of the connections.
const MAX_READERS: usize = 64;

/// Default chat server port.
const DEFAULT_CHAT_PORT: u16 = 7777;
/// Default IRC server port.
const DEFAULT_IRC_PORT: u16 = 6667;

/// The `--help` text.
pub const USAGE: &str = "\
chat-bench: load generator for the chat server (or an IRC server, for comparison)

USAGE:
    chat-bench [OPTIONS]
    chat-bench history --dir DIR [OPTIONS]   (history storage; see history --help)

OPTIONS:
    --clients N        client connections (default 50)
    --messages M       messages each client sends (default 200; 0 = connect only)
    --size S           message body size in bytes (default 64, at least 16;
                       at most 4096 for chat and ws, 400 for irc)
    --rate R           messages per second per client (default: unpaced)
    --rooms K          rooms the clients are spread over, round robin (default 1)
    --hold SECONDS     with --messages 0: keep the clients idle this long
    --logins N         logins in flight at once (default 64)
    --host H           server host (default 127.0.0.1)
    --port P           server port (default 7777 for chat and ws, 6667 for irc)
    --ports P,Q,...    spread the clients round robin over these ports (the
                       nodes of a cluster); replaces --port
    --protocol P       chat (default), irc, or ws (the browser's: chat frames
                       in WebSocket messages at /ws, upgraded on the same port)
    --server-pid PID   report the server's memory from /proc/PID/status
    --timeout SECONDS  deadline for sending and delivery (default: from the workload)
    --readers N        reader threads, each with one epoll set (default 1)
    --no-quickack      let the kernel delay ACKs (by default every client
                       re-arms TCP_QUICKACK after every read)
    --json             print the report as one JSON object
    -h, --help         this text

Every message is broadcast to every other member of the sender's room, so
expected deliveries = sum over rooms of messages sent there x (members - 1).
Any loss, error or timeout exits with status 1; bad arguments exit with 2.

All clients come from one address: start the chat server with
--no-rate-limit and --max-per-ip at least --clients (the default is 50),
and an IRC server with its per-IP connection limit and flood penalties off.
";

/// Everything a run needs, from the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub(crate) clients: usize,
    pub(crate) messages: usize,
    pub(crate) size: usize,
    /// Messages per second per client; `None` is unpaced.
    pub(crate) rate: Option<f64>,
    pub(crate) rooms: usize,
    pub(crate) hold: Option<Duration>,
    /// Logins in flight at once.
    pub(crate) logins: usize,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Every port the clients connect to, round robin (`--ports`; else `port`).
    pub(crate) ports: Vec<u16>,
    pub(crate) protocol: Protocol,
    pub(crate) server_pid: Option<u32>,
    /// Overrides the computed send-and-deliver deadline.
    pub(crate) timeout: Option<Duration>,
    /// Reader threads.
    pub(crate) readers: usize,
    /// Every client re-arms `TCP_QUICKACK` after every read.
    pub(crate) quick_ack: bool,
    pub(crate) json: bool,
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Print the usage text.
    Help,
    /// Run the benchmark.
    Run(Config),
    /// Print the usage text of `chat-bench history`.
    HistoryHelp,
    /// Measure the history storage (`chat-bench history ...`).
    History(super::history::HistoryConfig),
}

/// Parses the arguments after the program name. `--name value` and
/// `--name=value` are both accepted; every option may appear once.
///
/// # Errors
/// A message saying what is wrong with the command line.
pub fn parse_args(args: &[String]) -> Result<Command, String> {
    if args.first().map(String::as_str) == Some("history") {
        return super::history::parse_history(&args[1..])
            .map(|c| c.map_or(Command::HistoryHelp, Command::History));
    }
    let mut raw = RawArgs::default();
    let mut seen: Vec<&str> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        if name == "-h" || name == "--help" {
            return Ok(Command::Help);
        }
        if seen.contains(&name) {
            return Err(format!("{name} given more than once"));
        }
        if let Some(flag) = raw.flag(name) {
            if inline.is_some() {
                return Err(format!("{name} takes no value"));
            }
            *flag = true;
            seen.push(name);
            continue;
        }
        let slot = raw
            .slot(name)
            .ok_or_else(|| format!("unknown argument {arg:?}"))?;
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))?,
        };
        *slot = Some(value);
        seen.push(name);
    }
    raw.into_config().map(Command::Run)
}

/// Option values as given, before they are checked.
#[derive(Default)]
struct RawArgs {
    clients: Option<String>,
    messages: Option<String>,
    size: Option<String>,
    rate: Option<String>,
    rooms: Option<String>,
    hold: Option<String>,
    logins: Option<String>,
    host: Option<String>,
    port: Option<String>,
    ports: Option<String>,
    protocol: Option<String>,
    server_pid: Option<String>,
    timeout: Option<String>,
    readers: Option<String>,
    json: bool,
    no_quick_ack: bool,
}

impl RawArgs {
    /// The switch `name` (an option without a value), if it is one.
    fn flag(&mut self, name: &str) -> Option<&mut bool> {
        Some(match name {
            "--json" => &mut self.json,
            "--no-quickack" => &mut self.no_quick_ack,
            _ => return None,
        })
    }

    /// Where the value of option `name` goes; `None` for an unknown option.
    fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "--clients" => &mut self.clients,
            "--messages" => &mut self.messages,
            "--size" => &mut self.size,
            "--rate" => &mut self.rate,
            "--rooms" => &mut self.rooms,
            "--hold" => &mut self.hold,
            "--logins" => &mut self.logins,
            "--host" => &mut self.host,
            "--port" => &mut self.port,
            "--ports" => &mut self.ports,
            "--protocol" => &mut self.protocol,
            "--server-pid" => &mut self.server_pid,
            "--timeout" => &mut self.timeout,
            "--readers" => &mut self.readers,
            _ => return None,
        })
    }

    /// Checks every value and the combinations.
    fn into_config(self) -> Result<Config, String> {
        let protocol = match self.protocol.as_deref() {
            None | Some("chat") => Protocol::Chat,
            Some("irc") => Protocol::Irc,
            Some("ws") => Protocol::Ws,
            Some(p) => return Err(format!("--protocol: expected chat, irc or ws, got {p:?}")),
        };
        let max_size = match protocol {
            Protocol::Chat | Protocol::Ws => MAX_CHAT_SIZE,
            Protocol::Irc => MAX_IRC_SIZE,
        };
        let default_port = match protocol {
            Protocol::Chat | Protocol::Ws => DEFAULT_CHAT_PORT,
            Protocol::Irc => DEFAULT_IRC_PORT,
        };
        let clients = number("--clients", self.clients, 50, 1, MAX_CLIENTS)?;
        let messages = number("--messages", self.messages, 200, 0, 1_000_000)?;
        let size = number("--size", self.size, 64, MIN_SIZE, max_size)?;
        let rooms = number("--rooms", self.rooms, 1, 1, clients)?;
        let logins = number("--logins", self.logins, LOGINS_IN_FLIGHT, 1, 1024)?;
        let readers = number("--readers", self.readers, 1, 1, MAX_READERS)?;
        let port = number("--port", self.port, usize::from(default_port), 1, 65_535)?;
        let port = u16::try_from(port).map_err(|_| "--port: out of range".to_string())?;
        let ports = match self.ports {
            None => vec![port],
            Some(list) => list
                .split(',')
                .map(|p| p.trim().parse::<u16>().ok().filter(|&p| p > 0))
                .collect::<Option<Vec<u16>>>()
                .filter(|ports| !ports.is_empty())
                .ok_or_else(|| {
                    format!("--ports: expected ports separated by commas, got {list:?}")
                })?,
        };
        let port = ports[0];
        let rate = decimal("--rate", self.rate, 0.001, 1_000_000.0)?;
        let hold = decimal("--hold", self.hold, 0.001, 86_400.0)?;
        let timeout = decimal("--timeout", self.timeout, 0.001, 86_400.0)?;
        let server_pid = match self.server_pid {
            None => None,
            Some(s) => Some(
                s.parse::<u32>()
                    .ok()
                    .filter(|&p| p > 0)
                    .ok_or_else(|| format!("--server-pid: expected a process id, got {s:?}"))?,
            ),
        };
        if hold.is_some() && messages > 0 {
            return Err("--hold needs --messages 0 (hold keeps idle clients)".to_string());
        }
        let host = self.host.unwrap_or_else(|| "127.0.0.1".to_string());
        if host.is_empty() {
            return Err("--host: empty".to_string());
        }
        Ok(Config {
            clients,
            messages,
            size,
            rate,
            rooms,
            hold: hold.map(Duration::from_secs_f64),
            logins,
            host,
            port,
            ports,
            protocol,
            server_pid,
            timeout: timeout.map(Duration::from_secs_f64),
            readers,
            // Delayed ACKs hold back a server that leaves Nagle on (ngircd
            // does): it may not send its next small write before the ACK.
            quick_ack: !self.no_quick_ack,
            json: self.json,
        })
    }
}

/// A whole number option in `min..=max`, or `default` when absent.
fn number(
    name: &str,
    value: Option<String>,
    default: usize,
    min: usize,
    max: usize,
) -> Result<usize, String> {
    let Some(text) = value else {
        return Ok(default);
    };
    let n: usize = text
        .parse()
        .map_err(|_| format!("{name}: expected a whole number, got {text:?}"))?;
    if n < min || n > max {
        return Err(format!("{name}: {n} is out of range {min}..={max}"));
    }
    Ok(n)
}

/// A decimal option (seconds, or messages per second) in `min..=max`, if given.
/// The bounds keep every duration computed from it finite.
fn decimal(name: &str, value: Option<String>, min: f64, max: f64) -> Result<Option<f64>, String> {
    let Some(text) = value else {
        return Ok(None);
    };
    let x: f64 = text
        .parse()
        .map_err(|_| format!("{name}: expected a number, got {text:?}"))?;
    if !(min..=max).contains(&x) {
        return Err(format!("{name}: {text} is out of range {min}..={max}"));
    }
    Ok(Some(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn config(s: &str) -> Config {
        match parse_args(&args(s)) {
            Ok(Command::Run(c)) => c,
            other => panic!("{s:?} parsed to {other:?}"),
        }
    }

    fn error(s: &str) -> String {
        match parse_args(&args(s)) {
            Err(e) => e,
            other => panic!("{s:?} should fail, parsed to {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let c = config("");
        assert_eq!(c.clients, 50);
        assert_eq!(c.messages, 200);
        assert_eq!(c.size, 64);
        assert_eq!(c.rate, None);
        assert_eq!(c.rooms, 1);
        assert_eq!(c.hold, None);
        assert_eq!(c.logins, LOGINS_IN_FLIGHT);
        assert_eq!(c.host, "127.0.0.1");
        assert_eq!(c.port, DEFAULT_CHAT_PORT);
        assert_eq!(c.protocol, Protocol::Chat);
        assert_eq!(c.server_pid, None);
        assert_eq!(c.readers, 1);
        assert!(c.quick_ack);
        assert!(!c.json);
    }

    #[test]
    fn ports_spread_the_clients_over_nodes() {
        let c = config("--ports 7001,7002,7003");
        assert_eq!(c.ports, [7001, 7002, 7003]);
        assert_eq!(c.port, 7001);
        assert_eq!(config("--port 9").ports, [9]);
        for bad in ["--ports 1,,2", "--ports 0", "--ports x"] {
            assert!(parse_args(&args(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_option() {
        let c = config(
            "--clients 200 --messages=50 --size 128 --rate 2.5 --rooms 4 --logins 8 \
             --host localhost --port 9000 --protocol irc --server-pid 42 --timeout 60 --json \
             --readers 2 --no-quickack",
        );
        assert_eq!(c.clients, 200);
        assert_eq!(c.messages, 50);
        assert_eq!(c.size, 128);
        assert_eq!(c.rate, Some(2.5));
        assert_eq!(c.rooms, 4);
        assert_eq!(c.logins, 8);
        assert_eq!(c.host, "localhost");
        assert_eq!(c.port, 9000);
        assert_eq!(c.protocol, Protocol::Irc);
        assert_eq!(c.server_pid, Some(42));
        assert_eq!(c.timeout, Some(Duration::from_secs(60)));
        assert_eq!(c.readers, 2);
        assert!(!c.quick_ack);
        assert!(c.json);
    }

    #[test]
    fn irc_default_port_and_hold() {
        let c = config("--protocol irc --messages 0 --hold 1.5");
        assert_eq!(c.port, DEFAULT_IRC_PORT);
        assert_eq!(c.hold, Some(Duration::from_millis(1500)));
        let c = config("--protocol ws --size 4096");
        assert_eq!((c.protocol, c.port), (Protocol::Ws, DEFAULT_CHAT_PORT));
        assert!(error("--protocol ws --size 4097").contains("out of range"));
    }

    #[test]
    fn help_wins() {
        assert_eq!(parse_args(&args("--clients 3 --help")), Ok(Command::Help));
        assert_eq!(parse_args(&args("-h")), Ok(Command::Help));
    }

    #[test]
    fn bad_arguments_are_explained() {
        assert!(error("--clients").contains("needs a value"));
        assert!(error("--clients x").contains("whole number"));
        assert!(error("--clients 0").contains("out of range"));
        assert!(error("--bogus 1").contains("unknown argument"));
        assert!(error("extra").contains("unknown argument"));
        assert!(error("--size 8").contains("out of range"));
        assert!(error("--size 500 --protocol irc").contains("out of range"));
        assert!(error("--rate 0").contains("out of range"));
        assert!(error("--rate nan").contains("out of range"));
        assert!(error("--rate 1e-300").contains("out of range"));
        assert!(error("--hold inf --messages 0").contains("out of range"));
        assert!(error("--rooms 3 --clients 2").contains("out of range"));
        assert!(error("--protocol xmpp").contains("chat, irc or ws"));
        assert!(error("--hold 5").contains("--messages 0"));
        assert!(error("--port 70000").contains("out of range"));
        assert!(error("--server-pid abc").contains("process id"));
        assert!(error("--json=yes").contains("no value"));
        assert!(error("--no-quickack=1").contains("no value"));
        assert!(error("--readers 0").contains("out of range"));
        assert!(error("--clients 1 --clients 2").contains("more than once"));
    }
}
