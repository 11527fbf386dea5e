//! What svckit's Windows service host says of the program it runs, for `svckit status`: the
//! SCM knows only the host's process, and keeps neither a start time nor a restart count. The
//! host rewrites this record (`%ProgramData%\svckit\run\NAME.status`, TOML) at every change.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::LastExit;

/// The hosted program's state, as its host last wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct HostedStatus {
    /// The program's process id while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// When it was started, in milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<u64>,
    /// Starts after the first since the host started.
    #[serde(default)]
    pub restarts: u32,
    /// How the program last ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<LastExit>,
    /// The host's state of it, in the supervisor's words (running, backoff, stopping, …).
    #[serde(default)]
    pub state: String,
    /// The host's own process id: what ends the program's whole tree (its job is killed on
    /// close), for when the SCM no longer says (a stop pending) or is wrong (Wine keeps a
    /// killed service RUNNING).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_pid: Option<u32>,
    /// How many processes its job holds (refreshed every second while it runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<usize>,
    /// The CPU time its job's processes used, microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_usec: Option<u64>,
    /// Its job's processes' working sets, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    /// Its health probes that run: each one's verdict, failures in a row and last result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<crate::health::Report>,
}

impl HostedStatus {
    /// The record as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// A record read back; None when it is not one (a partial or foreign file).
    pub fn from_toml(text: &str) -> Option<HostedStatus> {
        toml::from_str(text).ok()
    }

    /// `at` as the record keeps it.
    pub fn millis(at: SystemTime) -> Option<u64> {
        at.duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|since| u64::try_from(since.as_millis()).ok())
    }

    /// When the program was started.
    pub fn started(&self) -> Option<SystemTime> {
        self.started_ms
            .and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_reads_back_what_it_wrote() {
        let status = HostedStatus {
            pid: Some(1234),
            started_ms: HostedStatus::millis(SystemTime::now()),
            restarts: 4,
            last_exit: Some(LastExit::Code(3)),
            state: "backoff".to_owned(),
            host_pid: Some(99),
            tasks: Some(2),
            cpu_usec: Some(1_500),
            memory_bytes: Some(4 << 20),
            probes: vec![crate::health::Report {
                role: "liveness".to_owned(),
                check: "connect to 127.0.0.1:8080".to_owned(),
                health: "healthy".to_owned(),
                failures: 1,
                last: Some("connect to 127.0.0.1:8080: Connection refused".to_owned()),
                since_ms: Some(1_765_000_000_000),
            }],
        };
        assert_eq!(HostedStatus::from_toml(&status.to_toml()), Some(status));
        assert_eq!(HostedStatus::from_toml("pid = \"x\""), None);
    }
}
