//! The full-screen client, used when standard input and output are both
//! terminals (unless `--plain`): messages scroll above, the status line
//! and the input line stay at the bottom, and typing is never cut by what
//! arrives. The session logic is the plain client's ([`super::run_with`]);
//! this module supplies its [`Keyboard`] (the input line, fed by a thread
//! reading raw key bytes) and its [`Output`] (the screen).
//!
//! Layout: `typing` (keys to edits, lines and completions: the
//! keyboard), [`screen`] (layout and drawing), [`status`], [`style`]
//! (colours), [`wrap`], [`complete`]; keys, the line editor, widths and
//! raw mode are in [`crate::terminal`], shared with the server console.

pub mod complete;
pub mod screen;
pub mod status;
pub mod style;
mod typing;
pub mod wrap;

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;

use super::config::{ClockKind, Config};
use super::output::{Line, Out, Output};
use super::state::{self, lock, Shared, State};
use super::ClientError;
use crate::terminal::mode;

use screen::Screen;
use typing::InputLine;

/// The size assumed when the terminal does not say.
const FALLBACK_SIZE: (usize, usize) = (80, 24);

/// What the input loop is woken by.
pub(super) enum Wake {
    /// Bytes typed (or pasted).
    Bytes(Vec<u8>),
    /// Standard input ended.
    End,
    /// The server closed the connection.
    ServerGone,
}

/// The screen, shared by the input loop and the reader thread; every
/// write to the terminal happens under its lock, so updates never interleave.
pub(super) struct Ui {
    pub(super) screen: Screen,
}

impl Ui {
    pub(super) fn write(&mut self, bytes: &str) {
        if bytes.is_empty() {
            return;
        }
        let mut out = io::stdout().lock();
        // A terminal that cannot be written is gone; the input loop ends
        // at the end of input it then gets.
        let _ = out.write_all(bytes.as_bytes());
        let _ = out.flush();
    }
}

pub(super) type SharedUi = Arc<Mutex<Ui>>;

pub(super) fn ui(shared: &SharedUi) -> MutexGuard<'_, Ui> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs the client full screen.
///
/// # Errors
/// As [`super::run_with`]; the terminal is restored first.
pub fn run(config: Config) -> Result<(), ClientError> {
    let full_screen = match mode::FullScreen::enter() {
        Ok(full_screen) => full_screen,
        Err(e) => {
            eprintln!("note: cannot switch the terminal to full screen ({e}); using plain lines");
            return super::run_plain(config);
        }
    };
    let (width, height) = mode::size().unwrap_or(FALLBACK_SIZE);
    let shared = Arc::new(Mutex::new(Ui {
        screen: Screen::new(width, height),
    }));
    {
        let mut ui = ui(&shared);
        ui.screen.status.clock = (config.clock == ClockKind::Wall)
            .then(|| format!("clock: {}", state::Clock::start(ClockKind::Wall).label()));
        let full = ui.screen.full();
        ui.write(&full);
    }
    let (wake, woken) = mpsc::channel();
    read_keys(wake.clone())?;
    let state: Shared = Arc::new(Mutex::new(State::new("", 0, config.clock)));
    let out: Out = Arc::new(Screenful {
        ui: Arc::clone(&shared),
        wake: Mutex::new(wake),
        state: Arc::clone(&state),
    });
    let gone = Arc::new(AtomicBool::new(false));
    let mut keyboard = InputLine::new(
        Arc::clone(&shared),
        woken,
        Arc::clone(&state),
        Arc::clone(&gone),
        (width, height),
    );
    let result = super::run_with(config, &mut keyboard, out, &state);
    drop(full_screen);
    if gone.load(Ordering::Acquire) {
        println!("Disconnected from chat server");
    }
    result
}

/// The thread that reads key bytes from standard input as they come.
fn read_keys(wake: Sender<Wake>) -> io::Result<()> {
    thread::Builder::new()
        .name("keys".into())
        .spawn(move || {
            let mut buf = [0u8; 4096];
            let mut stdin = io::stdin().lock();
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let _ = wake.send(Wake::End);
                        return;
                    }
                    Ok(n) => {
                        if wake.send(Wake::Bytes(buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                }
            }
        })
        .map(|_| ())
}

/// The screen as the client's output.
struct Screenful {
    ui: SharedUi,
    wake: Mutex<Sender<Wake>>,
    state: Shared,
}

impl Output for Screenful {
    fn show(&self, line: Line) {
        let mut ui = ui(&self.ui);
        let bytes = ui.screen.push(&line);
        ui.write(&bytes);
    }

    fn progress(&self, label: &str, text: &str, done: bool) {
        let mut ui = ui(&self.ui);
        if done {
            ui.screen.status.transfers.remove(label);
        } else {
            ui.screen
                .status
                .transfers
                .insert(label.to_string(), text.to_string());
        }
        let bytes = ui.screen.redraw_status();
        ui.write(&bytes);
    }

    fn changed(&self) {
        let (nick, room, members, unread) = {
            let state = lock(&self.state);
            let unread = state.unread.iter().cloned().collect();
            (
                state.nick.clone(),
                state.room.clone(),
                state.members,
                unread,
            )
        };
        let mut ui = ui(&self.ui);
        let status = &mut ui.screen.status;
        status.nick = nick;
        status.room = room;
        status.members = members;
        status.unread = unread;
        let bytes = ui.screen.redraw_status();
        ui.write(&bytes);
    }

    fn older(&self, room: &str, lines: Vec<Line>, more: bool) {
        let mut ui = ui(&self.ui);
        let bytes = ui.screen.prepend(room, &lines, more);
        ui.write(&bytes);
    }

    fn older_failed(&self) {
        let mut ui = ui(&self.ui);
        let bytes = ui.screen.fetch_failed();
        ui.write(&bytes);
    }

    fn wants_directory(&self) -> bool {
        true
    }

    fn disconnected(&self) {
        let wake = self.wake.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = wake.send(Wake::ServerGone);
    }
}
