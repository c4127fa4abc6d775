//! `cargo run --bin chat-bench -- [OPTIONS]`: reads flags, runs the load
//! generator in `chat::bench`.

use std::process::ExitCode;

use chat::bench::{self, Command, HISTORY_USAGE, USAGE};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match bench::parse_args(&args) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::Run(config)) => bench::run(&config),
        Ok(Command::HistoryHelp) => {
            print!("{HISTORY_USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::History(config)) => bench::run_history(&config),
        Err(e) => {
            eprintln!("chat-bench: {e}\n(see chat-bench --help)");
            ExitCode::from(2)
        }
    }
}
