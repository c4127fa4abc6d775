//! Rules both ends of a file transfer share: turning a name someone else
//! chose into one that is safe to create on disk, the `Digest` header, and
//! sizes for people to read. No I/O here, so every rule is unit-tested.
//!
//! The server uses [`safe_name`] for the tail of its stored names and the
//! client for the name a download is saved under: in both places the name
//! came from a peer, and it must never become a path.

use crate::crypto::{from_hex, to_hex};

/// Longest name `safe_name` returns, in bytes: short enough for any file
/// system once the server's `<id>_<random>_` prefix is added.
pub const MAX_SAFE_NAME_BYTES: usize = 100;
/// What a name that sanitises to nothing is called.
const FALLBACK_NAME: &str = "file";
/// Extensions longer than this are treated as part of the stem when a
/// long name is shortened.
const MAX_EXTENSION_BYTES: usize = 16;
/// Names Windows reserves for devices, with or without an extension.
const RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];
/// How the `Digest` header names its algorithm (RFC 3230 style, hex value).
const DIGEST_PREFIX: &str = "sha-256=";
/// How much of a file body is moved at a time on either end: large enough
/// that 64 MiB takes a few hundred system calls, small enough that many
/// transfers at once cost little memory.
pub const CHUNK_BYTES: usize = 256 * 1024;

/// The buffer to stream a body of `len` bytes through: a chunk, or less
/// for a smaller body (never truncated where `usize` is narrower than `u64`).
pub fn chunk_buffer(len: u64) -> Vec<u8> {
    let size = usize::try_from(len).map_or(CHUNK_BYTES, |len| len.min(CHUNK_BYTES));
    vec![0; size]
}

/// A single plain file name derived from `name`, safe to create in a
/// directory of our choosing:
///
/// - only the last path component counts (`../../etc/passwd` is `passwd`,
///   `C:\x\y.txt` is `y.txt`);
/// - every character but letters, digits, space, `.`, `-`, `_`, `(` and `)`
///   becomes `_` (separators, NUL, control and direction-override characters
///   included);
/// - leading and trailing dots and spaces go, so the result is never `.`,
///   `..` or a hidden file;
/// - Windows device names (`CON`, `nul.txt`, `LPT1`) get a leading `_`;
/// - at most [`MAX_SAFE_NAME_BYTES`] bytes, keeping a short extension;
/// - never empty: `file` stands in for a name with nothing left.
pub fn safe_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mapped: String = last
        .chars()
        .map(|c| {
            let keep = c.is_alphanumeric() || matches!(c, ' ' | '.' | '-' | '_' | '(' | ')');
            // Alphanumeric includes no control or format character, so what
            // is kept can neither break a line nor reorder one on screen.
            if keep {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(['.', ' ']);
    let mut safe = shorten(trimmed, MAX_SAFE_NAME_BYTES);
    if safe.is_empty() {
        return FALLBACK_NAME.to_string();
    }
    let stem = safe.split('.').next().unwrap_or("").trim_end();
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        safe.insert(0, '_');
    }
    safe
}

/// `name` cut to at most `max` bytes on a character boundary, keeping its
/// extension when it has a short one, and with no dot or space left at the end.
fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let ext = match name.rfind('.') {
        Some(i) if i > 0 && name.len() - i <= MAX_EXTENSION_BYTES => &name[i..],
        _ => "",
    };
    let mut cut = max - ext.len();
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let stem = name[..cut].trim_end_matches(['.', ' ']);
    format!("{stem}{ext}")
}

/// The `Digest` header value for a SHA-256 digest: `sha-256=<64 hex digits>`.
pub fn digest_header(digest: &[u8; 32]) -> String {
    format!("{DIGEST_PREFIX}{}", to_hex(digest))
}

