//! Multi-line numeric replies the door sends often: the welcome burst
//! (001-005), LUSERS, the MOTD (or 422) and NAMES, each packed so that no
//! line is over 512 bytes however long the lists get.

use super::casemap::{CASEMAPPING, CHANNELLEN, NICKLEN};
use super::message::Message;
use super::numeric::Numeric;
use super::register::USERLEN;
use super::split::pack_words;

/// The most `005` tokens on one line (modern.ircdocs.horse).
pub const MAX_ISUPPORT_TOKENS: usize = 13;

/// The `005` tokens for our rules. Channel modes: `b` (bans) and `I`
/// (permits of a private room) are lists, `i` is a private room; owners are
/// operators (`@`). `chathistory` is the number of messages `CHATHISTORY`
/// returns, when the door offers `draft/chathistory`.
pub fn isupport(network: &str, chathistory: Option<usize>) -> Vec<String> {
    let mut tokens = vec![
        format!("NETWORK={network}"),
        format!("CASEMAPPING={CASEMAPPING}"),
        "CHANTYPES=#".to_string(),
        "CHANMODES=Ib,,,i".to_string(),
        "PREFIX=(o)@".to_string(),
        format!("NICKLEN={NICKLEN}"),
        format!("CHANNELLEN={CHANNELLEN}"),
        format!("USERLEN={USERLEN}"),
        "INVEX=I".to_string(),
        "UTF8ONLY".to_string(),
    ];
    tokens.extend(chathistory.map(|n| format!("CHATHISTORY={n}")));
    tokens
}

/// What the welcome burst says about the server.
#[derive(Debug, Clone, Copy)]
pub struct ServerInfo<'a> {
    /// The server name, the source of every reply.
    pub name: &'a str,
    /// The network name (`001`, `NETWORK=`).
    pub network: &'a str,
    /// The software version (`002`, `004`).
    pub version: &'a str,
    /// When the server started, in words (`003`).
    pub created: &'a str,
}

/// `001`-`005` for `nick` whose source is `mask`, `005` spread over as many
/// lines as the tokens need.
pub fn welcome(info: &ServerInfo, nick: &str, mask: &str, tokens: &[String]) -> Vec<Message> {
    let s = info.name;
    let mut lines = vec![
        Numeric::RPL_WELCOME.reply(
            s,
            nick,
            [format!("Welcome to the {} chat, {mask}", info.network)],
        ),
        Numeric::RPL_YOURHOST.reply(
            s,
            nick,
            [format!(
                "Your host is {s}, running version {}",
                info.version
            )],
        ),
        Numeric::RPL_CREATED.reply(
            s,
            nick,
            [format!("This server was created {}", info.created)],
        ),
        Numeric::RPL_MYINFO.reply(s, nick, [s, info.version, "i", "Ibio"]),
    ];
    for chunk in tokens.chunks(MAX_ISUPPORT_TOKENS) {
        let mut params: Vec<&str> = chunk.iter().map(String::as_str).collect();
        params.push("are supported by this server");
        lines.push(Numeric::RPL_ISUPPORT.reply(s, nick, params));
    }
    lines
}

/// LUSERS: how many people are online (every protocol) and how many rooms.
pub fn lusers(server: &str, nick: &str, users: usize, channels: usize) -> Vec<Message> {
    vec![
        Numeric::RPL_LUSERCLIENT.reply(
            server,
            nick,
            [format!(
                "There are {users} users and 0 invisible on 1 servers"
            )],
        ),
        Numeric::RPL_LUSERCHANNELS.reply(
            server,
            nick,
            [channels.to_string(), "channels formed".into()],
        ),
        Numeric::RPL_LUSERME.reply(
            server,
            nick,
            [format!("I have {users} clients and 0 servers")],
        ),
    ]
}

/// The message of the day (`375`, `372`..., `376`), or `422` when there is none.
pub fn motd(server: &str, nick: &str, lines: &[&str]) -> Vec<Message> {
    if lines.is_empty() {
        return vec![Numeric::ERR_NOMOTD.reply(server, nick, ["MOTD File is missing"])];
    }
    let mut out = vec![Numeric::RPL_MOTDSTART.reply(
        server,
        nick,
        [format!("- {server} Message of the day - ")],
    )];
    out.extend(
        lines
            .iter()
            .map(|l| Numeric::RPL_MOTD.reply(server, nick, [format!("- {l}")])),
    );
    out.push(Numeric::RPL_ENDOFMOTD.reply(server, nick, ["End of /MOTD command."]));
    out
}

