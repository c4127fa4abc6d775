//! Names as IRC sees them: `CASEMAPPING=ascii` (our nicknames and rooms are
//! unique ignoring ASCII case, and hold no character other casemappings
//! fold), rooms as `#channels`, and ban masks as nicknames.

use crate::text::{self, MAX_NICK_CHARS, MAX_ROOM_CHARS};

/// The `CASEMAPPING` token of `005`: only `A`-`Z` and `a`-`z` fold, which is
/// exactly our rule (`text::name_key`). `rfc1459` would also fold `[]\~`,
/// which our names cannot hold, so `ascii` is the truthful answer.
pub const CASEMAPPING: &str = "ascii";
/// The one channel prefix (`CHANTYPES=#`).
pub const CHANNEL_PREFIX: char = '#';
/// `NICKLEN` in `005`.
pub const NICKLEN: usize = MAX_NICK_CHARS;
/// `CHANNELLEN` in `005`: a room name and its `#`.
pub const CHANNELLEN: usize = MAX_ROOM_CHARS + 1;

/// The form under which two names are the same (ASCII lower case).
pub fn fold(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// True when two nicknames, rooms or channels are the same name.
pub fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// True when a target names a channel rather than a nickname.
pub fn is_channel(target: &str) -> bool {
    target.starts_with(CHANNEL_PREFIX)
}

/// The channel for a room: `study` is `#study`, the lobby `#lobby`.
pub fn room_to_channel(room: &str) -> String {
    format!("{CHANNEL_PREFIX}{room}")
}

/// The room a channel names, case kept (the hub folds it).
///
/// # Errors
/// A reason a person can act on (for `403`/`476`): no `#`, or a room name
/// our rules refuse (1 to 32 letters, digits, `_` or `-`).
pub fn channel_to_room(channel: &str) -> Result<&str, String> {
    let Some(room) = channel.strip_prefix(CHANNEL_PREFIX) else {
        return Err(format!(
            "channel names start with '{CHANNEL_PREFIX}' (rooms are channels: room study is #study)"
        ));
    };
    text::check_room(room)?;
    Ok(room)
}

/// Checks a nickname by the system's rule (for `432`).
///
/// # Errors
/// A reason a person can act on.
pub fn check_nick(nick: &str) -> Result<(), String> {
    text::check_nick(nick)
}

/// The targets of a comma list (`JOIN #a,#b`, `PRIVMSG al,bo`), empty
/// entries skipped.
pub fn targets(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').filter(|t| !t.is_empty())
}

/// The ban mask for a nickname: our bans are by nickname, from any host.
pub fn nick_to_mask(nick: &str) -> String {
    format!("{nick}!*@*")
}

/// The nickname a ban or invite mask names, when it names exactly one
/// nickname from anywhere (`al`, `al!*`, `al!*@*`); `None` for masks we
/// cannot enforce (wildcards in the nickname, a particular user or host),
/// which the door refuses rather than pretend to apply.
pub fn mask_to_nick(mask: &str) -> Option<&str> {
    let (nick, rest) = match mask.split_once('!') {
        Some((nick, rest)) => (nick, rest),
        None => (mask, "*"),
    };
    let any_host = matches!(rest, "*" | "*@*");
    (any_host && text::check_nick(nick).is_ok()).then_some(nick)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_and_channels_convert_both_ways() {
        assert_eq!(room_to_channel("lobby"), "#lobby");
        assert_eq!(channel_to_room("#lobby"), Ok("lobby"));
        assert_eq!(channel_to_room("#Study_1-b"), Ok("Study_1-b"));
        let longest = format!("#{}", "r".repeat(MAX_ROOM_CHARS));
        assert_eq!(longest.len(), CHANNELLEN);
        assert!(channel_to_room(&longest).is_ok());
        for bad in [
            "lobby", "", "#", "&local", "##a", "#a b", "#é", "#a,b", "#a:b",
        ] {
            assert!(channel_to_room(bad).is_err(), "{bad:?}");
        }
        assert!(channel_to_room(&format!("{longest}r")).is_err());
        assert!(channel_to_room("lobby")
            .expect_err("no #")
            .contains("#study"));
    }

    #[test]
    fn names_fold_by_ascii_only() {
        assert!(same("Al", "aL"));
        assert!(same("#Lobby", "#lobby"));
        assert!(!same("al", "al_"));
        // rfc1459 would make these equal; ascii does not.
        assert!(!same("a[", "a{"));
        assert_eq!(fold("AbC-_9"), "abc-_9");
        assert!(is_channel("#a") && !is_channel("al") && !is_channel("&a"));
    }

    #[test]
    fn nicknames_follow_the_system_rule() {
        assert!(check_nick("al").is_ok());
        assert!(check_nick("abcdefgh").is_ok());
        assert!(check_nick("abcdefghi").is_err());
        for bad in ["", "a b", "a[", "é", "#a", "a!b", "a@b", "a*"] {
            assert!(check_nick(bad).is_err(), "{bad:?}");
        }
        assert_eq!(NICKLEN, 8);
    }

    #[test]
    fn comma_lists_skip_empty_entries() {
        assert_eq!(targets("#a,,#b,").collect::<Vec<_>>(), ["#a", "#b"]);
        assert_eq!(targets("").count(), 0);
    }

    #[test]
    fn only_whole_nickname_masks_are_bans_we_can_enforce() {
        assert_eq!(nick_to_mask("al"), "al!*@*");
        for (mask, want) in [
            ("al", Some("al")),
            ("al!*", Some("al")),
            ("al!*@*", Some("al")),
            ("al!al@host", None),
            ("al!*@host", None),
            ("a*!*@*", None),
            ("*!*@*", None),
            ("", None),
            ("!*@*", None),
            ("toolongnick!*@*", None),
        ] {
            assert_eq!(mask_to_nick(mask), want, "{mask:?}");
        }
    }
}
