//! A flat JSON object written by hand (standard library only), for the
//! `--json` report.

use std::fmt::Write as _;

/// A flat JSON object written by hand.
#[derive(Default)]
pub(crate) struct JsonObject {
    out: String,
}

impl JsonObject {
    fn key(&mut self, name: &str) {
        self.out.push(if self.out.is_empty() { '{' } else { ',' });
        self.out.push_str(&json_string(name));
        self.out.push(':');
    }

    pub(crate) fn raw(&mut self, name: &str, value: &str) {
        self.key(name);
        self.out.push_str(value);
    }

    pub(crate) fn string(&mut self, name: &str, value: &str) {
        self.raw(name, &json_string(value));
    }

    pub(crate) fn number(&mut self, name: &str, value: impl std::fmt::Display) {
        self.raw(name, &value.to_string());
    }

    pub(crate) fn opt_number(&mut self, name: &str, value: Option<impl std::fmt::Display>) {
        match value {
            Some(v) => self.number(name, v),
            None => self.raw(name, "null"),
        }
    }

    pub(crate) fn float(&mut self, name: &str, value: Option<f64>) {
        match value {
            Some(v) if v.is_finite() => self.raw(name, &format!("{v:.6}")),
            _ => self.raw(name, "null"),
        }
    }

    pub(crate) fn finish(mut self) -> String {
        if self.out.is_empty() {
            self.out.push('{');
        }
        self.out.push('}');
        self.out
    }
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
        let mut j = JsonObject::default();
        j.number("n", 3);
        j.float("f", None);
        j.string("s", "x");
        assert_eq!(j.finish(), "{\"n\":3,\"f\":null,\"s\":\"x\"}");
    }
}
