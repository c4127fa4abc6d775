//! IRCv3 capability negotiation (`CAP LS [302]`, `REQ`, `ACK`/`NAK`, `LIST`,
//! `END`, and `NEW`/`DEL` for `cap-notify`): which capabilities a connection
//! has enabled, and the reply lines. No I/O; the registration machine asks
//! it whether negotiation holds registration back.
//!
//! Status at ircv3.net of what we can offer: `server-time`, `message-tags`,
//! `echo-message`, `batch`, `sasl`, `cap-notify`, `account-tag`,
//! `multi-prefix` and `userhost-in-names` are ratified specifications.
//! `chathistory` and `read-marker` are work-in-progress drafts, so their
//! capability names carry the `draft/` prefix the drafts require
//! (`draft/chathistory`, `draft/read-marker`); the `chathistory` *batch
//! type* is ratified and used unprefixed.

use super::message::Message;
use super::split::pack_words;

/// A capability this server knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cap {
    /// `server-time`: a `time` tag on messages.
    ServerTime,
    /// `message-tags`: any tag, client-only tags relayed, `TAGMSG`, `msgid`.
    MessageTags,
    /// `echo-message`: a sender gets its own messages back.
    EchoMessage,
    /// `batch`: grouped replies (`chathistory` on join).
    Batch,
    /// `sasl`: `AUTHENTICATE` (we offer `PLAIN`).
    Sasl,
    /// `cap-notify`: `CAP NEW` and `CAP DEL`.
    CapNotify,
    /// `account-tag`: an `account` tag naming the sender's account.
    AccountTag,
    /// `multi-prefix`: every status prefix in `NAMES` and `WHO`.
    MultiPrefix,
    /// `userhost-in-names`: `nick!user@host` in `NAMES`.
    UserhostInNames,
    /// `draft/chathistory` (a draft): the `CHATHISTORY` command.
    ChatHistory,
    /// `draft/read-marker` (a draft): the `MARKREAD` command.
    ReadMarker,
}

impl Cap {
    /// Every capability, in the order `CAP LS` lists them.
    pub const ALL: [Cap; 11] = [
        Cap::ServerTime,
        Cap::MessageTags,
        Cap::EchoMessage,
        Cap::Batch,
        Cap::Sasl,
        Cap::CapNotify,
        Cap::AccountTag,
        Cap::MultiPrefix,
        Cap::UserhostInNames,
        Cap::ChatHistory,
        Cap::ReadMarker,
    ];

    /// Its name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Cap::ServerTime => "server-time",
            Cap::MessageTags => "message-tags",
            Cap::EchoMessage => "echo-message",
            Cap::Batch => "batch",
            Cap::Sasl => "sasl",
            Cap::CapNotify => "cap-notify",
            Cap::AccountTag => "account-tag",
            Cap::MultiPrefix => "multi-prefix",
            Cap::UserhostInNames => "userhost-in-names",
            Cap::ChatHistory => "draft/chathistory",
            Cap::ReadMarker => "draft/read-marker",
        }
    }

    /// The capability with this name (names are case-sensitive).
    pub fn from_name(name: &str) -> Option<Cap> {
        Cap::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The value `CAP LS 302` shows after `=`: the SASL mechanisms.
    pub fn value(self) -> Option<&'static str> {
        match self {
            Cap::Sasl => Some("PLAIN"),
            _ => None,
        }
    }

    /// False for the work-in-progress drafts (`draft/...`).
    pub fn is_ratified(self) -> bool {
        !matches!(self, Cap::ChatHistory | Cap::ReadMarker)
    }

    fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// A set of capabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapSet(u16);

impl CapSet {
    /// No capability.
    pub const EMPTY: CapSet = CapSet(0);

    /// Every capability.
    pub fn all() -> CapSet {
        Cap::ALL.into_iter().collect()
    }

    /// True when `cap` is in the set.
    pub fn contains(self, cap: Cap) -> bool {
        self.0 & cap.bit() != 0
    }

    /// The set with `cap` added.
    pub fn with(self, cap: Cap) -> CapSet {
        CapSet(self.0 | cap.bit())
    }

    /// The set with `cap` removed.
    pub fn without(self, cap: Cap) -> CapSet {
        CapSet(self.0 & !cap.bit())
    }

    /// The capabilities in the set, in [`Cap::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Cap> {
        Cap::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

impl FromIterator<Cap> for CapSet {
    fn from_iter<I: IntoIterator<Item = Cap>>(caps: I) -> CapSet {
        caps.into_iter().fold(CapSet::EMPTY, CapSet::with)
    }
}

/// What a `CAP` command does to registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapEffect {
    /// Nothing (`LIST`, errors, anything after registration).
    None,
    /// `LS` or `REQ` before registration: hold it until `CAP END`.
    Pause,
    /// `END`: negotiation is over.
    End,
}

/// The capability state of one connection.
#[derive(Debug, Clone)]
pub struct CapNegotiation {
    offered: CapSet,
    enabled: CapSet,
    /// 0 before any `CAP LS`; 301 for a bare `CAP LS`; 302 for 302 or later.
    version: u16,
}

impl CapNegotiation {
    /// A connection that may enable the capabilities in `offered` (the door
    /// offers only what it implements).
    pub fn new(offered: CapSet) -> CapNegotiation {
        CapNegotiation {
            offered,
            enabled: CapSet::EMPTY,
            version: 0,
        }
    }

    /// The capabilities this connection has enabled.
    pub fn enabled(&self) -> CapSet {
        self.enabled
    }

