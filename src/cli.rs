//! Shared pieces of command-line parsing for the binaries: flag values and
//! the usage error that tells the user what to type instead.

use std::fmt;
use std::str::FromStr;

/// A command line the program cannot run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; try --help", self.0)
    }
}

impl std::error::Error for UsageError {}

/// What a binary was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<T> {
    Run(T),
    Help,
}

/// The value after `flag`, parsed.
///
/// # Errors
/// A `UsageError` naming the flag when the value is missing or malformed.
pub fn value<T: FromStr>(flag: &str, next: Option<String>) -> Result<T, UsageError> {
    let raw = next.ok_or_else(|| UsageError(format!("{flag} needs a value")))?;
    raw.parse()
        .map_err(|_| UsageError(format!("{flag}: cannot understand {raw:?}")))
}

/// The whole `main` of a binary: parse the flags, print the usage for
/// `--help`, run, and turn errors into `error: ...` on stderr with exit
/// status 1 (2 for a bad command line), never a panic or a `Debug` dump.
pub fn main<T, E: fmt::Display>(
    parse: impl FnOnce(std::env::Args) -> Result<Parsed<T>, UsageError>,
    usage: &str,
    run: impl FnOnce(T) -> Result<(), E>,
) -> std::process::ExitCode {
    use std::process::ExitCode;
    let mut args = std::env::args();
    args.next();
    match parse(args) {
        Ok(Parsed::Help) => {
            print!("{usage}");
            ExitCode::SUCCESS
        }
        Ok(Parsed::Run(config)) => match run(config) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_values_and_names_the_flag_on_error() {
        assert_eq!(value::<u16>("--port", Some("80".into())), Ok(80));
        let err = value::<u16>("--port", Some("http".into())).unwrap_err();
        assert!(err.to_string().contains("--port"));
        assert!(value::<u16>("--port", None)
            .unwrap_err()
            .to_string()
            .contains("needs a value"));
    }
}
