//! The full-screen client, used when standard input and output are both
//! terminals (unless `--plain`): messages scroll above, the status line
//! and the input line stay at the bottom, and typing is never cut by what
//! arrives. The session logic is the plain client's ([`super::run_with`]);
//! this module supplies its [`Keyboard`] (the input line, fed by a thread
//! reading raw key bytes) and its [`Output`] (the screen).
//!
//! Layout: [`term`] (raw mode, restore, size), [`keys`] (bytes to keys),
//! [`editor`] (the input line), [`screen`] (layout and drawing),
//! [`status`], [`style`] (colours), [`wrap`], [`width`], [`complete`].

pub mod complete;
pub mod editor;
pub mod keys;
pub mod screen;
pub mod status;
pub mod style;
pub mod term;
pub mod width;
pub mod wrap;

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use super::config::{ClockKind, Config};
use super::input;
use super::keyboard::Keyboard;
use super::output::{Kind, Line, Out, Output};
use super::state::{lock, Shared, State};
use super::ClientError;

use keys::{Decoder, Key};
use screen::Screen;

/// How often the size is checked while no key comes.
const TICK: Duration = Duration::from_millis(250);
/// How long a lone Escape waits for the rest of a sequence.
const ESCAPE_WAIT: Duration = Duration::from_millis(50);
/// The size assumed when the terminal does not say.
const FALLBACK_SIZE: (usize, usize) = (80, 24);

/// What the input loop is woken by.
enum Wake {
    /// Bytes typed (or pasted).
    Bytes(Vec<u8>),
    /// Standard input ended.
    End,
    /// The server closed the connection.
    ServerGone,
}

/// The screen, shared by the input loop and the reader thread; every
/// write to the terminal happens under its lock, so updates never interleave.
struct Ui {
    screen: Screen,
}

