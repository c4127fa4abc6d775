//! `cargo run --bin server -- [OPTIONS]`: reads flags, runs the server.

use std::process::ExitCode;

use chat::cli::Parsed;
use chat::server::{self, Config, USAGE};

fn main() -> ExitCode {
    match Config::from_args(std::env::args().skip(1)) {
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Parsed::Run(config)) => match server::run(config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
