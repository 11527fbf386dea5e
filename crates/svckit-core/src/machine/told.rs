//! What the event log says of the machine's transitions: one line for each thing an operator
//! wants to know afterwards (why it restarted, when it gave up, what a stop came to), none for
//! the steps in between. The machine says which ([`Action::Tell`](super::Action::Tell)) in the
//! cell that decides it; the words are made here, with what only the executor knows (the
//! daemon's pid, why a start failed), so the Unix supervisor and the Windows host tell the
//! same story in the same words.

use std::time::Duration;

use super::{Ended, LastExit, UnitState};
use crate::{Pid, ReloadAction, ServiceSpec, ServiceType, parse::format_duration};

/// What a stop was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopWhy {
    /// A client asked.
    Asked,
    /// A restart.
    Restarting,
    /// An uninstall.
    Uninstalling,
    /// The supervisor ends.
    SupervisorEnds,
    /// It had no connection for its idle_stop (it listens again).
    Idle,
    /// Its liveness probe said it is unhealthy, and its definition says stop.
    Unhealthy,
}

impl StopWhy {
    fn words(self, spec: &ServiceSpec) -> String {
        match self {
            StopWhy::Asked => "asked to".to_owned(),
            StopWhy::Restarting => "restarting".to_owned(),
            StopWhy::Uninstalling => "uninstalling".to_owned(),
            StopWhy::SupervisorEnds => "the supervisor ends".to_owned(),
            StopWhy::Unhealthy => "unhealthy (on_unhealthy = stop)".to_owned(),
            StopWhy::Idle => format!(
                "no connection for {}",
                format_duration(spec.idle_stop.unwrap_or_default())
            ),
        }
    }
}

/// A line of the event log, as the machine decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Told {
    /// A start by request.
    Starting,
    /// A start because the supervisor's record wants it running.
    StartingByRecord,
    /// A start after the restart delay.
    Restarting,
    /// It runs (ready; its daemon found; its post-start commands done).
    Running,
    /// Its main process ended (or a pre-start command failed, the start's end), and what
    /// comes of it.
    Ended {
        /// How.
        exit: LastExit,
        /// After how long.
        uptime: Duration,
        /// What the restart policy decided.
        then: Ended,
        /// The exit counts as success.
        succeeded: bool,
        /// It gave up: started too often within the window.
        crash_loop: bool,
    },
    /// It was not ready in time; it is stopped.
    NotReady,
    /// Still running after the stop timeout: SIGKILL.
    Killed,
    /// Still running after the stop timeout, and not killed (`send_sigkill = false`): waited
    /// for.
    NotKilled,
    /// Its watchdog went unfed: killed as hung (SIGABRT, then SIGKILL to the rest).
    Hung,
    /// A stop began.
    Stopping {
        /// Why.
        why: StopWhy,
        /// Its stop commands run first.
        commands: bool,
    },
    /// It said STOPPING=1.
    StoppingItself,
    /// Stopped: nothing of it is left.
    Stopped,
    /// Settled as exited or failed once nothing of it was left.
    Settled(UnitState),
    /// Paused.
    Paused,
    /// Continued.
    Continued,
    /// A reload was sent (its signal) or started (its command).
    Reloading,
    /// It said RELOADING=1.
    ReloadingSaid,
    /// It said READY=1 after a reload.
    Reloaded,
    /// Its reload command ended.
    ReloadEnded(LastExit),
    /// Its sockets are bound and nothing of it runs: a connection starts it.
    Listening,
    /// A connection (or datagram) on this listener (its index) starts it.
    Activated {
        /// Which listener.
        listener: usize,
    },
    /// A probe's verdict changed.
    Verdict {
        /// Which probe.
        role: crate::health::Role,
        /// Healthy (ready), or unhealthy.
        healthy: bool,
    },
}

/// What the words need beyond the machine: the definition, and what only the executor knows.
#[derive(Debug, Clone, Copy)]
pub struct Words<'a> {
    /// The service's definition.
    pub spec: &'a ServiceSpec,
    /// Its automatic restarts so far (before one this line counts).
    pub restarts: u32,
    /// Its main process, when known.
    pub main_pid: Option<Pid>,
    /// Why its start failed, when the executor knows; for an activation, the client whose
    /// connection started it, when the executor can see it.
    pub reason: Option<&'a str>,
    /// How a stop asks the program to end, in the platform's words (`SIGTERM`; `Ctrl-C`).
    pub stop: &'a str,
    /// How what outlives the stop timeout is ended (`SIGKILL`; `its job ended`).
    pub kill: &'a str,
}

/// A run's length, to the millisecond under a second (a crash loop's runs are that short).
pub fn ran(uptime: Duration) -> String {
    match uptime.as_millis() {
        0..1000 => format!("{}ms", uptime.as_millis()),
        ms => format_duration(Duration::from_millis(ms as u64)),
    }
}

