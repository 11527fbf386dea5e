//! The exit codes of `svckit`, one per kind of outcome, documented in `svckit --help`.

use std::{fmt, io::Write, process::ExitCode};

/// A documented exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: success.
    Ok = 0,
    /// 1: the operation failed.
    Failed = 1,
    /// 2: usage error or bad input.
    Usage = 2,
    /// 3: the service (or daemon) is not running / not found.
    NotFound = 3,
    /// 4: already running or already installed.
    AlreadyRunning = 4,
    /// 5: permission denied.
    PermissionDenied = 5,
    /// 6: timed out.
    TimedOut = 6,
}

/// The exit-code table for `--help`.
pub const TABLE: &str = "\
Exit status:
  0  success
  1  the operation failed
  2  usage error or bad input (unknown user, bad umask, missing program, symlinked pid file,
     a setting the backend cannot honour, a backend this host does not run, ...)
  3  not running / service not found
  4  already running / already installed
  5  permission denied
  6  timed out";

/// The exit statuses in one line, under each command's help (the whole table is under
/// `svckit --help`).
pub const LINE: &str = "Exit status: 0 success, 1 failed, 2 usage or bad input, 3 not running or not \
                        found, 4 already running or installed, 5 permission denied, 6 timed out \
                        (svckit --help says more).";

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

/// An error that carries its exit status, for failures the CLI itself detects.
#[derive(Debug)]
pub struct Failure {
    /// The status to exit with.
    pub exit: Exit,
    /// The one-line message.
    pub message: String,
}

impl Failure {
    /// A failure with `exit` and `message`.
    pub fn new(exit: Exit, message: impl Into<String>) -> Failure {
        Failure {
            exit,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Whether `err` is a write to stdout that failed because its reader went away (EPIPE with
/// stdout's read end closed: a socket's EPIPE is a real error).
pub fn is_closed_stdout(err: &anyhow::Error) -> bool {
    let broken_pipe = err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    });
    broken_pipe && crate::commands::stdout_reader_gone()
}

/// clap's error in one line: its message (the text before the first blank line; it may span
/// lines, `"required arguments were not provided:\n  <PROGRAM>"`), then its tips ("a similar
/// subcommand exists: 'status'"), without the usage that follows.
fn one_line(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let mut paragraphs = rendered.split("\n\n");
    let message = paragraphs.next().unwrap_or_default();
    let message = message.strip_prefix("error: ").unwrap_or(message);
    let mut line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let tips: Vec<&str> = paragraphs
        .flat_map(str::lines)
        .filter_map(|line| line.trim().strip_prefix("tip: "))
        .collect();
    if !tips.is_empty() {
        line = format!("{line} ({})", tips.join("; "));
    }
    line
}

/// What the platform says of one error of a chain: its exit status, or that the next cause
/// decides (a wrapper), or nothing (not one of its errors).
pub enum Code {
    /// This is the exit status.
    Is(Exit),
    /// The next cause in the chain decides.
    Next,
    /// Not the platform's error.
    Other,
}

/// Maps an error (anywhere in its chain) to its documented exit status.
pub fn code_for(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if let Some(failure) = cause.downcast_ref::<Failure>() {
            return failure.exit;
        }
        match crate::commands::exit_code(cause) {
            Code::Is(exit) => return exit,
            Code::Next => continue,
            Code::Other => {}
        }
        if let Some(err) = cause.downcast_ref::<svckit_install::Error>() {
            return install_code(err);
        }
        if cause.is::<svckit::ModelError>() || cause.is::<svckit::DefinitionError>() {
            return Exit::Usage;
        }
        if let Some(err) = cause.downcast_ref::<std::io::Error>() {
            return io_code(err);
        }
    }
    Exit::Failed
}

fn install_code(err: &svckit_install::Error) -> Exit {
    use svckit_install::Error;
    match err {
        Error::Invalid(_)
        | Error::ProgramNotFound(_)
        | Error::Unsupported { .. }
        | Error::NoBackend(_) => Exit::Usage,
        Error::NotInstalled(_) | Error::NotRunning(_) => Exit::NotFound,
        Error::AlreadyRunning(_) | Error::AlreadyInstalled { .. } => Exit::AlreadyRunning,
        Error::PermissionDenied { .. } => Exit::PermissionDenied,
        Error::Timeout { .. } => Exit::TimedOut,
        _ => Exit::Failed,
    }
}

/// The exit status of an I/O error.
pub fn io_code(err: &std::io::Error) -> Exit {
    match err.kind() {
        std::io::ErrorKind::PermissionDenied => Exit::PermissionDenied,
        std::io::ErrorKind::NotFound => Exit::NotFound,
        _ => Exit::Failed,
    }
}

/// Reports a clap error: help and version on stdout with status 0, anything else as one line
/// `svckit: error: …` with status 2.
pub fn usage_error(err: clap::Error) -> Exit {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = err.print();
            Exit::Ok
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            Exit::Usage
        }
        _ => {
            let mut line = one_line(&err);
            if let Some(hint) = dash_dash_hint(
                &err,
                crate::command_line()
                    .iter()
                    .map(|arg| arg.to_string_lossy().into_owned())
                    .collect(),
            ) {
                line = format!("{line}; {hint}");
            }
            let _ = writeln!(std::io::stderr(), "svckit: error: {line}");
            Exit::Usage
        }
    }
}

/// The commands that run a program given after `--`.
const TAKES_A_PROGRAM: [&str; 4] = ["install", "daemonize", "run", "probe-wait"];

/// Where a program was given without `--` before it (`svckit install web /bin/sleep 100`,
/// refused as an unexpected argument): the command line with it, to copy.
fn dash_dash_hint(err: &clap::Error, args: Vec<String>) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if err.kind() != ErrorKind::UnknownArgument || args.iter().any(|arg| arg == "--") {
        return None;
    }
    if !args
        .get(1)
        .is_some_and(|command| TAKES_A_PROGRAM.contains(&command.as_str()))
    {
        return None;
    }
    let Some(ContextValue::String(unexpected)) = err.get(ContextKind::InvalidArg) else {
        return None;
    };
    if unexpected.starts_with('-') {
        return None;
    }
    let at = args.iter().skip(2).position(|arg| arg == unexpected)? + 2;
    let mut fixed = args;
    fixed[0] = "svckit".to_owned();
    fixed.insert(at, "--".to_owned());
    Some(format!(
        "the program and its arguments go after `--`: {}",
        shell_words::join(fixed)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn a_program_given_without_dash_dash_gets_the_command_line_with_it() {
        let hint = |args: &[&str]| {
            let err = crate::cli::Cli::try_parse_from(args).unwrap_err();
            dash_dash_hint(&err, args.iter().map(|arg| (*arg).to_owned()).collect())
        };
        assert_eq!(
            hint(&["svckit", "install", "web2", "/bin/sleep", "100"]).as_deref(),
            Some(
                "the program and its arguments go after `--`: \
                 svckit install web2 -- /bin/sleep 100"
            )
        );
        assert_eq!(
            hint(&[
                "svckit",
                "install",
                "web",
                "--chdir",
                "/srv",
                "/bin/sleep",
                "it's"
            ])
            .as_deref(),
            Some(
                "the program and its arguments go after `--`: \
                 svckit install web --chdir /srv -- /bin/sleep 'it'\\''s'"
            )
        );
        assert_eq!(hint(&["svckit", "enable", "web", "--bogus"]), None);
    }
}
