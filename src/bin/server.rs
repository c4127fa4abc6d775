//! `cargo run --bin server -- [OPTIONS]`: reads flags, runs the server.

use std::process::ExitCode;

use chat::server::{self, Config, USAGE};

fn main() -> ExitCode {
    chat::cli::main(Config::from_args, USAGE, server::run)
}
