//! `cargo run --bin client -- [OPTIONS]`: reads flags, runs the terminal client.

use std::process::ExitCode;

use chat::client::{self, Config, USAGE};

fn main() -> ExitCode {
    chat::cli::main(Config::from_args, USAGE, client::run)
}
