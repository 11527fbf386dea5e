//! The control socket's protocol: one JSON request line from the client, one JSON response
//! line from the supervisor, then the connection closes. Both carry [`VERSION`]; a supervisor
//! refuses a request of another version (and a client a response of another version) with a
//! message naming both, so an upgraded `svckit` never misreads an old supervisor.

use serde::{Deserialize, Serialize};

use crate::machine::{LastExit, UnitState};

/// The protocol version this build speaks.
pub const VERSION: u32 = 1;

/// A request to the supervisor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The protocol version ([`VERSION`]).
    pub version: u32,
    /// What to do.
    pub op: Op,
}

/// The operations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// Start a service; with `wait`, answer once it runs (or is ready) or has failed.
    Start {
        /// The service.
        name: String,
        /// Answer only once it runs.
        wait: bool,
    },
    /// Stop a service; answer once every process of its group is gone.
    Stop {
        /// The service.
        name: String,
    },
    /// Stop (if running) then start; answer once it runs again.
    Restart {
        /// The service.
        name: String,
    },
    /// Pause a running service.
    Pause {
        /// The service.
        name: String,
    },
    /// Continue a paused service.
    Continue {
        /// The service.
        name: String,
    },
    /// Ask a running service to reload its configuration (SIGHUP: the API's ParamChange).
    Reload {
        /// The service.
        name: String,
    },
    /// The status of one service, or of every installed service.
    Status {
        /// The service, or all when absent.
        name: Option<String>,
        /// Only what a table of all shows (state, pid, times, restarts, last exit, usage):
        /// no command line, cgroup, processes, probes, reason or notice. A supervisor that
        /// predates it ignores it and answers in full.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        brief: bool,
    },
    /// Stop a service and forget it (its definition is removed by the client).
    Forget {
        /// The service.
        name: String,
    },
    /// Read a service's definition again and bind its sockets (after an install): one started
    /// on demand that does not run listens, one whose sockets were removed stops listening;
    /// answer with its status, or why a socket cannot be bound.
    Listen {
        /// The service.
        name: String,
    },
    /// Start, stop or restart several services in one request (`--all`, or several names).
    /// The supervisor orders them itself, as a shutdown does: a stop waits for what depends
    /// on a service among them to be gone, a start for its dependencies; the rest go side by
    /// side. Answered once every one is done, with [`Outcome::Each`].
    Many {
        /// What to do to each.
        action: ManyAction,
        /// The services, each once.
        names: Vec<String>,
    },
    /// Stop every service and exit.
    Shutdown,
}

/// What [`Op::Many`] does to each service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ManyAction {
    /// Start; with `wait`, each is done once it runs (or is ready) or has failed.
    Start {
        /// Wait for each to run.
        wait: bool,
    },
    /// Stop; each is done once every process of its group is gone.
    Stop,
    /// Stop (if running) then start; each is done once it runs again.
    Restart,
}

/// The supervisor's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// The protocol version ([`VERSION`]).
    pub version: u32,
    /// The outcome.
    pub result: Outcome,
}

/// What came of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// Done; the statuses of the services concerned.
    Done {
        /// One entry per service.
        services: Vec<ServiceStatus>,
    },
    /// Refused or failed.
    Error {
        /// The kind, which the CLI maps to an exit code.
        kind: ErrorKind,
        /// A one-line message naming the service and the reason.
        message: String,
    },
    /// What came of each service of an [`Op::Many`], in the order asked: `Done` with its
    /// status, or `Error`.
    Each {
        /// One outcome per service.
        results: Vec<Outcome>,
    },
}

// Read through a flat record of every variant's fields (the same JSON): serde's derive for an
// internally tagged enum first copies the whole answer into a tree of its own and then reads
// that again, which was the most of a client's time on a status of 1,000 services.
impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;

        #[derive(Deserialize)]
        #[serde(rename_all = "kebab-case")]
        enum Tag {
            Done,
            Error,
            Each,
        }
        #[derive(Deserialize)]
        struct Flat {
            outcome: Tag,
            #[serde(default)]
            services: Option<Vec<ServiceStatus>>,
            #[serde(default)]
            kind: Option<ErrorKind>,
            #[serde(default)]
            message: Option<String>,
            #[serde(default)]
            results: Option<Vec<Outcome>>,
        }
        let flat = Flat::deserialize(deserializer)?;
        let missing = |field: &'static str| D::Error::missing_field(field);
        Ok(match flat.outcome {
            Tag::Done => Outcome::Done {
                services: flat.services.ok_or_else(|| missing("services"))?,
            },
            Tag::Error => Outcome::Error {
                kind: flat.kind.ok_or_else(|| missing("kind"))?,
                message: flat.message.ok_or_else(|| missing("message"))?,
            },
            Tag::Each => Outcome::Each {
                results: flat.results.ok_or_else(|| missing("results"))?,
            },
        })
    }
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// No such service is installed.
    NotFound,
    /// The service is not running (pause, continue, reload).
    NotRunning,
    /// The service could not be started, or stopped while starting.
    StartFailed,
    /// The definition on disk cannot be read.
    BadDefinition,
    /// The peer is not the supervisor's owner.
    PermissionDenied,
    /// The request's protocol version is not this supervisor's.
    Version,
    /// The request is malformed.
    BadRequest,
    /// The supervisor is shutting down.
    ShuttingDown,
    /// The supervisor cannot take the request now (out of file descriptors).
    Busy,
    /// The service cannot do what was asked: a reload of a program that has no way to
    /// reload (no reload.signal, no reload.command, not notify).
    Unsupported,
    /// The service's reload command failed.
    ReloadFailed,
    /// A socket of the service cannot be bound (its address in use, its path not writable).
    CannotListen,
}

