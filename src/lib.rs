//! A multi-room chat server and terminal client, standard library only.
//!
//! # Layout
//!
//! - [`protocol`]: the HTTP-style frame, its bounded parser and encoder. No sockets.
//! - [`crypto`]: SHA-256, HMAC-SHA256 and PBKDF2 for password hashes.
pub mod crypto;
pub mod protocol;
