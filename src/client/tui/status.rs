//! The status line above the input: who and where you are, transfers in
//! progress, and markers for what you are missing (lines below the view,
//! a mention, rooms with unread messages, for when a session may be in
//! several rooms).

use std::collections::BTreeMap;

use super::style::{Span, Style};
use crate::terminal::width::char_width;

/// What the status line shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Empty before the login.
    pub nick: String,
    pub room: String,
    pub members: usize,
    /// Transfers in progress, by label: their progress text.
    pub transfers: BTreeMap<String, String>,
    /// Rooms other than `room` with unread messages.
    pub unread: Vec<String>,
    /// The clock's label, when it is not the default elapsed time.
    pub clock: Option<String>,
}

/// The markers that depend on the view, not the session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct View {
    /// Scrolled back: there is more below.
    pub scrolled: bool,
    /// Lines that arrived while scrolled back.
    pub unseen: usize,
    /// A message mentioning you arrived while scrolled back.
    pub mentioned: bool,
    /// Older messages have been asked of the server.
    pub fetching: bool,
}

/// The status line as spans exactly `width` columns wide.
pub fn line(status: &Status, view: View, width: usize) -> Vec<Span> {
    let mut left = if status.nick.is_empty() {
        " not logged in".to_string()
    } else {
        format!(
            " {} | {} ({} online)",
            status.nick, status.room, status.members
        )
    };
    for text in status.transfers.values() {
        left.push_str(&format!(" | {text}"));
    }
    if !status.unread.is_empty() {
        left.push_str(&format!(" | unread: {}", status.unread.join(", ")));
    }
    let mut right = String::new();
    if let Some(clock) = &status.clock {
        right = format!("{clock} ");
    }
    let mut alert = String::new();
    if view.mentioned {
        alert.push_str(" mentioned you ");
    }
    if view.fetching {
        alert.push_str(" fetching older messages... ");
    }
    if view.scrolled {
        alert.push_str(&match view.unseen {
            0 => " more below (PgDn) ".to_string(),
            n => format!(" more below: {n} new (PgDn) "),
        });
    }
    let fixed = width_of(&alert) + width_of(&right);
    let left = fit(&left, width.saturating_sub(fixed));
    let pad = width.saturating_sub(width_of(&left) + fixed);
    let mut spans = vec![Span::new(
        Style::Status,
        format!("{left}{}", " ".repeat(pad)),
    )];
    if !alert.is_empty() {
        spans.push(Span::new(Style::Alert, fit(&alert, width)));
    }
    if !right.is_empty() {
        spans.push(Span::new(
            Style::Status,
            fit(&right, width.saturating_sub(width_of(&alert))),
        ));
    }
    spans
}

fn width_of(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

/// `text` cut to at most `columns` columns.
fn fit(text: &str, columns: usize) -> String {
    let mut used = 0;
    text.chars()
        .take_while(|&c| {
            used += char_width(c);
            used <= columns
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(spans: &[Span]) -> String {
        spans.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn names_you_your_room_and_its_members_at_full_width() {
        let status = Status {
            nick: "ntu".into(),
            room: "lobby".into(),
            members: 3,
            ..Status::default()
        };
        let shown = text(&line(&status, View::default(), 40));
        assert_eq!(shown, format!("{:<40}", " ntu | lobby (3 online)"));
        assert_eq!(
            text(&line(&Status::default(), View::default(), 20)).trim(),
            "not logged in"
        );
    }

    #[test]
    fn markers_for_what_you_are_missing_stay_visible() {
        let mut status = Status {
            nick: "ntu".into(),
            room: "lobby".into(),
            members: 3,
            unread: vec!["rust".into()],
            ..Status::default()
        };
        status
            .transfers
            .insert("sending a".into(), "sending a: 40% of 3.0 MiB".into());
        let view = View {
            scrolled: true,
            unseen: 12,
            mentioned: true,
            fetching: false,
        };
        let shown = text(&line(&status, view, 120));
        assert!(shown.contains("sending a: 40%"), "{shown}");
        assert!(shown.contains("unread: rust"), "{shown}");
        assert!(shown.contains("mentioned you"), "{shown}");
        assert!(shown.contains("more below: 12 new"), "{shown}");
        let narrow = text(&line(&status, view, 50));
        assert_eq!(width_of(&narrow), 50);
        assert!(
            narrow.contains("more below: 12 new"),
            "the marker wins: {narrow}"
        );
    }
}
