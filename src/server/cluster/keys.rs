//! Where the cluster's shared state lives in Redis, one function per key,
//! so the layout is read in one place (and in the README).
//!
//! ```text
//! chat:messages          stream   every room message: room, from, text, date, node, client
//! chat:read              hash     node -> the last stream ID it stored (for trimming)
//! chat:trimmed           string   the last stream ID trimming removed
//! chat:nick:<key>        string   the node holding nickname <key> online (PX 30 s, heartbeat)
//! chat:node:<node>       string   the node's run (node/token) while it lives (PX 25 s)
//! chat:nodes             set      every node id seen; a dead one is removed by the others
//! chat:presence:<node>   hash     nick -> "rooms TAB version" (rooms comma-separated), expires with the node
//! chat:presence          channel  "node TAB nick TAB rooms TAB version" on every change ("!": offline)
//! chat:accounts          hash     name_key -> account line (accounts.txt format)
//! chat:rooms             hash     name_key -> room line (rooms.txt format)
//! chat:rooms             channel  a room's key, published when it changed or closed
//!                                 (closed by an operator: key TAB "operator")
//! chat:epoch             string   random, set once; gone or changed: Redis lost its data
//! chat:whisper:<node>    channel  "from TAB to TAB date TAB text" (escaped) to that node
//! chat:pending:<key>     list     whispers kept for offline user <key> (whisper payloads)
//! chat:files            hash     file id -> its files.txt line (every node's index)
//! chat:files             channel  a file's id, published when it was stored or retired
//! chat:files:next        string   the last file id given (INCR)
//! chat:file:<id>         string   the file's bytes (written as chat:file:<id>:upload:<run>,
//!                                 which expires in an hour unless renamed, then renamed)
//! chat:markers:<user>   hash     room key -> stream ID of the last message read there
//! chat:control:<node>    channel  "kick TAB nick TAB reason", "roomkick TAB room TAB nick
//!                                 TAB by TAB reason" or "invite TAB nick TAB room TAB by"
//!                                 (escaped): act on, or tell, that node's user
//! ```

/// The one stream of room messages (all rooms: one reader, one resume point).
pub const MESSAGES: &str = "chat:messages";
/// Where each node has stored the stream up to.
pub const READ: &str = "chat:read";
/// The last stream ID trimming removed.
pub const TRIMMED: &str = "chat:trimmed";
/// Registered accounts.
pub const ACCOUNTS: &str = "chat:accounts";
/// Created rooms, and the channel their changes are announced on.
pub const ROOMS: &str = "chat:rooms";
pub const ROOMS_CHANNEL: &str = "chat:rooms";
/// Set by the first node to find it missing. A node that sees it gone or
/// changed knows Redis lost its data, and writes back what it holds.
pub const EPOCH: &str = "chat:epoch";
/// The index of shared files, and the channel new ones are announced on.
pub const FILES: &str = "chat:files";
pub const FILES_CHANNEL: &str = "chat:files";
/// The counter of file ids.
pub const FILES_NEXT: &str = "chat:files:next";
/// Every node id seen.
pub const NODES: &str = "chat:nodes";
/// Where nodes announce their users' presence changes.
pub const PRESENCE_CHANNEL: &str = "chat:presence";

/// The claim on an online nickname (`key`: its `name_key`).
pub fn nick(key: &str) -> String {
    format!("chat:nick:{key}")
}

/// A node's liveness key.
pub fn node(node: &str) -> String {
    format!("chat:node:{node}")
}

/// A node's users and their rooms.
pub fn presence(node: &str) -> String {
    format!("chat:presence:{node}")
}

/// Where whispers to a node's users are published.
pub fn whispers(node: &str) -> String {
    format!("chat:whisper:{node}")
}

/// Where requests to act on a node's users (kicks) are published.
pub fn control(node: &str) -> String {
    format!("chat:control:{node}")
}

/// Whispers kept for the offline user whose `name_key` is `key`.
pub fn pending(key: &str) -> String {
    format!("chat:pending:{key}")
}

/// The bytes of shared file `id`.
pub fn file_bytes(id: u64) -> String {
    format!("chat:file:{id}")
}

/// Where `writer` (a node's run, `node/token`) writes the bytes of file
/// `id` before renaming them into place, so that no node ever reads half
/// a file, and two nodes writing back one file never mix their chunks.
pub fn file_upload(id: u64, writer: &str) -> String {
    format!("chat:file:{id}:upload:{writer}")
}

/// The read markers of the registered user whose `name_key` is `user`.
pub fn markers(user: &str) -> String {
    format!("chat:markers:{user}")
}
