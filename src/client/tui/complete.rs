//! Tab completion: what the word before the cursor may become. A word
//! starting with `/` at the start of the line is a command; the word after
//! a room command (`/join`, `/close`, `... in`) is a room; the word after
//! `/send_file` is a path; anything else is a nickname, followed by `: `
//! at the start of a line. Matching ignores case; repeated Tabs cycle
//! through the candidates (the caller keeps that state).

use std::path::{Path, PathBuf};

use super::super::input::{COMMANDS, ROOM_COMMANDS};

/// Most directory entries looked at for a path completion.
const MAX_DIR_ENTRIES: usize = 2000;

/// The candidates for the word that ends at the end of `before` (the line
/// up to the cursor): the character index where that word starts, and the
/// full replacements for it, best first.
pub fn candidates(
    before: &str,
    nicks: &[String],
    rooms: &[String],
    list_dir: &dyn Fn(&Path) -> Vec<(String, bool)>,
) -> (usize, Vec<String>) {
    let start_byte = before.rfind(char::is_whitespace).map_or(0, |i| {
        i + before[i..].chars().next().map_or(1, char::len_utf8)
    });
    let start = before[..start_byte].chars().count();
    let word = &before[start_byte..];
    let earlier: Vec<String> = before[..start_byte]
        .split_whitespace()
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let first = earlier
        .first()
        .map(|w| format!("/{}", w.trim_start_matches('/')));
    let options = match (earlier.len(), first.as_deref()) {
        (0, _) if word.starts_with('/') => matching(&COMMANDS, word, " "),
        (1, Some("/send_file" | "/send-file" | "/upload")) => paths(word, list_dir),
        (1, Some(command)) if ROOM_COMMANDS.contains(&command) => matching(rooms, word, " "),
        (3, _) if earlier[2] == "in" => matching(rooms, word, " "),
        (0, _) => matching(nicks, word, ": "),
        _ => matching(nicks, word, " "),
    };
    (start, options)
}

/// The names starting with `word` (ignoring case), each with `suffix`.
fn matching<S: AsRef<str>>(names: &[S], word: &str, suffix: &str) -> Vec<String> {
    let lower = word.to_lowercase();
    let mut found: Vec<String> = names
        .iter()
        .map(AsRef::as_ref)
        .filter(|n| n.to_lowercase().starts_with(&lower))
        .map(|n| format!("{n}{suffix}"))
        .collect();
    found.sort_by_key(|n| n.to_lowercase());
    found.dedup();
    found
}

/// Paths starting with `word`: the entries of its directory (`~/` is the
/// home directory) whose names start with the rest; a directory ends with
/// `/` so the next Tab goes inside it.
fn paths(word: &str, list_dir: &dyn Fn(&Path) -> Vec<(String, bool)>) -> Vec<String> {
    let (dir_part, prefix) = match word.rfind('/') {
        Some(i) => word.split_at(i + 1),
        None => ("", word),
    };
    let dir: PathBuf = if dir_part.is_empty() {
        PathBuf::from(".")
    } else {
        super::super::input::expand_home(dir_part)
    };
    let mut found: Vec<String> = list_dir(&dir)
        .into_iter()
        .filter(|(name, _)| name.starts_with(prefix))
        .filter(|(name, _)| prefix.starts_with('.') || !name.starts_with('.'))
        .map(|(name, is_dir)| format!("{dir_part}{name}{}", if is_dir { "/" } else { "" }))
        .collect();
    found.sort();
    found
}

/// The entries of `dir`: names (those that are UTF-8) and whether each is
/// a directory. Unreadable directories have none.
pub fn list_dir(dir: &Path) -> Vec<(String, bool)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .take(MAX_DIR_ENTRIES)
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let is_dir = e.path().is_dir();
            Some((name, is_dir))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn complete(before: &str) -> (usize, Vec<String>) {
        let nicks = names(&["Ma19", "mario", "bob"]);
        let rooms = names(&["lobby", "rust", "Rustaceans"]);
        let dir = |path: &Path| {
            assert_eq!(path, Path::new("docs/"));
            vec![
                ("notes.txt".into(), false),
                ("nested".into(), true),
                (".hidden".into(), false),
            ]
        };
        candidates(before, &nicks, &rooms, &dir)
    }

    #[test]
    fn nicknames_get_a_colon_at_the_start_of_a_line() {
        assert_eq!(complete("ma"), (0, names(&["Ma19: ", "mario: "])));
        assert_eq!(complete("hi B"), (3, names(&["bob "])));
        assert_eq!(complete("hi x"), (3, names(&[])));
    }

    #[test]
    fn commands_rooms_and_paths_by_position() {
        assert_eq!(complete("/jo"), (0, names(&["/join "])));
        assert_eq!(complete("/join ru"), (6, names(&["rust ", "Rustaceans "])));
        assert_eq!(complete("enter-chatroom l"), (15, names(&["lobby "])));
        assert_eq!(
            complete("/ban bob in r"),
            (12, names(&["rust ", "Rustaceans "]))
        );
        assert_eq!(
            complete("/send_file docs/n"),
            (11, names(&["docs/nested/", "docs/notes.txt"]))
        );
        assert_eq!(
            complete("/send_file docs/"),
            (11, names(&["docs/nested/", "docs/notes.txt"]))
        );
    }

    #[test]
    fn the_word_start_counts_characters_not_bytes() {
        let (start, found) = complete("héé b");
        assert_eq!(start, 4);
        assert_eq!(found, names(&["bob "]));
    }
}
