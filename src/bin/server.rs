//! `cargo run --bin server -- [OPTIONS]`: reads flags, runs the server.

use std::process::ExitCode;

use chat::server::{self, Config, USAGE};

fn main() -> ExitCode {
    server::memory::with_glibc_tunables();
    chat::cli::main(Config::from_args, USAGE, server::run)
}
