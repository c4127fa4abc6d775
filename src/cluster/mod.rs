//! The Redis layer a cluster of servers stands on (issue 18): RESP, the wire
//! protocol (`resp`); a blocking [`Client`] that logs in, pipelines and has
//! typed helpers for the commands the cluster needs (`commands`, `streams`);
//! a [`Subscriber`] for pub/sub; [`StreamId`]s; and [`Reconnecting`], which
//! rebuilds a broken connection with backoff and turns "Redis unreachable"
//! into one clear error. What the cluster keeps in Redis is not here.
//!
//! ```text
//! resp (values, decoder, encoder) <- client (connect, handshake, request, pipeline)
//!   <- commands, streams, subscriber (typed)  <- reconnect (any of them, rebuilt)
//! ```

pub mod client;
pub mod commands;
pub mod error;
pub mod reconnect;
mod reply;
pub mod resp;
pub mod stream_id;
pub mod streams;
pub mod subscriber;
pub mod url;

pub use client::{Client, Config, Interrupter, Protocol};
pub use commands::Script;
pub use error::{RedisError, Result};
pub use reconnect::{Backoff, Change, Health, Reconnecting};
pub use stream_id::StreamId;
pub use streams::{xadd_command, xadd_reply, StreamBatch, StreamBound, StreamEntry};
pub use subscriber::{Message, Subscriber};
pub use url::RedisUrl;
