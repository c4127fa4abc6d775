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
    // The character first: "John Smith" is refused for its space, not for
    // being ten characters long, and "José" for the é.
    if let Some(bad) = name.chars().find(|&c| !is_name_char(c)) {
        if bad == ' ' {
            return Err(format!(
                "{what} may not contain spaces: a {what} is one word of ASCII letters, digits, '_' and '-'"
            ));
        }
        return Err(format!(
            "{what} may contain only ASCII letters (a-z, A-Z), digits, '_' and '-', not {bad:?}"
        ));
    }
    let chars = name.chars().count();
    if chars > max {
        return Err(format!(
            "{what} is {chars} characters long; at most {max} are allowed"
        ));
    }
    Ok(())
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// The key under which a name is unique: names differ only if they differ
/// ignoring ASCII case, as IRC nicknames do.
pub fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// Most combining marks kept on one character: more than any script's
/// accents need (Vietnamese stacks two, Thai two, pointed Hebrew up to
/// four), too few for a flood of them ("Zalgo" text) to spill over the
/// lines above and below.
pub const MAX_MARKS_PER_CHAR: usize = 4;
/// Most tag characters kept after a black flag: a subdivision flag such
/// as Scotland's needs six (`gbsct` and the end tag).
const MAX_FLAG_TAGS: usize = 8;

/// Makes text safe to print on a terminal. Control characters (C0, DEL,
/// C1) become caret or `\u{..}` notation; characters that are invisible or
/// change the direction of the text around them (direction marks,
/// embeddings, overrides and isolates, line and paragraph separators,
/// zero-width spaces, word joiners, the byte order mark, fillers, tag
/// characters) become `\u{..}` too, so a line can neither read differently
/// from what it says nor hide anything. Zero-width joiners survive where
/// scripts and emoji need them (between two letters of a non-Latin script,
/// inside an emoji sequence), and tag characters inside a flag. Combining
/// marks beyond [`MAX_MARKS_PER_CHAR`] on one character are dropped. Tabs
/// become a space and a newline `↵`. Nothing a peer sends can move the
/// cursor, clear the screen or retitle the window.
pub fn for_terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // The last character that was not a combining mark, and how many marks
    // (or flag tags) it has carried so far.
    let mut base: Option<char> = None;
    let mut marks = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if is_combining(c) {
            marks += 1;
            if marks <= MAX_MARKS_PER_CHAR {
                out.push(c);
            }
            continue;
        }
        if is_tag(c) && base == Some(BLACK_FLAG) {
            marks += 1;
            if marks <= MAX_FLAG_TAGS {
                out.push(c);
                continue;
            }
        }
        let keep_joiner = match c {
            ZWJ => base.is_some_and(is_emoji) && chars.peek().is_some_and(|&n| is_emoji(n)),
            ZWNJ => {
                base.is_some_and(is_script_letter)
                    && chars.peek().is_some_and(|&n| is_script_letter(n))
            }
            _ => false,
        };
        match c {
            '\t' => out.push(' '),
            '\n' => out.push_str(" \u{21b5} "),
            '\u{0}'..='\u{1f}' => {
                out.push('^');
                out.push((c as u8 + b'@') as char);
            }
            '\u{7f}' => out.push_str("^?"),
            _ if keep_joiner => out.push(c),
            _ if ('\u{80}'..='\u{9f}').contains(&c) || is_invisible(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            _ => out.push(c),
        }
        base = Some(c);
        marks = 0;
    }
    out
}

const ZWNJ: char = '\u{200c}';
const ZWJ: char = '\u{200d}';
const BLACK_FLAG: char = '\u{1f3f4}';

/// Characters a terminal shows as nothing, or that reorder or break the
/// text around them.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{ad}'                       // soft hyphen
        | '\u{61c}'                    // Arabic letter mark
        | '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}' // Hangul fillers
        | '\u{180e}'                   // Mongolian vowel separator
        | '\u{200b}'..='\u{200f}'      // zero-width space, joiners, LRM, RLM
        | '\u{2028}' | '\u{2029}'      // line and paragraph separators
        | '\u{202a}'..='\u{202e}'      // embeddings and overrides
        | '\u{2060}'..='\u{2064}'      // word joiner, invisible operators
        | '\u{2066}'..='\u{206f}'      // isolates, deprecated format characters
        | '\u{feff}'                   // byte order mark, zero-width no-break space
        | '\u{fff9}'..='\u{fffb}'      // interlinear annotation
        | '\u{1d173}'..='\u{1d17a}'    // musical formatting
        | '\u{e0000}'..='\u{e007f}' // tag characters (invisible text)
    )
}

fn is_tag(c: char) -> bool {
    ('\u{e0020}'..='\u{e007f}').contains(&c)
}

/// Combining marks of the blocks floods are made of: diacritics for Latin,
/// Greek and Cyrillic, Hebrew points, Arabic harakat, Thai and Lao vowel and
/// tone marks, marks for symbols, and variation selectors.
fn is_combining(c: char) -> bool {
    matches!(c,
        '\u{300}'..='\u{36f}'
        | '\u{483}'..='\u{489}'
        | '\u{591}'..='\u{5bd}' | '\u{5bf}' | '\u{5c1}' | '\u{5c2}' | '\u{5c4}' | '\u{5c5}' | '\u{5c7}'
        | '\u{610}'..='\u{61a}' | '\u{64b}'..='\u{65f}' | '\u{670}'
        | '\u{6d6}'..='\u{6dc}' | '\u{6df}'..='\u{6e4}' | '\u{6e7}' | '\u{6e8}' | '\u{6ea}'..='\u{6ed}'
        | '\u{e31}' | '\u{e34}'..='\u{e3a}' | '\u{e47}'..='\u{e4e}'
        | '\u{eb1}' | '\u{eb4}'..='\u{ebc}' | '\u{ec8}'..='\u{ecd}'
        | '\u{1ab0}'..='\u{1aff}' | '\u{1dc0}'..='\u{1dff}'
        | '\u{20d0}'..='\u{20ff}'
        | '\u{fe00}'..='\u{fe0f}' | '\u{fe20}'..='\u{fe2f}'
        | '\u{e0100}'..='\u{e01ef}'
    )
}

