//! The operator's console: commands typed on the server's standard input
//! while clients chat. A server without a console (stdin closed) just runs.

use std::io::{self, BufRead};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::console::Console;
use super::door::chat::{room_directory, where_is};
use super::files::FileStore;
use super::hub::{Hub, Owed, Refused};
use super::session::actions::after_close;

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
            for line in io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                operator.run_command(line.trim());
            }
        })?;
    Ok(())
}

/// What the console's commands act on.
struct Operator {
    hub: Hub,
    console: Console,
    files: Arc<FileStore>,
    live: Arc<AtomicUsize>,
}

impl Operator {
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
    std::process::exit(0);
}
