//! The supervisor's behaviour as a table: for each (state, event), the next state, whether the
//! service is wanted running, what follows the stop under way, and the actions to take. Every
//! request (start, stop, restart, pause, continue, reload, forget) is an event of the table
//! like an exit or a timer. Pure: no OS call, no clock read (the caller passes `now`), so every
//! cell is unit-tested. The event loops that use it — svckit's supervisor on Unix and its
//! service host on Windows — only turn OS happenings and requests into [`Event`]s and carry
//! out [`Action`]s: one table, not a copy per platform.
//!
//! | state \ event | Start / Recover     | Stop / Shutdown      | Restart               | Forget               | Exited (main process)          | GroupGone           | Timer            |
//! |---------------|---------------------|----------------------|-----------------------|----------------------|---------------------------------|---------------------|------------------|
//! | stopped       | spawn → starting    | –                    | spawn → starting      | forget               | –                               | –                   | –                |
//! | starting      | –                   | signal, arm → stopping | signal, arm → stopping, then start | signal, arm → stopping, then forget | signal the rest, arm → stopping, then as the policy decides | – | ready timeout: as a failed exit |
//! | running, reloading | –              | signal, arm → stopping | signal, arm → stopping, then start | signal, arm → stopping, then forget | signal the rest, arm → stopping, then as the policy decides | – | –  |
//! | paused        | –                   | signal + cont → stopping | … then start      | … then forget        | as running                      | –                   | –                |
//! | stopping      | then start          | –                    | then start            | then forget          | after STOPPING=1: as running    | → stopped, or spawn → starting, or forget, or backoff/exited/failed as decided | kill the group |
//! | backoff       | spawn → starting    | cancel → stopped     | spawn → starting      | cancel, forget       | –                               | –                   | spawn → starting |
//! | failed        | spawn → starting    | → stopped            | spawn → starting      | forget               | –                               | –                   | –                |
//! | exited        | spawn → starting    | → stopped            | spawn → starting      | forget               | –                               | –                   | –                |
//!
//! When the main process ends, what is left of the service (workers, a daemon's children)
//! gets the stop signal, then SIGKILL after the stop timeout, and only once nothing of it is
//! left does the service settle as the restart policy decided (backoff, a restart at once,
//! exited, failed): a new instance never starts beside the old one's leftovers. A ready
//! timeout is handled the same way, as a failed start.
//!
//! Start, Recover and Restart make the service wanted; Stop and Forget make it unwanted;
//! Shutdown (the supervisor stopping) leaves it as it is, so the next supervisor resumes it;
//! an exit that is not restarted (exited, failed) makes it unwanted. A Start by request counts
//! restarts from 0 again; Recover (a new supervisor resuming the service) and Restart do not.
//! Pause: running → paused; Continue: paused → running; Reload: running or reloading (the
//! reload signal); Ready: starting or reloading → running; the program's RELOADING=1:
//! running → reloading; its STOPPING=1: → stopping, armed with the stop timeout, its exit
//! then decided on by the policy. Pause, Continue and Reload anywhere else are refused; anything
//! else not in the table leaves the state as it is.

use std::{
    collections::VecDeque,
    fmt,
    time::{Duration, Instant},
};

pub use crate::LastExit;
use crate::{Restart, RestartPolicy, ServiceType};
use serde::{Deserialize, Serialize};

/// A supervised service's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnitState {
    /// Not running, by request (or never started).
    Stopped,
    /// Spawned; not yet ready (programs that signal readiness) or not yet exec'd.
    Starting,
    /// Running.
    Running,
    /// Running, and reloading its configuration: it said RELOADING=1 and not yet READY=1.
    Reloading,
    /// Paused (its processes stopped, or the Pause control delivered).
    Paused,
    /// Stop signal sent; waiting for every process of its group to be gone.
    Stopping,
    /// Ended; waiting out the restart delay.
    Backoff,
    /// Restarted too often within the window (a crash loop); cleared by a start.
    Failed,
    /// Ended on its own and not restarted (per its policy).
    Exited,
}

impl UnitState {
    /// The lowercase name status shows.
    pub const fn name(self) -> &'static str {
        match self {
            UnitState::Stopped => "stopped",
            UnitState::Starting => "starting",
            UnitState::Running => "running",
            UnitState::Reloading => "reloading",
            UnitState::Paused => "paused",
            UnitState::Stopping => "stopping",
            UnitState::Backoff => "backoff",
            UnitState::Failed => "failed",
            UnitState::Exited => "exited",
        }
    }

    /// Whether a process of the service may be alive.
    pub const fn has_process(self) -> bool {
        matches!(
            self,
            UnitState::Starting
                | UnitState::Running
                | UnitState::Reloading
                | UnitState::Paused
                | UnitState::Stopping
        )
    }
}