/// What a status shows of one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStatus {
    /// The service.
    pub name: String,
    /// Its state.
    pub state: UnitState,
    /// Its main process, while there is one.
    pub pid: Option<svckit_core::Pid>,
    /// When it entered this state (Unix time, milliseconds).
    pub since_ms: u64,
    /// When its current process started (Unix time, milliseconds), while it runs.
    pub started_ms: Option<u64>,
    /// Automatic restarts since the service was last started by request.
    pub restarts: u32,
    /// How its last process ended.
    pub last_exit: Option<LastExit>,
    /// Who sent the signal that ended it, when svckit did and why ("sent by svckit after the
    /// 10s stop timeout").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit_why: Option<String>,
    /// Whether it should be running.
    pub wanted: bool,
    /// When it starts (its definition's `start`): the client need not read every definition
    /// to show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Why it failed, or what went wrong last (a spawn error, a crash loop).
    pub reason: Option<String>,
    /// The command it runs.
    pub command: String,
    /// Why its output cannot be stored right now (a full disk, a symlinked log file), with the
    /// bytes lost so far; it is drained all the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_error: Option<String>,
    /// Waiting to restart (backoff): when it is started again, in Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_try_ms: Option<u64>,
    /// What it last said in STATUS= (sd_notify).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// Its cgroup's directory, where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    /// What its cgroup holds: processes, CPU time, memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Its processes (the main one first), asked of one service: its cgroup's, else its
    /// main process and what is left in its session and group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<svckit_core::ServiceProcess>,
    /// Its sockets (a service started on demand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sockets: Option<svckit_core::listen::Activity>,
    /// Its probes that run now: their verdicts and last results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<svckit_core::health::Report>,
}

/// What a service's cgroup holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Its processes.
    pub tasks: usize,
    /// CPU time used, microseconds.
    pub cpu_usec: Option<u64>,
    /// Memory in use, bytes.
    pub memory_bytes: Option<u64>,
    /// When it was read, Unix milliseconds (a status of all may give a reading up to two
    /// seconds old: a rate is the difference between two readings over this time's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_ms: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(name: &str) -> ServiceStatus {
        serde_json::from_value(serde_json::json!({
            "name": name, "state": "running", "pid": 42, "since_ms": 1, "started_ms": 1,
            "restarts": 2, "last_exit": {"code": 3}, "last_exit_why": "why", "wanted": true,
            "reason": null, "command": "/bin/sleep 9",
            "usage": {"tasks": 1, "cpu_usec": 5, "memory_bytes": 4096, "read_ms": 7},
        }))
        .unwrap()
    }

    #[test]
    fn outcomes_read_back_what_was_written_in_the_tagged_form() {
        let outcomes = [
            Outcome::Done {
                services: vec![status("a"), status("b")],
            },
            Outcome::Done { services: vec![] },
            Outcome::Error {
                kind: ErrorKind::NotFound,
                message: "service x is not installed".into(),
            },
            Outcome::Each {
                results: vec![
                    Outcome::Done {
                        services: vec![status("a")],
                    },
                    Outcome::Error {
                        kind: ErrorKind::StartFailed,
                        message: "no".into(),
                    },
                ],
            },
        ];
        for outcome in outcomes {
            let json = serde_json::to_string(&Response {
                version: VERSION,
                result: outcome.clone(),
            })
            .unwrap();
            // The wire form is the internally tagged one, the tag first.
            assert!(
                json.starts_with(r#"{"version":1,"result":{"outcome":""#),
                "{json}"
            );
            let back: Response = serde_json::from_str(&json).unwrap();
            assert_eq!(back.result, outcome);
        }
    }

    #[test]
    fn a_status_request_is_brief_only_when_it_says_so() {
        // A client that predates `brief` asks in full; a full request is written as before.
        let old: Request =
            serde_json::from_str(r#"{"version":1,"op":{"op":"status","name":null}}"#).unwrap();
        assert_eq!(
            old.op,
            Op::Status {
                name: None,
                brief: false
            }
        );
        assert_eq!(
            serde_json::to_string(&old).unwrap(),
            r#"{"version":1,"op":{"op":"status","name":null}}"#
        );
        let brief = Op::Status {
            name: None,
            brief: true,
        };
        let line = serde_json::to_string(&brief).unwrap();
        assert_eq!(line, r#"{"op":"status","name":null,"brief":true}"#);
        assert_eq!(serde_json::from_str::<Op>(&line).unwrap(), brief);
    }

    #[test]
    fn an_outcome_reads_with_its_tag_anywhere_and_unknown_fields_ignored() {
        let back: Outcome =
            serde_json::from_str(r#"{"message":"m","later":1,"kind":"busy","outcome":"error"}"#)
                .unwrap();
        assert_eq!(
            back,
            Outcome::Error {
                kind: ErrorKind::Busy,
                message: "m".into()
            }
        );
        let err = serde_json::from_str::<Outcome>(r#"{"outcome":"done"}"#).unwrap_err();
        assert!(
            err.to_string().contains("missing field `services`"),
            "{err}"
        );
        let err = serde_json::from_str::<Outcome>(r#"{"outcome":"maybe"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown variant `maybe`"), "{err}");
    }
}
