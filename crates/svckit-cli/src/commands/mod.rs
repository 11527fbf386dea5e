//! One module per subcommand; each turns checked arguments into library calls.

#[cfg(unix)]
mod daemonize;
#[cfg(unix)]
mod demo;
#[cfg(unix)]
mod kill;

use crate::{
    cli::{Cli, Command, Demo},
    exit::Exit,
};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        #[cfg(unix)]
        Command::Daemonize(args) => daemonize::run(args),
        #[cfg(unix)]
        Command::Kill(args) => kill::run(args),
        #[cfg(unix)]
        Command::Demo(Demo::Timelog(args)) => demo::timelog(args),
        #[cfg(not(unix))]
        _ => Err(crate::exit::Failure::new(
            Exit::Usage,
            "this command is not available on this platform yet",
        )
        .into()),
    }
}