impl fmt::Display for UnitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What happens to a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A client asked for a start.
    Start,
    /// A client asked for a stop.
    Stop,
    /// A client asked for a restart: stop (if it runs), then start.
    Restart,
    /// A client asked for a pause.
    Pause,
    /// A client asked for a continue.
    Continue,
    /// A client asked the service to reload its configuration.
    Reload,
    /// A client asked for the service to be stopped and forgotten (uninstall).
    Forget,
    /// A new supervisor resumes a service its record (or `start = auto`) wants running.
    Recover,
    /// The supervisor stops: the service stops, and stays wanted if it was.
    Shutdown,
    /// The program said it is ready (or was exec'd, for programs that do not say; or, for a
    /// forking one, its daemon's pid is known).
    Ready,
    /// The program said it is reloading its configuration (RELOADING=1); READY=1 ends it.
    Reloading,
    /// The program said it is stopping on its own (STOPPING=1): its exit is expected, and
    /// decided on by the restart policy as any other.
    Stopping,
    /// The main process ended, after running for `uptime`.
    Exited {
        /// How.
        exit: LastExit,
        /// How long it ran.
        uptime: Duration,
    },
    /// A command that had to succeed for the start (`exec_start_post`) failed: the service is
    /// stopped, as a failed start.
    StartFailed,
    /// The service's control command (its reload command) ended.
    ControlEnded {
        /// How.
        exit: LastExit,
    },
    /// Every process of the group is gone.
    GroupGone,
    /// The state's timer fired (stop timeout, restart delay or ready timeout).
    Timer,
}

/// What the event loop must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Start the program (a new process group).
    Spawn,
    /// Send the stop signal to the group, and SIGCONT in case it is stopped.
    SignalStop,
    /// SIGKILL the group.
    KillGroup,
    /// Pause: SIGSTOP to the group, or the Pause control to a program on the service API.
    Suspend,
    /// Continue: SIGCONT.
    Resume,
    /// Send the reload signal (SIGHUP: ParamChange on the service API) to the main process.
    SendReload,
    /// Arm the state's timer to fire after this long.
    ArmTimer(Duration),
    /// Disarm the timer.
    CancelTimer,
    /// Count an automatic restart.
    CountRestart,
    /// Count restarts from 0 again (a start by request).
    ResetRestarts,
    /// The group is gone: forget its id.
    ClearGroup,
    /// Say why the service failed: it was restarted too often within the window.
    CrashLoop,
    /// Remove the service (its definition and record) and answer who waits for that.
    Forget,
    /// A forking program's launcher exited 0: find its daemon (the pid file, or the one
    /// process left), and say Ready once it is known.
    FindMainPid,
    /// Say why the start failed: the program was not ready within the ready timeout.
    NotReady,
}

/// A refused request: the state the service is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused(pub UnitState);

/// What becomes of a service once the stop under way has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Then {
    /// It stays stopped.
    #[default]
    Rest,
    /// It starts again (a restart).
    Start,
    /// It is forgotten (an uninstall).
    Forget,
    /// The program said it stops on its own (STOPPING=1): its exit decides what follows, as
    /// the restart policy says.
    OwnExit,
    /// The main process ended (or never got ready) and the rest of the service is being
    /// stopped: then it settles as decided when the main process ended.
    Ended(Ended),
}

/// How a service whose main process ended settles once nothing of it is left: decided by the
/// restart policy when the main process ended, carried out when the rest of the service is
/// gone (so a new instance never starts beside what is left of the old one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Not restarted (its policy, or a oneshot's success).
    Exited,
    /// Not restarted: it could not be run, or crashed too often within the window.
    Failed,
    /// Restarted after this delay (0: at once).
    RestartAfter(Duration),
}

/// A service's row of the table: its state, whether it is wanted running (the desired state
/// a new supervisor resumes), and what follows the stop under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    /// The state.
    pub state: UnitState,
    /// Whether it should run.
    pub wanted: bool,
    /// What follows the stop under way.
    pub then: Then,
}

impl Lifecycle {
    /// Stopped, not wanted: a service just loaded.
    pub const STOPPED: Lifecycle = Lifecycle {
        state: UnitState::Stopped,
        wanted: false,
        then: Then::Rest,
    };
}

/// The next row and what to do to get there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The row after the event.
    pub next: Lifecycle,
    /// The actions, in order.
    pub actions: Vec<Action>,
}

/// What the table needs to know beyond the state: the policies, and the restart history.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The restart policy.
    pub restart: RestartPolicy,
    /// How long the stop signal is given before SIGKILL.
    pub stop_timeout: Duration,
    /// How long a program that signals readiness may take (None: it is ready once exec'd).
    pub ready_timeout: Option<Duration>,
    /// How the program behaves: a forking one's launcher exiting 0 is its start, a oneshot's
    /// exit 0 its success.
    pub service_type: ServiceType,
    /// Whether a reload runs a command (reloading until it ends) rather than sending a signal.
    pub reload_by_command: bool,
    /// Exits that count as success besides exit code 0.
    pub success_exit: Vec<crate::ExitMatch>,
    /// Exits after which it is not restarted, whatever the policy.
    pub restart_prevent: Vec<crate::ExitMatch>,
}

impl Policy {
    /// Whether `exit` counts as success: exit code 0, or one of `success_exit`.
    pub fn succeeded(&self, exit: LastExit) -> bool {
        exit.success() || self.success_exit.iter().any(|m| m.matches(exit))
    }
}

/// The restart history the backoff and the start limit are computed from.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Restarts in a row without a run of `reset_after`.
    pub attempt: u32,
    /// When recent starts happened (within the window).
    pub starts: VecDeque<Instant>,
}

