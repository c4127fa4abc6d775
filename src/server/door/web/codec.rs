//! How a browser is sent what the hub delivers, and its replies: the
//! `CHAT/1.0` frames the terminal client gets, each in one WebSocket text
//! message (an `Entered` with history is several messages). A fan-out
//! encodes this once for every browser in the room.

use crate::event::Event;
use crate::server::door::chat::{frames, Wire};
use crate::server::hub::{Codec, Delivery};
use crate::web::websocket::{close_payload, encode_frame, CloseCode, Opcode};

/// This door's format among the codecs of a fan-out (the chat door is 0,
/// IRC's variants take 2 to 15).
const FORMAT: usize = 1;

/// The browser's codec: CHAT/1.0 frames in WebSocket text messages.
pub struct WebCodec;

impl Codec for WebCodec {
    fn format(&self) -> usize {
        FORMAT
    }

    fn encode(&self, delivery: &Delivery) -> Vec<u8> {
        let frames = frames(delivery);
        let mut out = Vec::with_capacity(frames.iter().map(|f| f.len() + 4).sum());
        for frame in &frames {
            text_message(&mut out, frame);
        }
        // A BYE is the last thing a connection is sent (a kick, a shutdown):
        // the close handshake follows it, so the page learns the end from
        // the WebSocket too, not only from a dropped connection.
        if matches!(delivery, Delivery::Event(Event::Bye { .. })) {
            let payload = close_payload(CloseCode::GOING_AWAY, "");
            encode_frame(&mut out, true, Opcode::Close, &payload, None);
        }
        out
    }
}

impl Wire for WebCodec {
    fn wrap(&self, frame: Vec<u8>) -> Vec<u8> {
        let mut out = Vec::with_capacity(frame.len() + 4);
        text_message(&mut out, &frame);
        out
    }
}

/// Appends one unmasked text message carrying `frame`. Our frames are UTF-8
/// (heads are, and bodies sent to a browser are text); anything else would
/// break the browser's socket, so it is sent with its bad bytes replaced.
fn text_message(out: &mut Vec<u8>, frame: &[u8]) {
    match std::str::from_utf8(frame) {
        Ok(_) => encode_frame(out, true, Opcode::Text, frame, None),
        Err(_) => {
            let text = String::from_utf8_lossy(frame);
            encode_frame(out, true, Opcode::Text, text.as_bytes(), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::door::chat::ChatCodec;
    use crate::server::history::{Kind, Record};
    use crate::web::websocket::{Message, Reader, Role};

    fn messages(bytes: &[u8]) -> Vec<Message> {
        let mut reader = Reader::new(bytes, Role::Client, 1 << 20);
        let mut out = Vec::new();
        while let Some(m) = reader.read_message().unwrap() {
            out.push(m);
        }
        out
    }

    fn record(seq: u64, text: &str) -> Record {
        Record {
            seq,
            date: "2026-11-21 10:15:02.123456".into(),
            kind: Kind::Message,
            room: "lobby".into(),
            from: "ann".into(),
            to: "-".into(),
            text: text.into(),
        }
    }

    #[test]
    fn each_chat_frame_is_one_text_message() {
        let entered = Delivery::Entered {
            room: "lobby".into(),
            nick: "bob".into(),
            members: 2,
            history: vec![record(1, "hi"), record(2, "ünïcode")],
            unread_from: Some(1),
        };
        let chat = ChatCodec.encode(&entered);
        let got = messages(&WebCodec.encode(&entered));
        assert_eq!(
            got.len(),
            4,
            "a message, the news marker, a message, the welcome"
        );
        let texts: Vec<String> = got
            .into_iter()
            .map(|m| match m {
                Message::Text(t) => t,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(texts.concat().as_bytes(), chat, "the chat frames, split");
        assert!(texts[0].starts_with("MESSAGE /rooms/lobby CHAT/1.0\r\n"));
        assert!(texts[1].starts_with("NOTICE / CHAT/1.0\r\n"));
        assert!(texts[3].starts_with("JOIN /rooms/lobby CHAT/1.0\r\n"));
        assert_ne!(WebCodec.format(), ChatCodec.format());
    }

    #[test]
    fn a_bye_is_followed_by_the_close_handshake() {
        let bye = Delivery::Event(Event::Bye {
            reason: "server shutting down".into(),
        });
        let got = messages(&WebCodec.encode(&bye));
        assert!(matches!(&got[0], Message::Text(t) if t.starts_with("BYE / CHAT/1.0")));
        assert!(matches!(&got[1], Message::Close(Some(c)) if c.code == CloseCode::GOING_AWAY));
    }

    #[test]
    fn replies_are_wrapped_one_message_each() {
        let reply = b"CHAT/1.0 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec();
        let wrapped = WebCodec.wrap(reply.clone());
        assert_eq!(
            messages(&wrapped),
            [Message::Text(String::from_utf8(reply).unwrap())]
        );
        // Bytes that are not UTF-8 never break the browser's socket.
        let odd = WebCodec.wrap(b"CHAT/1.0 200 OK\r\n\r\n\xff".to_vec());
        assert!(matches!(&messages(&odd)[..], [Message::Text(t)] if t.ends_with('\u{fffd}')));
    }
}
