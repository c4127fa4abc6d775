//! The IRC front door's language, without sockets or the hub: lines and
//! messages (RFC 1459/2812 as modern.ircdocs.horse describes them, plus
//! IRCv3 tags), numerics, the `ascii` casemapping between nicknames, rooms
//! and channels, splitting long texts into lines, capability negotiation,
//! registration, SASL `PLAIN` and the parameters of `CHATHISTORY` and
//! `MARKREAD`. Each part is pure and unit-tested; the door that owns the
//! connection calls them.

pub mod cap;
pub mod casemap;
pub mod chathistory;
pub mod error;
pub mod line;
pub mod message;
pub mod numeric;
pub mod register;
pub mod render;
pub mod replies;
pub mod sasl;
pub mod split;
pub mod tags;

#[cfg(test)]
mod test_rng;

pub use error::{IrcError, Reaction};
pub use line::{read_line, MAX_LINE_BYTES};
pub use message::{Limits, Message};
pub use numeric::Numeric;
pub use tags::Tag;