impl History {
    /// Records a start at `now`, forgetting those older than `window`.
    pub fn started(&mut self, now: Instant, window: Duration) {
        self.starts.push_back(now);
        while let Some(first) = self.starts.front() {
            if now.duration_since(*first) > window {
                self.starts.pop_front();
            } else {
                break;
            }
        }
    }

    fn starts_within(&self, now: Instant, window: Duration) -> usize {
        self.starts
            .iter()
            .filter(|at| now.duration_since(**at) <= window)
            .count()
    }
}

/// The table. `Err(Refused)` for requests the state cannot take (pause when not running).
pub fn transition(
    life: Lifecycle,
    event: Event,
    policy: &Policy,
    history: &mut History,
    now: Instant,
) -> Result<Transition, Refused> {
    use Action::*;
    use UnitState::*;
    let Lifecycle {
        state,
        wanted,
        then,
    } = life;
    let row = |state, wanted, then, actions: Vec<Action>| {
        Ok(Transition {
            next: Lifecycle {
                state,
                wanted,
                then,
            },
            actions,
        })
    };
    let spawn = |mut before: Vec<Action>| {
        before.push(Spawn);
        before.extend(policy.ready_timeout.map(ArmTimer));
        before
    };
    let stop = |state: UnitState| match state {
        Paused => vec![
            CancelTimer,
            SignalStop,
            Resume,
            ArmTimer(policy.stop_timeout),
        ],
        _ => vec![CancelTimer, SignalStop, ArmTimer(policy.stop_timeout)],
    };
    // A forget under way stays one whatever else is asked.
    let unless_forgotten = |asked: Then| {
        if then == Then::Forget {
            Then::Forget
        } else {
            asked
        }
    };
    // The main process ended (or never got ready): what is left of the service is stopped
    // (the stop signal, then SIGKILL after the stop timeout), and the service then settles as
    // the policy decides now.
    let ended =
        |exit: LastExit, uptime: Duration, history: &mut History, mut before: Vec<Action>| {
            let (ended, actions) = after_exit(exit, uptime, policy, history, now);
            before.extend([CancelTimer, SignalStop, ArmTimer(policy.stop_timeout)]);
            before.extend(actions);
            let wanted = wanted && matches!(ended, Ended::RestartAfter(_));
            row(
                Stopping,
                wanted,
                unless_forgotten(Then::Ended(ended)),
                before,
            )
        };
    match (state, event) {
        // Starts: by request (restarts counted from 0), by a new supervisor, by a restart.
        (Stopped | Exited | Failed | Backoff, Event::Start | Event::Recover | Event::Restart) => {
            let mut before = Vec::new();
            if event == Event::Start {
                before.push(ResetRestarts);
            }
            if state == Backoff {
                before.push(CancelTimer);
            } else {
                *history = History::default();
            }
            row(Starting, true, Then::Rest, spawn(before))
        }
        (Starting | Running | Reloading | Paused, Event::Start | Event::Recover) => {
            row(state, true, then, vec![])
        }
        (Stopping, Event::Start | Event::Recover | Event::Restart) => {
            row(Stopping, true, unless_forgotten(Then::Start), vec![])
        }
        (Starting | Running | Reloading | Paused, Event::Restart) => {
            row(Stopping, true, Then::Start, stop(state))
        }

        // Stops: by request (unwanted), by the supervisor's shutdown (wanted as it was), to
        // forget.
        (
            Starting | Running | Reloading | Paused,
            Event::Stop | Event::Shutdown | Event::Forget,
        ) => {
            let (wanted, then) = match event {
                Event::Stop => (false, unless_forgotten(Then::Rest)),
                Event::Forget => (false, Then::Forget),
                _ => (wanted, unless_forgotten(Then::Rest)),
            };
            row(Stopping, wanted, then, stop(state))
        }
        (Stopping, Event::Stop) => row(Stopping, false, unless_forgotten(Then::Rest), vec![]),
        (Stopping, Event::Shutdown) => row(Stopping, wanted, unless_forgotten(Then::Rest), vec![]),
        (Stopping, Event::Forget) => row(Stopping, false, Then::Forget, vec![]),
        (Backoff, Event::Stop) => row(Stopped, false, Then::Rest, vec![CancelTimer]),
        (Backoff, Event::Shutdown) => row(Stopped, wanted, Then::Rest, vec![CancelTimer]),
        (Backoff, Event::Forget) => row(Stopped, false, Then::Rest, vec![CancelTimer, Forget]),
        (Stopped | Exited | Failed, Event::Stop) => row(Stopped, false, Then::Rest, vec![]),
        (Stopped | Exited | Failed, Event::Shutdown) => row(state, wanted, then, vec![]),
        (Stopped | Exited | Failed, Event::Forget) => row(Stopped, false, Then::Rest, vec![Forget]),

        // Controls of a running service.
        (Running, Event::Pause) => row(Paused, wanted, then, vec![Suspend]),
        (Paused, Event::Pause) => row(Paused, wanted, then, vec![]),
        (Paused, Event::Continue) => row(Running, wanted, then, vec![Resume]),
        (Running | Reloading, Event::Continue) => row(state, wanted, then, vec![]),
        // A reload command runs to its end (reloading meanwhile; one at a time); a signal is
        // sent, and the program may say RELOADING=1 itself.
        (Running, Event::Reload) if policy.reload_by_command => {
            row(Reloading, wanted, then, vec![SendReload])
        }
        (Reloading, Event::Reload) if policy.reload_by_command => {
            row(Reloading, wanted, then, vec![])
        }
        (Running | Reloading, Event::Reload) => row(state, wanted, then, vec![SendReload]),
        (_, Event::Pause | Event::Continue | Event::Reload) => Err(Refused(state)),

        // The program.
        (Starting, Event::Ready) => row(Running, wanted, then, vec![CancelTimer]),
        (Reloading, Event::Ready) => row(Running, wanted, then, vec![]),
        (Reloading, Event::ControlEnded { .. }) => row(Running, wanted, then, vec![]),
        (_, Event::ControlEnded { .. }) => row(state, wanted, then, vec![]),
        (_, Event::Ready) => row(state, wanted, then, vec![]),
        (Running, Event::Reloading) => row(Reloading, wanted, then, vec![]),
        (_, Event::Reloading) => row(state, wanted, then, vec![]),
        // It stops on its own: given the stop timeout, and its exit decides what follows.
        (Starting | Running | Reloading, Event::Stopping) => row(
            Stopping,
            wanted,
            Then::OwnExit,
            vec![CancelTimer, ArmTimer(policy.stop_timeout)],
        ),
        (_, Event::Stopping) => row(state, wanted, then, vec![]),
        // A forking program's launcher is done: its daemon is the service now.
        (Starting, Event::Exited { exit, .. })
            if policy.service_type == ServiceType::Forking && exit.success() =>
        {
            row(Starting, wanted, then, vec![FindMainPid])
        }
        // A oneshot that succeeded is done: not restarted, and not a failure.
        (Starting | Running, Event::Exited { exit, .. })
            if policy.service_type == ServiceType::Oneshot && policy.succeeded(exit) =>
        {
            let before = vec![CancelTimer, SignalStop, ArmTimer(policy.stop_timeout)];
            row(Stopping, false, Then::Ended(Ended::Exited), before)
        }
        (Starting | Running | Reloading | Paused, Event::Exited { exit, uptime }) => {
            ended(exit, uptime, history, vec![])
        }
        (Stopping, Event::Exited { exit, uptime }) if then == Then::OwnExit => {
            ended(exit, uptime, history, vec![])
        }
        (_, Event::Exited { .. }) => row(state, wanted, then, vec![]),
        (Stopping, Event::GroupGone) => {
            let gone = vec![CancelTimer, ClearGroup];
            match then {
                Then::Rest | Then::OwnExit => row(Stopped, wanted, Then::Rest, gone),
                Then::Forget => row(Stopped, false, Then::Rest, [gone, vec![Forget]].concat()),
                Then::Start => {
                    *history = History::default();
                    row(Starting, true, Then::Rest, spawn(gone))
                }
                Then::Ended(Ended::Exited) => row(Exited, false, Then::Rest, gone),
                Then::Ended(Ended::Failed) => row(Failed, false, Then::Rest, gone),
                Then::Ended(Ended::RestartAfter(delay)) if delay.is_zero() => {
                    row(Starting, wanted, Then::Rest, spawn(gone))
                }
                Then::Ended(Ended::RestartAfter(delay)) => row(
                    Backoff,
                    wanted,
                    Then::Rest,
                    [gone, vec![ArmTimer(delay)]].concat(),
                ),
            }
        }
        (_, Event::GroupGone) => row(state, wanted, then, vec![]),

        // Timers.
        (Stopping, Event::Timer) => row(Stopping, wanted, then, vec![KillGroup]),
        // A program that never got ready: stopped, then handled as a failed start.
        (Starting, Event::Timer) => {
            ended(LastExit::Unknown, Duration::ZERO, history, vec![NotReady])
        }
        (Backoff, Event::Timer) => row(Starting, wanted, then, spawn(vec![CancelTimer])),
        (Starting, Event::StartFailed) => ended(LastExit::Unknown, Duration::ZERO, history, vec![]),
        (_, Event::StartFailed) => row(state, wanted, then, vec![]),
        (_, Event::Timer) => row(state, wanted, then, vec![]),
    }
}

