//! The operator's console: commands typed on the server's standard input
//! while clients chat. A server without a console (stdin closed) just runs.
//!
//! On a terminal, keys are read one by one (`stty -icanon -echo -isig`,
//! restored at exit) and the command being typed is an input line the
//! console's printer keeps below the message dump, so lines arriving
//! while the operator types never cut the command in two; the usual
//! editing keys and Up/Down recall work there. Ctrl-C still stops the
//! server at once; Ctrl-D on an empty line closes the console (the
//! server runs on). From a pipe, lines are read as they come.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::console::{self, Console, InputLine, ERASE_LINE};
use super::door::chat::{room_directory, where_is};
use super::files::FileStore;
use super::hub::{Hub, Owed, Refused};
use super::session::actions::after_close;
use crate::terminal::keys::{Decoder, Key};
use crate::terminal::mode::KeyMode;

const HELP: &str = "\
Console commands:
  /ls          every room: owner, public or private, members online
  /users       who is online, and in which room
  /kill ROOM   close a room; its members go back to the lobby, told why
  /kick NICK   disconnect a user, telling them why
  /shutdown    tell every client, write everything to disk, and exit
  /help        this list";

/// How long `/shutdown` waits for clients to be told before exiting anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// How long a lone Escape waits for the rest of a key's sequence.
const ESCAPE_WAIT: Duration = Duration::from_millis(50);
/// The exit status of a server stopped by Ctrl-C, as a shell reports SIGINT.
const INTERRUPTED: i32 = 130;

/// Starts the thread that reads operator commands.
///
/// # Errors
/// The thread could not be started.
pub fn spawn(
    hub: Hub,
    console: Console,
    files: Arc<FileStore>,
    live: Arc<AtomicUsize>,
) -> io::Result<()> {
    thread::Builder::new()
        .name("console-in".into())
        .stack_size(128 * 1024)
        .spawn(move || {
            let operator = Operator {
                hub,
                console,
                files,
                live,
            };
            let terminal = io::stdin().is_terminal() && io::stdout().is_terminal();
            match terminal.then(|| KeyMode::enter(ERASE_LINE).ok()).flatten() {
                Some(mode) => operator.read_keys(mode),
                None => {
                    for line in io::stdin().lock().lines() {
                        let Ok(line) = line else { break };
                        operator.run_command(line.trim());
                    }
                }
            }
        })?;
    Ok(())
}

/// Bytes from standard input as they come, on a thread of their own so
/// the key loop can wait a moment for the rest of an escape sequence.
fn key_bytes() -> io::Result<Receiver<Vec<u8>>> {
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("console-keys".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let mut buf = [0u8; 1024];
            let mut stdin = io::stdin().lock();
            while let Ok(n) = stdin.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        })?;
    Ok(rx)
}

/// What the console's commands act on.
struct Operator {
    hub: Hub,
    console: Console,
    files: Arc<FileStore>,
    live: Arc<AtomicUsize>,
}

impl Operator {
    /// The console on a terminal: an input line kept below the printed
    /// lines, until Ctrl-D on an empty line or the end of input.
    fn read_keys(&self, mode: KeyMode) {
        let Ok(bytes) = key_bytes() else {
            return;
        };
        let pinned = self.console.input_line();
        let draw = |input: &mut InputLine, before: &str| {
            let mut out = io::stdout().lock();
            let _ = out.write_all(before.as_bytes());
            let _ = out.write_all(input.draw().as_bytes());
            let _ = out.flush();
        };
        {
            let mut input = console::lock(&pinned);
            input.active = true;
            draw(&mut input, "");
        }
        let mut decoder = Decoder::new();
        loop {
            let received = if decoder.has_pending() {
                bytes.recv_timeout(ESCAPE_WAIT)
            } else {
                bytes.recv().map_err(|_| RecvTimeoutError::Disconnected)
            };
            let keys = match received {
                Ok(bytes) => decoder.feed(&bytes),
                Err(RecvTimeoutError::Timeout) => decoder.flush(),
                Err(RecvTimeoutError::Disconnected) => break,
            };
            for key in keys {
                let mut input = console::lock(&pinned);
                let editor = &mut input.editor;
                if editor.apply(&key, true) {
                    draw(&mut input, "");
                    continue;
                }
                match key {
                    Key::Enter => {
                        let line = editor.take();
                        editor.remember(&line);
                        draw(&mut input, &InputLine::entered(&line));
                        drop(input);
                        self.run_command(line.trim());
                        continue;
                    }
                    Key::Ctrl('c') => {
                        drop(input);
                        self.console.close_input_line("^C\n");
                        drop(mode);
                        std::process::exit(INTERRUPTED);
                    }
                    Key::Ctrl('d') if editor.is_empty() => {
                        input.active = false;
                        drop(input);
                        drop(mode);
                        self.console
                            .say("console closed (Ctrl-D); the server runs on");
                        return;
                    }
                    Key::Ctrl('d') => {
                        editor.delete();
                    }
                    Key::Up | Key::Ctrl('p') => editor.older(),
                    Key::Down | Key::Ctrl('n') => editor.newer(),
                    _ => {}
                }
                draw(&mut input, "");
            }
        }
        console::lock(&pinned).active = false;
        drop(mode);
    }

