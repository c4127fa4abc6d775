//! The terminal client: log in at a prompt, then chat. A reader thread
//! shows what arrives while the main thread waits for typed lines, so
//! messages appear while the user is typing. On a terminal the client runs
//! full screen ([`tui`]), with the input line pinned at the bottom; in a
//! pipe, or with `--plain`, it reads and prints plain lines as the seeds do.
//!
//! Layout: [`config`] (flags), [`login`] (prompts and the login reply),
//! [`chat`] (a session: typed lines to requests), [`incoming`] (the reader
//! thread), [`pending`] (which reply answers which request), [`input`]
//! (typed lines parsed), [`render`] and [`output`] (what is shown),
//! [`transfer`] (files), [`tui`] (the full screen).

pub mod chat;
pub mod config;
pub mod connection;
pub mod error;
pub mod incoming;
pub mod input;
pub mod keyboard;
pub mod localtime;
pub mod login;
pub mod output;
pub mod password;
pub mod pending;
pub mod progress;
pub mod render;
pub mod split;
pub mod state;
pub mod transfer;
pub mod tui;

use std::io::{self, IsTerminal};
use std::sync::{Arc, Mutex};

pub use config::{ClockKind, Config, USAGE};
pub use error::ClientError;

use chat::{Next, Session};
use keyboard::{Keyboard, LineReader};
use login::Attempt;
use output::{Line, Out, Plain};
use pending::Link;
use state::{lock, Shared, State};
use transfer::Transfers;

/// Connects, logs in, and chats until the user quits or the server goes away.
///
/// # Errors
/// A `ClientError` for a server that cannot be reached or that fails during login.
pub fn run(config: Config) -> Result<(), ClientError> {
    if !config.plain && io::stdin().is_terminal() && io::stdout().is_terminal() {
        tui::run(config)
    } else {
        run_plain(config)
    }
}

/// The client in line mode: typed lines from standard input, plain lines out.
///
/// # Errors
/// As [`run_with`].
pub fn run_plain(config: Config) -> Result<(), ClientError> {
    let stdin = io::stdin();
    let mut keyboard = LineReader::new(stdin.lock());
    let state = Arc::new(Mutex::new(State::new("", 0, config.clock)));
    run_with(config, &mut keyboard, Arc::new(Plain), &state)
}

/// The client's life with a given keyboard and output: connect, then log
/// in and chat until the user leaves, logging in again after each logout.
///
/// # Errors
/// A `ClientError` for a server that cannot be reached or that fails during login.
pub fn run_with(
    config: Config,
    keyboard: &mut dyn Keyboard,
    out: Out,
    state: &Shared,
) -> Result<(), ClientError> {
    let password = match &config.password_file {
        Some(path) => Some(password::read_file(path)?),
        None => None,
    };
    let (mut reader, writer) = connection::connect(&config.host, config.port)?;
    let mut attempt = Attempt {
        nick: config.nick.clone(),
        password,
    };
    loop {
        // A fresh queue of awaited replies for each login: the logout
        // reply was the last one of the previous session.
        let link = Link::new(writer.clone());
        let first = std::mem::take(&mut attempt);
        let logged_in = login::log_in(
            &mut reader,
            &link,
            keyboard,
            &out,
            first,
            config.reply_timeout,
        )?;
        let Some(logged_in) = logged_in else {
            writer.close();
            return Ok(());
        };
        *lock(state) = State::new(&logged_in.nick, logged_in.max_body, config.clock);
        if config.clock == ClockKind::Wall {
            let label = lock(state).clock.label();
            out.show(Line::info(format!("(times are the wall clock, {label})")));
        }
        out.changed();
        // The server says its upload limit at each login.
        let files = Transfers::new(config.download_dir.clone(), logged_in.max_file_size);
        let session = Session {
            link: &link,
            files: &files,
            out: &out,
            state,
        };
        match session.run(reader, logged_in, keyboard)? {
            Next::Prompt {
                reader: back,
                attempt: next,
            } => {
                reader = back;
                attempt = next;
                // Nobody is logged in until the next login.
                *lock(state) = State::new("", 0, config.clock);
                out.changed();
            }
            Next::Done => return Ok(()),
        }
    }
}