/// Pictographs that zero-width joiners glue into one emoji (👩‍💻, ❤️‍🔥).
fn is_emoji(c: char) -> bool {
    matches!(c, '\u{2600}'..='\u{27bf}' | '\u{2b00}'..='\u{2bff}' | '\u{1f000}'..='\u{1faff}')
}

/// A letter (or, in the Indic scripts, a vowel sign or virama) of a script
/// that needs a zero-width non-joiner between letters (Persian, the Indic
/// scripts); never an ASCII one.
fn is_script_letter(c: char) -> bool {
    !c.is_ascii() && (c.is_alphabetic() || ('\u{900}'..='\u{dff}').contains(&c))
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
        for bad in ["a/b", "é", "a\u{1b}", "ab:c", "..", "a\0"] {
            assert!(
                check_nick(bad)
                    .unwrap_err()
                    .contains("only ASCII letters (a-z, A-Z), digits, '_' and '-'"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_space_is_named_as_the_problem_before_the_length() {
        let reason = check_nick("John Smith").unwrap_err();
        assert_eq!(
            reason,
            "nickname may not contain spaces: a nickname is one word of ASCII letters, digits, '_' and '-'"
        );
        assert!(check_room("my room")
            .unwrap_err()
            .contains("room name may not contain spaces"));
    }

    #[test]
    fn a_non_ascii_letter_is_named_and_ascii_is_said() {
        let reason = check_nick("José").unwrap_err();
        assert!(reason.contains("only ASCII letters"), "{reason}");
        assert!(reason.ends_with("not 'é'"), "{reason}");
        // The offending character is quoted escaped, never raw.
        let reason = check_nick("a\u{202e}b").unwrap_err();
        assert!(reason.ends_with("not '\\u{202e}'"), "{reason}");
        assert_eq!(for_terminal(&reason), reason);
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

    #[test]
    fn invisible_and_direction_marks_are_shown_escaped() {
        for (c, shown) in [
            ('\u{200e}', "\\u{200e}"),
            ('\u{200f}', "\\u{200f}"),
            ('\u{61c}', "\\u{61c}"),
            ('\u{202a}', "\\u{202a}"),
            ('\u{202e}', "\\u{202e}"),
            ('\u{2066}', "\\u{2066}"),
            ('\u{2069}', "\\u{2069}"),
            ('\u{2028}', "\\u{2028}"),
            ('\u{2029}', "\\u{2029}"),
            ('\u{200b}', "\\u{200b}"),
            ('\u{200c}', "\\u{200c}"),
            ('\u{200d}', "\\u{200d}"),
            ('\u{feff}', "\\u{feff}"),
            ('\u{2060}', "\\u{2060}"),
            ('\u{ad}', "\\u{ad}"),
            ('\u{e0041}', "\\u{e0041}"),
        ] {
            let text = format!("ad{c}min");
            assert_eq!(for_terminal(&text), format!("ad{shown}min"), "{c:?}");
            assert!(!is_printable(&text), "{c:?}");
        }
    }

    #[test]
    fn joiners_that_scripts_and_emoji_need_are_kept() {
        for text in [
            "\u{1f469}\u{200d}\u{1f4bb}",          // woman technologist
            "\u{2764}\u{fe0f}\u{200d}\u{1f525}",   // heart on fire
            "\u{1f468}\u{1f3fd}\u{200d}\u{1f33e}", // farmer, with a skin tone
            "\u{645}\u{6cc}\u{200c}\u{62e}\u{648}\u{627}\u{647}\u{645}", // Persian "I want"
            "\u{915}\u{94d}\u{200c}\u{937}",       // Devanagari, virama then ZWNJ
            "\u{1f3f4}\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}", // Scotland
        ] {
            assert_eq!(for_terminal(text), text, "{text:?}");
        }
        // Between ASCII letters a joiner hides something: shown.
        assert_eq!(for_terminal("a\u{200d}b"), "a\\u{200d}b");
        assert_eq!(for_terminal("a\u{200c}b"), "a\\u{200c}b");
        assert_eq!(for_terminal("\u{1f469}\u{200d}"), "\u{1f469}\\u{200d}");
    }

    #[test]
    fn combining_mark_floods_are_capped_per_character() {
        let accents = "Vie\u{302}\u{323}t, e\u{301}, \u{5e9}\u{5c1}\u{5bc}\u{5b8}";
        assert_eq!(for_terminal(accents), accents, "real accents stay");
        let zalgo = format!("a{}b{}c", "\u{301}".repeat(200), "\u{e49}".repeat(50));
        let safe = for_terminal(&zalgo);
        assert_eq!(
            safe,
            format!(
                "a{}b{}c",
                "\u{301}".repeat(MAX_MARKS_PER_CHAR),
                "\u{e49}".repeat(MAX_MARKS_PER_CHAR)
            )
        );
        // Marks with no character under them are capped too.
        let leading = "\u{300}".repeat(100);
        assert_eq!(for_terminal(&leading).chars().count(), MAX_MARKS_PER_CHAR);
        assert!(!is_printable(&zalgo));
    }
}