/// Reads a `Digest` header value written by [`digest_header`]; the algorithm
/// name is case-insensitive. `None` for anything else.
pub fn parse_digest(value: &str) -> Option<[u8; 32]> {
    let prefix = value.get(..DIGEST_PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(DIGEST_PREFIX) {
        return None;
    }
    from_hex(&value[DIGEST_PREFIX.len()..])?.try_into().ok()
}

/// `512 B`, `1.5 KiB`, `64.0 MiB`: a size for people.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_traversal_keeps_only_the_last_component() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("/etc/shadow"), "shadow");
        assert_eq!(safe_name("..\\..\\Windows\\system32\\cmd.exe"), "cmd.exe");
        assert_eq!(safe_name("C:\\boot.ini"), "boot.ini");
        assert_eq!(safe_name("dir/"), "file");
    }

    #[test]
    fn dots_and_empty_names_never_name_a_directory() {
        for name in ["", ".", "..", "...", " . ", "/", "../..", "  "] {
            assert_eq!(safe_name(name), "file", "{name:?}");
        }
        assert_eq!(safe_name(".bashrc"), "bashrc");
        assert_eq!(safe_name("notes.txt."), "notes.txt");
    }

    #[test]
    fn control_nul_and_special_characters_become_underscores() {
        assert_eq!(safe_name("a\0b"), "a_b");
        assert_eq!(safe_name("a\nb\tc\rd"), "a_b_c_d");
        assert_eq!(safe_name("x\u{202e}gnp.exe"), "x_gnp.exe");
        assert_eq!(safe_name("\u{1b}[2Jevil"), "__2Jevil");
        assert_eq!(safe_name("a:b*c?d\"e<f>g|h"), "a_b_c_d_e_f_g_h");
        assert_eq!(safe_name("my report (final).pdf"), "my report (final).pdf");
    }

    #[test]
    fn letters_of_any_script_are_kept() {
        assert_eq!(safe_name("résumé.pdf"), "résumé.pdf");
        assert_eq!(safe_name("你好.txt"), "你好.txt");
        assert_eq!(safe_name("caf\u{fffd}.bin"), "caf_.bin");
    }

    #[test]
    fn windows_device_names_are_defused() {
        assert_eq!(safe_name("CON"), "_CON");
        assert_eq!(safe_name("nul.txt"), "_nul.txt");
        assert_eq!(safe_name("lpt1.tar.gz"), "_lpt1.tar.gz");
        assert_eq!(safe_name("Com9"), "_Com9");
        assert_eq!(safe_name("console.txt"), "console.txt");
        assert_eq!(safe_name("COM10"), "COM10");
    }

    #[test]
    fn long_names_are_cut_keeping_the_extension() {
        let long = format!("{}.txt", "a".repeat(5000));
        let safe = safe_name(&long);
        assert_eq!(safe.len(), MAX_SAFE_NAME_BYTES);
        assert!(safe.ends_with("a.txt"), "{safe}");
        let wide = "é".repeat(300);
        let safe = safe_name(&wide);
        assert!(safe.len() <= MAX_SAFE_NAME_BYTES && safe.chars().all(|c| c == 'é'));
        let odd_ext = format!("x.{}", "y".repeat(200));
        assert!(safe_name(&odd_ext).len() <= MAX_SAFE_NAME_BYTES);
    }

    #[test]
    fn safe_names_are_always_plain_components() {
        let hostile = [
            "../../etc/passwd",
            "a/../../b",
            "\0",
            "..\u{0}..",
            "/",
            "C:",
            "\\\\server\\share",
            "CON.",
            ". .",
        ];
        for name in hostile {
            let safe = safe_name(name);
            assert!(!safe.is_empty(), "{name:?}");
            assert!(
                !safe.contains(['/', '\\', '\0', ':']),
                "{name:?} -> {safe:?}"
            );
            assert!(!safe.starts_with('.'), "{name:?} -> {safe:?}");
            assert!(safe != "." && safe != "..");
        }
    }

    #[test]
    fn digest_header_round_trips_and_refuses_junk() {
        let digest = crate::crypto::sha256(b"abc");
        let value = digest_header(&digest);
        assert!(value.starts_with("sha-256=ba7816bf"), "{value}");
        assert_eq!(parse_digest(&value), Some(digest));
        assert_eq!(parse_digest(&value.to_uppercase()), Some(digest));
        for bad in [
            "",
            "sha-256=",
            "md5=00",
            "sha-256=zz",
            &value[..20],
            "sha-256",
        ] {
            assert_eq!(parse_digest(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn chunk_buffers_are_never_larger_than_the_body_or_a_chunk() {
        assert_eq!(chunk_buffer(0).len(), 0);
        assert_eq!(chunk_buffer(10).len(), 10);
        assert_eq!(chunk_buffer(64 << 20).len(), CHUNK_BYTES);
        assert_eq!(chunk_buffer(u64::MAX).len(), CHUNK_BYTES);
    }

    #[test]
    fn sizes_read_like_a_person_would_say_them() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(64 << 20), "64.0 MiB");
        assert_eq!(human_size(3 << 30), "3.0 GiB");
    }
}