impl Ui {
    fn write(&mut self, bytes: &str) {
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

type SharedUi = Arc<Mutex<Ui>>;

fn ui(shared: &SharedUi) -> MutexGuard<'_, Ui> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs the client full screen.
///
/// # Errors
/// As [`super::run_with`]; the terminal is restored first.
pub fn run(config: Config) -> Result<(), ClientError> {
    let full_screen = match term::FullScreen::enter() {
        Ok(full_screen) => full_screen,
        Err(e) => {
            eprintln!("note: cannot switch the terminal to full screen ({e}); using plain lines");
            return super::run_plain(config);
        }
    };
    let (width, height) = term::size().unwrap_or(FALLBACK_SIZE);
    let shared = Arc::new(Mutex::new(Ui {
        screen: Screen::new(width, height),
    }));
    {
        let mut ui = ui(&shared);
        ui.screen.status.clock = (config.clock == ClockKind::Wall).then(|| "clock: UTC".into());
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
    let mut keyboard = InputLine {
        ui: Arc::clone(&shared),
        woken,
        decoder: Decoder::new(),
        state: Arc::clone(&state),
        gone: Arc::new(AtomicBool::new(false)),
        size: (width, height),
        cycle: None,
    };
    let result = super::run_with(config, &mut keyboard, out, &state);
    drop(full_screen);
    if keyboard.gone.load(Ordering::Acquire) {
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

    fn wants_directory(&self) -> bool {
        true
    }

    fn disconnected(&self) {
        let wake = self.wake.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = wake.send(Wake::ServerGone);
    }
}

/// Tab pressed again: the next candidate for the same word.
struct Cycle {
    /// Where the completed word starts, in characters.
    start: usize,
    candidates: Vec<String>,
    next: usize,
}

/// The input line as the client's keyboard.
struct InputLine {
    ui: SharedUi,
    woken: Receiver<Wake>,
    decoder: Decoder,
    state: Shared,
    gone: Arc<AtomicBool>,
    size: (usize, usize),
    cycle: Option<Cycle>,
}

/// What a key did to the line being read.
enum Outcome {
    Editing,
    Line(String),
    /// End of input (Ctrl-D on an empty line, Ctrl-C with nothing typed).
    End,
}

impl Keyboard for InputLine {
    fn line(&mut self, prompt: &str, secret: bool) -> io::Result<Option<Vec<u8>>> {
        if self.gone.load(Ordering::Acquire) {
            return Ok(None);
        }
        {
            let mut ui = ui(&self.ui);
            let bytes = ui.screen.set_prompt(prompt, secret);
            ui.write(&bytes);
        }
        loop {
            self.follow_size();
            let wait = if self.decoder.has_pending() {
                ESCAPE_WAIT
            } else {
                TICK
            };
            let keys = match self.woken.recv_timeout(wait) {
                Ok(Wake::Bytes(bytes)) => self.decoder.feed(&bytes),
                Ok(Wake::End) | Err(RecvTimeoutError::Disconnected) => return Ok(None),
                Ok(Wake::ServerGone) => {
                    self.gone.store(true, Ordering::Release);
                    return Ok(None);
                }
                Err(RecvTimeoutError::Timeout) => self.decoder.flush(),
            };
            for key in keys {
                self.follow_size();
                match self.key(key, prompt, secret) {
                    Outcome::Editing => {}
                    Outcome::Line(line) => return Ok(Some(line.into_bytes())),
                    Outcome::End => return Ok(None),
                }
            }
        }
    }
}

impl InputLine {
    /// Redraws everything when the terminal's size changed.
    fn follow_size(&mut self) {
        let Some(size) = term::size() else {
            return;
        };
        if size != self.size {
            self.size = size;
            let mut ui = ui(&self.ui);
            let bytes = ui.screen.resize(size.0, size.1);
            ui.write(&bytes);
        }
    }

    fn key(&mut self, key: Key, prompt: &str, secret: bool) -> Outcome {
        let mut ui = ui(&self.ui);
        if key != Key::Tab {
            self.cycle = None;
        }
        let editor = &mut ui.screen.editor;
        match key {
            Key::Enter => {
                let line = editor.take();
                if !secret && prompt.is_empty() && !input::carries_password(&line) {
                    editor.remember(&line);
                }
                let echo = if secret {
                    Some(prompt.to_string())
                } else if !prompt.is_empty() {
                    Some(format!("{prompt}{line}"))
                } else if input::is_command(&line) && !input::carries_password(&line) {
                    Some(line.clone())
                } else {
                    None
                };
                if let Some(echo) = echo {
                    let bytes = ui
                        .screen
                        .push(&Line::new(Kind::Info, crate::text::for_terminal(&echo)));
                    ui.write(&bytes);
                }
                let bytes = ui.screen.redraw_input();
                ui.write(&bytes);
                return Outcome::Line(line);
            }
            Key::Char(c) => editor.insert(c),
            Key::Paste(text) => editor.insert_str(&text),
            Key::Backspace => editor.backspace(),
            Key::Delete => editor.delete(),
            Key::Left | Key::Ctrl('b') => editor.left(),
            Key::Right | Key::Ctrl('f') => editor.right(),
            Key::Home | Key::Ctrl('a') => editor.home(),
            Key::End | Key::Ctrl('e') => editor.end(),
            Key::WordLeft | Key::Alt('b') => editor.word_left(),
            Key::WordRight | Key::Alt('f') => editor.word_right(),
            Key::Ctrl('u') => editor.kill_to_start(),
            Key::Ctrl('k') => editor.kill_to_end(),
            Key::Ctrl('w') | Key::AltBackspace => editor.kill_word_back(),
            Key::Alt('d') => editor.kill_word_forward(),
            Key::Up | Key::Ctrl('p') if !secret => editor.older(),
            Key::Down | Key::Ctrl('n') if !secret => editor.newer(),
            Key::Ctrl('d') if editor.is_empty() => return Outcome::End,
            Key::Ctrl('d') => editor.delete(),
            Key::Ctrl('c') if editor.is_empty() => return Outcome::End,
            Key::Ctrl('c') => {
                editor.take();
            }
            Key::PageUp => {
                let bytes = ui.screen.page_up();
                ui.write(&bytes);
            }
            Key::PageDown => {
                let bytes = ui.screen.page_down();
                ui.write(&bytes);
            }
            Key::Ctrl('l') => {
                let bytes = ui.screen.full();
                ui.write(&bytes);
            }
            Key::Tab if !secret && prompt.is_empty() => {
                drop(ui);
                self.complete();
                ui = self::ui(&self.ui);
            }
            _ => {}
        }
        let bytes = ui.screen.redraw_input();
        ui.write(&bytes);
        Outcome::Editing
    }

    /// Tab: completes the word before the cursor, or, pressed again,
    /// replaces the completion with the next candidate.
    fn complete(&mut self) {
        let (nicks, rooms) = {
            let state = lock(&self.state);
            let nicks: Vec<String> = state.nicks.values().cloned().collect();
            let rooms: Vec<String> = state.rooms.values().cloned().collect();
            (nicks, rooms)
        };
        let mut ui = ui(&self.ui);
        let editor = &mut ui.screen.editor;
        let text: Vec<char> = editor.text().chars().collect();
        let cursor = editor.cursor();
        let cycle = match self.cycle.take() {
            Some(cycle) => cycle,
            None => {
                let before: String = text[..cursor].iter().collect();
                let (start, candidates) =
                    complete::candidates(&before, &nicks, &rooms, &complete::list_dir);
                if candidates.is_empty() {
                    return;
                }
                Cycle {
                    start,
                    candidates,
                    next: 0,
                }
            }
        };
        let choice = &cycle.candidates[cycle.next % cycle.candidates.len()];
        let mut line: String = text[..cycle.start].iter().collect();
        line.push_str(choice);
        let new_cursor = line.chars().count();
        line.extend(&text[cursor..]);
        editor.set(&line, new_cursor);
        self.cycle = Some(Cycle {
            next: cycle.next + 1,
            ..cycle
        });
    }
}