    /// True when `cap` is enabled.
    pub fn has(&self, cap: Cap) -> bool {
        self.enabled.contains(cap)
    }

    /// The `CAP LS` version the client announced (0 if it never listed).
    pub fn version(&self) -> u16 {
        self.version
    }

    /// Handles `CAP <params>` from a client whose nickname in replies is
    /// `nick` (`*` before registration). `registered` says whether
    /// registration is over, after which `CAP` never pauses anything.
    pub fn handle(
        &mut self,
        server: &str,
        nick: &str,
        params: &[String],
        registered: bool,
    ) -> (Vec<Message>, CapEffect) {
        let reply = |words: Vec<&str>| {
            let mut all = vec![nick];
            all.extend(words);
            Message::new("CAP", all).with_source(server)
        };
        let Some(sub) = params.first() else {
            let m = super::Numeric::ERR_NEEDMOREPARAMS.reply(
                server,
                nick,
                ["CAP", "Not enough parameters"],
            );
            return (vec![m], CapEffect::None);
        };
        let pause = if registered {
            CapEffect::None
        } else {
            CapEffect::Pause
        };
        match sub.to_ascii_uppercase().as_str() {
            "LS" => {
                let asked = params.get(1).map_or(301, |v| v.parse().unwrap_or(301));
                self.version = self.version.max(asked.clamp(301, 302));
                if self.version >= 302 {
                    self.enabled = self.enabled.with(Cap::CapNotify);
                }
                (self.list_lines(server, nick, "LS", self.offered), pause)
            }
            "LIST" => (
                self.list_lines(server, nick, "LIST", self.enabled),
                CapEffect::None,
            ),
            "REQ" => {
                let asked = params.get(1).map_or("", String::as_str);
                match self.request(asked) {
                    Some(enabled) => {
                        self.enabled = enabled;
                        (vec![reply(vec!["ACK", asked])], pause)
                    }
                    None => (vec![reply(vec!["NAK", asked])], pause),
                }
            }
            "END" if registered => (Vec::new(), CapEffect::None),
            "END" => (Vec::new(), CapEffect::End),
            _ => {
                let m = super::Numeric::ERR_INVALIDCAPCMD.reply(
                    server,
                    nick,
                    [sub.as_str(), "Invalid CAP command"],
                );
                (vec![m], CapEffect::None)
            }
        }
    }

    /// The set a `REQ` would leave enabled, or `None` to refuse it whole:
    /// an unknown or unoffered name, an empty list, or disabling
    /// `cap-notify` after `CAP LS 302` (which the specification forbids).
    fn request(&self, asked: &str) -> Option<CapSet> {
        let mut enabled = self.enabled;
        let mut any = false;
        for word in asked.split(' ').filter(|w| !w.is_empty()) {
            any = true;
            let (off, name) = match word.strip_prefix('-') {
                Some(name) => (true, name),
                None => (false, word),
            };
            let cap = Cap::from_name(name).filter(|c| self.offered.contains(*c))?;
            if off && cap == Cap::CapNotify && self.version >= 302 {
                return None;
            }
            enabled = if off {
                enabled.without(cap)
            } else {
                enabled.with(cap)
            };
        }
        any.then_some(enabled)
    }

    /// `CAP nick LS|LIST [*] :caps`, split over lines for 302 clients
    /// (values shown only to them), one line for older ones.
    fn list_lines(&self, server: &str, nick: &str, sub: &str, caps: CapSet) -> Vec<Message> {
        let v302 = self.version >= 302;
        let words: Vec<String> = caps
            .iter()
            .map(|c| match c.value() {
                Some(v) if v302 && sub == "LS" => format!("{}={v}", c.name()),
                _ => c.name().to_string(),
            })
            .collect();
        // ":server CAP nick SUB * :" + CR LF
        let budget = 512usize.saturating_sub(server.len() + nick.len() + sub.len() + 16);
        let lists = if v302 {
            pack_words(words.iter().map(String::as_str), budget)
        } else {
            vec![words.join(" ")]
        };
        let last = lists.len() - 1;
        lists
            .into_iter()
            .enumerate()
            .map(|(i, list)| {
                let mut params = vec![nick.to_string(), sub.to_string()];
                if i < last {
                    params.push("*".to_string());
                }
                params.push(list);
                Message::new("CAP", params).with_source(server)
            })
            .collect()
    }

    /// `CAP nick NEW :caps` for newly offered capabilities, if this client
    /// has cap-notify; `None` otherwise. The offer grows by `caps`.
    pub fn offer(&mut self, server: &str, nick: &str, caps: CapSet) -> Option<Message> {
        self.offered = caps.iter().fold(self.offered, CapSet::with);
        self.notify(server, nick, "NEW", caps)
    }

    /// `CAP nick DEL :caps` for capabilities no longer offered, if this
    /// client has cap-notify. They are disabled and withdrawn either way.
    pub fn withdraw(&mut self, server: &str, nick: &str, caps: CapSet) -> Option<Message> {
        for cap in caps.iter() {
            self.offered = self.offered.without(cap);
            self.enabled = self.enabled.without(cap);
        }
        self.notify(server, nick, "DEL", caps)
    }

    fn notify(&self, server: &str, nick: &str, sub: &str, caps: CapSet) -> Option<Message> {
        let names: Vec<&str> = caps.iter().map(Cap::name).collect();
        (self.has(Cap::CapNotify) && !names.is_empty())
            .then(|| Message::new("CAP", [nick, sub, &names.join(" ")]).with_source(server))
    }
}

#[cfg(test)]
#[path = "cap_tests.rs"]
mod tests;
