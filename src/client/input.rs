//! What the user types, turned into requests. A line not starting with `/`
//! is a chat message; `//text` sends a message that starts with `/`.

use crate::command::Request;

/// The `/help` text: every command the client knows.
pub const HELP: &str = "\
Commands:
  TEXT                      say TEXT to everyone in your room (//TEXT says /TEXT)
  /whisper NICK TEXT        private message to NICK (also /w, /msg)
  /users                    who is online, and where (also /who)
  /help                     this list
  /quit                     leave the chat (also /exit, or end of input)";

/// One typed line, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Send(Request),
    Help,
    Quit,
    /// An empty line.
    Nothing,
    /// A mistake the user should be told about; nothing is sent.
    Mistake(String),
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
        "users" | "who" => Input::Send(Request::Users),
        "whisper" | "w" | "msg" => match rest.split_once(' ') {
            Some((to, text)) if !text.trim().is_empty() => Input::Send(Request::Whisper {
                to: to.to_string(),
                text: text.to_string(),
            }),
            _ => Input::Mistake("usage: /whisper NICK TEXT".into()),
        },
        _ => Input::Mistake(format!("unknown command /{name}; type /help for the list")),
    }
}

fn say(text: &str) -> Input {
    Input::Send(Request::Say {
        room: None,
        text: text.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_are_messages() {
        assert_eq!(
            parse("Hello World! I'm Ma 19\n"),
            Input::Send(Request::Say {
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
            Input::Send(Request::Say {
                room: None,
                text: "/shrug".into()
            })
        );
    }

    #[test]
    fn whisper_and_its_aliases() {
        let expected = Input::Send(Request::Whisper {
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
    fn commands_and_mistakes() {
        assert_eq!(parse("/quit"), Input::Quit);
        assert_eq!(parse("/exit"), Input::Quit);
        assert_eq!(parse("/help"), Input::Help);
        assert_eq!(parse("/users"), Input::Send(Request::Users));
        match parse("/dance") {
            Input::Mistake(m) => assert!(m.contains("/help")),
            other => panic!("{other:?}"),
        }
    }
}
