//! Splitting a chat text (up to 4 KiB of UTF-8, newlines allowed) into
//! pieces that each fit one `PRIVMSG` or `NOTICE` line, given the real
//! length of that line's source and target. Nothing is lost or added: the
//! pieces, joined with a newline after each one that [`Piece::ends_line`],
//! are the text again, byte for byte.

use super::error::IrcError;
use super::message::MAX_BODY_BYTES;

/// The fewest bytes of text a line must carry, so that any character fits.
pub const MIN_TEXT_BUDGET: usize = 4;

/// One line's worth of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece<'a> {
    /// The bytes of this line (never a newline).
    pub text: &'a str,
    /// True when a newline of the text came right after this piece; false
    /// when the piece was cut only to fit, or ends the text.
    pub ends_line: bool,
}

/// How many bytes of text fit in `:source COMMAND target :text` CR LF.
/// Tags do not count: they have a budget of their own.
pub fn text_budget(source: &str, command: &str, target: &str) -> usize {
    // ':' + source + ' ' + command + ' ' + target + " :" + text + "\r\n"
    let fixed = 1 + source.len() + 1 + command.len() + 1 + target.len() + 2 + 2;
    MAX_BODY_BYTES.saturating_sub(fixed)
}

/// Splits `text` into pieces of at most `budget` bytes: at each newline,
/// and where a line is too long, after the last space that keeps the piece
/// at least half full, else at the last character boundary that fits. A
/// character is never cut, and an empty line stays an empty piece.
///
/// # Errors
/// [`IrcError::WontFit`] when `budget` is under [`MIN_TEXT_BUDGET`] (the
/// source or target is absurdly long), and [`IrcError::ControlByte`] for a
/// NUL or CR, which no IRC line can carry (the hub refuses both in texts).
pub fn split_text(text: &str, budget: usize) -> Result<Vec<Piece<'_>>, IrcError> {
    if budget < MIN_TEXT_BUDGET {
        return Err(IrcError::WontFit {
            len: MAX_BODY_BYTES - budget + MIN_TEXT_BUDGET,
            limit: MAX_BODY_BYTES,
        });
    }
    if let Some(byte) = text.bytes().find(|&b| b == b'\0' || b == b'\r') {
        return Err(IrcError::ControlByte { byte });
    }
    let mut pieces = Vec::new();
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        let mut rest = line;
        while rest.len() > budget {
            let cut = cut_point(rest, budget);
            pieces.push(Piece {
                text: &rest[..cut],
                ends_line: false,
            });
            rest = &rest[cut..];
        }
        pieces.push(Piece {
            text: rest,
            ends_line: lines.peek().is_some(),
        });
    }
    Ok(pieces)
}

/// Where to cut `line` (longer than `budget`): just after a space in the
/// second half of the budget, else the last character boundary within it.
fn cut_point(line: &str, budget: usize) -> usize {
    let mut cut = budget;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    match line[..cut].rfind(' ') {
        Some(space) if space + 1 >= budget / 2 => space + 1,
        _ => cut,
    }
}