impl Told {
    /// The line.
    pub fn words(&self, words: &Words<'_>) -> String {
        let spec = words.spec;
        let (stop, kill) = (words.stop, words.kill);
        match *self {
            Told::Starting => "starting".to_owned(),
            Told::StartingByRecord => {
                "starting (wanted running by the supervisor's record)".to_owned()
            }
            Told::Restarting => format!("restarting (restart {})", words.restarts),
            Told::Running => match spec.service_type {
                ServiceType::Notify => "running (it said READY=1)".to_owned(),
                ServiceType::Forking => format!(
                    "running (its daemon is PID {})",
                    words.main_pid.map_or(0, Pid::as_i32)
                ),
                _ => "running".to_owned(),
            },
            Told::Ended {
                exit,
                uptime,
                then,
                succeeded,
                crash_loop,
            } => {
                let restart = words.restarts + 1;
                let what = match then {
                    Ended::Exited if succeeded => "done".to_owned(),
                    Ended::Exited => {
                        format!("not restarted (restart = {})", spec.restart.policy.name())
                    }
                    Ended::Failed if crash_loop => format!(
                        "gave up: started {} within {}, the start limit",
                        match spec.restart.limit {
                            1 => "once".to_owned(),
                            limit => format!("{limit} times"),
                        },
                        format_duration(spec.restart.window)
                    ),
                    Ended::Failed => "failed: it cannot be run".to_owned(),
                    Ended::RestartAfter(delay) if delay.is_zero() => {
                        format!("restarting now (restart {restart})")
                    }
                    Ended::RestartAfter(delay) => format!(
                        "restarting in {} (restart {restart})",
                        format_duration(delay)
                    ),
                };
                // What the end was: an exit code, or a signal that killed it.
                let how = match exit {
                    LastExit::Code(_) => format!("exited with {exit}"),
                    LastExit::Signal(_) => format!("was {exit}"),
                    // "ended (status unknown: …)" says it already.
                    _ => exit.to_string(),
                };
                format!("{how} after {}; {what}", ran(uptime))
            }
            Told::NotReady => format!(
                "{}; stopping it ({stop})",
                words.reason.unwrap_or("not ready in time")
            ),
            Told::Killed => format!(
                "still running {} after {stop}: {kill}",
                format_duration(spec.stop.timeout)
            ),
            Told::NotKilled => format!(
                "still running {} after {stop}: waited for (send_sigkill = false)",
                format_duration(spec.stop.timeout)
            ),
            Told::Hung => format!(
                "no WATCHDOG=1 within {}: killed as hung (SIGABRT)",
                format_duration(spec.watchdog)
            ),
            Told::Stopping { why, commands } => match spec.exec_stop.first() {
                Some(command) if commands => format!(
                    "stopping ({}): exec_stop `{}`, then {stop} to what is left",
                    why.words(spec),
                    command.join(" ")
                ),
                _ => format!("stopping ({}): {stop}", why.words(spec)),
            },
            Told::StoppingItself => "stopping by itself (it said STOPPING=1)".to_owned(),
            Told::Stopped => "stopped".to_owned(),
            Told::Settled(state) => format!("{state}: nothing of it is left"),
            Told::Paused => "paused".to_owned(),
            Told::Continued => "continued".to_owned(),
            Told::Reloading => match spec.reload_action() {
                Some(ReloadAction::Signal(signal)) => format!("reloading (SIG{signal})"),
                Some(ReloadAction::Command(command)) => {
                    format!("reloading: `{}`", command.join(" "))
                }
                None => "reloading".to_owned(),
            },
            Told::ReloadingSaid => "reloading (it said RELOADING=1)".to_owned(),
            Told::Reloaded => "reloaded (it said READY=1)".to_owned(),
            Told::ReloadEnded(exit) if exit.success() => "reloaded".to_owned(),
            Told::ReloadEnded(exit) => format!("its reload command ended with {exit}"),
            Told::Listening => {
                let on: Vec<String> = spec.listen.iter().map(|l| l.address.to_string()).collect();
                let then = match spec.accept.per_connection() {
                    true => "each connection runs an instance",
                    false => "a connection starts it",
                };
                format!("listening on {}: {then}", on.join(", "))
            }
            Told::Activated { listener } => match spec.listen.get(listener) {
                // The executor names the client when it can see it waiting (TCP).
                Some(at) if at.address.is_stream() => match words.reason {
                    Some(from) => format!("starting: a connection on {} from {from}", at.address),
                    None => format!("starting: a connection on {}", at.address),
                },
                Some(at) => format!("starting: a datagram on {}", at.address),
                None => "starting: a connection".to_owned(),
            },
            Told::Verdict { role, healthy } => {
                use crate::health::{OnUnhealthy, Role};
                let probe = match role {
                    Role::Readiness => spec.readiness.as_ref(),
                    Role::Liveness => spec.liveness.as_ref(),
                };
                // The executor's account of the last check, else the check itself.
                let what = match (words.reason, probe) {
                    (Some(reason), _) => reason.to_owned(),
                    (None, Some(probe)) => probe.check.to_string(),
                    (None, None) => format!("its {role} probe"),
                };
                match (role, healthy) {
                    (Role::Readiness, true) => format!("ready: {what}"),
                    (Role::Readiness, false) => format!("not ready yet: {what}"),
                    (Role::Liveness, true) => format!("healthy again: {what}"),
                    (Role::Liveness, false) => {
                        let failures = probe.map_or(0, |probe| probe.failure_threshold);
                        let then = match spec.on_unhealthy {
                            OnUnhealthy::Restart => "stopping it; its restart policy decides",
                            OnUnhealthy::Stop => "stopping it (on_unhealthy = stop)",
                            OnUnhealthy::None => "nothing done (on_unhealthy = none)",
                        };
                        format!("unhealthy: {what} ({failures} failures in a row); {then}")
                    }
                }
            }
        }
    }
}
