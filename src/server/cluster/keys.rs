//! Where the cluster's shared state lives in Redis, one function per key,
//! so the layout is read in one place (and in the README).
//!
//! ```text
//! chat:messages          stream   every room message: room, from, text, date, node, client
//! chat:nick:<key>        string   the node holding nickname <key> online (PX 30 s, heartbeat)
//! chat:node:<node>       string   "alive" while the node heartbeats (PX 30 s)
//! chat:epoch             string   a random value set once; gone means Redis lost its data
//! ```

/// The one stream of room messages (all rooms: one reader, one resume point).
pub const MESSAGES: &str = "chat:messages";
/// Set once by the first node; a node that finds it gone or changed knows
/// Redis lost its data and claims its users' nicknames again.
pub const EPOCH: &str = "chat:epoch";

/// The claim on an online nickname (`key`: its `name_key`).
pub fn nick(key: &str) -> String {
    format!("chat:nick:{key}")
}

/// A node's liveness key.
pub fn node(node: &str) -> String {
    format!("chat:node:{node}")
}
