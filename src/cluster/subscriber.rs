//! A connection in pub/sub mode: subscribe to channels, then take messages
//! one at a time with a timeout, so the thread waiting on it can look at a
//! stop flag between waits (or be woken by an [`Interrupter`]). Pub/sub is
//! fire and forget: what is published while a subscriber is away is lost,
//! so the cluster uses it for hints and streams for what must arrive.

use std::collections::VecDeque;
use std::time::Duration;

use super::client::{into_result, Client, Config, Interrupter};
use super::error::{RedisError, Result};
use super::resp::{Command, Value};

/// A message received on a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The channel it was published on.
    pub channel: Vec<u8>,
    /// What was published.
    pub payload: Vec<u8>,
}

/// A connection subscribed to channels.
#[derive(Debug)]
pub struct Subscriber {
    client: Client,
    /// Messages that arrived while waiting for a (un)subscribe confirmation.
    queued: VecDeque<Message>,
    /// The channels subscribed to, in the order confirmed.
    channels: Vec<Vec<u8>>,
}

/// What one pub/sub value is.
enum Event {
    Message(Message),
    /// A (un)subscribe confirmation: the kind, the channel, and how many
    /// channels the connection is subscribed to now.
    Confirmed(Vec<u8>, Vec<u8>),
    /// The answer to [`Subscriber::ping`], or a kind we do not use.
    Other,
}

impl Subscriber {
    /// Connects (logging in as [`Client::connect`] does), subscribed to nothing yet.
    ///
    /// # Errors
    ///
    /// As for [`Client::connect`].
    pub fn connect(config: &Config) -> Result<Subscriber> {
        Ok(Subscriber {
            client: Client::connect(config)?,
            queued: VecDeque::new(),
            channels: Vec::new(),
        })
    }

    /// `SUBSCRIBE channel...`, waiting until Redis confirms each one: a
    /// message published after this returns is received.
    ///
    /// # Errors
    ///
    /// I/O, protocol and timeout errors break the connection; an error reply
    /// is [`RedisError::Server`].
    pub fn subscribe<C: AsRef<[u8]>>(&mut self, channels: &[C]) -> Result<()> {
        self.change("SUBSCRIBE", b"subscribe", channels)?;
        for channel in channels {
            if !self.is_subscribed(channel.as_ref()) {
                self.channels.push(channel.as_ref().to_vec());
            }
        }
        Ok(())
    }

    /// `UNSUBSCRIBE channel...`, waiting until Redis confirms each one.
    ///
    /// # Errors
    ///
    /// As for [`Subscriber::subscribe`].
    pub fn unsubscribe<C: AsRef<[u8]>>(&mut self, channels: &[C]) -> Result<()> {
        self.change("UNSUBSCRIBE", b"unsubscribe", channels)?;
        self.channels
            .retain(|c| !channels.iter().any(|gone| gone.as_ref() == c.as_slice()));
        Ok(())
    }

    /// The channels subscribed to.
    pub fn channels(&self) -> &[Vec<u8>] {
        &self.channels
    }

    /// True if subscribed to `channel`.
    pub fn is_subscribed(&self, channel: &[u8]) -> bool {
        self.channels.iter().any(|c| c == channel)
    }

    /// The next message, waiting up to `wait`; `Ok(None)` if none came. The
    /// connection stays usable after a wait that times out.
    ///
    /// # Errors
    ///
    /// [`RedisError::Closed`] when Redis (or an [`Interrupter`]) closed the
    /// connection; other I/O and protocol errors as for a command.
    pub fn next_message(&mut self, wait: Duration) -> Result<Option<Message>> {
        if let Some(message) = self.queued.pop_front() {
            return Ok(Some(message));
        }
        let deadline = std::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let Some(value) = self.client.try_read_value(left)? else {
                return Ok(None);
            };
            if let Event::Message(message) = event(into_result(value)?)? {
                return Ok(Some(message));
            }
        }
    }

    /// Sends `PING` without waiting: its answer is skipped by
    /// [`Subscriber::next_message`]. A write that fails shows a dead
    /// connection that reads alone might not notice for a long time.
    ///
    /// # Errors
    ///
    /// As for a command.
    pub fn ping(&mut self) -> Result<()> {
        self.client.send(&[Command::new("PING")])
    }

    /// A handle that wakes a thread blocked in [`Subscriber::next_message`]
    /// by closing the connection.
    ///
    /// # Errors
    ///
    /// The OS error if the socket cannot be duplicated.
    pub fn interrupter(&self) -> Result<Interrupter> {
        self.client.interrupter()
    }

    /// Sends a (un)subscribe command and waits for one confirmation per
    /// channel, queueing messages that arrive meanwhile.
    fn change<C: AsRef<[u8]>>(&mut self, verb: &str, kind: &[u8], channels: &[C]) -> Result<()> {
        if channels.is_empty() {
            return Ok(());
        }
        self.client.send(&[Command::new(verb).args(channels)])?;
        let mut waiting: Vec<&[u8]> = channels.iter().map(|c| c.as_ref()).collect();
        let wait = self.client.io_timeout();
        while !waiting.is_empty() {
            let value = match self.client.try_read_value(wait)? {
                Some(value) => value,
                None => {
                    // A confirmation that never came: the connection's
                    // state is unknown from here on.
                    let timeout = std::io::Error::from(std::io::ErrorKind::TimedOut);
                    self.client.mark_broken();
                    return Err(RedisError::Io(timeout));
                }
            };
            match event(into_result(value)?)? {
                Event::Message(message) => self.queued.push_back(message),
                Event::Confirmed(got, channel) if got == kind => {
                    if let Some(at) = waiting.iter().position(|c| *c == channel.as_slice()) {
                        waiting.remove(at);
                    }
                }
                Event::Confirmed(..) | Event::Other => {}
            }
        }
        Ok(())
    }
}

/// Reads a pub/sub value: a RESP3 push, or a RESP2 array.
fn event(value: Value) -> Result<Event> {
    let items = match value {
        Value::Push(items) | Value::Array(items) => items,
        // RESP3 answers PING with +PONG even in pub/sub mode.
        Value::Simple(_) => return Ok(Event::Other),
        other => {
            return Err(RedisError::UnexpectedReply {
                command: "SUBSCRIBE".to_string(),
                reply: other.describe(),
            })
        }
    };
    let mut items = items.into_iter();
    let kind = match items.next() {
        Some(Value::Bulk(kind)) => kind,
        _ => return Ok(Event::Other),
    };
    let mut text = |what| match items.next() {
        Some(Value::Bulk(bytes)) => Ok(bytes),
        _ => Err(RedisError::UnexpectedReply {
            command: "SUBSCRIBE".to_string(),
            reply: format!("a {} without its {what}", String::from_utf8_lossy(&kind)),
        }),
    };
    match kind.as_slice() {
        b"message" => Ok(Event::Message(Message {
            channel: text("channel")?,
            payload: text("payload")?,
        })),
        b"subscribe" | b"unsubscribe" => {
            let channel = text("channel")?;
            Ok(Event::Confirmed(kind, channel))
        }
        _ => Ok(Event::Other),
    }
}
