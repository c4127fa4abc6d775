//! The commands, by name: each one's words checked and turned into an
//! [`Input`]. Names are case-insensitive; extra or missing words are a
//! usage error, never silently dropped.

use crate::command::{
    AccountRequest, ChatRequest, FileRequest, HistoryRequest, ListKind, Request, RoomRequest,
    DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT,
};

use super::{expand_home, say, Input, SEND_FILE};

/// The `/help` text: every command the client knows.
pub const HELP: &str = "\
Commands (names are case-insensitive; the seeds' forms without / work too:
send_file PATH, get_file N, register NAME PW, login NAME PW, list-user, exit, ...):
  TEXT                      say TEXT to everyone in your room (//TEXT or /say TEXT says it as it is)
  /whisper NICK TEXT        private message to NICK (also /w, /msg)
  /users                    who is online, and where (also /who)
  /send_file PATH           share a file with your room (also /send-file, /upload; ~ is your home)
  /get_file N               download file id N into the download directory (also /get-file, /download)
  /files                    the files shared in your room
  /history [N]              the N messages (default 50) before the oldest one shown (PgUp does it on the full screen)
  /search TEXT [in ROOM]    messages with TEXT (any case) in rooms you may read and your whispers, newest first;
                            /search alone shows the next page
  /unread                   rooms with messages you have not read (registered users)
  /ls                       rooms you can see: owner, visibility, people (/list-chatroom, /rooms)
  /create ROOM [public|private]   create a room and move into it (/open-chatroom)
  /join ROOM                enter a room (/enter-chatroom)
  /leave                    back to the lobby (/exit-chatroom)
  /nick NEWNICK             change your nickname
  /help                     this list
  /quit                     leave the chat (also /exit, exit, or end of input)
 Owners of a room; without ROOM, the room you are in:
  /close [ROOM]             close the room; everyone goes to the lobby (/close-chatroom)
  /ban NICK [in ROOM], /unban NICK [in ROOM]   blacklist: banned users are removed and cannot enter (/ban-user)
  /permit NICK [in ROOM], /unpermit NICK [in ROOM]   whitelist of a private room (/permit-user)
  /blacklist [ROOM], /whitelist [ROOM]   show the lists (/get-blacklist, /get-whitelist)
 Accounts:
  /register PASSWORD        register your nickname: logging in as it will ask for PASSWORD
                            (/register NICK PASSWORD: NICK must be your nickname)
  /login NICK PASSWORD      log out, then log in as NICK
  /passwd OLD NEW           change your password
  /logout                   log out and back to the nickname prompt, staying connected
  /whoami                   your nickname, whether it is registered, your profile
  /set-profile ATTR VALUE   set age, birthday, job, phone_number or self_description
                            (registered users; no VALUE clears it)
  /view-profile NICK        someone's profile
  /list-user                registered users and guests online, online or offline
 Passwords typed in commands are one word; at the Password: prompt they may have spaces.";

/// Every command name, for completion.
pub const COMMANDS: [&str; 31] = [
    "/ban",
    "/blacklist",
    "/close",
    "/create",
    "/files",
    "/get_file",
    "/help",
    "/history",
    "/join",
    "/leave",
    "/list-user",
    "/login",
    "/logout",
    "/ls",
    "/msg",
    "/nick",
    "/passwd",
    "/permit",
    "/quit",
    "/register",
    "/say",
    "/search",
    "/send_file",
    "/set-profile",
    "/unban",
    "/unpermit",
    "/unread",
    "/users",
    "/view-profile",
    "/whisper",
    "/whitelist",
];

/// Commands whose first word is a room name, for completion.
pub const ROOM_COMMANDS: [&str; 10] = [
    "/join",
    "/close",
    "/leave",
    "/blacklist",
    "/whitelist",
    "/enter-chatroom",
    "/close-chatroom",
    "/get-blacklist",
    "/get-whitelist",
    "/exit-chatroom",
];

/// Parses a command line without its leading `/`; `bare` when it was
/// typed without one (then `register` needs both NICK and PASSWORD, as the
/// seed has it: `register bob` may be a password with its nickname missing).
pub fn parse(command: &str, bare: bool) -> Input {
    let (name, rest) = command
        .split_once(char::is_whitespace)
        .unwrap_or((command, ""));
    let rest = rest.trim_start();
    let name = name.to_ascii_lowercase();
    let name = name.as_str();
    match name {
        "quit" | "exit" => none(rest, name, Input::Quit),
        "help" | "?" => none(rest, name, Input::Help),
        "say" if !rest.is_empty() => say(rest),
        "say" => usage("/say TEXT"),
        "users" | "who" => none(rest, name, Input::send(RoomRequest::Users)),
        "register" => match words(rest).as_slice() {
            [password] if !bare => Input::Register {
                nick: None,
                password: password.clone(),
            },
            [nick, password] => Input::Register {
                nick: Some(nick.clone()),
                password: password.clone(),
            },
            _ if bare => usage("register NICK PASSWORD"),
            _ => usage("/register PASSWORD, or register NICK PASSWORD (the password is one word)"),
        },
        "login" => match words(rest).as_slice() {
            [nick, password] => Input::Login {
                nick: nick.clone(),
                password: password.clone(),
            },
            _ => usage("login NICK PASSWORD (for a guest nickname: /logout, then type it)"),
        },
        "passwd" | "password" | "change-password" => match words(rest).as_slice() {
            [old, new] => Input::send(AccountRequest::Passwd {
                old: old.clone(),
                new: new.clone(),
            }),
            _ => usage("/passwd OLD NEW"),
        },
        "logout" => none(rest, name, Input::Logout),
        "whoami" => none(rest, name, Input::send(AccountRequest::Whoami)),
        "list-user" | "list-users" => none(rest, name, Input::send(AccountRequest::ListUsers)),
        "view-profile" | "profile" => one(rest, "/view-profile NICK", |nick| {
            AccountRequest::ViewProfile { nick }
        }),
        "set-profile" => match rest.split_once(char::is_whitespace).unwrap_or((rest, "")) {
            ("", _) => usage("/set-profile ATTR VALUE"),
            (attr, value) => Input::send(AccountRequest::SetProfile {
                attr: attr.to_string(),
                value: value.trim().to_string(),
            }),
        },
        "files" => none(rest, name, Input::send(FileRequest::List)),
        "unread" => none(rest, name, Input::send(HistoryRequest::Unread)),
        "search" => search(rest),
        "history" => match words(rest).as_slice() {
            [] => Input::History {
                limit: DEFAULT_HISTORY_LIMIT,
            },
            [n] => match n.parse() {
                Ok(limit) if (1..=MAX_HISTORY_LIMIT).contains(&limit) => Input::History { limit },
                _ => usage(&format!("/history [N], N from 1 to {MAX_HISTORY_LIMIT}")),
            },
            _ => usage(&format!("/history [N], N from 1 to {MAX_HISTORY_LIMIT}")),
        },
        "get_file" | "get-file" | "download" => match words(rest).as_slice() {
            [id] => match id.parse() {
                Ok(id) => Input::send(FileRequest::Download { id }),
                Err(_) => usage("/get_file N, where N is a file id"),
            },
            _ => usage("/get_file N, where N is a file id"),
        },
        name if SEND_FILE.contains(&name) => send_file(rest),
        "whisper" | "w" | "msg" => match rest.split_once(char::is_whitespace) {
            Some((to, text)) if !text.trim().is_empty() => Input::send(ChatRequest::Whisper {
                to: to.to_string(),
                text: text.trim_start().to_string(),
            }),
            _ => usage("/whisper NICK TEXT"),
        },
        "ls" | "list-chatroom" | "rooms" => none(rest, name, Input::send(RoomRequest::Rooms)),
        "create" | "open-chatroom" => create(rest),
        "join" | "enter-chatroom" => one(rest, "/join ROOM", |room| RoomRequest::Join { room }),
        "leave" | "exit-chatroom" => {
            optional_room(rest, "/leave [ROOM]", |room| RoomRequest::Leave { room })
        }
        "close" | "close-chatroom" => {
            optional_room(rest, "/close [ROOM]", |room| RoomRequest::Close { room })
        }
        "ban" | "ban-user" | "unban" | "unban-user" | "permit" | "permit-user" | "unpermit"
        | "unpermit-user" => change_list(name, rest),
        "blacklist" | "get-blacklist" => {
            optional_room(rest, "/blacklist [ROOM]", |room| RoomRequest::ShowList {
                room,
                list: ListKind::Bans,
            })
        }
        "whitelist" | "get-whitelist" => {
            optional_room(rest, "/whitelist [ROOM]", |room| RoomRequest::ShowList {
                room,
                list: ListKind::Permits,
            })
        }
        "nick" => one(rest, "/nick NEWNICK", |nick| AccountRequest::Nick { nick }),
        _ => Input::Mistake(format!(
            "unknown command /{name}; type /help for the list (//{name} says it as a message)"
        )),
    }
}

fn usage(usage: &str) -> Input {
    Input::Mistake(format!("usage: {usage}"))
}

fn words(rest: &str) -> Vec<String> {
    rest.split_whitespace().map(str::to_string).collect()
}

/// A command that takes no words.
fn none(rest: &str, name: &str, input: Input) -> Input {
    if rest.is_empty() {
        input
    } else {
        Input::Mistake(format!("usage: /{name} (it takes no words)"))
    }
}

/// A command taking exactly one word.
fn one<R: Into<Request>>(rest: &str, usage_text: &str, build: impl FnOnce(String) -> R) -> Input {
    match words(rest).as_slice() {
        [word] => Input::send(build(word.clone())),
        _ => usage(usage_text),
    }
}

/// A room command that names a room, or means the sender's room without one.
fn optional_room<R: Into<Request>>(
    rest: &str,
    usage_text: &str,
    build: impl FnOnce(Option<String>) -> R,
) -> Input {
    match words(rest).as_slice() {
        [] => Input::send(build(None)),
        [room] => Input::send(build(Some(room.clone()))),
        _ => usage(usage_text),
    }
}

fn create(rest: &str) -> Input {
    let words = words(rest);
    let private = match words.get(1).map(|v| v.to_ascii_lowercase()).as_deref() {
        _ if words.is_empty() || words.len() > 2 => None,
        None | Some("public") => Some(false),
        Some("private") => Some(true),
        Some(_) => None,
    };
    match private {
        Some(private) => Input::send(RoomRequest::Create {
            room: words[0].clone(),
            private,
        }),
        None => usage("/create ROOM [public|private]"),
    }
}

/// `/ban NICK [in ROOM]` and its relatives.
fn change_list(name: &str, rest: &str) -> Input {
    let list = if name.contains("ban") {
        ListKind::Bans
    } else {
        ListKind::Permits
    };
    let add = !name.starts_with("un");
    let (nick, room) = match words(rest).as_slice() {
        [nick] => (nick.clone(), None),
        [nick, word, room] if word.eq_ignore_ascii_case("in") => (nick.clone(), Some(room.clone())),
        _ => {
            let short = name.trim_end_matches("-user");
            return usage(&format!("/{short} NICK [in ROOM]"));
        }
    };
    Input::send(RoomRequest::ChangeList {
        room,
        list,
        nick,
        add,
    })
}

fn send_file(rest: &str) -> Input {
    let path = rest.trim();
    // A path with spaces may be quoted, as a shell would want it.
    let path = path
        .strip_prefix('"')
        .and_then(|p| p.strip_suffix('"'))
        .unwrap_or(path);
    if path.is_empty() {
        usage("/send_file PATH")
    } else {
        Input::SendFile(expand_home(path))
    }
}

/// `/search TEXT [in ROOM]`, or `/search` alone for the next page.
fn search(rest: &str) -> Input {
    let rest = rest.trim();
    if rest.is_empty() {
        return Input::Search {
            text: None,
            room: None,
        };
    }
    let words: Vec<&str> = rest.split_whitespace().collect();
    let (text, room) = match words.as_slice() {
        [.., "in", room] if words.len() > 2 => {
            let end = rest.rfind(" in ").unwrap_or(rest.len());
            (rest[..end].trim(), Some(room.to_string()))
        }
        _ => (rest, None),
    };
    Input::Search {
        text: Some(text.to_string()),
        room,
    }
}
