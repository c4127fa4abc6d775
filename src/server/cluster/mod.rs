//! This server as one node of a cluster sharing one Redis (`--cluster`):
//! the [`ClusterLink`] the hub holds (its connections to Redis, which node
//! it is, what its stream reader has delivered) and the threads that keep
//! the node in step. Room messages go through one Redis stream so every
//! node delivers them in one order; nicknames are claimed in Redis. What
//! Redis holds, key by key, is in `keys`.

mod accounts;
mod appender;
mod error;
mod events;
mod files;
pub mod keys;
mod link;
mod markers;
mod nicks;
mod pending;
mod presence;
mod progress;
mod reader;
mod resume;
mod rooms;
mod trim;

pub use accounts::RedisAccounts;
pub use error::ClusterError;
pub use events::{spawn_events, whisper_payload, Stores};
pub use files::RedisFiles;
pub use link::{AppendFailed, ClusterLink, StreamMessage};
pub use markers::RedisMarkers;
pub use nicks::spawn_heartbeat;
pub use presence::spawn_presence;
pub use reader::spawn_reader;
pub use resume::last_stream_id;

/// How long a node's claims (its nicknames, its own liveness key) live in
/// Redis without a heartbeat: a node killed with SIGKILL releases its
/// users within this time.
pub const CLAIM_TTL: std::time::Duration = std::time::Duration::from_secs(30);
/// How often a node refreshes its claims (a third of their life, so two
/// heartbeats may be lost before a claim expires).
pub const HEARTBEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
