//! The input line as the client's [`Keyboard`]: waits for keys (and
//! checks the terminal's size between them), applies them to the editor,
//! and gives back a line on Enter; Tab completes, PgUp/PgDn scroll.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use super::super::input;
use super::super::keyboard::Keyboard;
use super::super::output::{Kind, Line};
use super::super::state::{lock, Shared};
use super::{complete, ui, SharedUi, Wake};
use crate::terminal::keys::{Decoder, Key};
use crate::terminal::mode;

/// How often the size is checked while no key comes.
const TICK: Duration = Duration::from_millis(250);
/// How long a lone Escape waits for the rest of a sequence.
const ESCAPE_WAIT: Duration = Duration::from_millis(50);

/// Tab pressed again: the next candidate for the same word.
struct Cycle {
    /// Where the completed word starts, in characters.
    start: usize,
    candidates: Vec<String>,
    next: usize,
}

/// The input line as the client's keyboard.
pub struct InputLine {
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
    /// Reads keys arriving on `woken`; `gone` is set when the server went away.
    pub fn new(
        ui: SharedUi,
        woken: Receiver<Wake>,
        state: Shared,
        gone: Arc<AtomicBool>,
        size: (usize, usize),
    ) -> InputLine {
        InputLine {
            ui,
            woken,
            decoder: Decoder::new(),
            state,
            gone,
            size,
            cycle: None,
        }
    }

    /// Redraws everything when the terminal's size changed.
    fn follow_size(&mut self) {
        let Some(size) = mode::size() else {
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
        if editor.apply(&key, false) {
            let bytes = ui.screen.redraw_input();
            ui.write(&bytes);
            return Outcome::Editing;
        }
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
            Key::Up | Key::Ctrl('p') if !secret => editor.older(),
            Key::Down | Key::Ctrl('n') if !secret => editor.newer(),
            Key::Ctrl('d') if editor.is_empty() => return Outcome::End,
            Key::Ctrl('d') => editor.delete(),
            Key::Ctrl('c') if editor.is_empty() => return Outcome::End,
            Key::Ctrl('c') => {
                editor.take();
            }
            Key::PageUp if ui.screen.at_top() && prompt.is_empty() && !secret => {
                // At the top of what this session has: ask the server for
                // older messages, once at a time, until its history starts.
                let done = lock(&self.state).history_done_here();
                if !done && !ui.screen.is_fetching() {
                    let bytes = ui.screen.fetching();
                    ui.write(&bytes);
                    return Outcome::Line("/history".into());
                }
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
                ui = super::ui(&self.ui);
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
