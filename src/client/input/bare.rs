//! The seeds' bare commands: lines typed without a `/` that are commands
//! all the same (`send_file a.txt`, `register Tom pw`, `exit`). A line is
//! one only when it has a command's shape, so chat is not mistaken for
//! commands: `help me please` is a message, `help` alone is the command.

/// Commands recognised by their first word whatever follows: names no one
/// starts a sentence with (`list-user`, `send_file`), and the commands
/// that carry a password, which must never go out as a message
/// (`register bob` with the password missing is a usage error, not chat).
const BY_FIRST_WORD: [&str; 23] = [
    "send_file",
    "send-file",
    "get_file",
    "get-file",
    "list-user",
    "list-users",
    "set-profile",
    "view-profile",
    "list-chatroom",
    "open-chatroom",
    "enter-chatroom",
    "exit-chatroom",
    "close-chatroom",
    "ban-user",
    "unban-user",
    "permit-user",
    "unpermit-user",
    "get-blacklist",
    "get-whitelist",
    "register",
    "login",
    "passwd",
    "change-password",
];

/// Commands recognised only when they are the whole line: ordinary words
/// that also start ordinary sentences.
const ALONE: [&str; 4] = ["help", "exit", "logout", "whoami"];

/// True when `line` (typed without a leading `/`) is a bare command.
/// Command names are case-insensitive.
pub fn is_command(line: &str) -> bool {
    let mut words = line.split_whitespace();
    let Some(first) = words.next() else {
        return false;
    };
    let first = first.to_ascii_lowercase();
    BY_FIRST_WORD.contains(&first.as_str())
        || (ALONE.contains(&first.as_str()) && words.next().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_bare_commands_are_commands() {
        for line in [
            "send_file D://speech.txt",
            "get_file 5",
            "register Tom secret-pw",
            "login Tom secret-pw",
            "logout",
            "whoami",
            "help",
            "exit",
            "list-user",
            "set-profile job student",
            "view-profile Tom",
            "list-chatroom",
            "open-chatroom chat1 private",
            "enter-chatroom chat1",
            "close-chatroom chat1",
            "get-blacklist",
            "get-whitelist",
            "EXIT",
            "Send_File notes.txt",
            "  whoami  ",
        ] {
            assert!(is_command(line), "{line}");
        }
    }

    #[test]
    fn ordinary_sentences_stay_chat() {
        for line in [
            "help me please",
            "exit through the gift shop",
            "whoami is a unix command",
            "logout now?",
            "hello",
            "I will register later",
            "help!",
            "",
        ] {
            assert!(!is_command(line), "{line}");
        }
    }

    #[test]
    fn a_line_that_could_carry_a_password_is_never_chat() {
        for line in [
            "register bob",
            "register",
            "login bob",
            "Login a b c",
            "passwd x",
        ] {
            assert!(is_command(line), "{line}");
        }
    }
}
