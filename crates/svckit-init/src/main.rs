//! `svckit-init`: `svckit run` alone, for container images, built to link statically as
//! tini-static is (`cargo build-init`, see docs/containers.md): it looks up no user, so static glibc's
//! NSS modules are never loaded, and a static start is as cheap as tini's.
//!
//! The same init as `svckit run` (svckit-unix's [`Entrypoint`](svckit_unix::entrypoint)): the
//! program keeps the invocation's stdio, terminal, directory and environment; every catchable
//! signal is forwarded to its process group; orphans are reaped; leftovers get SIGTERM, then
//! SIGKILL after `--stop-timeout`; the exit status is the program's (128 + a signal), or 127 /
//! 126 when it cannot be started, as in a shell.
#![cfg_attr(all(unix, not(test)), no_main)]

#[cfg(all(unix, not(test)))]
mod sys;

#[cfg(unix)]
mod unix {
    use std::{ffi::OsString, time::Duration};

    use clap::Parser;

    /// Run PROGRAM under a minimal init, as a container's entrypoint (the same as `svckit run`)
    #[derive(Debug, Parser)]
    #[command(name = "svckit-init", version)]
    struct Args {
        /// How long what the program left gets between SIGTERM and SIGKILL once the program
        /// ended (short: a container runtime's own stop timeout is usually 10s, and the exit
        /// status must be the program's, not its SIGKILL's).
        #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = svckit_core::parse::duration)]
        stop_timeout: Duration,
        /// A variable set on top of the invocation's environment (repeatable).
        #[arg(long, value_name = "NAME=VALUE", value_parser = svckit_core::parse::env_pair)]
        env: Vec<(OsString, OsString)>,
        /// The program and its arguments (after `--`, or alone as an image's CMD gives them:
        /// what follows PROGRAM is its own).
        #[arg(num_args = 1.., trailing_var_arg = true, required = true, value_name = "PROGRAM")]
        command: Vec<OsString>,
    }

    /// Runs the init; returns the status to exit with.
    pub fn main() -> i32 {
        let args = match Args::try_parse_from(svckit_unix::startup::args_os()) {
            Ok(args) => args,
            // --help and --version as clap prints them; bad input in one line naming it, 2.
            Err(err) if !err.use_stderr() => {
                let _ = err.print();
                return 0;
            }
            Err(err) => {
                let rendered = err.render().to_string();
                let first = rendered.split("\n\n").next().unwrap_or_default();
                let first = first.strip_prefix("error: ").unwrap_or(first);
                let line = first.split_whitespace().collect::<Vec<_>>().join(" ");
                eprintln!("svckit-init: error: {line}");
                return 2;
            }
        };
        let program = args.command[0].to_string_lossy().into_owned();
        let init = svckit_unix::entrypoint::Entrypoint {
            command: args.command,
            env: args.env,
            stop_timeout: args.stop_timeout,
            stdout: None,
            stderr: None,
        };
        match init.run() {
            Ok(code) => code,
            Err(err) => {
                eprintln!("svckit-init: error: run {program}: {err}");
                svckit_unix::entrypoint::start_status(&err).unwrap_or(1)
            }
        }
    }
}

/// There is no container init on Windows.
#[cfg(not(unix))]
fn main() {
    eprintln!("svckit-init: error: a Unix container's init: not for this platform");
    std::process::exit(1);
}

/// In the unit tests' build, which starts from std's main as usual (the harness's own).
#[cfg(all(unix, test))]
fn main() {
    std::process::exit(unix::main());
}
