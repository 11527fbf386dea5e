//! `svckit`: run any program as a correct background service.
//!
//! The binary is thin: it parses arguments, turns them into library calls, prints one line per
//! outcome, and maps errors to the exit codes documented in `svckit --help` (see [`exit`]).
//!
//! On Unix it starts from C's `main` (see [`svckit_unix::startup`]), not std's: a short
//! command's start is most of its time.
#![cfg_attr(all(unix, not(test)), no_main)]

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
mod complete;
#[cfg(test)]
mod doc_check;
mod exit;
mod parse;
#[cfg(all(unix, not(test)))]
mod sys;

use clap::Parser;

/// Windows starts here (and the unit tests' build); Unix in `sys`.
#[cfg(any(not(unix), test))]
fn main() -> std::process::ExitCode {
    run().into()
}

/// The command line, the program's name first: on Unix as C's `main` got it (see
/// `svckit_unix::startup`: std has none in a `no_main` binary linked with musl).
fn command_line() -> &'static [std::ffi::OsString] {
    #[cfg(unix)]
    return svckit_unix::startup::args_os();
    #[cfg(not(unix))]
    {
        static ARGS: std::sync::OnceLock<Vec<std::ffi::OsString>> = std::sync::OnceLock::new();
        ARGS.get_or_init(|| std::env::args_os().collect())
    }
}

/// Runs the command line; returns the status to exit with.
fn run() -> exit::Exit {
    // Asked by the shell for completions (COMPLETE=bash): answered, and nothing else done.
    complete::answer_the_shell();
    // The hot paths are parsed alone, without building the whole command line's parser
    // first: `svckit run` (a container's entrypoint: its start is every container's),
    // `daemonize` (an init script's start) and `status`. Building the whole parser touched
    // every subcommand's code and texts: 60 page faults and 0.27 ms of a daemonize measured
    // here.
    let args = command_line();
    let command = match args.get(1).and_then(|first| first.to_str()) {
        Some("run") => cli::RunOnly::try_parse_from(args)
            .map(|cli::RunOnly::Run(args)| cli::Command::Run(args)),
        Some("daemonize") => cli::DaemonizeOnly::try_parse_from(args)
            .map(|cli::DaemonizeOnly::Daemonize(args)| cli::Command::Daemonize(args)),
        Some("status") => cli::StatusOnly::try_parse_from(args)
            .map(|cli::StatusOnly::Status(args)| cli::Command::Status(args)),
        _ => cli::Cli::try_parse_from(args).map(|cli| cli.command),
    };
    match command {
        Ok(command) => finish(commands::run(cli::Cli { command })),
        Err(err) => exit::usage_error(err),
    }
}

/// The exit status of a command's result, its error said on stderr.
fn finish(result: anyhow::Result<exit::Exit>) -> exit::Exit {
    match result {
        Ok(code) => code,
        // Like ripgrep: output cut short by its reader is not an error.
        Err(err) if exit::is_closed_stdout(&err) => exit::Exit::Ok,
        Err(err) => {
            let err = commands::explain(err);
            eprintln!("svckit: error: {err:#}");
            // Started by the SCM, svckit has no stderr: the event log says why it failed.
            commands::report_failure(&format!("svckit: {err:#}"));
            exit::code_for(&err)
        }
    }
}
