//! A real ngircd on a free loopback port with a throw-away configuration:
//! the reference IRC server the client harness is proven against (and what
//! our IRC door is compared with). Killed on drop.

use std::process::Command;

use super::irc_clients::{find_program, free_port};
use super::{Process, TempDir};

/// The server name ngircd announces.
pub const NGIRCD_NAME: &str = "irc.test";

/// A running ngircd.
pub struct Ngircd {
    process: Process,
    _dir: TempDir,
    pub port: u16,
}

impl Ngircd {
    /// Starts ngircd on a free port and waits until it listens. A port
    /// taken between choosing and binding it is retried with another.
    pub fn start() -> Ngircd {
        let mut last = String::new();
        for _ in 0..5 {
            let dir = TempDir::new("ngircd");
            let port = free_port();
            let config = dir.path().join("ngircd.conf");
            // An empty include directory, so no system-wide file applies.
            std::fs::create_dir_all(dir.path().join("conf.d")).expect("create conf.d");
            std::fs::write(&config, config_text(port, dir.path())).expect("write ngircd.conf");
            let mut command = Command::new(find_program("ngircd").expect("ngircd installed"));
            command.arg("--nodaemon").arg("--config").arg(&config);
            let mut process = Process::spawn(command);
            let listening = format!("Now listening on [127.0.0.1]:{port}");
            let deadline = std::time::Instant::now() + super::WAIT;
            loop {
                let out = process.stdout.text() + &process.stderr.text();
                if out.contains(&listening) {
                    return Ngircd {
                        process,
                        _dir: dir,
                        port,
                    };
                }
                if process.has_exited() || std::time::Instant::now() > deadline {
                    last = out;
                    process.kill();
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        panic!("ngircd did not start listening; its last output:\n{last}");
    }

    /// Everything ngircd printed so far.
    pub fn output(&self) -> String {
        self.process.stdout.text() + &self.process.stderr.text()
    }
}

/// A configuration for tests: loopback only, no DNS or ident lookups (no
/// waiting on the network), no flood penalties (tests send quickly), no
/// limit per address (every client comes from 127.0.0.1).
fn config_text(port: u16, dir: &std::path::Path) -> String {
    format!(
        "[Global]
Name = {NGIRCD_NAME}
Info = ngircd for the chat tests
Listen = 127.0.0.1
Ports = {port}
MotdPhrase = ngircd for the chat tests
PidFile = {dir}/ngircd.pid

[Limits]
MaxConnectionsIP = 0
MaxPenaltyTime = 0
PingTimeout = 120
PongTimeout = 60

[Options]
DNS = no
Ident = no
PAM = no
IncludeDir = {dir}/conf.d
",
        dir = dir.display()
    )
}
