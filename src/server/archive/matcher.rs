//! Finding a search text in `log.txt` lines and in message texts, ignoring
//! case, and cutting the text around a match for a search result.

use crate::server::store::escape;

/// Characters of context kept on each side of a match.
pub const SNIPPET_CHARS: usize = 40;

/// The search text, lowercased, and how to look for it.
pub struct Matcher {
    /// Lowercased, as the text of a message is compared.
    lower: String,
    /// Lowercased and escaped as in `log.txt`, as raw lines are compared.
    escaped: String,
    ascii: bool,
}

impl Matcher {
    /// The matcher for `text`.
    pub fn new(text: &str) -> Matcher {
        let ascii = text.is_ascii();
        let lower = if ascii {
            text.to_ascii_lowercase()
        } else {
            text.to_lowercase()
        };
        let escaped = escape(&lower);
        Matcher {
            lower,
            escaped,
            ascii,
        }
    }

    /// Calls `each` with every line of `region` (whole lines, newline
    /// ended) whose raw text contains the escaped search text, ignoring
    /// case. Lowercasing escaped text equals escaping lowercased text (the
    /// escapes are lowercase ASCII), so no match is missed; a candidate may
    /// match outside the message text, which `find_in` then rules out.
    pub fn each_candidate(&self, region: &[u8], lower: &mut Vec<u8>, mut each: impl FnMut(&[u8])) {
        if self.ascii {
            lower.clear();
            lower.extend(region.iter().map(u8::to_ascii_lowercase));
            // A damaged line in the chunk makes it invalid UTF-8: then go
            // line by line below.
            if let Ok(text) = std::str::from_utf8(lower) {
                if !text.contains(self.escaped.as_str()) {
                    return;
                }
                let mut done_to = 0;
                for (at, _) in text.match_indices(self.escaped.as_str()) {
                    if at < done_to {
                        continue;
                    }
                    let start = lower[..at]
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .map_or(0, |i| i + 1);
                    let end = lower[at..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(lower.len(), |i| at + i);
                    each(&region[start..end]);
                    done_to = end;
                }
                return;
            }
        }
        for line in region.split(|&b| b == b'\n') {
            let Ok(text) = std::str::from_utf8(line) else {
                continue;
            };
            let hit = if self.ascii {
                text.to_ascii_lowercase().contains(self.escaped.as_str())
            } else {
                text.to_lowercase().contains(self.escaped.as_str())
            };
            if hit {
                each(line);
            }
        }
    }

    /// Where the search text is in a message's text (byte range), if it is.
    pub fn find_in(&self, text: &str) -> Option<(usize, usize)> {
        if self.ascii {
            // ASCII lowercasing keeps every byte where it was.
            let at = text.to_ascii_lowercase().find(self.lower.as_str())?;
            return Some((at, at + self.lower.len()));
        }
        for (start, _) in text.char_indices() {
            let mut want = self.lower.chars().peekable();
            let mut end = start;
            for c in text[start..].chars() {
                if want.peek().is_none() {
                    break;
                }
                let mut ok = true;
                for l in c.to_lowercase() {
                    if want.next() != Some(l) {
                        ok = false;
                        break;
                    }
                }
                if !ok {
                    break;
                }
                end += c.len_utf8();
            }
            if want.peek().is_none() && end > start {
                return Some((start, end));
            }
        }
        None
    }
}

/// `text[start..end]` with up to [`SNIPPET_CHARS`] characters each side.
pub fn snippet(text: &str, start: usize, end: usize) -> String {
    let before: Vec<(usize, char)> = text[..start].char_indices().collect();
    let from = before
        .len()
        .checked_sub(SNIPPET_CHARS)
        .map_or(0, |i| before[i].0);
    let to = text[end..]
        .char_indices()
        .nth(SNIPPET_CHARS)
        .map_or(text.len(), |(i, _)| end + i);
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.push_str(&text[from..to]);
    if to < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_text_ignoring_case_and_cuts_a_snippet() {
        let m = Matcher::new("HeLLo");
        assert_eq!(m.find_in("say hello there"), Some((4, 9)));
        assert_eq!(m.find_in("HELLO"), Some((0, 5)));
        assert_eq!(m.find_in("help"), None);
        let m = Matcher::new("ÉTÉ");
        assert_eq!(m.find_in("un été chaud"), Some((3, 8)));
        assert_eq!(m.find_in("ete"), None);
        let long = format!("{}needle{}", "a".repeat(100), "b".repeat(100));
        let s = snippet(&long, 100, 106);
        assert_eq!(s, format!("…{}needle{}…", "a".repeat(40), "b".repeat(40)));
        assert_eq!(snippet("a needle", 2, 8), "a needle");
        assert_eq!(snippet("éé x", 5, 6), "éé x");
    }

    #[test]
    fn candidates_are_whole_lines_once_each() {
        let m = Matcher::new("ab");
        let region = b"1 ab ab\n2 xx\n3 AB\n4 a\\tb\n";
        let mut seen = Vec::new();
        m.each_candidate(region, &mut Vec::new(), |l| {
            seen.push(String::from_utf8_lossy(l).into_owned());
        });
        assert_eq!(seen, ["1 ab ab", "3 AB"]);
        let m = Matcher::new("a\tb");
        let mut seen = Vec::new();
        m.each_candidate(region, &mut Vec::new(), |l| {
            seen.push(String::from_utf8_lossy(l).into_owned());
        });
        assert_eq!(seen, ["4 a\\tb"]);
        // Non-UTF-8 bytes in the chunk: the other lines are still searched.
        let m = Matcher::new("ab");
        let region = b"1 ab\n\xff\xfe ab\n3 AB\n";
        let mut seen = Vec::new();
        m.each_candidate(region, &mut Vec::new(), |l| {
            seen.push(String::from_utf8_lossy(l).into_owned());
        });
        assert_eq!(seen, ["1 ab", "3 AB"]);
    }
}
