//! What the user types, turned into requests. A line not starting with `/`
//! is a chat message; `//text` sends a message that starts with `/`.

use std::path::PathBuf;

use crate::command::{AccountRequest, ChatRequest, FileRequest, ListKind, Request, RoomRequest};

/// The commands that upload a file; a path follows them.
const SEND_FILE: [&str; 3] = ["send_file", "send-file", "upload"];

/// The `/help` text: every command the client knows.
pub const HELP: &str = "\
Commands:
  TEXT                      say TEXT to everyone in your room (//TEXT says /TEXT)
  /whisper NICK TEXT        private message to NICK (also /w, /msg)
  /users                    who is online, and where (also /who)
  /send_file PATH           share a file with your room (also /send-file, /upload)
  /get_file N               download file id N into the download directory (also /get-file, /download)
  /files                    the files shared in your room
  /ls                       rooms you can see: owner, visibility, people (/list-chatroom, /rooms)
  /create ROOM [public|private]   create a room and move into it (/open-chatroom)
  /join ROOM                enter a room (/enter-chatroom)
  /leave                    back to the lobby (/exit-chatroom)
  /nick NEWNICK             change your nickname
  /help                     this list
  /quit                     leave the chat (also /exit, or end of input)
 Owners of a room, while in it:
  /close                    close the room; everyone goes to the lobby (/close-chatroom)
  /ban NICK, /unban NICK    blacklist: banned users are removed and cannot enter (/ban-user)
  /permit NICK, /unpermit NICK    whitelist for a private room (/permit-user)
  /blacklist, /whitelist    show the lists (/get-blacklist, /get-whitelist)
 Accounts:
  /register PASSWORD        register your nickname: logging in as it will ask for PASSWORD
  /passwd OLD NEW           change your password
  /logout                   log out and back to the nickname prompt, staying connected
  /whoami                   your nickname, whether it is registered, your profile
  /set-profile ATTR VALUE   set age, birthday, job, phone_number or self_description
                            (registered users; no VALUE clears it)
  /view-profile NICK        someone's profile
  /list-user                registered users and guests online, online or offline
 Passwords typed in commands are one word; at the Password: prompt they may have spaces.";

/// One typed line, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Send(Request),
    /// Upload the file at this path (checked before anything is sent).
    SendFile(PathBuf),
    Help,
    Quit,
    /// Log out and go back to the nickname prompt.
    Logout,
    /// An empty line.
    Nothing,
    /// A mistake the user should be told about; nothing is sent.
    Mistake(String),
}

impl Input {
    /// A line that sends `request`.
    pub fn send(request: impl Into<Request>) -> Input {
        Input::Send(request.into())
    }
}

/// Parses one line as typed, in bytes. Only a file path may be other than
/// UTF-8 (file names on disk need not be), so only `/send_file` takes one.
pub fn parse_bytes(line: &[u8]) -> Input {
    if let Ok(text) = std::str::from_utf8(line) {
        return parse(text);
    }
    for command in SEND_FILE {
        let prefix = format!("/{command} ");
        if let Some(path) = line.strip_prefix(prefix.as_bytes()) {
            return Input::SendFile(path_from_bytes(path.trim_ascii()));
        }
    }
    Input::Mistake("that line is not valid UTF-8; it was not sent".into())
}

#[cfg(unix)]
fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}

