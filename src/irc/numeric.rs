//! The numeric replies the IRC door sends, by their names in
//! modern.ircdocs.horse (and the IRCv3 SASL ones), and the one way to build
//! a reply: `:server NNN nick params... :text`.

use super::message::Message;

/// A three-digit reply code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Numeric(u16);

macro_rules! numerics {
    ($($(#[$doc:meta])* $name:ident = $code:literal,)*) => {
        impl Numeric {
            $($(#[$doc])* pub const $name: Numeric = Numeric($code);)*
        }
        /// Every named numeric, by code.
        const NAMES: &[(u16, &str)] = &[$(($code, stringify!($name)),)*];
    };
}

numerics! {
    /// `<nick> :Welcome to the <network> Network, <nick>`
    RPL_WELCOME = 1,
    /// `<nick> :Your host is <server>, running version <version>`
    RPL_YOURHOST = 2,
    /// `<nick> :This server was created <date>`
    RPL_CREATED = 3,
    /// `<nick> <server> <version> <user modes> <channel modes>`
    RPL_MYINFO = 4,
    /// `<nick> <1-13 tokens> :are supported by this server`
    RPL_ISUPPORT = 5,
    /// `<nick> <user modes>`
    RPL_UMODEIS = 221,
    /// `<nick> :There are <u> users and <i> invisible on <s> servers`
    RPL_LUSERCLIENT = 251,
    /// `<nick> <ops> :operator(s) online`
    RPL_LUSEROP = 252,
    /// `<nick> <connections> :unknown connection(s)`
    RPL_LUSERUNKNOWN = 253,
    /// `<nick> <channels> :channels formed`
    RPL_LUSERCHANNELS = 254,
    /// `<nick> :I have <c> clients and <s> servers`
    RPL_LUSERME = 255,
    /// `<nick> [<u> <m>] :Current local users <u>, max <m>`
    RPL_LOCALUSERS = 265,
    /// `<nick> [<u> <m>] :Current global users <u>, max <m>`
    RPL_GLOBALUSERS = 266,
    /// `<nick> <away nick> :<message>`
    RPL_AWAY = 301,
    /// `<nick> :[<reply>{ <reply>}]`
    RPL_USERHOST = 302,
    /// `<nick> :[<nick>{ <nick>}]`
    RPL_ISON = 303,
    /// `<nick> :You are no longer marked as being away`
    RPL_UNAWAY = 305,
    /// `<nick> :You have been marked as being away`
    RPL_NOWAWAY = 306,
    /// `<nick> <nick> <user> <host> * :<realname>`
    RPL_WHOISUSER = 311,
    /// `<nick> <nick> <server> :<server info>`
    RPL_WHOISSERVER = 312,
    /// `<nick> <nick> :is an IRC operator`
    RPL_WHOISOPERATOR = 313,
    /// `<nick> <mask> :End of WHO list`
    RPL_ENDOFWHO = 315,
    /// `<nick> <nick> <secs> <signon> :seconds idle, signon time`
    RPL_WHOISIDLE = 317,
    /// `<nick> <nick> :End of /WHOIS list`
    RPL_ENDOFWHOIS = 318,
    /// `<nick> <nick> :[prefix]<channel>{ [prefix]<channel>}`
    RPL_WHOISCHANNELS = 319,
    /// `<nick> <nick> :<text>` (free-form WHOIS lines: our profile fields)
    RPL_WHOISSPECIAL = 320,
    /// `<nick>` (start of a LIST reply)
    RPL_LISTSTART = 321,
    /// `<nick> <channel> <visible> :<topic>`
    RPL_LIST = 322,
    /// `<nick> :End of /LIST`
    RPL_LISTEND = 323,
    /// `<nick> <channel> <modestring> <mode arguments>...`
    RPL_CHANNELMODEIS = 324,
    /// `<nick> <channel> <creation time>`
    RPL_CREATIONTIME = 329,
    /// `<nick> <nick> <account> :is logged in as`
    RPL_WHOISACCOUNT = 330,
    /// `<nick> <channel> :No topic is set`
    RPL_NOTOPIC = 331,
    /// `<nick> <channel> :<topic>`
    RPL_TOPIC = 332,
    /// `<nick> <channel> <setter> <setat>`
    RPL_TOPICWHOTIME = 333,
    /// `<nick> <nick> <channel>`
    RPL_INVITING = 341,
    /// `<nick> <channel> <mask>` (one invite exception, `+I`)
    RPL_INVITELIST = 346,
    /// `<nick> <channel> :End of Channel Invite Exception List`
    RPL_ENDOFINVITELIST = 347,
    /// `<nick> <channel> <user> <host> <server> <nick> <flags> :<hopcount> <realname>`
    RPL_WHOREPLY = 352,
    /// `<nick> <symbol> <channel> :[prefix]<nick>{ [prefix]<nick>}`
    RPL_NAMREPLY = 353,
    /// `<nick> <channel> :End of /NAMES list`
    RPL_ENDOFNAMES = 366,
    /// `<nick> <channel> <mask> [<who> <set-ts>]`
    RPL_BANLIST = 367,
    /// `<nick> <channel> :End of channel ban list`
    RPL_ENDOFBANLIST = 368,
    /// `<nick> <nick> :End of WHOWAS`
    RPL_ENDOFWHOWAS = 369,
    /// `<nick> :<line of the motd>`
    RPL_MOTD = 372,
    /// `<nick> :- <server> Message of the day - `
    RPL_MOTDSTART = 375,
    /// `<nick> :End of /MOTD command.`
    RPL_ENDOFMOTD = 376,
    /// `<nick> <command>{ <subcommand>} :<info>`
    ERR_UNKNOWNERROR = 400,
    /// `<nick> <nick> :No such nick/channel`
    ERR_NOSUCHNICK = 401,
    /// `<nick> <channel> :No such channel`
    ERR_NOSUCHCHANNEL = 403,
    /// `<nick> <channel> :Cannot send to channel`
    ERR_CANNOTSENDTOCHAN = 404,
    /// `<nick> <channel> :You have joined too many channels`
    ERR_TOOMANYCHANNELS = 405,
    /// `<nick> :No origin specified` (PING without a token)
    ERR_NOORIGIN = 409,
    /// `<nick> <subcommand> :Invalid CAP command`
    ERR_INVALIDCAPCMD = 410,
    /// `<nick> :No recipient given (<command>)`
    ERR_NORECIPIENT = 411,
    /// `<nick> :No text to send`
    ERR_NOTEXTTOSEND = 412,
    /// `<nick> :Input line was too long`
    ERR_INPUTTOOLONG = 417,
    /// `<nick> <command> :Unknown command`
    ERR_UNKNOWNCOMMAND = 421,
    /// `<nick> :MOTD File is missing`
    ERR_NOMOTD = 422,
    /// `<nick> :No nickname given`
    ERR_NONICKNAMEGIVEN = 431,
    /// `<nick> <nick> :Erroneus nickname`
    ERR_ERRONEUSNICKNAME = 432,
    /// `<nick> <nick> :Nickname is already in use`
    ERR_NICKNAMEINUSE = 433,
    /// `<nick> <nick> :Nickname collision KILL from <user>@<host>`
    ERR_NICKCOLLISION = 436,
    /// `<nick> <nick> <channel> :They aren't on that channel`
    ERR_USERNOTINCHANNEL = 441,
    /// `<nick> <channel> :You're not on that channel`
    ERR_NOTONCHANNEL = 442,
    /// `<nick> <nick> <channel> :is already on channel`
    ERR_USERONCHANNEL = 443,
    /// `<nick> :You have not registered`
    ERR_NOTREGISTERED = 451,
    /// `<nick> <command> :Not enough parameters`
    ERR_NEEDMOREPARAMS = 461,
    /// `<nick> :You may not reregister`
    ERR_ALREADYREGISTERED = 462,
    /// `<nick> :Password incorrect`
    ERR_PASSWDMISMATCH = 464,
    /// `<nick> :You are banned from this server`
    ERR_YOUREBANNEDCREEP = 465,
    /// `<nick> <channel> :Cannot join channel (+l)`
    ERR_CHANNELISFULL = 471,
    /// `<nick> <modechar> :is unknown mode char to me`
    ERR_UNKNOWNMODE = 472,
    /// `<nick> <channel> :Cannot join channel (+i)`
    ERR_INVITEONLYCHAN = 473,
    /// `<nick> <channel> :Cannot join channel (+b)`
    ERR_BANNEDFROMCHAN = 474,
    /// `<nick> <channel> :Cannot join channel (+k)`
    ERR_BADCHANNELKEY = 475,
    /// `<nick> <channel> :Bad Channel Mask`
    ERR_BADCHANMASK = 476,
    /// `<nick> :Permission Denied- You're not an IRC operator`
    ERR_NOPRIVILEGES = 481,
    /// `<nick> <channel> :You're not channel operator`
    ERR_CHANOPRIVSNEEDED = 482,
    /// `<nick> :Unknown MODE flag`
    ERR_UMODEUNKNOWNFLAG = 501,
    /// `<nick> :Cant change mode for other users`
    ERR_USERSDONTMATCH = 502,
    /// `<nick> <nick>!<user>@<host> <account> :You are now logged in as <account>`
    RPL_LOGGEDIN = 900,
    /// `<nick> <nick>!<user>@<host> :You are now logged out`
    RPL_LOGGEDOUT = 901,
    /// `<nick> :You must use a nick assigned to you`
    ERR_NICKLOCKED = 902,
    /// `<nick> :SASL authentication successful`
    RPL_SASLSUCCESS = 903,
    /// `<nick> :SASL authentication failed`
    ERR_SASLFAIL = 904,
    /// `<nick> :SASL message too long`
    ERR_SASLTOOLONG = 905,
    /// `<nick> :SASL authentication aborted`
    ERR_SASLABORTED = 906,
    /// `<nick> :You have already authenticated using SASL`
    ERR_SASLALREADY = 907,
    /// `<nick> <mechanisms> :are available SASL mechanisms`
    RPL_SASLMECHS = 908,
}

impl Numeric {
    /// The numeric with this code, named or not.
    pub const fn from_code(code: u16) -> Numeric {
        Numeric(code)
    }

    /// The code, 0 to 999.
    pub const fn code(self) -> u16 {
        self.0
    }

    /// Its name (`RPL_WELCOME`), if it is one this module names.
    pub fn name(self) -> Option<&'static str> {
        NAMES.iter().find(|(c, _)| *c == self.0).map(|(_, n)| *n)
    }

    /// True for error replies (400 to 599, and the SASL failures).
    pub fn is_error(self) -> bool {
        (400..600).contains(&self.0) || matches!(self.0, 902 | 904..=907)
    }

    /// The command word on the wire: always three digits (`001`).
    pub fn command(self) -> String {
        format!("{:03}", self.0)
    }

    /// `:server NNN nick params...`: the last parameter is written as
    /// trailing text when it needs to be. `nick` is `*` before registration.
    pub fn reply<S: Into<String>>(
        self,
        server: &str,
        nick: &str,
        params: impl IntoIterator<Item = S>,
    ) -> Message {
        let mut all = vec![nick.to_string()];
        all.extend(params.into_iter().map(Into::into));
        Message {
            tags: Vec::new(),
            source: Some(server.to_string()),
            command: self.command(),
            params: all,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_agree() {
        assert_eq!(Numeric::RPL_WELCOME.code(), 1);
        assert_eq!(Numeric::RPL_WELCOME.command(), "001");
        assert_eq!(Numeric::ERR_SASLTOOLONG.name(), Some("ERR_SASLTOOLONG"));
        assert_eq!(Numeric::from_code(999).name(), None);
        assert!(Numeric::ERR_NICKNAMEINUSE.is_error());
        assert!(Numeric::ERR_SASLFAIL.is_error());
        assert!(!Numeric::RPL_SASLSUCCESS.is_error());
        assert!(!Numeric::RPL_ENDOFNAMES.is_error());
        // No code is named twice, and every name says what kind it is.
        for (i, (code, name)) in NAMES.iter().enumerate() {
            assert!(
                NAMES[i + 1..].iter().all(|(c, _)| c != code),
                "{code} twice"
            );
            assert!(
                name.starts_with("RPL_") || name.starts_with("ERR_"),
                "{name}"
            );
            assert_eq!(
                name.starts_with("ERR_"),
                Numeric(*code).is_error(),
                "{name} is_error"
            );
        }
    }

    #[test]
    fn builds_a_reply_line() {
        let m = Numeric::RPL_WELCOME.reply("chat.local", "al", ["Welcome to the chat, al"]);
        assert_eq!(
            m.to_line().expect("fits"),
            b":chat.local 001 al :Welcome to the chat, al\r\n"
        );
        let m = Numeric::ERR_NICKNAMEINUSE.reply("s", "*", ["al", "Nickname is already in use"]);
        assert_eq!(
            m.to_line().expect("fits"),
            b":s 433 * al :Nickname is already in use\r\n"
        );
        let m = Numeric::RPL_LISTSTART.reply::<&str>("s", "al", []);
        assert_eq!(m.to_line().expect("fits"), b":s 321 al\r\n");
    }
}
