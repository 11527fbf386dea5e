//! The supervisor's behaviour as a table: for each (state, event), the actions to take and the
//! next state. Pure: no OS call, no clock read (the caller passes `now`), so every cell is
//! unit-tested. The event loop in `supervisor.rs` only turns OS happenings into [`Event`]s and
//! carries out [`Action`]s.
//!
//! | state \ event | Start        | Stop                  | Exited                 | GroupGone | timer            |
//! |---------------|--------------|-----------------------|------------------------|-----------|------------------|
//! | stopped       | spawn→starting | –                   | –                      | –         | –                |
//! | starting      | –            | signal, arm→stopping  | restart?→backoff/failed/exited | – | ready timeout: kill |
//! | running       | –            | signal, arm→stopping  | restart?→backoff/failed/exited | – | –          |
//! | paused        | –            | signal+cont→stopping  | restart?→…             | –         | –                |
//! | stopping      | (after stop) | –                     | record                 | →stopped  | kill the group   |
//! | backoff       | spawn→starting | cancel→stopped      | –                      | –         | spawn→starting   |
//! | failed        | spawn→starting | →stopped            | –                      | –         | –                |
//! | exited        | spawn→starting | →stopped            | –                      | –         | –                |
//!
//! Pause: running → paused; Continue: paused → running; Ready: starting → running. Anything not
//! in the table leaves the state as it is.

use std::{
    collections::VecDeque,
    fmt,
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};
pub use svckit_core::LastExit;
use svckit_core::{Restart, RestartPolicy};

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
            UnitState::Starting | UnitState::Running | UnitState::Paused | UnitState::Stopping
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
    /// A client asked for a pause.
    Pause,
    /// A client asked for a continue.
    Continue,
    /// The program said it is ready (or was exec'd, for programs that do not say).
    Ready,
    /// The main process ended, after running for `uptime`.
    Exited {
        /// How.
        exit: LastExit,
        /// How long it ran.
        uptime: Duration,
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
    /// Arm the state's timer to fire after this long.
    ArmTimer(Duration),
    /// Disarm the timer.
    CancelTimer,
    /// Count an automatic restart.
    CountRestart,
}

/// A refused request: the state the service is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused(pub UnitState);

/// The next state and what to do to get there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The state after the event.
    pub next: UnitState,
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

fn go(next: UnitState, actions: &[Action]) -> Result<Transition, Refused> {
    Ok(Transition {
        next,
        actions: actions.to_vec(),
    })
}

/// The table. `Err(Refused)` for requests the state cannot take (pause when not running).
pub fn transition(
    state: UnitState,
    event: Event,
    policy: &Policy,
    history: &mut History,
    now: Instant,
) -> Result<Transition, Refused> {
    use Action::*;
    use UnitState::*;
    let spawn_then = || match policy.ready_timeout {
        Some(timeout) => vec![Spawn, ArmTimer(timeout)],
        None => vec![Spawn],
    };
    match (state, event) {
        (Stopped | Exited | Failed, Event::Start) => {
            *history = History::default();
            Ok(Transition {
                next: Starting,
                actions: spawn_then(),
            })
        }
        (Backoff, Event::Start) | (Backoff, Event::Timer) => {
            let mut actions = vec![CancelTimer];
            actions.extend(spawn_then());
            Ok(Transition {
                next: Starting,
                actions,
            })
        }
        (Starting | Running | Paused | Stopping, Event::Start) => go(state, &[]),

        (Starting | Running, Event::Stop) => go(
            Stopping,
            &[CancelTimer, SignalStop, ArmTimer(policy.stop_timeout)],
        ),
        (Paused, Event::Stop) => go(
            Stopping,
            &[
                CancelTimer,
                SignalStop,
                Resume,
                ArmTimer(policy.stop_timeout),
            ],
        ),
        (Backoff, Event::Stop) => go(Stopped, &[CancelTimer]),
        (Stopped | Exited | Failed, Event::Stop) => go(Stopped, &[]),
        (Stopping, Event::Stop) => go(Stopping, &[]),

        (Running, Event::Pause) => go(Paused, &[Suspend]),
        (Paused, Event::Pause) => go(Paused, &[]),
        (Paused, Event::Continue) => go(Running, &[Resume]),
        (Running, Event::Continue) => go(Running, &[]),
        (_, Event::Pause | Event::Continue) => Err(Refused(state)),

        (Starting, Event::Ready) => go(Running, &[CancelTimer]),
        (_, Event::Ready) => go(state, &[]),

        (Starting | Running | Paused, Event::Exited { exit, uptime }) => {
            Ok(after_exit(exit, uptime, policy, history, now))
        }
        (Stopping, Event::Exited { .. }) => go(Stopping, &[]),

        (Stopping, Event::GroupGone) => go(Stopped, &[CancelTimer]),
        (_, Event::GroupGone) => go(state, &[]),

        (Stopping, Event::Timer) => go(Stopping, &[KillGroup]),
        // A program that never said it was ready: killed, then handled as a crash.
        (Starting, Event::Timer) => go(Starting, &[KillGroup]),
        (_, Event::Timer) => go(state, &[]),

        (Stopped | Exited | Failed | Backoff, Event::Exited { .. }) => go(state, &[]),
    }
}

