//! The sd_notify protocol, as the supervisor hears it: a service of `type = notify` finds
//! `$NOTIFY_SOCKET` in its environment (an abstract datagram socket of the supervisor's) and
//! sends newline-separated `KEY=VALUE` assignments there, as systemd defines them
//! (sd_notify(3)). The sender is known by its credentials (SCM_CREDENTIALS), so only the
//! service's own processes are heard (`notify_access`).

use std::time::Duration;

/// One thing a service said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// `READY=1`: started up (or done reloading).
    Ready,
    /// `RELOADING=1`: reloading its configuration.
    Reloading,
    /// `STOPPING=1`: shutting down.
    Stopping,
    /// `STATUS=…`: a line for status to show.
    Status(String),
    /// `MAINPID=…`: its main process is now this one.
    MainPid(i32),
    /// `WATCHDOG=1`: alive.
    Watchdog,
    /// `WATCHDOG=trigger`: treat it as hung now.
    WatchdogTrigger,
    /// `EXTEND_TIMEOUT_USEC=…`: the start (or stop) needs this much longer from now.
    ExtendTimeout(Duration),
    /// `ERRNO=…`: why it failed.
    Errno(i32),
}

/// The largest datagram read (systemd reads at most a page and a bit).
pub const MAX_DATAGRAM: usize = 4096;

/// What one datagram says; unknown assignments and malformed values are skipped, as systemd
/// does.
pub fn parse(datagram: &[u8]) -> Vec<Notice> {
    let text = String::from_utf8_lossy(datagram);
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.split_once('=')?;
            Some(match key {
                "READY" if value == "1" => Notice::Ready,
                "RELOADING" if value == "1" => Notice::Reloading,
                "STOPPING" if value == "1" => Notice::Stopping,
                "STATUS" => Notice::Status(value.chars().take(256).collect()),
                "MAINPID" => Notice::MainPid(value.parse().ok().filter(|pid| *pid > 0)?),
                "WATCHDOG" if value == "1" => Notice::Watchdog,
                "WATCHDOG" if value == "trigger" => Notice::WatchdogTrigger,
                "EXTEND_TIMEOUT_USEC" => {
                    Notice::ExtendTimeout(Duration::from_micros(value.parse().ok()?))
                }
                "ERRNO" => Notice::Errno(value.parse().ok()?),
                _ => return None,
            })
        })
        .collect()
}

/// The abstract socket name of the supervisor of the state directory with `id`
/// ([`crate::StateDir::id`]); `$NOTIFY_SOCKET` is it with a leading `@`.
pub fn socket_name(id: &str) -> String {
    format!("svckit-notify-{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_assignment_systemd_defines_is_read_and_the_rest_skipped() {
        let said = parse(
            b"READY=1\nSTATUS=Ready to accept connections\nMAINPID=4242\nWATCHDOG=1\n\
              EXTEND_TIMEOUT_USEC=5000000\nERRNO=2\nRELOADING=1\nSTOPPING=1\nWATCHDOG=trigger\n\
              X_CUSTOM=1\nMAINPID=-1\nMAINPID=x\nREADY=0\nnot an assignment",
        );
        assert_eq!(
            said,
            [
                Notice::Ready,
                Notice::Status("Ready to accept connections".into()),
                Notice::MainPid(4242),
                Notice::Watchdog,
                Notice::ExtendTimeout(Duration::from_secs(5)),
                Notice::Errno(2),
                Notice::Reloading,
                Notice::Stopping,
                Notice::WatchdogTrigger,
            ]
        );
        let long = format!("STATUS={}", "x".repeat(10_000));
        assert_eq!(parse(long.as_bytes()), [Notice::Status("x".repeat(256))]);
    }
}
