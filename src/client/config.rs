//! The client's command line: what it may be told, and the `--help` text.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{value, Parsed, UsageError};

use super::transfer::DEFAULT_DOWNLOAD_DIR;

/// How long the client waits for the server's answer to `LOGIN` unless
/// `--reply-timeout` says otherwise.
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Which time is shown before each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockKind {
    /// How long this user has been in the chat, `h:mm:ss` (the seeds' way).
    Elapsed,
    /// The wall clock, `hh:mm:ss`, in the local time zone when it can be read.
    Wall,
}

/// Everything the client can be told on its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub host: String,
    pub port: u16,
    /// Tried first instead of prompting; the prompt follows if it is refused.
    pub nick: Option<String>,
    /// With `nick`: the first line of this file is sent as the password.
    pub password_file: Option<PathBuf>,
    /// Where `/get_file` saves; created when the first download arrives.
    pub download_dir: PathBuf,
    /// Line mode even on a terminal (no full screen).
    pub plain: bool,
    pub clock: ClockKind,
    /// How long to wait for the answer to `LOGIN` before giving up.
    pub reply_timeout: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            host: "127.0.0.1".to_string(),
            port: 7777,
            nick: None,
            password_file: None,
            download_dir: PathBuf::from(DEFAULT_DOWNLOAD_DIR),
            plain: false,
            clock: ClockKind::Elapsed,
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
        }
    }
}

/// The `--help` text.
pub const USAGE: &str = "\
Usage: client [OPTIONS]

A terminal client for the chat server. Type /help once logged in.
On a terminal it runs full screen (the input line stays at the bottom);
with a pipe, or with --plain, it reads and prints plain lines.

Options:
  --host HOST         server address (default 127.0.0.1)
  --port PORT         server port (default 7777)
  --nick NICK         log in as NICK without asking
  --password-file FILE
                      with --nick: the password of NICK is the first line of FILE
  --download-dir DIR  where /get_file saves files (default downloads, created if missing)
  --plain             plain lines even on a terminal (no full screen)
  --clock elapsed|wall
                      time before each message: time since you logged in
                      (default, h:mm:ss) or the wall clock (hh:mm:ss, local time)
  --reply-timeout SECS
                      give up when the server does not answer the login
                      within SECS seconds (default 10)
  -h, --help          show this help
";

impl Config {
    /// Parses the flags after the program name.
    ///
    /// # Errors
    /// A `UsageError` naming the flag at fault.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Parsed<Config>, UsageError> {
        let mut config = Config::default();
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "-h" | "--help" => return Ok(Parsed::Help),
                "--host" => config.host = value(&flag, args.next())?,
                "--port" => config.port = value(&flag, args.next())?,
                "--nick" => config.nick = Some(value(&flag, args.next())?),
                "--password-file" => config.password_file = Some(value(&flag, args.next())?),
                "--download-dir" => config.download_dir = value(&flag, args.next())?,
                "--plain" => config.plain = true,
                "--clock" => {
                    config.clock = match value::<String>(&flag, args.next())?.as_str() {
                        "elapsed" => ClockKind::Elapsed,
                        "wall" => ClockKind::Wall,
                        other => {
                            return Err(UsageError(format!(
                                "--clock: {other:?} is neither elapsed nor wall"
                            )))
                        }
                    }
                }
                "--reply-timeout" => {
                    let secs: f64 = value(&flag, args.next())?;
                    if !(secs > 0.0 && secs <= 3600.0) {
                        return Err(UsageError(
                            "--reply-timeout: between 0 and 3600 seconds".into(),
                        ));
                    }
                    config.reply_timeout = Duration::from_secs_f64(secs);
                }
                other => return Err(UsageError(format!("unknown option {other}"))),
            }
        }
        if config.password_file.is_some() && config.nick.is_none() {
            return Err(UsageError("--password-file needs --nick".into()));
        }
        Ok(Parsed::Run(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Parsed<Config>, UsageError> {
        Config::from_args(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn flags_set_the_config() {
        let Ok(Parsed::Run(config)) = parse(&[
            "--plain",
            "--clock",
            "wall",
            "--reply-timeout",
            "0.5",
            "--port",
            "9",
        ]) else {
            panic!("parsed");
        };
        assert!(config.plain);
        assert_eq!(config.clock, ClockKind::Wall);
        assert_eq!(config.reply_timeout, Duration::from_millis(500));
        assert_eq!(config.port, 9);
    }

    #[test]
    fn bad_values_name_the_flag() {
        for args in [
            &["--clock", "sundial"][..],
            &["--reply-timeout", "0"],
            &["--reply-timeout", "x"],
            &["--password-file", "f"],
        ] {
            let err = parse(args).unwrap_err().to_string();
            assert!(err.contains(args[0]), "{err}");
        }
    }
}
