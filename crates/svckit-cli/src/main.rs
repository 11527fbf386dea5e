//! `svckit`: run any program as a correct background service.
//!
//! The binary is thin: it parses arguments, turns them into library calls, prints one line per
//! outcome, and maps errors to the exit codes documented in `svckit --help` (see [`exit`]).

/// `println!` that returns the error instead of panicking: a reader that went away (`svckit
/// status | head -1`) must end the command quietly, not abort it.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// `print!` that returns the error instead of panicking (see [`outln!`]).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?
    }};
}

mod cli;
mod commands;
mod exit;
mod parse;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return exit::usage_error(err),
    };
    match commands::run(cli) {
        Ok(code) => code.into(),
        // Like ripgrep: output cut short by its reader is not an error.
        Err(err) if exit::is_closed_stdout(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("svckit: error: {err:#}");
            // Started by the SCM, svckit has no stderr: the event log says why it failed.
            #[cfg(windows)]
            if svckit::windows::stderr_is_nowhere() {
                let _ = svckit::windows::report_error_event("svckit", &format!("svckit: {err:#}"));
            }
            exit::code_for(&err).into()
        }
    }
}
