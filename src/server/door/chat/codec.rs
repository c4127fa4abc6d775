//! How a `CHAT/1.0` connection is sent what the hub delivers: events as
//! request-shaped frames (see `crate::event`).

use crate::event::Event;
use crate::server::hub::{Codec, Delivery, Removal};

/// The `CHAT/1.0` codec: one format for every such connection.
pub struct ChatCodec;

/// This door's format number among the codecs of a fan-out.
const FORMAT: usize = 0;

impl Codec for ChatCodec {
    fn format(&self) -> usize {
        FORMAT
    }

    fn encode(&self, delivery: &Delivery) -> Vec<u8> {
        match delivery {
            Delivery::Event(event) => event.to_frame().encode(),
            // The room's recent messages (marked as history), then the
            // welcome, as one write.
            Delivery::Entered {
                room,
                nick,
                members,
                history,
                unread_from,
            } => {
                let mut out = Vec::new();
                let mut marked = unread_from.is_none();
                for r in history {
                    // The line between what a returning user had seen and
                    // what is new to them.
                    if !marked && unread_from.is_some_and(|since| r.seq > since) {
                        let marker = Event::Notice {
                            text: format!("--- new in {room} since you were last here ---"),
                        };
                        out.extend_from_slice(&marker.to_frame().encode());
                        marked = true;
                    }
                    let message = Event::Message {
                        room: r.room.clone(),
                        from: r.from.clone(),
                        date: r.date.clone(),
                        seq: r.seq,
                        text: r.text.clone(),
                        history: true,
                    };
                    out.extend_from_slice(&message.to_frame().encode());
                }
                let join = Event::Join {
                    room: room.clone(),
                    nick: nick.clone(),
                    members: *members,
                };
                out.extend_from_slice(&join.to_frame().encode());
                out
            }
            Delivery::Removed { room, why } => Event::Notice {
                text: removal(room, why),
            }
            .to_frame()
            .encode(),
        }
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
