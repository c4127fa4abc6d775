//! The rule on `unwrap()` and `expect()` in the server and client: none on
//! what a peer, a file or the OS controls (that is a crash waiting), only on
//! invariants of our own, each with a comment beside it that starts
//! "Cannot fail" and says why. Test code is exempt: a file that is a test
//! module (`#![cfg(test)]`, compiled into no binary) and an inline
//! `#[cfg(test)] mod ... { }` block.

use std::fs;
use std::path::{Path, PathBuf};

/// Lines above a call that its "Cannot fail" comment may be on.
const COMMENT_REACH: usize = 4;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The lines of `text` outside inline `#[cfg(test)] mod ... { }` blocks,
/// numbered from 1.
fn lines_outside_tests(text: &str) -> Vec<(usize, &str)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let starts_test_module = lines[i].trim() == "#[cfg(test)]"
            && lines.get(i + 1).is_some_and(|next| {
                let next = next.trim_start();
                let item = next.strip_prefix("pub").map_or(next, |rest| {
                    rest.trim_start_matches(|c: char| c != ' ').trim_start()
                });
                item.starts_with("mod ") && next.ends_with('{')
            });
        if starts_test_module {
            let mut depth = 0i64;
            i += 1;
            loop {
                depth += lines[i].matches('{').count() as i64;
                depth -= lines[i].matches('}').count() as i64;
                i += 1;
                if depth <= 0 || i >= lines.len() {
                    break;
                }
            }
            continue;
        }
        kept.push((i + 1, lines[i]));
        i += 1;
    }
    kept
}

#[test]
fn every_unwrap_outside_tests_says_why_it_cannot_fail() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let (mut checked, mut unexplained) = (0, Vec::new());
    for file in &files {
        let text = fs::read_to_string(file).expect("a source file is readable");
        if text.lines().any(|l| l.trim() == "#![cfg(test)]") {
            continue;
        }
        let lines = lines_outside_tests(&text);
        for (k, &(number, line)) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if !code.contains(".unwrap()") && !code.contains(".expect(") {
                continue;
            }
            checked += 1;
            let explained = lines[k.saturating_sub(COMMENT_REACH)..=k]
                .iter()
                .any(|(_, l)| l.contains("// Cannot fail"));
            if !explained {
                unexplained.push(format!("{}:{number}: {}", file.display(), line.trim()));
            }
        }
    }
    assert!(
        unexplained.is_empty(),
        "unwrap()/expect() outside tests without a `// Cannot fail: why` comment \
         within {COMMENT_REACH} lines above (return an error instead, or say why it cannot fail):\n{}",
        unexplained.join("\n")
    );
    // The scan found the known invariants: it looks where they are.
    assert!(
        checked >= 5,
        "only {checked} calls found: is the scan reading src/?"
    );
}