    fn run_command(&self, line: &str) {
        let (hub, console) = (&self.hub, &self.console);
        // Deliveries the command queues are written once it is done.
        let mut owed = Owed::new();
        let (command, arg) = line.split_once(' ').unwrap_or((line, ""));
        let arg = arg.trim();
        match command {
            "" => {}
            "/ls" => console.say(room_directory(&hub.room_list(None))),
            "/kill" if !arg.is_empty() => match hub.kill_room(arg, &mut owed) {
                Ok(closed) => {
                    after_close(console, &self.files, &closed, true);
                    console.say(format!("killed {}", closed.room));
                }
                Err(refused) => console.say(format!("cannot kill {arg}: {}", why(&refused))),
            },
            "/kick" if !arg.is_empty() => {
                match hub.kick(arg, "you were kicked by the server operator") {
                    Ok(nick) => console.say(format!("kicked {nick}")),
                    Err(refused) => console.say(format!("cannot kick {arg}: {}", why(&refused))),
                }
            }
            "/kill" | "/kick" => console.say(format!("usage: {command} NAME")),
            "/users" => {
                let users = hub.users(None);
                let mut text = format!("{} user(s) online", users.len());
                for user in &users {
                    text.push_str(&format!("\n  {} in {}", user.nick, where_is(user)));
                }
                console.say(text);
            }
            "/shutdown" => {
                owed.pay();
                shutdown(hub, console, &self.live)
            }
            "/help" => console.say(HELP),
            other => console.say(format!("unknown command {other}; type /help")),
        }
    }
}

/// A refusal, in the operator's words.
fn why(refused: &Refused) -> String {
    match refused {
        Refused::NoSuchRoom { room } => format!("there is no room {room}"),
        Refused::NoSuchUser { nick } => format!("nobody called {nick} is online"),
        Refused::LobbyIsPermanent => "the lobby cannot be closed".to_string(),
        Refused::NotStored(e) => format!("rooms.txt cannot be written ({e}); nothing changed"),
        other => format!("{other}"),
    }
}

/// Tells every client, waits (bounded) for their queues to drain, forces
/// `log.txt` to disk and exits with success.
fn shutdown(hub: &Hub, console: &Console, live: &AtomicUsize) -> ! {
    console.say("Shutting down: telling every client");
    hub.farewell_all("server shutting down");
    let started = Instant::now();
    while live.load(Ordering::Acquire) > 0 && started.elapsed() < SHUTDOWN_GRACE {
        thread::sleep(Duration::from_millis(10));
    }
    if let Err(e) = hub.log().archive().save_index() {
        console.say(format!(
            "warning: cannot save the index of log.txt: {e}; the next start scans more"
        ));
    }
    let synced = hub.log().sync_now();
    match synced {
        Ok(()) => console.say("log.txt is on disk. Bye."),
        Err(e) => console.say(format!("warning: cannot fsync log.txt: {e}")),
    }
    console.flush();
    console.close_input_line("");
    std::process::exit(0);
}
