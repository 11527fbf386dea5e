//! How a service's main process last ended, in the words every manager shares: the supervisor
//! records it, systemd reports it (`ExecMainCode`/`ExecMainStatus`), status prints it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Signal;

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LastExit {
    /// It exited with this code.
    Code(i32),
    /// This signal (its Linux number) killed it.
    Signal(i32),
    /// It could not be started (exec failed, a bad user); the errno.
    SpawnFailed(i32),
    /// It ended while not the manager's child (adopted after a supervisor restart): no status
    /// to read.
    Unknown,
}

/// `ENOENT`, the same number on Linux and Windows' C runtime.
const ENOENT: i32 = 2;

impl LastExit {
    /// Whether this counts as success for `on-failure`.
    pub const fn success(self) -> bool {
        matches!(self, LastExit::Code(0))
    }

    /// The status a shell would report: the code, or 128 + the signal; a program that was not
    /// found 127, one found but not runnable 126 (as a shell and tini say it).
    pub const fn shell_status(self) -> i32 {
        match self {
            LastExit::Code(code) => code,
            LastExit::Signal(signal) => 128 + signal,
            LastExit::SpawnFailed(ENOENT) => 127,
            LastExit::SpawnFailed(_) => 126,
            LastExit::Unknown => 1,
        }
    }
}

impl fmt::Display for LastExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LastExit::Code(code) => write!(f, "exit code {code}"),
            LastExit::Signal(number) => match Signal::from_number(*number) {
                Some(signal) => write!(f, "killed by SIG{signal}"),
                None => write!(f, "killed by signal {number}"),
            },
            LastExit::SpawnFailed(errno) => write!(
                f,
                "could not start: {}",
                std::io::Error::from_raw_os_error(*errno)
            ),
            LastExit::Unknown => f.write_str("ended (status unknown: adopted process)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_reads_as_a_shell_and_a_person_would_say_it() {
        assert_eq!(LastExit::Code(3).to_string(), "exit code 3");
        assert_eq!(LastExit::Signal(9).to_string(), "killed by SIGKILL");
        assert_eq!(LastExit::Signal(15).shell_status(), 143);
        assert_eq!(LastExit::Signal(99).to_string(), "killed by signal 99");
        assert_eq!(LastExit::SpawnFailed(ENOENT).shell_status(), 127);
        assert_eq!(LastExit::SpawnFailed(13).shell_status(), 126);
        assert!(LastExit::Code(0).success() && !LastExit::Signal(15).success());
    }

    #[test]
    fn its_json_is_the_supervisors_record_format() {
        let json = |exit: LastExit| serde_json_like(&exit);
        assert_eq!(json(LastExit::Code(3)), "code = 3");
        assert_eq!(json(LastExit::Signal(9)), "signal = 9");
    }

    /// Serialized through TOML (this crate's serde format), as one key.
    fn serde_json_like(exit: &LastExit) -> String {
        #[derive(Serialize)]
        struct Wrap<'a> {
            #[serde(flatten)]
            exit: &'a LastExit,
        }
        toml::to_string(&Wrap { exit }).unwrap().trim().to_owned()
    }
}
