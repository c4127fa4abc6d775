//! Chat requests: a line to a room, a whisper to one person.

use crate::protocol::Frame;

use super::{target_name, text, Refusal};

/// Something said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatRequest {
    /// A chat line for a room: `room` names it; `None` is the room the
    /// sender is in (a client in one room at a time need not say).
    Say {
        room: Option<String>,
        text: String,
    },
    Whisper {
        to: String,
        text: String,
    },
}

impl ChatRequest {
    pub(super) fn parse(verb: &str, frame: &Frame) -> Option<Result<ChatRequest, Refusal>> {
        let target = frame.target();
        Some(match verb {
            "SAY" => text(frame).map(|text| ChatRequest::Say {
                room: target_name(target, "/rooms/").map(str::to_string),
                text,
            }),
            "WHISPER" => match target_name(target, "/users/") {
                None => Err(Refusal::bad_request("WHISPER needs a target /users/NICK")),
                Some(to) => text(frame).map(|text| ChatRequest::Whisper {
                    to: to.to_string(),
                    text,
                }),
            },
            _ => return None,
        })
    }

    /// The frame for this request.
    pub fn into_frame(self) -> Frame {
        match self {
            ChatRequest::Say { room, text } => {
                let target = room.map_or_else(|| "/".to_string(), |r| format!("/rooms/{r}"));
                Frame::request("SAY", &target).with_text(&text)
            }
            ChatRequest::Whisper { to, text } => {
                Frame::request("WHISPER", &format!("/users/{to}")).with_text(&text)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::tests::round_trip;

    #[test]
    fn chat_requests_round_trip() {
        round_trip(ChatRequest::Say {
            room: None,
            text: "Hello World! I'm Ma 19".into(),
        });
        round_trip(ChatRequest::Say {
            room: Some("lobby".into()),
            text: "a\tb\nc".into(),
        });
        round_trip(ChatRequest::Whisper {
            to: "bob".into(),
            text: "psst".into(),
        });
    }
}