/// Parses one line typed at the chat prompt.
pub fn parse(line: &str) -> Input {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Input::Nothing;
    }
    if let Some(text) = line.strip_prefix("//") {
        return say(&format!("/{text}"));
    }
    let Some(command) = line.strip_prefix('/') else {
        return say(line);
    };
    let (name, rest) = command.split_once(' ').unwrap_or((command, ""));
    let rest = rest.trim_start();
    match name {
        "quit" | "exit" => Input::Quit,
        "help" | "?" => Input::Help,
        "users" | "who" => Input::send(RoomRequest::Users),
        "register" => one_word(rest, "/register PASSWORD (one word)", |password| {
            AccountRequest::Register { password }
        }),
        "passwd" | "password" => match two_words(rest) {
            Some([old, new]) => Input::send(AccountRequest::Passwd { old, new }),
            None => Input::Mistake("usage: /passwd OLD NEW".into()),
        },
        "logout" => Input::Logout,
        "whoami" => Input::send(AccountRequest::Whoami),
        "list-user" | "list-users" => Input::send(AccountRequest::ListUsers),
        "view-profile" | "profile" => one_word(rest, "/view-profile NICK", |nick| {
            AccountRequest::ViewProfile { nick }
        }),
        "set-profile" => match rest.split_once(' ').unwrap_or((rest, "")) {
            ("", _) => Input::Mistake("usage: /set-profile ATTR VALUE".into()),
            (attr, value) => Input::send(AccountRequest::SetProfile {
                attr: attr.to_string(),
                value: value.trim().to_string(),
            }),
        },
        "files" => Input::send(FileRequest::List),
        "get_file" | "get-file" | "download" => match rest.trim().parse() {
            Ok(id) => Input::send(FileRequest::Download { id }),
            Err(_) => Input::Mistake("usage: /get_file N, where N is a file id".into()),
        },
        name if SEND_FILE.contains(&name) => {
            let path = rest.trim();
            // A path with spaces may be quoted, as a shell would want it.
            let path = path
                .strip_prefix('"')
                .and_then(|p| p.strip_suffix('"'))
                .unwrap_or(path);
            if path.is_empty() {
                Input::Mistake("usage: /send_file PATH".into())
            } else {
                Input::SendFile(PathBuf::from(path))
            }
        }
        "whisper" | "w" | "msg" => match rest.split_once(' ') {
            Some((to, text)) if !text.trim().is_empty() => Input::send(ChatRequest::Whisper {
                to: to.to_string(),
                text: text.to_string(),
            }),
            _ => Input::Mistake("usage: /whisper NICK TEXT".into()),
        },
        "ls" | "list-chatroom" | "rooms" => Input::send(RoomRequest::Rooms),
        "create" | "open-chatroom" => {
            let mut words = rest.split_whitespace();
            let private = match (words.next(), words.next(), words.next()) {
                (Some(_), None | Some("public"), None) => false,
                (Some(_), Some("private"), None) => true,
                _ => return Input::Mistake("usage: /create ROOM [public|private]".into()),
            };
            let room = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            Input::send(RoomRequest::Create { room, private })
        }
        "join" | "enter-chatroom" => {
            one_word(rest, "/join ROOM", |room| RoomRequest::Join { room })
        }
        "leave" | "exit-chatroom" => Input::send(RoomRequest::Leave { room: None }),
        "close" | "close-chatroom" => Input::send(RoomRequest::Close { room: None }),
        "ban" | "ban-user" | "unban" | "permit" | "permit-user" | "unpermit" => {
            let list = if name.contains("ban") {
                ListKind::Bans
            } else {
                ListKind::Permits
            };
            let add = !name.starts_with("un");
            one_word(rest, &format!("/{name} NICK"), |nick| {
                RoomRequest::ChangeList {
                    room: None,
                    list,
                    nick,
                    add,
                }
            })
        }
        "blacklist" | "get-blacklist" => Input::send(RoomRequest::ShowList {
            room: None,
            list: ListKind::Bans,
        }),
        "whitelist" | "get-whitelist" => Input::send(RoomRequest::ShowList {
            room: None,
            list: ListKind::Permits,
        }),
        "nick" => one_word(rest, "/nick NEWNICK", |nick| AccountRequest::Nick { nick }),
        _ => Input::Mistake(format!("unknown command /{name}; type /help for the list")),
    }
}

/// A command taking exactly one word.
fn one_word<R: Into<Request>>(rest: &str, usage: &str, build: impl FnOnce(String) -> R) -> Input {
    let mut words = rest.split_whitespace();
    match (words.next(), words.next()) {
        (Some(word), None) => Input::send(build(word.to_string())),
        _ => Input::Mistake(format!("usage: {usage}")),
    }
}

/// Exactly two whitespace-separated words, or `None`.
fn two_words(rest: &str) -> Option<[String; 2]> {
    let words: Vec<String> = rest.split_whitespace().map(str::to_string).collect();
    words.try_into().ok()
}

