//! A real `redis-server` for tests: on a free loopback port, in a temporary
//! directory of its own (where its append-only file goes), killed on drop.
//! It can be killed with SIGKILL and started again on the same port and
//! directory, to test what survives a Redis restart.

use std::process::Command;
use std::time::Instant;

use super::irc_clients::{find_program, free_port, peer_available};
use super::{Process, TempDir, WAIT};

/// What redis-server logs once it accepts connections.
const READY: &str = "Ready to accept connections";

/// A running (or killed, to be restarted) redis-server.
pub struct RedisServer {
    process: Option<Process>,
    dir: TempDir,
    args: Vec<String>,
    /// Its loopback port, the same across restarts.
    pub port: u16,
    /// Everything earlier runs printed, for failure messages.
    earlier: String,
}

impl RedisServer {
    /// Starts redis-server with the append-only file on and `extra`
    /// arguments, or returns `None` (having said the test is skipped) when
    /// redis-server is not installed and CI is not set.
    pub fn start(test: &str, extra: &[&str]) -> Option<RedisServer> {
        Self::start_with(test, &["--appendonly", "yes"], extra)
    }

    /// Starts redis-server with no persistence at all (no append-only file,
    /// no snapshots): what a restart then keeps is nothing.
    pub fn start_volatile(test: &str) -> Option<RedisServer> {
        Self::start_with(test, &["--appendonly", "no"], &[])
    }

    fn start_with(test: &str, persistence: &[&str], extra: &[&str]) -> Option<RedisServer> {
        if !peer_available("redis-server", test) {
            return None;
        }
        let mut last = String::new();
        // A port taken between choosing and binding it is retried with another.
        for _ in 0..5 {
            let dir = TempDir::new("redis");
            let port = free_port();
            let mut args: Vec<String> = [
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--dir",
                &dir.path().display().to_string(),
                "--save",
                "",
                "--daemonize",
                "no",
                "--logfile",
                "",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            args.extend(persistence.iter().chain(extra).map(|s| s.to_string()));
            let mut server = RedisServer {
                process: None,
                dir,
                args,
                port,
                earlier: String::new(),
            };
            match server.run() {
                Ok(()) => return Some(server),
                Err(output) => last = output,
            }
        }
        panic!("redis-server did not start; its last output:\n{last}");
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills redis-server with SIGKILL (no shutdown, no final save).
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
            self.earlier += &(process.stdout.text() + &process.stderr.text());
        }
    }

    /// Starts it again on the same port and directory, and waits until it
    /// accepts connections (after loading its append-only file).
    pub fn restart(&mut self) {
        self.kill();
        if let Err(output) = self.run() {
            panic!("redis-server did not restart; its output:\n{output}");
        }
    }

    /// Everything redis-server printed, across restarts.
    pub fn output(&self) -> String {
        let now = self
            .process
            .as_ref()
            .map(|p| p.stdout.text() + &p.stderr.text())
            .unwrap_or_default();
        format!("{}{now}", self.earlier)
    }

    /// Spawns redis-server and waits for its ready line; the output if it
    /// exited (or hung) instead.
    fn run(&mut self) -> Result<(), String> {
        let program = find_program("redis-server").expect("redis-server installed");
        let mut command = Command::new(program);
        command.args(&self.args).current_dir(self.dir.path());
        let mut process = Process::spawn(command);
        let deadline = Instant::now() + WAIT;
        loop {
            let out = process.stdout.text() + &process.stderr.text();
            if out.contains(READY) {
                self.process = Some(process);
                return Ok(());
            }
            if process.has_exited() || Instant::now() > deadline {
                process.kill();
                return Err(out);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
