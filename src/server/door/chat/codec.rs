//! How a `CHAT/1.0` connection is sent what the hub delivers: events as
//! request-shaped frames (see `crate::event`), and how its frames are put
//! on the wire ([`Wire`]: as they are, or wrapped by another door).

use crate::event::Event;
use crate::server::hub::{Codec, Delivery, Removal};

/// How a `CHAT/1.0` connection's frames go on the wire: its replies
/// (`wrap`) and what the hub delivers to it (its [`Codec`]). The terminal
/// client gets the frames as they are ([`ChatCodec`]); a browser gets each
/// one inside a WebSocket text message (the web door's codec).
pub trait Wire: Codec {
    /// The bytes that carry one encoded frame (a reply) to this connection.
    fn wrap(&self, frame: Vec<u8>) -> Vec<u8>;
}

/// The `CHAT/1.0` codec: one format for every such connection.
pub struct ChatCodec;

/// This door's format number among the codecs of a fan-out.
const FORMAT: usize = 0;

impl Codec for ChatCodec {
    fn format(&self) -> usize {
        FORMAT
    }

    fn encode(&self, delivery: &Delivery) -> Vec<u8> {
        frames(delivery).concat()
    }
}

impl Wire for ChatCodec {
    fn wrap(&self, frame: Vec<u8>) -> Vec<u8> {
        frame
    }
}

/// The frames that carry a delivery, each encoded, in order: one for an
/// event; for a newcomer, the room's recent messages (marked as history,
/// with a notice where what is new to a returning user starts) and then
/// the welcome.
pub fn frames(delivery: &Delivery) -> Vec<Vec<u8>> {
    match delivery {
        Delivery::Event(event) => vec![event.to_frame().encode()],
        Delivery::Entered {
            room,
            nick,
            members,
            history,
            unread_from,
        } => {
            let mut out = Vec::with_capacity(history.len() + 2);
            let mut marked = unread_from.is_none();
            for r in history {
                // The line between what a returning user had seen and
                // what is new to them.
                if !marked && unread_from.is_some_and(|since| r.seq > since) {
                    let marker = Event::Notice {
                        text: format!("--- new in {room} since you were last here ---"),
                    };
                    out.push(marker.to_frame().encode());
                    marked = true;
                }
                let message = r.message_event(true);
                out.push(message.to_frame().encode());
            }
            let join = Event::Join {
                room: room.clone(),
                nick: nick.clone(),
                members: *members,
            };
            out.push(join.to_frame().encode());
            out
        }
        Delivery::Removed { room, why } => vec![Event::Notice {
            text: removal(room, why),
        }
        .to_frame()
        .encode()],
        Delivery::Invited { room, by } => vec![Event::Notice {
            text: format!("{by} invites you into {room}: /join {room}"),
        }
        .to_frame()
        .encode()],
    }
}

/// Why someone was taken out of `room`, in the words they are told.
pub fn removal(room: &str, why: &Removal) -> String {
    match why {
        Removal::Closed { by_operator: false } => format!("room {room} was closed by its owner"),
        Removal::Closed { by_operator: true } => {
            format!("room {room} was closed by the server operator")
        }
        Removal::Banned => format!("you were banned from {room}"),
        Removal::Unpermitted => {
            format!("you are no longer on the whitelist of private room {room}")
        }
        Removal::Kicked { by, reason } if reason.is_empty() => {
            format!("{by} sent you out of {room}")
        }
        Removal::Kicked { by, reason } => format!("{by} sent you out of {room}: {reason}"),
    }
}
