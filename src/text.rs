//! Rules for the text people choose and see: nickname and room-name syntax,
//! and neutralising control characters before anything reaches a terminal.

/// Longest nickname, in characters (seed 001's rule).
pub const MAX_NICK_CHARS: usize = 8;
/// Longest room name, in characters.
pub const MAX_ROOM_CHARS: usize = 32;
/// The room everyone lands in; it always exists.
pub const LOBBY: &str = "lobby";

/// Checks a nickname: 1 to 8 ASCII letters, digits, `_` or `-`.
///
/// # Errors
/// A reason a person can act on.
pub fn check_nick(nick: &str) -> Result<(), String> {
    check_name(nick, "nickname", MAX_NICK_CHARS)
}

/// Checks a room name: 1 to 32 ASCII letters, digits, `_` or `-`.
///
/// # Errors
/// A reason a person can act on.
pub fn check_room(room: &str) -> Result<(), String> {
    check_name(room, "room name", MAX_ROOM_CHARS)
}

fn check_name(name: &str, what: &str, max: usize) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("{what} is empty"));
    }
    let chars = name.chars().count();
    if chars > max {
        return Err(format!(
            "{what} is {chars} characters long; at most {max} are allowed"
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "{what} may contain only letters, digits, '_' and '-'"
        ));
    }
    Ok(())
}

/// The key under which a name is unique: names differ only if they differ
/// ignoring ASCII case, as IRC nicknames do.
pub fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// Makes text safe to print on a terminal: control characters (C0, DEL, C1)
/// become caret or `\u{..}` notation, and Unicode direction overrides, which
/// can make a line read differently from what it says, become `\u{..}` too.
/// Tabs become a space. Nothing a peer sends can move the cursor, clear the
/// screen or retitle the window.
pub fn for_terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' => out.push(' '),
            '\n' => out.push_str(" \u{21b5} "),
            '\u{0}'..='\u{1f}' => {
                out.push('^');
                out.push((c as u8 + b'@') as char);
            }
            '\u{7f}' => out.push_str("^?"),
            '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            _ => out.push(c),
        }
    }
    out
}

/// True when the text holds nothing a terminal would interpret, so it can
/// be accepted as a name or a profile value as it is.
pub fn is_printable(text: &str) -> bool {
    for_terminal(text) == text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_of_one_to_eight_allowed_characters_pass() {
        for ok in ["a", "ntu", "Ma19", "ABCDEFGH", "a_b-c", "12345678"] {
            assert!(check_nick(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn bad_nicknames_get_a_reason() {
        assert_eq!(check_nick("").unwrap_err(), "nickname is empty");
        assert!(check_nick("ABCDEFGHI").unwrap_err().contains("at most 8"));
        for bad in ["a b", "a/b", "é", "a\u{1b}", "ab:c", "..", "a\0"] {
            assert!(
                check_nick(bad).unwrap_err().contains("only letters"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn room_names_allow_up_to_32_characters() {
        assert!(check_room(&"r".repeat(32)).is_ok());
        assert!(check_room(&"r".repeat(33)).is_err());
        assert!(check_room("my room").is_err());
    }

    #[test]
    fn names_are_unique_ignoring_case() {
        assert_eq!(name_key("NtU"), name_key("ntu"));
    }

    #[test]
    fn escape_sequences_cannot_reach_the_terminal() {
        let hostile = "hi\u{1b}[2J\u{1b}]0;owned\u{7}\r\u{9b}31m\u{202e}gnp.exe\0";
        let safe = for_terminal(hostile);
        assert!(!safe.chars().any(|c| c.is_control()), "{safe:?}");
        assert_eq!(safe, "hi^[[2J^[]0;owned^G^M\\u{9b}31m\\u{202e}gnp.exe^@");
        assert!(!is_printable(hostile));
    }

    #[test]
    fn ordinary_text_is_unchanged() {
        let text = "Hello World! I'm Ma 19 — ünïcødé 你好 🎉";
        assert_eq!(for_terminal(text), text);
        assert!(is_printable(text));
    }
}
