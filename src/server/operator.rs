//! The operator's console: commands typed on the server's standard input
//! while clients chat. A server without a console (stdin closed) just runs.

use std::io::{self, BufRead};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::hub::Hub;
use super::outbox::{self, Deferral};

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
pub fn spawn(hub: Hub, live: Arc<AtomicUsize>) -> io::Result<()> {
    thread::Builder::new()
        .name("console-in".into())
        .stack_size(128 * 1024)
        .spawn(move || {
            for line in io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                run_command(&hub, &live, line.trim());
            }
        })?;
    Ok(())
}

fn run_command(hub: &Hub, live: &AtomicUsize, line: &str) {
    // Frames queued under the hub's lock are written once the command is done.
    let _deferral = Deferral::begin();
    let console = hub.console();
    let (command, arg) = line.split_once(' ').unwrap_or((line, ""));
    let arg = arg.trim();
    match command {
        "" => {}
        "/ls" => console.say(hub.room_list(None)),
        "/kill" if !arg.is_empty() => match hub.kill_room(arg) {
            Ok(done) => console.say(done),
            Err(refusal) => console.say(format!("cannot kill {arg}: {}", refusal.reason)),
        },
        "/kick" if !arg.is_empty() => {
            match hub.kick(arg, "you were kicked by the server operator") {
                Ok(nick) => console.say(format!("kicked {nick}")),
                Err(refusal) => console.say(format!("cannot kick {arg}: {}", refusal.reason)),
            }
        }
        "/kill" | "/kick" => console.say(format!("usage: {command} NAME")),
        "/users" => {
            let users = hub.users();
            let mut text = format!("{} user(s) online", users.len());
            for user in users {
                text.push_str(&format!("\n  {} in {}", user.nick, user.room));
            }
            console.say(text);
        }
        "/shutdown" => shutdown(hub, live),
        "/help" => console.say(HELP),
        other => console.say(format!("unknown command {other}; type /help")),
    }
}

/// Tells every client, waits (bounded) for their queues to drain, forces
/// `log.txt` to disk and exits with success.
fn shutdown(hub: &Hub, live: &AtomicUsize) -> ! {
    let console = hub.console();
    console.say("Shutting down: telling every client");
    hub.farewell_all("server shutting down");
    outbox::flush_owed();
    let started = Instant::now();
    while live.load(Ordering::Acquire) > 0 && started.elapsed() < SHUTDOWN_GRACE {
        thread::sleep(Duration::from_millis(10));
    }
    let synced = hub.log().sync_now();
    match synced {
        Ok(()) => console.say("log.txt is on disk. Bye."),
        Err(e) => console.say(format!("warning: cannot fsync log.txt: {e}")),
    }
    console.flush();
    std::process::exit(0);
}
