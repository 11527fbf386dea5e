//! What the event log says of a transition of the machine: one line for each thing an operator
//! wants to know afterwards (why it restarted, when it gave up, what a stop came to), none
//! for the bookkeeping in between.

use super::*;
use crate::machine::{Ended, Transition};

impl Supervisor {
    /// Records `event`'s transition of `name` from `before` in the event log.
    pub(super) fn tell(
        &mut self,
        name: &ServiceName,
        before: Lifecycle,
        event: Event,
        transition: &Transition,
    ) {
        let Some(unit) = self.units.get(name) else {
            return;
        };
        let after = transition.next;
        let has = |action: Action| transition.actions.contains(&action);
        // The restart this transition counts, if it counts one.
        let restart = unit.restarts + u32::from(has(Action::CountRestart));
        let stop_signal = unit.spec.stop.signal;
        // The main process ended, or a pre-start command failed, which is the start's end.
        let ended = match event {
            Event::Exited { exit, uptime } => Some((exit, uptime)),
            Event::CommandEnded {
                command: ControlCommand::StartPre(_),
                exit,
            } if after.state == UnitState::Stopping => Some((exit, Duration::ZERO)),
            _ => None,
        };
        let line = match (before.state, event, after.state) {
            (_, Event::Start, UnitState::Starting) if before.state != UnitState::Starting => {
                Some("starting".to_owned())
            }
            (_, Event::Recover, UnitState::Starting) if before.state != UnitState::Starting => {
                Some("starting (wanted running by the supervisor's record)".to_owned())
            }
            (UnitState::Backoff, Event::Timer, UnitState::Starting) => {
                Some(format!("restarting (restart {})", unit.restarts))
            }
            // Ready, or its last post-start command done.
            (
                UnitState::Starting,
                Event::Ready | Event::CommandEnded { .. },
                UnitState::Running,
            ) => Some(match unit.spec.service_type {
                ServiceType::Notify => "running (it said READY=1)".to_owned(),
                ServiceType::Forking => format!(
                    "running (its daemon is PID {})",
                    unit.process.pid.map_or(0, Pid::as_raw)
                ),
                _ => "running".to_owned(),
            }),
            (_, _, UnitState::Stopping)
                if let Some((exit, uptime)) = ended
                    && (before.state != UnitState::Stopping || before.then == Then::OwnExit) =>
            {
                // To the millisecond: a crash loop's runs are shorter than a second.
                let ran = match uptime.as_millis() {
                    0..1000 => format!("{}ms", uptime.as_millis()),
                    ms => svckit_core::parse::format_duration(Duration::from_millis(ms as u64)),
                };
                let what = match after.then {
                    Then::Ended(Ended::Exited) if unit.policy.succeeded(exit) => "done".to_owned(),
                    Then::Ended(Ended::Exited) => format!(
                        "not restarted (restart = {})",
                        unit.spec.restart.policy.name()
                    ),
                    Then::Ended(Ended::Failed) if has(Action::CrashLoop) => format!(
                        "gave up: started {} times within {}, the start limit",
                        unit.spec.restart.limit,
                        svckit_core::parse::format_duration(unit.spec.restart.window)
                    ),
                    Then::Ended(Ended::Failed) => "failed: it cannot be run".to_owned(),
                    Then::Ended(Ended::RestartAfter(delay)) if delay.is_zero() => {
                        format!("restarting now (restart {restart})")
                    }
                    Then::Ended(Ended::RestartAfter(delay)) => format!(
                        "restarting in {} (restart {restart})",
                        svckit_core::parse::format_duration(delay)
                    ),
                    _ => String::new(),
                };
                // What the end was: an exit code, or a signal that killed it.
                let how = match exit {
                    LastExit::Code(_) => format!("exited with {exit}"),
                    LastExit::Signal(_) => format!("was {exit}"),
                    // "ended (status unknown: …)" says it already.
                    _ => exit.to_string(),
                };
                Some(format!("{how} after {ran}; {what}"))
            }
            (UnitState::Starting, Event::Timer, UnitState::Stopping) => Some(format!(
                "{}; stopping it (SIG{stop_signal})",
                unit.reason.as_deref().unwrap_or("not ready in time")
            )),
            (UnitState::Stopping, Event::Timer, _) if has(Action::KillGroup) => Some(format!(
                "still running {} after SIG{stop_signal}: SIGKILL",
                svckit_core::parse::format_duration(unit.spec.stop.timeout)
            )),
            (
                _,
                Event::Stop | Event::Forget | Event::Shutdown | Event::Restart,
                UnitState::Stopping,
            ) if before.state != UnitState::Stopping => {
                let why = match event {
                    Event::Restart => "restarting",
                    Event::Forget => "uninstalling",
                    Event::Shutdown => "the supervisor ends",
                    _ => "asked to",
                };
                // Its stop commands do the stopping first, where it has them and runs.
                match unit.spec.exec_stop.first() {
                    Some(command) if after.phase == Phase::StopCommand(0) => Some(format!(
                        "stopping ({why}): exec_stop `{}`, then SIG{stop_signal} to what is \
                             left",
                        command.join(" ")
                    )),
                    _ => Some(format!("stopping ({why}): SIG{stop_signal}")),
                }
            }
            (_, Event::Stopping, UnitState::Stopping) => {
                Some("stopping by itself (it said STOPPING=1)".to_owned())
            }
            (UnitState::Stopping, Event::GroupGone, UnitState::Stopped) => {
                Some("stopped".to_owned())
            }
            (UnitState::Stopping, Event::GroupGone, UnitState::Failed | UnitState::Exited) => {
                Some(format!("{}: nothing of it is left", after.state))
            }
            (_, Event::Pause, UnitState::Paused) if before.state != UnitState::Paused => {
                Some("paused".to_owned())
            }
            (UnitState::Paused, Event::Continue, UnitState::Running) => {
                Some("continued".to_owned())
            }
            (_, Event::Reload, _) if has(Action::SendReload) => {
                Some(match unit.spec.reload_action() {
                    Some(svckit_core::ReloadAction::Signal(signal)) => {
                        format!("reloading (SIG{signal})")
                    }
                    Some(svckit_core::ReloadAction::Command(command)) => {
                        format!("reloading: `{}`", command.join(" "))
                    }
                    None => "reloading".to_owned(),
                })
            }
            (UnitState::Reloading, Event::Ready, UnitState::Running) => {
                Some("reloaded (it said READY=1)".to_owned())
            }
            (UnitState::Running, Event::Reloading, UnitState::Reloading) => {
                Some("reloading (it said RELOADING=1)".to_owned())
            }
            (
                UnitState::Reloading,
                Event::CommandEnded {
                    command: ControlCommand::Reload,
                    exit,
                },
                _,
            ) => Some(match exit.success() {
                true => "reloaded".to_owned(),
                false => format!("its reload command ended with {exit}"),
            }),
            _ => None,
        };
        if let Some(line) = line {
            self.journal.record(name, format_args!("{line}"));
        }
    }
}
