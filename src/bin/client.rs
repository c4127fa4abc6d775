//! `cargo run --bin client -- [OPTIONS]`: reads flags, runs the terminal client.

use std::process::ExitCode;

use chat::cli::Parsed;
use chat::client::{self, Config, USAGE};

fn main() -> ExitCode {
    match Config::from_args(std::env::args().skip(1)) {
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Parsed::Run(config)) => match client::run(config) {
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
