//! How lines look on the full screen: a stable colour per nickname, your
//! own name in bold, whispers, notices and errors each in their colour,
//! and a message that mentions you highlighted. Only SGR (colour)
//! sequences are produced here, and only around text already made safe.

use crate::text::name_key;

use super::super::output::{Kind, Line};

/// One piece of a line in one style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub style: Style,
    pub text: String,
}

impl Span {
    pub fn new(style: Style, text: impl Into<String>) -> Span {
        Span {
            style,
            text: text.into(),
        }
    }
}

/// A style, turned into SGR parameters by [`sgr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    /// Times and history stamps.
    Dim,
    /// A nickname, by its palette index.
    Nick(u8),
    /// Our own nickname.
    Me,
    Whisper,
    Notice,
    Error,
    /// A message that names us.
    Mention,
    /// The status line.
    Status,
    /// A marker in the status line that wants attention.
    Alert,
}

/// Foreground colours for nicknames, readable on dark and light
/// backgrounds (no black, white or grey; red is kept for errors).
const PALETTE: [u8; 10] = [32, 33, 34, 35, 36, 92, 93, 94, 95, 96];

/// The SGR parameters of `style` (after a reset).
pub fn sgr(style: Style) -> String {
    match style {
        Style::Plain => String::new(),
        Style::Dim => "2".into(),
        Style::Nick(i) => PALETTE[usize::from(i) % PALETTE.len()].to_string(),
        Style::Me => "1".into(),
        Style::Whisper => "35".into(),
        Style::Notice => "36".into(),
        Style::Error => "31".into(),
        Style::Mention => "30;43".into(),
        Style::Status => "7".into(),
        Style::Alert => "7;1;33".into(),
    }
}

/// The escape sequence that switches to `style`.
pub fn switch_to(style: Style) -> String {
    let params = sgr(style);
    if params.is_empty() {
        "\x1b[0m".into()
    } else {
        format!("\x1b[0;{params}m")
    }
}

/// The same nickname always gets the same colour (FNV-1a of its
/// case-folded form), in every session and on every screen.
pub fn nick_colour(nick: &str) -> Style {
    let mut hash: u32 = 0x811c_9dc5;
    for b in name_key(nick).bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    Style::Nick((hash % PALETTE.len() as u32) as u8)
}

/// True when `text` names `me` as a word (ignoring case): `ntu:`, `@ntu`
/// and `hi ntu!` do, `ntuple` does not.
pub fn mentions(text: &str, me: &str) -> bool {
    if me.is_empty() {
        return false;
    }
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let lower = text.to_ascii_lowercase();
    let me = me.to_ascii_lowercase();
    lower.match_indices(&me).any(|(at, _)| {
        let before = lower[..at].chars().next_back();
        let after = lower[at + me.len()..].chars().next();
        !before.is_some_and(is_name_char) && !after.is_some_and(is_name_char)
    })
}

/// A line as styled spans, and whether it mentions `me`.
pub fn spans(line: &Line, me: &str) -> (Vec<Span>, bool) {
    let mention = matches!(line.kind, Kind::Message | Kind::Whisper | Kind::History)
        && mentions(&line.text, me);
    let (stamp, tag, text) = match line.kind {
        Kind::Message if mention => (Style::Dim, Style::Plain, Style::Mention),
        Kind::Message | Kind::Mine | Kind::Info => (Style::Dim, Style::Plain, Style::Plain),
        Kind::History => (Style::Dim, Style::Dim, Style::Dim),
        Kind::Whisper if mention => (Style::Dim, Style::Whisper, Style::Mention),
        Kind::Whisper | Kind::MyWhisper => (Style::Dim, Style::Whisper, Style::Whisper),
        Kind::Notice => (Style::Notice, Style::Notice, Style::Notice),
        Kind::Error => (Style::Error, Style::Error, Style::Error),
    };
    let mut out = Vec::new();
    if let Some(s) = &line.stamp {
        out.push(Span::new(stamp, format!("{s} ")));
    }
    if let Some(t) = &line.tag {
        out.push(Span::new(tag, format!("{t} ")));
    }
    if let Some(from) = &line.from {
        let nick = if matches!(line.kind, Kind::Mine | Kind::MyWhisper) {
            Style::Me
        } else {
            nick_colour(from)
        };
        out.push(Span::new(nick, format!("[{from}]:")));
        out.push(Span::new(Style::Plain, " "));
    }
    out.push(Span::new(text, line.text.clone()));
    (out, mention)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nickname_keeps_its_colour_in_any_case() {
        assert_eq!(nick_colour("Ma19"), nick_colour("ma19"));
        let colours: std::collections::BTreeSet<String> =
            ["a", "b", "c", "ntu", "Ma19", "Tom", "bob"]
                .iter()
                .map(|n| sgr(nick_colour(n)))
                .collect();
        assert!(colours.len() >= 4, "spread over the palette: {colours:?}");
    }

    #[test]
    fn mentions_are_whole_words_in_any_case() {
        assert!(mentions("hi ntu!", "ntu"));
        assert!(mentions("NTU: look", "ntu"));
        assert!(mentions("@ntu", "ntu"));
        assert!(!mentions("an ntuple", "ntu"));
        assert!(!mentions("ntu_2 is here", "ntu"));
        assert!(!mentions("anything", ""));
        assert!(mentions("é ntu é", "ntu"));
    }

    #[test]
    fn a_mention_is_highlighted_and_reported() {
        let line = Line {
            kind: Kind::Message,
            stamp: Some("0:00:01".into()),
            tag: None,
            from: Some("bob".into()),
            text: "hey ntu".into(),
        };
        let (spans, mention) = spans(&line, "ntu");
        assert!(mention);
        assert_eq!(spans.last().unwrap().style, Style::Mention);
        let texts: String = spans.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, line.to_string());
    }
}
