//! Unit tests of the typed-line parser: every command, its aliases, its
//! usage errors, and the bare forms that must (and must not) be commands.
#![cfg(test)]

use super::*;
use crate::command::{AccountRequest, FileRequest, ListKind, RoomRequest};

#[test]
fn account_commands() {
    let send = |r| Input::send(r);
    assert_eq!(
        parse("/register correct-horse"),
        Input::Register {
            nick: None,
            password: "correct-horse".into()
        }
    );
    assert!(matches!(parse("/register"), Input::Mistake(_)));
    assert!(matches!(
        parse("/register three words here"),
        Input::Mistake(_)
    ));
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

fn is_mistake(input: &Input) -> bool {
    matches!(input, Input::Mistake(_))
}

#[test]
fn seed_bare_commands_are_parsed_like_slash_commands() {
    assert_eq!(
        parse("get_file 5"),
        Input::send(FileRequest::Download { id: 5 })
    );
    assert_eq!(
        parse("send_file notes.txt"),
        Input::SendFile("notes.txt".into())
    );
    assert_eq!(
        parse("register Tom secret-pw"),
        Input::Register {
            nick: Some("Tom".into()),
            password: "secret-pw".into()
        }
    );
    assert_eq!(
        parse("login Tom secret-pw"),
        Input::Login {
            nick: "Tom".into(),
            password: "secret-pw".into()
        }
    );
    assert_eq!(parse("logout"), Input::Logout);
    assert_eq!(parse("exit"), Input::Quit);
    assert_eq!(parse("help"), Input::Help);
    assert_eq!(parse("whoami"), Input::send(AccountRequest::Whoami));
    assert_eq!(parse("list-user"), Input::send(AccountRequest::ListUsers));
    assert_eq!(
        parse("set-profile job student"),
        Input::send(AccountRequest::SetProfile {
            attr: "job".into(),
            value: "student".into()
        })
    );
    assert_eq!(
        parse("view-profile Tom"),
        Input::send(AccountRequest::ViewProfile { nick: "Tom".into() })
    );
    assert_eq!(parse("list-chatroom"), Input::send(RoomRequest::Rooms));
    assert_eq!(
        parse("open-chatroom chat1 private"),
        Input::send(RoomRequest::Create {
            room: "chat1".into(),
            private: true
        })
    );
    assert_eq!(
        parse("enter-chatroom chat1"),
        Input::send(RoomRequest::Join {
            room: "chat1".into()
        })
    );
    assert_eq!(
        parse("close-chatroom chat1"),
        Input::send(RoomRequest::Close {
            room: Some("chat1".into())
        })
    );
    assert_eq!(
        parse("get-blacklist"),
        Input::send(RoomRequest::ShowList {
            list: ListKind::Bans,
            room: None
        })
    );
    assert_eq!(
        parse("get-whitelist chat1"),
        Input::send(RoomRequest::ShowList {
            list: ListKind::Permits,
            room: Some("chat1".into())
        })
    );
}

#[test]
fn command_names_are_case_insensitive() {
    assert_eq!(parse("/QUIT"), Input::Quit);
    assert_eq!(parse("EXIT"), Input::Quit);
    assert_eq!(
        parse("Get_File 3"),
        Input::send(FileRequest::Download { id: 3 })
    );
    assert_eq!(
        parse("/Create Rust PRIVATE"),
        Input::send(RoomRequest::Create {
            room: "Rust".into(),
            private: true
        })
    );
}

#[test]
fn sentences_that_start_with_a_command_word_are_chat() {
    for line in ["help me please", "exit through the gift shop", "whoami?"] {
        assert_eq!(
            parse(line),
            Input::send(ChatRequest::Say {
                room: None,
                text: line.into()
            }),
            "{line}"
        );
    }
}

#[test]
fn a_malformed_password_command_is_never_a_message() {
    for line in [
        "register bob",
        "register",
        "register a b c",
        "login bob",
        "/login bob",
        "login",
        "passwd onlyone",
        "register bob pw\nand more",
    ] {
        assert!(is_mistake(&parse(line)), "{line}: {:?}", parse(line));
    }
}

#[test]
fn room_commands_take_a_room_name_and_refuse_extra_words() {
    assert_eq!(
        parse("/close second"),
        Input::send(RoomRequest::Close {
            room: Some("second".into())
        })
    );
    assert_eq!(
        parse("/leave second"),
        Input::send(RoomRequest::Leave {
            room: Some("second".into())
        })
    );
    assert_eq!(
        parse("/blacklist second"),
        Input::send(RoomRequest::ShowList {
            list: ListKind::Bans,
            room: Some("second".into())
        })
    );
    assert_eq!(
        parse("/ban bob in second"),
        Input::send(RoomRequest::ChangeList {
            list: ListKind::Bans,
            nick: "bob".into(),
            add: true,
            room: Some("second".into())
        })
    );
    assert_eq!(
        parse("/unpermit bob IN second"),
        Input::send(RoomRequest::ChangeList {
            list: ListKind::Permits,
            nick: "bob".into(),
            add: false,
            room: Some("second".into())
        })
    );
    for line in [
        "/close a b",
        "/ban bob second",
        "/ban bob in",
        "/ban bob in a b",
        "/whitelist a b",
        "/leave a b",
        "/users everyone",
        "/ls all",
        "/quit now",
        "/join",
        "/nick a b",
        "/get_file 1 2",
        "/create a public extra",
    ] {
        assert!(is_mistake(&parse(line)), "{line}: {:?}", parse(line));
    }
}

#[test]
fn a_tilde_is_the_home_directory_in_paths() {
    let Some(home) = std::env::var_os("HOME") else {
        return;
    };
    let home = std::path::PathBuf::from(home);
    assert_eq!(
        parse("send_file ~/notes.txt"),
        Input::SendFile(home.join("notes.txt"))
    );
    match parse_bytes(b"/send_file ~/caf\xe9.bin") {
        Input::SendFile(path) => {
            assert_eq!(path.parent(), Some(home.as_path()));
            assert_eq!(
                path.to_string_lossy(),
                home.join("caf\u{fffd}.bin").to_string_lossy()
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(parse("/send_file a~b"), Input::SendFile("a~b".into()));
}

#[test]
fn a_pasted_block_is_one_message_unless_it_starts_like_a_command() {
    assert_eq!(
        parse("line one\nline two\n"),
        Input::send(ChatRequest::Say {
            room: None,
            text: "line one\nline two".into()
        })
    );
    assert!(is_mistake(&parse("/quit\nhello")));
    assert!(is_mistake(&parse("login bob pw\nhello")));
    assert_eq!(
        parse("//x\ny"),
        Input::send(ChatRequest::Say {
            room: None,
            text: "/x\ny".into()
        })
    );
}

#[test]
fn say_sends_a_line_as_it_is() {
    assert_eq!(
        parse("/say help"),
        Input::send(ChatRequest::Say {
            room: None,
            text: "help".into()
        })
    );
    assert!(is_mistake(&parse("/say")));
}

#[test]
fn lines_that_may_carry_a_password_are_known() {
    for line in ["/register pw", "login a b", "/PASSWD a b", "register"] {
        assert!(carries_password(line), "{line}");
    }
    for line in ["/whoami", "hello", "//login a b", "/say login a b"] {
        assert!(!carries_password(line), "{line}");
    }
    assert!(is_command("/users") && is_command("exit") && !is_command("//x"));
}

#[test]
fn search_takes_text_and_an_optional_room() {
    let search = |text: Option<&str>, room: Option<&str>| Input::Search {
        text: text.map(str::to_string),
        room: room.map(str::to_string),
    };
    assert_eq!(parse("/search"), search(None, None));
    assert_eq!(parse("/search cake"), search(Some("cake"), None));
    assert_eq!(
        parse("/Search the cake in den"),
        search(Some("the cake"), Some("den"))
    );
    assert_eq!(parse("/search in"), search(Some("in"), None));
    assert_eq!(parse("/search log in"), search(Some("log in"), None));
    assert_eq!(
        parse("/unread"),
        Input::send(crate::command::HistoryRequest::Unread)
    );
    assert!(is_mistake(&parse("/unread now")));
}

#[test]
fn history_takes_an_optional_count() {
    assert_eq!(parse("/history"), Input::History { limit: 50 });
    assert_eq!(parse("/HISTORY 200"), Input::History { limit: 200 });
    for line in ["/history 0", "/history 501", "/history x", "/history 1 2"] {
        assert!(is_mistake(&parse(line)), "{line}");
    }
}