/// Packs words into space-separated lists of at most `budget` bytes each,
/// for replies that list names (`353`, `CAP LS`, `319`). Always at least
/// one list, empty when there are no words. A word longer than `budget`
/// gets a list of its own: callers size the budget for their longest word.
pub fn pack_words<'a>(words: impl IntoIterator<Item = &'a str>, budget: usize) -> Vec<String> {
    let mut lists = vec![String::new()];
    for word in words {
        // Cannot fail: `lists` starts with one list and only grows.
        let current = lists.last_mut().expect("lists starts non-empty");
        if current.is_empty() {
            current.push_str(word);
        } else if current.len() + 1 + word.len() <= budget {
            current.push(' ');
            current.push_str(word);
        } else {
            lists.push(word.to_string());
        }
    }
    lists
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::irc::message::{Limits, Message};
    use crate::irc::test_rng::Rng;

    /// The text again, from its pieces.
    fn join(pieces: &[Piece]) -> String {
        let mut text = String::new();
        for piece in pieces {
            text.push_str(piece.text);
            if piece.ends_line {
                text.push('\n');
            }
        }
        text
    }

    fn texts<'a>(pieces: &[Piece<'a>]) -> Vec<&'a str> {
        pieces.iter().map(|p| p.text).collect()
    }

    #[test]
    fn short_text_is_one_piece() {
        let pieces = split_text("hello", 100).expect("splits");
        assert_eq!(
            pieces,
            [Piece {
                text: "hello",
                ends_line: false
            }]
        );
        assert_eq!(texts(&split_text("", 100).expect("splits")), [""]);
    }

    #[test]
    fn newlines_become_line_breaks_and_empty_lines_stay() {
        let pieces = split_text("a\n\nb\n", 100).expect("splits");
        assert_eq!(texts(&pieces), ["a", "", "b", ""]);
        assert_eq!(
            pieces.iter().map(|p| p.ends_line).collect::<Vec<_>>(),
            [true, true, true, false]
        );
        assert_eq!(join(&pieces), "a\n\nb\n");
    }

    #[test]
    fn prefers_to_cut_after_a_space() {
        let pieces = split_text("aaaa bbbb cccc", 10).expect("splits");
        assert_eq!(texts(&pieces), ["aaaa bbbb ", "cccc"]);
        // A space too early in the piece is not worth a half-empty line.
        let pieces = split_text("a bbbbbbbbbbbbbb", 10).expect("splits");
        assert_eq!(texts(&pieces), ["a bbbbbbbb", "bbbbbb"]);
    }

    #[test]
    fn never_cuts_inside_a_character() {
        // Four-byte characters with a budget that is not a multiple of four.
        let text = "🦀".repeat(10);
        let pieces = split_text(&text, 6).expect("splits");
        assert!(pieces.iter().all(|p| p.text == "🦀"), "{pieces:?}");
        assert_eq!(join(&pieces), text);
        let pieces = split_text("aéé", 4).expect("splits");
        assert_eq!(texts(&pieces), ["aé", "é"]);
    }

    #[test]
    fn refuses_what_no_line_can_carry() {
        assert!(matches!(split_text("x", 3), Err(IrcError::WontFit { .. })));
        assert!(split_text("x", MIN_TEXT_BUDGET).is_ok());
        assert!(matches!(
            split_text("a\r\nb", 100),
            Err(IrcError::ControlByte { byte: b'\r' })
        ));
        assert!(matches!(
            split_text("a\0b", 100),
            Err(IrcError::ControlByte { byte: 0 })
        ));
    }

    #[test]
    fn budget_counts_every_byte_of_the_line() {
        let (source, target) = ("al!al@127.0.0.1", "#lobby");
        let budget = text_budget(source, "PRIVMSG", target);
        let text = "x y".repeat(400);
        for piece in split_text(&text, budget).expect("splits") {
            let line = Message::new("PRIVMSG", [target, piece.text])
                .with_source(source)
                .with_tag("time", "2026-11-21T10:15:02.123Z")
                .to_line()
                .expect("every piece fits");
            assert!(line.len() - "@time=2026-11-21T10:15:02.123Z ".len() <= 512);
        }
        // A full piece (with a space, so the colon is written) makes a
        // line of exactly 512 bytes.
        let full = format!("{} ", "z".repeat(budget - 1));
        let line = Message::new("PRIVMSG", [target, full.as_str()])
            .with_source(source)
            .to_line()
            .expect("fits");
        assert_eq!(line.len(), 512);
        assert_eq!(text_budget(&"s".repeat(600), "PRIVMSG", target), 0);
    }

    #[test]
    fn packs_words_into_lists_that_fit() {
        assert_eq!(pack_words([], 10), [""]);
        assert_eq!(pack_words(["ab", "cd", "ef"], 5), ["ab cd", "ef"]);
        assert_eq!(pack_words(["ab", "cd", "ef"], 8), ["ab cd ef"]);
        assert_eq!(pack_words(["abcdefgh", "x"], 4), ["abcdefgh", "x"]);
        let names: Vec<String> = (0..300).map(|i| format!("n{i}")).collect();
        let lists = pack_words(names.iter().map(String::as_str), 100);
        assert!(lists.iter().all(|l| l.len() <= 100));
        assert_eq!(lists.join(" "), names.join(" "));
    }

    #[test]
    fn random_texts_reassemble_exactly() {
        let alphabet: Vec<char> = "abc  \n\té€🦀ü:;@!#\\".chars().collect();
        let mut rng = Rng::new(7);
        for round in 0..2_000 {
            let mut text = rng.text(&alphabet, 0..1500);
            // Keep to the 4 KiB a chat message may be.
            while text.len() > 4096 {
                text.pop();
            }
            let budget = MIN_TEXT_BUDGET + rng.below(500);
            let pieces = split_text(&text, budget).expect("splits");
            assert_eq!(join(&pieces), text, "round {round}, budget {budget}");
            for p in &pieces {
                assert!(p.text.len() <= budget, "round {round}: {p:?}");
                assert!(!p.text.contains('\n'));
            }
            // And every piece goes on the wire and comes back unchanged.
            let source = "n".repeat(1 + rng.below(40));
            let budget = text_budget(&source, "NOTICE", "#r");
            for p in split_text(&text, budget).expect("splits") {
                let line = Message::new("NOTICE", ["#r", p.text])
                    .with_source(source.as_str())
                    .to_line()
                    .expect("fits");
                let back = Message::parse(&line, Limits::SERVER).expect("parses");
                assert_eq!(back.params[1], p.text);
            }
        }
    }
}
