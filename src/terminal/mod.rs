//! What a program needs to read keys and edit a line on a terminal, shared
//! by the full-screen client and the server console: the terminal's mode
//! and size ([`mode`]), keys from raw bytes ([`keys`]), the line editor
//! ([`editor`]) and the columns a character takes ([`width`]). Pure but
//! for `mode`, which runs `stty`.

pub mod editor;
pub mod keys;
pub mod mode;
pub mod width;
