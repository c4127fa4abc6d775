//! Breaking a styled line into screen rows: at the last space that fits
//! when there is one, else at any character (a wide one never straddles
//! the edge), continuation rows indented under the message text. A `\n`
//! in the text (a multi-line reply) starts a row of its own.

use super::style::{switch_to, Span, Style};
use crate::terminal::width::char_width;

/// One screen row: styled spans that fit in the width.
pub type Row = Vec<Span>;

/// The rows of `spans` at `width` columns, rows after the first indented
/// by `indent` columns (at most half the width).
pub fn wrap(spans: &[Span], width: usize, indent: usize) -> Vec<Row> {
    let width = width.max(1);
    let indent = if indent * 2 > width { 0 } else { indent };
    let mut rows: Vec<Vec<(char, Style)>> = vec![Vec::new()];
    let mut used = 0;
    // Where the current row may break: the index of its last space.
    let mut space: Option<usize> = None;
    let new_row = |rows: &mut Vec<Vec<(char, Style)>>, carried: Vec<(char, Style)>| {
        let mut row: Vec<(char, Style)> = vec![(' ', Style::Plain); indent];
        row.extend(carried);
        rows.push(row);
    };
    for span in spans {
        for c in span.text.chars() {
            if c == '\n' {
                rows.push(Vec::new());
                used = 0;
                space = None;
                continue;
            }
            let w = char_width(c);
            if c == ' ' && used + w > width {
                // A space at the edge is the break itself.
                new_row(&mut rows, Vec::new());
                used = indent;
                space = None;
                continue;
            }
            if used + w > width && used > 0 {
                // Cannot fail: `rows` starts with a row and only grows.
                let row = rows.last_mut().expect("there is always a row");
                let carried = match space {
                    Some(at) => {
                        let carried = row.split_off(at + 1);
                        row.pop(); // the space the row breaks at
                        carried
                    }
                    None => Vec::new(),
                };
                let carried_width: usize = carried.iter().map(|(c, _)| char_width(*c)).sum();
                new_row(&mut rows, carried);
                used = indent + carried_width;
                space = None;
            }
            if c == ' ' && used > indent {
                space = Some(rows.last().map_or(0, Vec::len));
            }
            // Cannot fail: as above.
            rows.last_mut()
                .expect("there is always a row")
                .push((c, span.style));
            used += w;
        }
    }
    rows.into_iter().map(spans_of).collect()
}

/// Cells merged into spans of one style each.
fn spans_of(cells: Vec<(char, Style)>) -> Row {
    let mut row: Row = Vec::new();
    for (c, style) in cells {
        match row.last_mut() {
            Some(span) if span.style == style => span.text.push(c),
            _ => row.push(Span::new(style, c.to_string())),
        }
    }
    row
}

/// A row as terminal output: each span in its style, then a reset.
pub fn render(row: &Row) -> String {
    let mut out = String::new();
    for span in row {
        out.push_str(&switch_to(span.style));
        out.push_str(&span.text);
    }
    out.push_str("\x1b[0m");
    out
}

/// The columns a row takes.
pub fn row_width(row: &Row) -> usize {
    row.iter()
        .flat_map(|s| s.text.chars())
        .map(char_width)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> Vec<Span> {
        vec![Span::new(Style::Plain, text)]
    }

    fn texts(rows: &[Row]) -> Vec<String> {
        rows.iter()
            .map(|r| r.iter().map(|s| s.text.as_str()).collect())
            .collect()
    }

    #[test]
    fn short_lines_are_one_row() {
        assert_eq!(texts(&wrap(&plain("hello"), 10, 2)), ["hello"]);
        assert_eq!(texts(&wrap(&plain(""), 10, 2)), [""]);
    }

    #[test]
    fn long_lines_break_at_spaces_with_an_indent() {
        let rows = wrap(&plain("aaa bbb ccc ddd"), 8, 2);
        assert_eq!(texts(&rows), ["aaa bbb", "  ccc", "  ddd"]);
        assert!(rows.iter().all(|r| row_width(r) <= 8));
    }

    #[test]
    fn a_space_at_the_edge_is_where_the_row_breaks() {
        assert_eq!(texts(&wrap(&plain("aaaa bbbb"), 4, 0)), ["aaaa", "bbbb"]);
    }

    #[test]
    fn a_long_word_breaks_anywhere() {
        assert_eq!(
            texts(&wrap(&plain("abcdefghij"), 4, 0)),
            ["abcd", "efgh", "ij"]
        );
    }

    #[test]
    fn wide_characters_never_straddle_the_edge() {
        let rows = wrap(&plain("漢字漢字漢"), 5, 0);
        assert_eq!(texts(&rows), ["漢字", "漢字", "漢"]);
        assert!(rows.iter().all(|r| row_width(r) <= 5));
    }

    #[test]
    fn styles_survive_the_break_and_line_breaks_start_rows() {
        let spans = vec![
            Span::new(Style::Dim, "0:00:01 "),
            Span::new(Style::Plain, "one two\nthree"),
        ];
        let rows = wrap(&spans, 12, 8);
        assert_eq!(texts(&rows), ["0:00:01 one", "two", "three"]);
        assert_eq!(rows[0][0].style, Style::Dim);
        assert!(render(&rows[0]).starts_with("\x1b[0;2m0:00:01 \x1b[0mone"));
        assert!(render(&rows[0]).ends_with("\x1b[0m"));
    }

    #[test]
    fn an_indent_wider_than_half_the_screen_is_dropped() {
        assert_eq!(texts(&wrap(&plain("aa bb cc"), 4, 3)), ["aa", "bb", "cc"]);
    }
}