/// `353` lines listing `names` (already prefixed: `@al`, or `@al!al@host`
/// with `userhost-in-names`), packed to fit, then `366`. `symbol` is `=`
/// for a public channel and `*` for a private one.
pub fn names(
    server: &str,
    nick: &str,
    channel: &str,
    symbol: &str,
    names: &[String],
) -> Vec<Message> {
    // ":server 353 nick = #channel :" + CR LF
    let fixed = server.len() + nick.len() + symbol.len() + channel.len() + 14;
    let budget = 512usize.saturating_sub(fixed);
    let mut out: Vec<Message> = Vec::new();
    if !names.is_empty() {
        for list in pack_words(names.iter().map(String::as_str), budget) {
            out.push(Numeric::RPL_NAMREPLY.reply(server, nick, [symbol, channel, &list]));
        }
    }
    out.push(Numeric::RPL_ENDOFNAMES.reply(server, nick, [channel, "End of /NAMES list"]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(m: &Message) -> String {
        String::from_utf8(m.to_line().expect("fits")).expect("utf-8")
    }

    #[test]
    fn welcome_burst_has_001_to_005_with_our_rules() {
        let info = ServerInfo {
            name: "chat.local",
            network: "Chat",
            version: "chat-0.1.0",
            created: "2026-11-21 10:15:02 UTC",
        };
        let tokens = isupport("Chat", None);
        let lines = welcome(&info, "al", "al!al@127.0.0.1", &tokens);
        let codes: Vec<&str> = lines.iter().map(|m| m.command.as_str()).collect();
        assert_eq!(codes, ["001", "002", "003", "004", "005"]);
        assert_eq!(
            wire(&lines[0]),
            ":chat.local 001 al :Welcome to the Chat chat, al!al@127.0.0.1\r\n"
        );
        let isupport_line = wire(&lines[4]);
        for token in [
            "NICKLEN=8",
            "CHANTYPES=#",
            "CASEMAPPING=ascii",
            "PREFIX=(o)@",
            "CHANMODES=Ib,,,i",
        ] {
            assert!(isupport_line.contains(token), "{isupport_line}");
        }
        assert!(isupport_line.ends_with(" :are supported by this server\r\n"));
    }

    #[test]
    fn isupport_is_spread_over_lines_of_at_most_13_tokens() {
        let info = ServerInfo {
            name: "s",
            network: "n",
            version: "v",
            created: "c",
        };
        let tokens: Vec<String> = (0..30).map(|i| format!("T{i}")).collect();
        let lines = welcome(&info, "al", "al!al@h", &tokens);
        let fives: Vec<&Message> = lines.iter().filter(|m| m.command == "005").collect();
        assert_eq!(fives.len(), 3);
        assert_eq!(fives[0].params.len(), 1 + 13 + 1);
        assert_eq!(fives[2].params.len(), 1 + 4 + 1);
        assert!(isupport("n", Some(100)).contains(&"CHATHISTORY=100".to_string()));
    }

    #[test]
    fn lusers_and_motd() {
        let l: Vec<String> = lusers("s", "al", 3, 2).iter().map(wire).collect();
        assert_eq!(
            l[0],
            ":s 251 al :There are 3 users and 0 invisible on 1 servers\r\n"
        );
        assert_eq!(l[1], ":s 254 al 2 :channels formed\r\n");
        assert_eq!(l[2], ":s 255 al :I have 3 clients and 0 servers\r\n");
        assert_eq!(
            wire(&motd("s", "al", &[])[0]),
            ":s 422 al :MOTD File is missing\r\n"
        );
        let m: Vec<String> = motd("s", "al", &["be kind"]).iter().map(wire).collect();
        assert_eq!(m.len(), 3);
        assert_eq!(m[1], ":s 372 al :- be kind\r\n");
        assert_eq!(m[2], ":s 376 al :End of /MOTD command.\r\n");
    }

    #[test]
    fn names_are_packed_into_lines_that_fit() {
        let many: Vec<String> = (0..500).map(|i| format!("n{i}!n{i}@127.0.0.1")).collect();
        let lines = names("chat.local", "al", "#lobby", "=", &many);
        assert!(lines.len() > 2);
        let mut listed = Vec::new();
        for m in &lines[..lines.len() - 1] {
            assert_eq!(m.command, "353");
            assert!(m.to_line().expect("fits").len() <= 512);
            listed.extend(m.params[3].split(' ').map(str::to_string));
        }
        assert_eq!(listed, many);
        assert_eq!(
            wire(lines.last().expect("366")),
            ":chat.local 366 al #lobby :End of /NAMES list\r\n"
        );
        let lone = names("s", "al", "#r", "*", &["@al".to_string()]);
        assert_eq!(wire(&lone[0]), ":s 353 al * #r @al\r\n");
        assert_eq!(names("s", "al", "#r", "=", &[]).len(), 1, "just 366");
    }
}
