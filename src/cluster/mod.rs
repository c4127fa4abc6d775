//! The Redis layer a cluster of servers stands on: RESP (the wire protocol),
//! a blocking client with the commands the cluster needs, stream IDs, and
//! reconnection with backoff. The cluster itself (what the hub keeps in
//! Redis) is built on top of this and is not here yet.

pub mod resp;
