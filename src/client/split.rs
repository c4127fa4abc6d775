//! Splitting a typed message that is longer than the server takes
//! (`Max-Body`, told at login) into several messages, on character
//! boundaries and preferably between words, so a long paste is neither cut
//! silently nor refused by the server (which closes the connection on an
//! oversized body).

/// Most messages one typed line is split into; a longer line is refused
/// with one line (a file is the way to share that much text).
pub const MAX_PIECES: usize = 16;

/// `text` in pieces of at most `max_bytes` bytes of UTF-8 each; a single
/// piece when it fits. A piece ends at the last whitespace of its window
/// when that is in the window's second half (the whitespace itself is
/// dropped: it separated the two messages), else at the last character
/// boundary that fits. Never splits inside a character.
pub fn split(text: &str, max_bytes: usize) -> Vec<&str> {
    let max_bytes = max_bytes.max(4); // room for any one character
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.len() > max_bytes {
        let mut end = max_bytes;
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let window = &rest[..end];
        match window.char_indices().rev().find(|(_, c)| c.is_whitespace()) {
            Some((at, space)) if at >= end / 2 => {
                pieces.push(&rest[..at]);
                rest = &rest[at + space.len_utf8()..];
            }
            _ => {
                pieces.push(window);
                rest = &rest[end..];
            }
        }
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(rest);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_that_fits_is_one_piece() {
        assert_eq!(split("hello", 10), ["hello"]);
        assert_eq!(split("", 10), [""]);
        assert_eq!(split(&"x".repeat(10), 10).len(), 1);
    }

    #[test]
    fn long_messages_split_between_words() {
        assert_eq!(split("aaaa bbbb cccc", 10), ["aaaa bbbb", "cccc"]);
        assert_eq!(split("aaaa\nbbbb cc", 9), ["aaaa", "bbbb cc"]);
    }

    #[test]
    fn a_long_word_splits_on_a_character_boundary() {
        assert_eq!(split("abcdefghijkl", 5), ["abcde", "fghij", "kl"]);
        // é is two bytes, 漢 three: no piece ends inside one.
        let text = "éééé漢漢漢";
        for max in 4..text.len() {
            let pieces = split(text, max);
            assert_eq!(pieces.concat(), text, "{max}");
            assert!(pieces.iter().all(|p| p.len() <= max), "{max}: {pieces:?}");
        }
    }

    #[test]
    fn nothing_is_lost_but_the_separating_spaces() {
        let text = "word ".repeat(2000);
        let pieces = split(text.trim_end(), 4096);
        assert!(pieces.iter().all(|p| p.len() <= 4096));
        assert_eq!(pieces.join(" "), text.trim_end());
        assert_eq!(pieces.len(), 3);
    }
}