fn say(text: &str) -> Input {
    Input::send(ChatRequest::Say {
        room: None,
        text: text.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_commands() {
        let send = |r| Input::send(r);
        assert_eq!(
            parse("/register correct-horse"),
            send(AccountRequest::Register {
                password: "correct-horse".into()
            })
        );
        assert!(matches!(parse("/register"), Input::Mistake(_)));
        assert!(matches!(parse("/register two words"), Input::Mistake(_)));
        assert_eq!(
            parse("/passwd old-pass new-pass"),
            send(AccountRequest::Passwd {
                old: "old-pass".into(),
                new: "new-pass".into()
            })
        );
        assert!(matches!(parse("/passwd only-one"), Input::Mistake(_)));
        assert_eq!(parse("/logout"), Input::Logout);
        assert_eq!(parse("/whoami"), send(AccountRequest::Whoami));
        assert_eq!(parse("/list-user"), send(AccountRequest::ListUsers));
        assert_eq!(
            parse("/view-profile ntu"),
            send(AccountRequest::ViewProfile { nick: "ntu".into() })
        );
        assert_eq!(
            parse("/set-profile self_description I like  Rust "),
            send(AccountRequest::SetProfile {
                attr: "self_description".into(),
                value: "I like  Rust".into()
            })
        );
        assert_eq!(
            parse("/set-profile age"),
            send(AccountRequest::SetProfile {
                attr: "age".into(),
                value: String::new()
            })
        );
        assert!(matches!(parse("/set-profile"), Input::Mistake(_)));
    }

    #[test]
    fn plain_lines_are_messages() {
        assert_eq!(
            parse("Hello World! I'm Ma 19\n"),
            Input::send(ChatRequest::Say {
                room: None,
                text: "Hello World! I'm Ma 19".into()
            })
        );
        assert_eq!(parse("   \n"), Input::Nothing);
    }

    #[test]
    fn double_slash_sends_a_literal_slash() {
        assert_eq!(
            parse("//shrug"),
            Input::send(ChatRequest::Say {
                room: None,
                text: "/shrug".into()
            })
        );
    }

    #[test]
    fn whisper_and_its_aliases() {
        let expected = Input::send(ChatRequest::Whisper {
            to: "bob".into(),
            text: "meet at 5".into(),
        });
        for line in [
            "/whisper bob meet at 5",
            "/w bob meet at 5",
            "/msg  bob meet at 5",
        ] {
            assert_eq!(parse(line), expected, "{line}");
        }
        assert!(matches!(parse("/w bob"), Input::Mistake(_)));
        assert!(matches!(parse("/w"), Input::Mistake(_)));
    }

    #[test]
    fn file_commands_and_their_aliases() {
        for line in [
            "/send_file a b.txt",
            "/send-file  a b.txt ",
            "/upload \"a b.txt\"",
        ] {
            assert_eq!(parse(line), Input::SendFile("a b.txt".into()), "{line}");
        }
        for line in ["/get_file 7", "/get-file 7", "/download  7 "] {
            assert_eq!(
                parse(line),
                Input::send(FileRequest::Download { id: 7 }),
                "{line}"
            );
        }
        assert_eq!(parse("/files"), Input::send(FileRequest::List));
        assert!(matches!(parse("/send_file"), Input::Mistake(_)));
        assert!(matches!(parse("/get_file x"), Input::Mistake(_)));
        assert!(matches!(parse("/get_file -1"), Input::Mistake(_)));
    }

    #[test]
    fn only_a_file_path_may_be_other_than_utf8() {
        let line = b"/send_file caf\xe9.bin\n";
        match parse_bytes(line) {
            Input::SendFile(path) => {
                assert_eq!(path.to_string_lossy(), "caf\u{fffd}.bin");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse_bytes(b"hello \xff\n"), Input::Mistake(_)));
        assert_eq!(parse_bytes(b"/files\r\n"), Input::send(FileRequest::List));
    }

    #[test]
    fn room_commands_and_their_seed_aliases() {
        let create = Input::send(RoomRequest::Create {
            room: "rust".into(),
            private: false,
        });
        assert_eq!(parse("/create rust"), create);
        assert_eq!(parse("/open-chatroom rust public"), create);
        assert_eq!(
            parse("/create rust private"),
            Input::send(RoomRequest::Create {
                room: "rust".into(),
                private: true
            })
        );
        assert!(matches!(parse("/create rust secret"), Input::Mistake(_)));
        assert!(matches!(parse("/create"), Input::Mistake(_)));
        let join = Input::send(RoomRequest::Join {
            room: "rust".into(),
        });
        assert_eq!(parse("/join rust"), join);
        assert_eq!(parse("/enter-chatroom rust"), join);
        assert!(matches!(parse("/join a b"), Input::Mistake(_)));
        for (line, expected) in [
            ("/ls", RoomRequest::Rooms),
            ("/list-chatroom", RoomRequest::Rooms),
            ("/leave", RoomRequest::Leave { room: None }),
            ("/exit-chatroom", RoomRequest::Leave { room: None }),
            ("/close-chatroom", RoomRequest::Close { room: None }),
            (
                "/ban-user bob",
                RoomRequest::ChangeList {
                    room: None,
                    list: ListKind::Bans,
                    nick: "bob".into(),
                    add: true,
                },
            ),
            (
                "/unpermit bob",
                RoomRequest::ChangeList {
                    room: None,
                    list: ListKind::Permits,
                    nick: "bob".into(),
                    add: false,
                },
            ),
            (
                "/get-whitelist",
                RoomRequest::ShowList {
                    room: None,
                    list: ListKind::Permits,
                },
            ),
        ] {
            assert_eq!(parse(line), Input::send(expected), "{line}");
        }
        assert_eq!(
            parse("/nick Tom"),
            Input::send(AccountRequest::Nick { nick: "Tom".into() })
        );
    }

    #[test]
    fn commands_and_mistakes() {
        assert_eq!(parse("/quit"), Input::Quit);
        assert_eq!(parse("/exit"), Input::Quit);
        assert_eq!(parse("/help"), Input::Help);
        assert_eq!(parse("/users"), Input::send(RoomRequest::Users));
        match parse("/dance") {
            Input::Mistake(m) => assert!(m.contains("/help")),
            other => panic!("{other:?}"),
        }
    }
}
