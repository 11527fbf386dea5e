//! `svckit`: run any program as a correct background service.
//!
//! The binary is thin: it parses arguments, turns them into library calls, prints one line per
//! outcome, and maps errors to the exit codes documented in `svckit --help` (see [`exit`]).

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
        Err(err) => {
            eprintln!("svckit: error: {err:#}");
            exit::code_for(&err).into()
        }
    }
}