/// The restart decision when the main process ended: not restarted (its policy), failed (it
/// cannot be run, or started too often within the window), or restarted after the backoff
/// delay (0: at once), with the actions that record it.
fn after_exit(
    exit: LastExit,
    uptime: Duration,
    policy: &Policy,
    history: &mut History,
    now: Instant,
) -> (Ended, Vec<Action>) {
    use Action::*;
    let restart = &policy.restart;
    let prevented = policy.restart_prevent.iter().any(|m| m.matches(exit));
    let wanted = match restart.policy {
        _ if prevented => false,
        Restart::Never => false,
        Restart::OnFailure => !policy.succeeded(exit),
        Restart::Always => true,
    };
    // A program that cannot even be exec'd has failed, and will not start by trying again.
    if matches!(exit, LastExit::SpawnFailed(_)) {
        return (Ended::Failed, vec![]);
    }
    if !wanted {
        return (Ended::Exited, vec![]);
    }
    if uptime >= restart.reset_after {
        history.attempt = 0;
    }
    if restart.limit > 0 && history.starts_within(now, restart.window) >= restart.limit as usize {
        return (Ended::Failed, vec![CrashLoop]);
    }
    history.attempt = history.attempt.saturating_add(1);
    let delay = restart.backoff(history.attempt);
    (Ended::RestartAfter(delay), vec![CountRestart])
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use UnitState::*;

    fn policy(restart: Restart, delay_ms: u64) -> Policy {
        Policy {
            restart: RestartPolicy {
                policy: restart,
                delay: Duration::from_millis(delay_ms),
                max_delay: Duration::from_millis(delay_ms * 4),
                reset_after: Duration::from_secs(10),
                limit: 3,
                window: Duration::from_secs(60),
            },
            stop_timeout: Duration::from_secs(5),
            ready_timeout: None,
            service_type: ServiceType::Exec,
            reload_by_command: false,
            success_exit: Vec::new(),
            restart_prevent: Vec::new(),
        }
    }

    /// `state`, wanted, nothing to follow.
    fn at(state: UnitState) -> Lifecycle {
        Lifecycle {
            state,
            wanted: true,
            then: Then::Rest,
        }
    }

    fn crash(uptime_ms: u64) -> Event {
        Event::Exited {
            exit: LastExit::Code(1),
            uptime: Duration::from_millis(uptime_ms),
        }
    }

    /// Applies `event` (the main process's end) and then GroupGone (nothing else of the
    /// service left): the row the service settles in, and every action taken.
    fn settle(
        life: Lifecycle,
        event: Event,
        policy: &Policy,
        history: &mut History,
    ) -> (Lifecycle, Vec<Action>) {
        let now = Instant::now();
        let first = transition(life, event, policy, history, now).unwrap();
        assert_eq!(
            first.next.state, Stopping,
            "the rest of it is stopped first"
        );
        let second = transition(first.next, Event::GroupGone, policy, history, now).unwrap();
        (second.next, [first.actions, second.actions].concat())
    }

    #[test]
    fn start_spawns_and_stop_signals_then_waits_for_the_group() {
        let policy = policy(Restart::Never, 100);
        let mut history = History::default();
        let now = Instant::now();
        let t = transition(at(Stopped), Event::Start, &policy, &mut history, now).unwrap();
        assert_eq!(
            (t.next.state, t.actions),
            (Starting, vec![ResetRestarts, Spawn])
        );
        let t = transition(at(Running), Event::Stop, &policy, &mut history, now).unwrap();
        assert_eq!(t.next.state, Stopping);
        assert_eq!(
            t.actions,
            [CancelTimer, SignalStop, ArmTimer(Duration::from_secs(5))]
        );
        let t = transition(at(Stopping), Event::Timer, &policy, &mut history, now).unwrap();
        assert_eq!((t.next.state, t.actions), (Stopping, vec![KillGroup]));
        let t = transition(at(Stopping), crash(5), &policy, &mut history, now).unwrap();
        assert_eq!(
            t.next.state, Stopping,
            "the main process alone is not the group"
        );
        let t = transition(at(Stopping), Event::GroupGone, &policy, &mut history, now).unwrap();
        assert_eq!(t.next.state, Stopped);
    }

    #[test]
    fn a_paused_service_can_still_be_stopped() {
        let policy = policy(Restart::Never, 100);
        let mut history = History::default();
        let t = transition(
            at(Paused),
            Event::Stop,
            &policy,
            &mut history,
            Instant::now(),
        )
        .unwrap();
        assert_eq!(t.next.state, Stopping);
        assert!(t.actions.contains(&SignalStop) && t.actions.contains(&Resume));
    }

    #[test]
    fn pause_is_refused_unless_running() {
        let policy = policy(Restart::Never, 100);
        let mut history = History::default();
        for state in [Stopped, Starting, Stopping, Backoff, Failed, Exited] {
            assert_eq!(
                transition(
                    at(state),
                    Event::Pause,
                    &policy,
                    &mut history,
                    Instant::now()
                ),
                Err(Refused(state))
            );
        }
    }

    #[test]
    fn crashes_back_off_exponentially_up_to_the_cap() {
        let mut policy = policy(Restart::OnFailure, 100);
        policy.restart.limit = 0;
        let mut history = History::default();
        let mut delays = Vec::new();
        for _ in 0..4 {
            let (row, actions) = settle(at(Running), crash(5), &policy, &mut history);
            assert_eq!(row.state, Backoff);
            delays.extend(actions.iter().filter_map(|a| match a {
                ArmTimer(d) if *d != policy.stop_timeout => Some(d.as_millis()),
                _ => None,
            }));
        }
        assert_eq!(delays, [100, 200, 400, 400]);
        // A run longer than reset_after starts the backoff again from the delay.
        let (_, actions) = settle(at(Running), crash(10_000), &policy, &mut history);
        assert!(actions.contains(&ArmTimer(Duration::from_millis(100))));
    }

    #[test]
    fn delay_zero_restarts_at_once() {
        let policy = policy(Restart::Always, 0);
        let mut history = History::default();
        let (row, actions) = settle(at(Running), crash(5), &policy, &mut history);
        assert_eq!(row.state, Starting);
        assert!(actions.contains(&CountRestart) && actions.ends_with(&[Spawn]));
    }

    #[test]
    fn too_many_starts_in_the_window_is_failed_and_start_clears_it() {
        let policy = policy(Restart::Always, 0);
        let mut history = History::default();
        let now = Instant::now();
        for _ in 0..3 {
            history.started(now, policy.restart.window);
        }
        let (row, actions) = settle(at(Running), crash(5), &policy, &mut history);
        assert_eq!(row.state, Failed);
        // It says why, and a new supervisor resuming it keeps its restart count.
        assert!(actions.contains(&CrashLoop));
        let resumed = transition(row, Event::Recover, &policy, &mut history.clone(), now);
        assert!(!resumed.unwrap().actions.contains(&ResetRestarts));
        let t = transition(at(Failed), Event::Start, &policy, &mut history, now).unwrap();
        assert_eq!(t.next.state, Starting);
        assert!(history.starts.is_empty());
    }

    #[test]
    fn policies_decide_what_an_exit_leads_to() {
        let clean = Event::Exited {
            exit: LastExit::Code(0),
            uptime: Duration::from_secs(1),
        };
        let mut history = History::default();
        let next = |restart, event| {
            settle(
                at(Running),
                event,
                &policy(restart, 100),
                &mut History::default(),
            )
            .0
            .state
        };
        assert_eq!(next(Restart::Never, crash(5)), Exited);
        assert_eq!(next(Restart::OnFailure, clean), Exited);
        assert_eq!(next(Restart::OnFailure, crash(5)), Backoff);
        assert_eq!(next(Restart::Always, clean), Backoff);
        let unrunnable = Event::Exited {
            exit: LastExit::SpawnFailed(2),
            uptime: Duration::ZERO,
        };
        assert_eq!(next(Restart::Always, unrunnable), Failed);
        assert_eq!(next(Restart::Never, unrunnable), Failed);
        let killed = Event::Exited {
            exit: LastExit::Signal(9),
            uptime: Duration::ZERO,
        };
        let (row, _) = settle(
            at(Running),
            killed,
            &policy(Restart::OnFailure, 100),
            &mut history,
        );
        assert_eq!(row.state, Backoff);
    }

    #[test]
    fn backoff_ends_in_a_spawn_or_is_cancelled_by_stop() {
        let policy = policy(Restart::Always, 100);
        let mut history = History::default();
        let now = Instant::now();
        let t = transition(at(Backoff), Event::Timer, &policy, &mut history, now).unwrap();
        assert_eq!(
            (t.next.state, t.actions),
            (Starting, vec![CancelTimer, Spawn])
        );
        let t = transition(at(Backoff), Event::Stop, &policy, &mut history, now).unwrap();
        assert_eq!((t.next.state, t.actions), (Stopped, vec![CancelTimer]));
    }

    #[test]
    fn a_program_that_never_gets_ready_is_killed() {
        let mut policy = policy(Restart::Never, 100);
        policy.ready_timeout = Some(Duration::from_secs(2));
        let mut history = History::default();
        let now = Instant::now();
        let t = transition(at(Stopped), Event::Start, &policy, &mut history, now).unwrap();
        assert_eq!(
            t.actions,
            [ResetRestarts, Spawn, ArmTimer(Duration::from_secs(2))]
        );
        // It gets the stop signal, then SIGKILL after the stop timeout, and is a failed
        // start once nothing of it is left.
        let t = transition(at(Starting), Event::Timer, &policy, &mut history, now).unwrap();
        assert_eq!(
            (t.next.state, t.actions),
            (
                Stopping,
                vec![
                    NotReady,
                    CancelTimer,
                    SignalStop,
                    ArmTimer(policy.stop_timeout)
                ]
            )
        );
        let stopping = t.next;
        let t = transition(stopping, Event::Timer, &policy, &mut history, now).unwrap();
        assert_eq!(t.actions, [KillGroup]);
        let t = transition(stopping, Event::GroupGone, &policy, &mut history, now).unwrap();
        assert_eq!((t.next.state, t.next.wanted), (Exited, false));
        let t = transition(at(Starting), Event::Ready, &policy, &mut history, now).unwrap();
        assert_eq!((t.next.state, t.actions), (Running, vec![CancelTimer]));
    }

    /// Applies `events` in order from `life`, returning every row passed and every action.
    fn run(life: Lifecycle, events: &[Event], policy: &Policy) -> (Vec<Lifecycle>, Vec<Action>) {
        let mut history = History::default();
        let (mut rows, mut actions) = (vec![life], Vec::new());
        for event in events {
            let last = *rows.last().unwrap();
            let t = transition(last, *event, policy, &mut history, Instant::now()).unwrap();
            rows.push(t.next);
            actions.extend(t.actions);
        }
        (rows, actions)
    }

    #[test]
    fn a_restart_stops_then_starts_again_once_the_group_is_gone() {
        let policy = policy(Restart::Never, 100);
        let (rows, actions) = run(at(Running), &[Event::Restart, Event::GroupGone], &policy);
        assert_eq!(
            rows[1],
            Lifecycle {
                state: Stopping,
                wanted: true,
                then: Then::Start
            }
        );
        assert_eq!(rows[2].state, Starting);
        assert_eq!(rows[2].then, Then::Rest);
        assert!(
            actions.ends_with(&[CancelTimer, ClearGroup, Spawn]),
            "{actions:?}"
        );
        // Restarts are not counted from 0 by a restart, only by a start.
        assert!(!actions.contains(&ResetRestarts));
        // A restart of a stopped service is a start.
        let (rows, _) = run(Lifecycle::STOPPED, &[Event::Restart], &policy);
        assert_eq!((rows[1].state, rows[1].wanted), (Starting, true));
    }

    #[test]
    fn a_start_during_a_stop_starts_once_it_is_done_and_a_stop_takes_that_back() {
        let policy = policy(Restart::Never, 100);
        let stopping = Lifecycle {
            state: Stopping,
            wanted: false,
            then: Then::Rest,
        };
        let (rows, _) = run(stopping, &[Event::Start, Event::GroupGone], &policy);
        assert_eq!((rows[1].then, rows[2].state), (Then::Start, Starting));
        let (rows, _) = run(
            stopping,
            &[Event::Start, Event::Stop, Event::GroupGone],
            &policy,
        );
        assert_eq!(rows[3], Lifecycle::STOPPED);
    }

    #[test]
    fn forget_stops_first_and_nothing_revives_a_forgotten_service() {
        let policy = policy(Restart::Always, 100);
        let (rows, actions) = run(
            at(Running),
            &[Event::Forget, Event::Start, Event::GroupGone],
            &policy,
        );
        assert_eq!(rows[1].then, Then::Forget);
        assert_eq!(rows[2].then, Then::Forget, "a start does not undo a forget");
        assert_eq!(rows[3], Lifecycle::STOPPED);
        assert_eq!(actions.last(), Some(&Forget));
        assert!(!actions.contains(&Spawn));
        // Waiting to restart, or not running: forgotten at once.
        for state in [Backoff, Stopped, Exited, Failed] {
            let (_, actions) = run(at(state), &[Event::Forget], &policy);
            assert_eq!(actions.last(), Some(&Forget), "{state}");
        }
    }

    #[test]
    fn the_desired_state_follows_requests_and_survives_a_shutdown() {
        let policy = policy(Restart::Never, 100);
        let (rows, _) = run(Lifecycle::STOPPED, &[Event::Start], &policy);
        assert!(rows[1].wanted);
        let (rows, _) = run(at(Running), &[Event::Shutdown, Event::GroupGone], &policy);
        assert!(rows[2].wanted && rows[2].state == Stopped, "{rows:?}");
        let (rows, _) = run(at(Running), &[Event::Stop, Event::GroupGone], &policy);
        assert!(!rows[2].wanted);
        // A shutdown cancels a restart under way: nothing is spawned while the supervisor
        // stops.
        let (_, actions) = run(
            at(Running),
            &[Event::Restart, Event::Shutdown, Event::GroupGone],
            &policy,
        );
        assert!(!actions.contains(&Spawn), "{actions:?}");
        // An end that is not restarted makes it unwanted.
        let (rows, _) = run(at(Running), &[crash(5), Event::GroupGone], &policy);
        assert_eq!((rows[2].state, rows[2].wanted), (Exited, false));
    }

    #[test]
    fn reload_is_sent_only_to_a_running_service() {
        let policy = policy(Restart::Never, 100);
        let (_, actions) = run(at(Running), &[Event::Reload], &policy);
        assert_eq!(actions, [SendReload]);
        for state in [Stopped, Starting, Paused, Stopping, Backoff, Failed, Exited] {
            assert_eq!(
                transition(
                    at(state),
                    Event::Reload,
                    &policy,
                    &mut History::default(),
                    Instant::now()
                ),
                Err(Refused(state))
            );
        }
    }

    #[test]
    fn a_forking_program_starts_when_its_launcher_exits_0_and_its_daemon_is_known() {
        let mut policy = policy(Restart::OnFailure, 100);
        policy.service_type = ServiceType::Forking;
        policy.ready_timeout = Some(Duration::from_secs(5));
        let clean = Event::Exited {
            exit: LastExit::Code(0),
            uptime: Duration::ZERO,
        };
        let (rows, actions) = run(
            Lifecycle::STOPPED,
            &[Event::Start, clean, Event::Ready],
            &policy,
        );
        assert_eq!(
            rows[2].state, Starting,
            "the launcher's exit is not the end"
        );
        assert!(actions.contains(&FindMainPid));
        assert_eq!(rows[3].state, Running);
        // A launcher that fails is a failed start, restarted by the policy.
        let (rows, actions) = run(
            Lifecycle::STOPPED,
            &[Event::Start, crash(5), Event::GroupGone],
            &policy,
        );
        assert_eq!(rows[3].state, Backoff);
        assert!(!actions.contains(&FindMainPid));
        // Once it runs, the daemon's exit 0 is an end like any other.
        let (rows, _) = run(at(Running), &[clean, Event::GroupGone], &policy);
        assert_eq!(rows[2].state, Exited);
    }

    #[test]
    fn a_oneshot_is_done_when_it_exits_0_and_failed_otherwise() {
        let mut policy = policy(Restart::Never, 100);
        policy.service_type = ServiceType::Oneshot;
        let clean = Event::Exited {
            exit: LastExit::Code(0),
            uptime: Duration::ZERO,
        };
        let (rows, _) = run(
            Lifecycle::STOPPED,
            &[Event::Start, clean, Event::GroupGone],
            &policy,
        );
        assert_eq!((rows[3].state, rows[3].wanted), (Exited, false));
        policy.restart.policy = Restart::OnFailure;
        let (rows, _) = run(
            Lifecycle::STOPPED,
            &[Event::Start, crash(5), Event::GroupGone],
            &policy,
        );
        assert_eq!(rows[3].state, Backoff);
    }

    #[test]
    fn what_is_left_of_a_crashed_service_is_stopped_before_it_restarts() {
        let policy = policy(Restart::Always, 0);
        let (rows, actions) = run(at(Running), &[crash(5)], &policy);
        assert_eq!(rows[1].state, Stopping);
        assert!(
            actions.starts_with(&[CancelTimer, SignalStop, ArmTimer(policy.stop_timeout)]),
            "the stop signal first, not SIGKILL: {actions:?}"
        );
        assert!(
            !actions.contains(&Spawn),
            "not beside the old one's leftovers"
        );
        // Leftovers that ignore the stop signal are killed at the stop timeout.
        let (_, actions) = run(at(Running), &[crash(5), Event::Timer], &policy);
        assert!(actions.ends_with(&[KillGroup]));
        // A stop asked meanwhile wins over the restart.
        let (rows, actions) = run(
            at(Running),
            &[crash(5), Event::Stop, Event::GroupGone],
            &policy,
        );
        assert_eq!(rows[3], Lifecycle::STOPPED);
        assert!(!actions.contains(&Spawn));
    }

    #[test]
    fn reloading_lasts_from_reloading_1_to_ready_1() {
        let policy = policy(Restart::Never, 100);
        let (rows, actions) = run(
            at(Running),
            &[Event::Reload, Event::Reloading, Event::Ready],
            &policy,
        );
        assert_eq!(
            rows.iter().map(|row| row.state).collect::<Vec<_>>(),
            [Running, Running, Reloading, Running]
        );
        assert_eq!(actions, [SendReload]);
        // Stopped or crashed while reloading, as while running.
        let (rows, _) = run(at(Reloading), &[Event::Stop, Event::GroupGone], &policy);
        assert_eq!(rows[2].state, Stopped);
        let (rows, _) = run(at(Reloading), &[crash(5), Event::GroupGone], &policy);
        assert_eq!(rows[2].state, Exited);
    }

    #[test]
    fn stopping_1_waits_for_its_exit_which_the_policy_decides_on() {
        let mut policy = policy(Restart::OnFailure, 0);
        let (rows, actions) = run(at(Running), &[Event::Stopping], &policy);
        assert_eq!((rows[1].state, rows[1].then), (Stopping, Then::OwnExit));
        assert!(!actions.contains(&SignalStop), "it stops by itself");
        assert!(actions.contains(&ArmTimer(policy.stop_timeout)));
        let clean = Event::Exited {
            exit: LastExit::Code(0),
            uptime: Duration::from_secs(1),
        };
        let (rows, _) = run(
            at(Running),
            &[Event::Stopping, clean, Event::GroupGone],
            &policy,
        );
        assert_eq!((rows[3].state, rows[3].wanted), (Exited, false));
        policy.restart.policy = Restart::Always;
        let (rows, actions) = run(
            at(Running),
            &[Event::Stopping, clean, Event::GroupGone],
            &policy,
        );
        assert_eq!(rows[3].state, Starting);
        assert!(actions.ends_with(&[Spawn]));
    }

    #[test]
    fn a_reload_command_is_reloading_until_it_ends() {
        let mut policy = policy(Restart::Never, 100);
        policy.reload_by_command = true;
        let ended = Event::ControlEnded {
            exit: LastExit::Code(0),
        };
        let (rows, actions) = run(at(Running), &[Event::Reload, Event::Reload, ended], &policy);
        assert_eq!(
            rows.iter().map(|row| row.state).collect::<Vec<_>>(),
            [Running, Reloading, Reloading, Running]
        );
        assert_eq!(actions, [SendReload], "one command at a time");
    }

    #[test]
    fn exit_statuses_can_count_as_success_or_prevent_a_restart() {
        let mut policy = policy(Restart::OnFailure, 0);
        let exit = |code| Event::Exited {
            exit: LastExit::Code(code),
            uptime: Duration::from_secs(1),
        };
        let killed = Event::Exited {
            exit: LastExit::Signal(15),
            uptime: Duration::from_secs(1),
        };
        // By default 143 and SIGTERM are failures, restarted on-failure.
        assert_eq!(
            settle(at(Running), exit(143), &policy, &mut History::default())
                .0
                .state,
            Starting
        );
        policy.success_exit = vec![
            crate::ExitMatch::Code(143),
            crate::ExitMatch::Signal(crate::Signal::Term),
        ];
        assert_eq!(
            settle(at(Running), exit(143), &policy, &mut History::default())
                .0
                .state,
            Exited
        );
        assert_eq!(
            settle(at(Running), killed, &policy, &mut History::default())
                .0
                .state,
            Exited
        );
        // sshd's 255 (a broken configuration) is never restarted, even with restart = always.
        policy.restart.policy = Restart::Always;
        policy.restart_prevent = vec![crate::ExitMatch::Code(255)];
        assert_eq!(
            settle(at(Running), exit(255), &policy, &mut History::default())
                .0
                .state,
            Exited
        );
        assert_eq!(
            settle(at(Running), exit(1), &policy, &mut History::default())
                .0
                .state,
            Starting
        );
    }
}