/// The restart decision: exited (no restart wanted), backoff (wait, then spawn), starting
/// (a delay of 0 restarts at once) or failed (too many starts within the window).
fn after_exit(
    exit: LastExit,
    uptime: Duration,
    policy: &Policy,
    history: &mut History,
    now: Instant,
) -> Transition {
    use Action::*;
    let restart = &policy.restart;
    let wanted = match restart.policy {
        Restart::Never => false,
        Restart::OnFailure => !exit.success(),
        Restart::Always => true,
    };
    // Leftovers of the group (workers of a crashed main process) never outlive it.
    let mut actions = vec![CancelTimer, KillGroup];
    // A program that cannot even be exec'd has failed, and will not start by trying again.
    if matches!(exit, LastExit::SpawnFailed(_)) {
        return Transition {
            next: UnitState::Failed,
            actions,
        };
    }
    if !wanted {
        return Transition {
            next: UnitState::Exited,
            actions,
        };
    }
    if uptime >= restart.reset_after {
        history.attempt = 0;
    }
    if restart.limit > 0 && history.starts_within(now, restart.window) >= restart.limit as usize {
        return Transition {
            next: UnitState::Failed,
            actions,
        };
    }
    history.attempt = history.attempt.saturating_add(1);
    actions.push(CountRestart);
    let delay = restart.backoff(history.attempt);
    if delay.is_zero() {
        actions.push(Spawn);
        if let Some(timeout) = policy.ready_timeout {
            actions.push(ArmTimer(timeout));
        }
        Transition {
            next: UnitState::Starting,
            actions,
        }
    } else {
        actions.push(ArmTimer(delay));
        Transition {
            next: UnitState::Backoff,
            actions,
        }
    }
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
        }
    }

    fn crash(uptime_ms: u64) -> Event {
        Event::Exited {
            exit: LastExit::Code(1),
            uptime: Duration::from_millis(uptime_ms),
        }
    }

    #[test]
    fn start_spawns_and_stop_signals_then_waits_for_the_group() {
        let policy = policy(Restart::Never, 100);
        let mut history = History::default();
        let now = Instant::now();
        let t = transition(Stopped, Event::Start, &policy, &mut history, now).unwrap();
        assert_eq!((t.next, t.actions), (Starting, vec![Spawn]));
        let t = transition(Running, Event::Stop, &policy, &mut history, now).unwrap();
        assert_eq!(t.next, Stopping);
        assert_eq!(
            t.actions,
            [CancelTimer, SignalStop, ArmTimer(Duration::from_secs(5))]
        );
        let t = transition(Stopping, Event::Timer, &policy, &mut history, now).unwrap();
        assert_eq!((t.next, t.actions), (Stopping, vec![KillGroup]));
        let t = transition(Stopping, crash(5), &policy, &mut history, now).unwrap();
        assert_eq!(t.next, Stopping, "the main process alone is not the group");
        let t = transition(Stopping, Event::GroupGone, &policy, &mut history, now).unwrap();
        assert_eq!(t.next, Stopped);
    }

    #[test]
    fn a_paused_service_can_still_be_stopped() {
        let policy = policy(Restart::Never, 100);
        let mut history = History::default();
        let t = transition(Paused, Event::Stop, &policy, &mut history, Instant::now()).unwrap();
        assert_eq!(t.next, Stopping);
        assert!(t.actions.contains(&SignalStop) && t.actions.contains(&Resume));
    }

    #[test]
    fn pause_is_refused_unless_running() {
        let policy = policy(Restart::Never, 100);
        let mut history = History::default();
        for state in [Stopped, Starting, Stopping, Backoff, Failed, Exited] {
            assert_eq!(
                transition(state, Event::Pause, &policy, &mut history, Instant::now()),
                Err(Refused(state))
            );
        }
    }

    #[test]
    fn crashes_back_off_exponentially_up_to_the_cap() {
        let mut policy = policy(Restart::OnFailure, 100);
        policy.restart.limit = 0;
        let mut history = History::default();
        let now = Instant::now();
        let mut delays = Vec::new();
        for _ in 0..4 {
            let t = transition(Running, crash(5), &policy, &mut history, now).unwrap();
            assert_eq!(t.next, Backoff);
            delays.extend(t.actions.iter().filter_map(|a| match a {
                ArmTimer(d) => Some(d.as_millis()),
                _ => None,
            }));
        }
        assert_eq!(delays, [100, 200, 400, 400]);
        // A run longer than reset_after starts the backoff again from the delay.
        let t = transition(Running, crash(10_000), &policy, &mut history, now).unwrap();
        assert!(t.actions.contains(&ArmTimer(Duration::from_millis(100))));
    }

    #[test]
    fn delay_zero_restarts_at_once() {
        let policy = policy(Restart::Always, 0);
        let mut history = History::default();
        let t = transition(Running, crash(5), &policy, &mut history, Instant::now()).unwrap();
        assert_eq!(t.next, Starting);
        assert!(t.actions.ends_with(&[CountRestart, Spawn]));
    }

    #[test]
    fn too_many_starts_in_the_window_is_failed_and_start_clears_it() {
        let policy = policy(Restart::Always, 0);
        let mut history = History::default();
        let now = Instant::now();
        for _ in 0..3 {
            history.started(now, policy.restart.window);
        }
        let t = transition(Running, crash(5), &policy, &mut history, now).unwrap();
        assert_eq!(t.next, Failed);
        let t = transition(Failed, Event::Start, &policy, &mut history, now).unwrap();
        assert_eq!(t.next, Starting);
        assert!(history.starts.is_empty());
    }

    #[test]
    fn policies_decide_what_an_exit_leads_to() {
        let clean = Event::Exited {
            exit: LastExit::Code(0),
            uptime: Duration::from_secs(1),
        };
        let now = Instant::now();
        let mut history = History::default();
        let next = |restart, event| {
            transition(
                Running,
                event,
                &policy(restart, 100),
                &mut History::default(),
                now,
            )
            .unwrap()
            .next
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
        let t = transition(
            Running,
            killed,
            &policy(Restart::OnFailure, 100),
            &mut history,
            now,
        );
        assert_eq!(t.unwrap().next, Backoff);
    }

    #[test]
    fn backoff_ends_in_a_spawn_or_is_cancelled_by_stop() {
        let policy = policy(Restart::Always, 100);
        let mut history = History::default();
        let now = Instant::now();
        let t = transition(Backoff, Event::Timer, &policy, &mut history, now).unwrap();
        assert_eq!((t.next, t.actions), (Starting, vec![CancelTimer, Spawn]));
        let t = transition(Backoff, Event::Stop, &policy, &mut history, now).unwrap();
        assert_eq!((t.next, t.actions), (Stopped, vec![CancelTimer]));
    }

    #[test]
    fn a_program_that_never_gets_ready_is_killed() {
        let mut policy = policy(Restart::Never, 100);
        policy.ready_timeout = Some(Duration::from_secs(2));
        let mut history = History::default();
        let now = Instant::now();
        let t = transition(Stopped, Event::Start, &policy, &mut history, now).unwrap();
        assert_eq!(t.actions, [Spawn, ArmTimer(Duration::from_secs(2))]);
        let t = transition(Starting, Event::Timer, &policy, &mut history, now).unwrap();
        assert_eq!((t.next, t.actions), (Starting, vec![KillGroup]));
        let t = transition(Starting, Event::Ready, &policy, &mut history, now).unwrap();
        assert_eq!((t.next, t.actions), (Running, vec![CancelTimer]));
    }
}
