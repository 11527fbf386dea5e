//! Each service's lifecycle machine: for each (row, event), the next row and the actions to
//! take. A row is the state, the step within it ([`Phase`]: which command of a start or a stop
//! runs, whether the program is ready, whether a forking daemon is being found), whether the
//! service is wanted running, and what follows the stop under way. Every request (start,
//! stop, restart, pause, continue, reload, forget), every happening (an exit, a command's
//! end, readiness, the group gone, a timer) and a new supervisor's reading of its record
//! ([`Event::Adopt`]) is an event. Pure and sans-IO: no OS call, no clock read (the caller
//! passes `now`), so every cell is unit-tested and the whole is property-tested against a
//! simulated world. The event loops that use it — svckit's supervisor on Unix and its service
//! host on Windows — are executors: they turn OS happenings and requests into [`Event`]s and
//! carry out [`Action`]s, keeping no step of their own.
//!
//! | state \ event | Start / Recover     | Stop / Shutdown      | Restart               | Forget               | Exited (main process)          | GroupGone           | Timer            |
//! |---------------|---------------------|----------------------|-----------------------|----------------------|---------------------------------|---------------------|------------------|
//! | stopped       | start → starting    | –                    | start → starting      | forget               | –                               | –                   | –                |
//! | starting      | –                   | stop → stopping      | stop → stopping, then start | stop → stopping, then forget | stop the rest → stopping, then as the policy decides | – | ready timeout: as a failed exit |
//! | running, reloading | –              | stop → stopping      | stop → stopping, then start | stop → stopping, then forget | stop the rest → stopping, then as the policy decides | – | –  |
//! | paused        | –                   | stop + cont → stopping | … then start      | … then forget        | as running                      | –                   | –                |
//! | stopping      | then start          | –                    | then start            | then forget          | after STOPPING=1: as running    | → stopped, or start → starting, or forget, or backoff/exited/failed as decided | kill the group |
//! | backoff       | start → starting    | cancel → stopped     | start → starting      | cancel, forget       | –                               | –                   | start → starting |
//! | failed        | start → starting    | → stopped            | start → starting      | forget               | –                               | –                   | –                |
//! | exited        | start → starting    | → stopped            | start → starting      | forget               | –                               | –                   | –                |
//!
//! A start's steps (phases of starting): **dependencies** (Prepare: what it needs is made and
//! its dependencies started; DependenciesSettled goes on, StartFailed fails it) → each
//! **pre-start** command in order (one that fails is the start's end, decided on by the
//! restart policy) → the **program** (Ready, or for a forking program its launcher's exit 0
//! then **finding main** until Ready) → each **post-start** command (one that fails stops the
//! program as a failed start) → running. The start is counted for the start limit and the
//! ready timeout armed at its first step. A stop's steps (phases of stopping): each **stop
//! command** in order while the program runs (their status does not matter) → **signalled**
//! (the stop signal; SIGKILL at the stop timeout) → GroupGone; or **on its own** after
//! STOPPING=1, until its exit.
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
//! reload signal, or the reload command, reloading until it ends); Ready: starting or
//! reloading → running; the program's RELOADING=1: running → reloading; its STOPPING=1: →
//! stopping, armed with the stop timeout, its exit then decided on by the policy. Pause,
//! Continue and Reload anywhere else are refused; anything else not in the table leaves the
//! row as it is.

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

/// Where a service is within its state: the steps of a start and of a stop. The executor
/// keeps no flag of its own for them (which command runs, whether the program was ready,
/// whether its stop commands ran): the machine says which step it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Phase {
    /// No step under way beyond the state itself (stopped, running, backoff, …).
    #[default]
    Idle,
    /// Starting: what it needs is made and its dependencies are started; it waits for their
    /// starts to settle ([`Event::DependenciesSettled`]).
    Dependencies,
    /// Starting: its pre-start command of this index runs.
    PreStart(usize),
    /// Starting: its program runs and is not ready yet (a forking program's launcher runs).
    Program,
    /// Starting: a forking program's launcher exited 0; its daemon is being found.
    FindingMain,
    /// Starting: its program is ready; its post-start command of this index runs.
    PostStart(usize),
    /// Stopping: its stop command of this index runs; the stop signal follows the last.
    StopCommand(usize),
    /// Stopping: the stop signal was sent (or the main process ended); what is left is
    /// waited for.
    Signalled,
    /// Stopping: the program said it stops (STOPPING=1); its exit is waited for.
    OnItsOwn,
}

impl Phase {
    /// Whether `self` is a step of `state` (a property of every row the machine makes).
    pub const fn belongs_to(self, state: UnitState) -> bool {
        match self {
            Phase::Idle => !matches!(state, UnitState::Starting | UnitState::Stopping),
            Phase::Dependencies
            | Phase::PreStart(_)
            | Phase::Program
            | Phase::FindingMain
            | Phase::PostStart(_) => matches!(state, UnitState::Starting),
            Phase::StopCommand(_) | Phase::Signalled | Phase::OnItsOwn => {
                matches!(state, UnitState::Stopping)
            }
        }
    }
}

/// A command of a service that runs beside (or before) its program: systemd's control
/// processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlCommand {
    /// Its pre-start command of this index (`exec_start_pre`).
    StartPre(usize),
    /// Its post-start command of this index (`exec_start_post`).
    StartPost(usize),
    /// Its stop command of this index (`exec_stop`).
    Stop(usize),
    /// Its reload command (`reload.command`).
    Reload,
}

impl ControlCommand {
    /// The definition's key for it.
    pub const fn key(self) -> &'static str {
        match self {
            ControlCommand::StartPre(_) => "exec_start_pre",
            ControlCommand::StartPost(_) => "exec_start_post",
            ControlCommand::Stop(_) => "exec_stop",
            ControlCommand::Reload => "reload.command",
        }
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
    /// A new supervisor read the service's record: the state it was in, whether it was
    /// wanted running, and whether its main process still lives (adopted). Restores the row
    /// of a just-loaded service; nothing is carried out (a stop under way goes on by a
    /// Shutdown, a wanted service starts by a Recover).
    Adopt {
        /// The state the record names.
        recorded: UnitState,
        /// Whether it was wanted running.
        wanted: bool,
        /// Whether its main process lives and is adopted.
        alive: bool,
    },
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
    /// The starts of the dependencies it waits for have settled (or it has none): its own
    /// start goes on.
    DependenciesSettled,
    /// The start cannot go on (a dependency it requires did not start): the service is
    /// stopped, as a failed start.
    StartFailed,
    /// A control command of the service ended (or could not be started).
    CommandEnded {
        /// Which.
        command: ControlCommand,
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
    /// Make what a start needs (runtime directories), start the dependencies it starts, and
    /// say [`Event::DependenciesSettled`] once the starts it waits for have settled (at once
    /// when there are none), or [`Event::StartFailed`] when one it requires did not start.
    Prepare,
    /// Start this control command of the service; say [`Event::CommandEnded`] when it ends.
    RunCommand(ControlCommand),
    /// Start the program (a new process group); an exec type says [`Event::Ready`] once
    /// exec'd, one that cannot be started [`Event::Exited`] with why.
    SpawnProgram,
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
    /// Say why the start failed: the program was not ready within the ready timeout (its
    /// daemon not found, when `finding_main`).
    NotReady {
        /// A forking program's daemon was being found.
        finding_main: bool,
    },
    /// Say why the start failed: this pre-start or post-start command ended so.
    CommandFailed(ControlCommand, LastExit),
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

/// A service's row of the machine: its state and the step within it, whether it is wanted
/// running (the desired state a new supervisor resumes), and what follows the stop under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    /// The state.
    pub state: UnitState,
    /// The step within it.
    pub phase: Phase,
    /// Whether it should run.
    pub wanted: bool,
    /// What follows the stop under way.
    pub then: Then,
}

impl Lifecycle {
    /// Stopped, not wanted: a service just loaded.
    pub const STOPPED: Lifecycle = Lifecycle {
        state: UnitState::Stopped,
        phase: Phase::Idle,
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

/// What the machine needs to know beyond the state: the policies, what the definition has
/// (commands, dependencies), and the restart history.
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
    /// Whether a start prepares first ([`Action::Prepare`]: directories, dependencies) and
    /// waits for [`Event::DependenciesSettled`]; an executor without either goes straight on.
    pub prepare: bool,
    /// How many pre-start commands it has.
    pub start_pre: usize,
    /// How many post-start commands it has.
    pub start_post: usize,
    /// How many stop commands it has.
    pub stop_commands: usize,
}

impl Policy {
    /// Whether `exit` counts as success: exit code 0, or one of `success_exit`.
    pub fn succeeded(&self, exit: LastExit) -> bool {
        exit.success() || self.success_exit.iter().any(|m| m.matches(exit))
    }

    /// The first step of a start after its preparation: its first pre-start command, or its
    /// program.
    fn first_step(&self) -> (Phase, Action) {
        match self.start_pre {
            0 => (Phase::Program, Action::SpawnProgram),
            _ => (
                Phase::PreStart(0),
                Action::RunCommand(ControlCommand::StartPre(0)),
            ),
        }
    }

    /// The step after a pre-start command of index `index` succeeded.
    fn after_start_pre(&self, index: usize) -> (Phase, Action) {
        match index + 1 < self.start_pre {
            true => (
                Phase::PreStart(index + 1),
                Action::RunCommand(ControlCommand::StartPre(index + 1)),
            ),
            false => (Phase::Program, Action::SpawnProgram),
        }
    }

    /// The step after the program is ready, or its post-start command before `next` succeeded:
    /// the next post-start command, or running (the ready timeout cancelled).
    fn post_start_from(&self, next: usize) -> (UnitState, Phase, Action) {
        match next < self.start_post {
            true => (
                UnitState::Starting,
                Phase::PostStart(next),
                Action::RunCommand(ControlCommand::StartPost(next)),
            ),
            false => (UnitState::Running, Phase::Idle, Action::CancelTimer),
        }
    }

    /// How a stop begins: its first stop command while its program runs (and it has one),
    /// else the stop signal.
    fn stop_from(&self, program_runs: bool) -> (Phase, Action) {
        match program_runs && self.stop_commands > 0 {
            true => (
                Phase::StopCommand(0),
                Action::RunCommand(ControlCommand::Stop(0)),
            ),
            false => (Phase::Signalled, Action::SignalStop),
        }
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

/// Whether the service's program runs in `state` at step `phase` (its stop commands then run
/// before the stop signal).
const fn program_runs(state: UnitState, phase: Phase) -> bool {
    matches!(
        state,
        UnitState::Running | UnitState::Reloading | UnitState::Paused
    ) || matches!(phase, Phase::Program | Phase::PostStart(_))
}

/// The machine. `Err(Refused)` for requests the state cannot take (pause when not running).
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
        phase,
        wanted,
        then,
    } = life;
    let row = |state, phase, wanted, then, actions: Vec<Action>| {
        Ok(Transition {
            next: Lifecycle {
                state,
                phase,
                wanted,
                then,
            },
            actions,
        })
    };
    // A start: counted for the start limit from its first step, its ready timeout armed.
    let start = |history: &mut History, mut before: Vec<Action>| {
        history.started(now, policy.restart.window);
        let (phase, first) = match policy.prepare {
            true => (Phase::Dependencies, Prepare),
            false => policy.first_step(),
        };
        before.push(first);
        before.extend(policy.ready_timeout.map(ArmTimer));
        (phase, before)
    };
    // A stop by request: its stop commands first where its program runs, else the stop
    // signal (and SIGCONT to a paused one), then SIGKILL after the stop timeout.
    let stop = |state: UnitState, phase: Phase| {
        let (phase, first) = policy.stop_from(program_runs(state, phase));
        let mut actions = vec![CancelTimer, first];
        if state == Paused {
            actions.push(Resume);
        }
        actions.push(ArmTimer(policy.stop_timeout));
        (phase, actions)
    };
    // A forget under way stays one whatever else is asked.
    let unless_forgotten = |asked: Then| {
        if then == Then::Forget {
            Then::Forget
        } else {
            asked
        }
    };
    // The main process ended (or the start failed): what is left of the service is stopped
    // (its stop commands first if its program still runs, the stop signal, then SIGKILL after
    // the stop timeout), and the service then settles as the policy decides now.
    let ended = |exit: LastExit,
                 uptime: Duration,
                 history: &mut History,
                 mut before: Vec<Action>,
                 program_runs: bool| {
        let (ended, actions) = after_exit(exit, uptime, policy, history, now);
        let (phase, first) = policy.stop_from(program_runs);
        before.extend([CancelTimer, first, ArmTimer(policy.stop_timeout)]);
        before.extend(actions);
        let wanted = wanted && matches!(ended, Ended::RestartAfter(_));
        row(
            Stopping,
            phase,
            wanted,
            unless_forgotten(Then::Ended(ended)),
            before,
        )
    };
    let runs = program_runs(state, phase);
    let idle = Phase::Idle;
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
            let (phase, actions) = start(history, before);
            row(Starting, phase, true, Then::Rest, actions)
        }
        (Starting | Running | Reloading | Paused, Event::Start | Event::Recover) => {
            row(state, phase, true, then, vec![])
        }
        (Stopping, Event::Start | Event::Recover | Event::Restart) => {
            row(Stopping, phase, true, unless_forgotten(Then::Start), vec![])
        }
        (Starting | Running | Reloading | Paused, Event::Restart) => {
            let (phase, actions) = stop(state, phase);
            row(Stopping, phase, true, Then::Start, actions)
        }

        // A new supervisor restores what the record says.
        (
            Stopped,
            Event::Adopt {
                recorded,
                wanted,
                alive,
            },
        ) => {
            let state = match (alive, recorded) {
                (true, Paused) => Paused,
                (true, _) => Running,
                (false, Failed | Exited) => recorded,
                (false, _) => Stopped,
            };
            row(state, idle, wanted, Then::Rest, vec![])
        }
        (_, Event::Adopt { .. }) => row(state, phase, wanted, then, vec![]),

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
            let (phase, actions) = stop(state, phase);
            row(Stopping, phase, wanted, then, actions)
        }
        (Stopping, Event::Stop) => {
            row(Stopping, phase, false, unless_forgotten(Then::Rest), vec![])
        }
        (Stopping, Event::Shutdown) => row(
            Stopping,
            phase,
            wanted,
            unless_forgotten(Then::Rest),
            vec![],
        ),
        (Stopping, Event::Forget) => row(Stopping, phase, false, Then::Forget, vec![]),
        (Backoff, Event::Stop) => row(Stopped, idle, false, Then::Rest, vec![CancelTimer]),
        (Backoff, Event::Shutdown) => row(Stopped, idle, wanted, Then::Rest, vec![CancelTimer]),
        (Backoff, Event::Forget) => {
            row(Stopped, idle, false, Then::Rest, vec![CancelTimer, Forget])
        }
        (Stopped | Exited | Failed, Event::Stop) => row(Stopped, idle, false, Then::Rest, vec![]),
        (Stopped | Exited | Failed, Event::Shutdown) => row(state, phase, wanted, then, vec![]),
        (Stopped | Exited | Failed, Event::Forget) => {
            row(Stopped, idle, false, Then::Rest, vec![Forget])
        }

        // Controls of a running service.
        (Running, Event::Pause) => row(Paused, idle, wanted, then, vec![Suspend]),
        (Paused, Event::Pause) => row(Paused, idle, wanted, then, vec![]),
        (Paused, Event::Continue) => row(Running, idle, wanted, then, vec![Resume]),
        (Running | Reloading, Event::Continue) => row(state, phase, wanted, then, vec![]),
        // A reload command runs to its end (reloading meanwhile; one at a time); a signal is
        // sent, and the program may say RELOADING=1 itself.
        (Running, Event::Reload) if policy.reload_by_command => row(
            Reloading,
            idle,
            wanted,
            then,
            vec![RunCommand(ControlCommand::Reload)],
        ),
        (Reloading, Event::Reload) if policy.reload_by_command => {
            row(Reloading, idle, wanted, then, vec![])
        }
        (Running | Reloading, Event::Reload) => row(state, idle, wanted, then, vec![SendReload]),
        (_, Event::Pause | Event::Continue | Event::Reload) => Err(Refused(state)),

        // The start's steps.
        (Starting, Event::DependenciesSettled) if phase == Phase::Dependencies => {
            let (phase, action) = policy.first_step();
            row(Starting, phase, wanted, then, vec![action])
        }
        (_, Event::DependenciesSettled) => row(state, phase, wanted, then, vec![]),
        (
            Starting,
            Event::CommandEnded {
                command: ControlCommand::StartPre(index),
                exit,
            },
        ) if phase == Phase::PreStart(index) => match exit.success() {
            true => {
                let (phase, action) = policy.after_start_pre(index);
                row(Starting, phase, wanted, then, vec![action])
            }
            // As a program that ended so: the restart policy decides.
            false => ended(
                exit,
                Duration::ZERO,
                history,
                vec![CommandFailed(ControlCommand::StartPre(index), exit)],
                false,
            ),
        },
        (Starting, Event::Ready) if matches!(phase, Phase::Program | Phase::FindingMain) => {
            let (state, phase, action) = policy.post_start_from(0);
            row(state, phase, wanted, then, vec![action])
        }
        (
            Starting,
            Event::CommandEnded {
                command: ControlCommand::StartPost(index),
                exit,
            },
        ) if phase == Phase::PostStart(index) => match exit.success() {
            true => {
                let (state, phase, action) = policy.post_start_from(index + 1);
                row(state, phase, wanted, then, vec![action])
            }
            // A failed start: the program is stopped.
            false => ended(
                LastExit::Unknown,
                Duration::ZERO,
                history,
                vec![CommandFailed(ControlCommand::StartPost(index), exit)],
                true,
            ),
        },
        (
            Stopping,
            Event::CommandEnded {
                command: ControlCommand::Stop(index),
                ..
            },
        ) if phase == Phase::StopCommand(index) => match index + 1 < policy.stop_commands {
            true => row(
                Stopping,
                Phase::StopCommand(index + 1),
                wanted,
                then,
                vec![RunCommand(ControlCommand::Stop(index + 1))],
            ),
            // Its status does not matter: the stop goes on, by the signal to what is left.
            false => row(Stopping, Phase::Signalled, wanted, then, vec![SignalStop]),
        },
        (
            Reloading,
            Event::CommandEnded {
                command: ControlCommand::Reload,
                ..
            },
        ) => row(Running, idle, wanted, then, vec![]),
        (_, Event::CommandEnded { .. }) => row(state, phase, wanted, then, vec![]),

        // The program.
        (Reloading, Event::Ready) => row(Running, idle, wanted, then, vec![]),
        (_, Event::Ready) => row(state, phase, wanted, then, vec![]),
        (Running, Event::Reloading) => row(Reloading, idle, wanted, then, vec![]),
        (_, Event::Reloading) => row(state, phase, wanted, then, vec![]),
        // It stops on its own: given the stop timeout, and its exit decides what follows.
        (Starting | Running | Reloading, Event::Stopping) => row(
            Stopping,
            Phase::OnItsOwn,
            wanted,
            Then::OwnExit,
            vec![CancelTimer, ArmTimer(policy.stop_timeout)],
        ),
        (_, Event::Stopping) => row(state, phase, wanted, then, vec![]),
        // A forking program's launcher is done: its daemon is the service now.
        (Starting, Event::Exited { exit, .. })
            if policy.service_type == ServiceType::Forking
                && phase == Phase::Program
                && exit.success() =>
        {
            row(
                Starting,
                Phase::FindingMain,
                wanted,
                then,
                vec![FindMainPid],
            )
        }
        // A oneshot that succeeded is done: not restarted, and not a failure.
        (Starting | Running, Event::Exited { exit, .. })
            if policy.service_type == ServiceType::Oneshot && policy.succeeded(exit) =>
        {
            let before = vec![CancelTimer, SignalStop, ArmTimer(policy.stop_timeout)];
            row(
                Stopping,
                Phase::Signalled,
                false,
                Then::Ended(Ended::Exited),
                before,
            )
        }
        (Starting | Running | Reloading | Paused, Event::Exited { exit, uptime }) => {
            ended(exit, uptime, history, vec![], false)
        }
        (Stopping, Event::Exited { exit, uptime }) if then == Then::OwnExit => {
            ended(exit, uptime, history, vec![], false)
        }
        (_, Event::Exited { .. }) => row(state, phase, wanted, then, vec![]),
        (Stopping, Event::GroupGone) => {
            let gone = vec![CancelTimer, ClearGroup];
            match then {
                Then::Rest | Then::OwnExit => row(Stopped, idle, wanted, Then::Rest, gone),
                Then::Forget => row(
                    Stopped,
                    idle,
                    false,
                    Then::Rest,
                    [gone, vec![Forget]].concat(),
                ),
                Then::Start => {
                    *history = History::default();
                    let (phase, actions) = start(history, gone);
                    row(Starting, phase, true, Then::Rest, actions)
                }
                Then::Ended(Ended::Exited) => row(Exited, idle, false, Then::Rest, gone),
                Then::Ended(Ended::Failed) => row(Failed, idle, false, Then::Rest, gone),
                Then::Ended(Ended::RestartAfter(delay)) if delay.is_zero() => {
                    let (phase, actions) = start(history, gone);
                    row(Starting, phase, wanted, Then::Rest, actions)
                }
                Then::Ended(Ended::RestartAfter(delay)) => row(
                    Backoff,
                    idle,
                    wanted,
                    Then::Rest,
                    [gone, vec![ArmTimer(delay)]].concat(),
                ),
            }
        }
        (_, Event::GroupGone) => row(state, phase, wanted, then, vec![]),

        // Timers.
        (Stopping, Event::Timer) => row(Stopping, phase, wanted, then, vec![KillGroup]),
        // A program that never got ready: stopped, then handled as a failed start.
        (Starting, Event::Timer) => ended(
            LastExit::Unknown,
            Duration::ZERO,
            history,
            vec![NotReady {
                finding_main: phase == Phase::FindingMain,
            }],
            runs,
        ),
        (Backoff, Event::Timer) => {
            let (phase, actions) = start(history, vec![CancelTimer]);
            row(Starting, phase, wanted, then, actions)
        }
        (Starting, Event::StartFailed) => {
            ended(LastExit::Unknown, Duration::ZERO, history, vec![], runs)
        }
        (_, Event::StartFailed) => row(state, phase, wanted, then, vec![]),
        (_, Event::Timer) => row(state, phase, wanted, then, vec![]),
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
            prepare: false,
            start_pre: 0,
            start_post: 0,
            stop_commands: 0,
        }
    }

    /// `state`, wanted, nothing to follow.
    fn at(state: UnitState) -> Lifecycle {
        Lifecycle {
            state,
            phase: match state {
                Starting => Phase::Program,
                Stopping => Phase::Signalled,
                _ => Phase::Idle,
            },
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
            (Starting, vec![ResetRestarts, SpawnProgram])
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
        assert!(actions.contains(&CountRestart) && actions.ends_with(&[SpawnProgram]));
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
        assert_eq!(history.starts.len(), 1, "counted again from this start");
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
            (Starting, vec![CancelTimer, SpawnProgram])
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
            [
                ResetRestarts,
                SpawnProgram,
                ArmTimer(Duration::from_secs(2))
            ]
        );
        // It gets the stop signal, then SIGKILL after the stop timeout, and is a failed
        // start once nothing of it is left.
        let t = transition(at(Starting), Event::Timer, &policy, &mut history, now).unwrap();
        assert_eq!(
            (t.next.state, t.actions),
            (
                Stopping,
                vec![
                    NotReady {
                        finding_main: false
                    },
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
                phase: Phase::Signalled,
                wanted: true,
                then: Then::Start
            }
        );
        assert_eq!(rows[2].state, Starting);
        assert_eq!(rows[2].then, Then::Rest);
        assert!(
            actions.ends_with(&[CancelTimer, ClearGroup, SpawnProgram]),
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
            phase: Phase::Signalled,
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
        assert!(!actions.contains(&SpawnProgram));
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
        assert!(!actions.contains(&SpawnProgram), "{actions:?}");
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
            !actions.contains(&SpawnProgram),
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
        assert!(!actions.contains(&SpawnProgram));
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
        assert!(actions.ends_with(&[SpawnProgram]));
    }

    #[test]
    fn a_reload_command_is_reloading_until_it_ends() {
        let mut policy = policy(Restart::Never, 100);
        policy.reload_by_command = true;
        let ended = Event::CommandEnded {
            command: ControlCommand::Reload,
            exit: LastExit::Code(0),
        };
        let (rows, actions) = run(at(Running), &[Event::Reload, Event::Reload, ended], &policy);
        assert_eq!(
            rows.iter().map(|row| row.state).collect::<Vec<_>>(),
            [Running, Reloading, Reloading, Running]
        );
        assert_eq!(
            actions,
            [RunCommand(ControlCommand::Reload)],
            "one command at a time"
        );
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

    /// A policy with every step: preparation, `pre` pre-start, `post` post-start and `stops`
    /// stop commands.
    fn with_commands(pre: usize, post: usize, stops: usize) -> Policy {
        Policy {
            prepare: true,
            start_pre: pre,
            start_post: post,
            stop_commands: stops,
            ..policy(Restart::OnFailure, 100)
        }
    }

    fn ended(command: ControlCommand, code: i32) -> Event {
        Event::CommandEnded {
            command,
            exit: LastExit::Code(code),
        }
    }

    #[test]
    fn a_start_prepares_waits_for_its_dependencies_then_runs_its_pre_start_commands_in_order() {
        let policy = with_commands(2, 0, 0);
        let (rows, actions) = run(
            Lifecycle::STOPPED,
            &[
                Event::Start,
                Event::DependenciesSettled,
                ended(ControlCommand::StartPre(0), 0),
                ended(ControlCommand::StartPre(1), 0),
                Event::Ready,
            ],
            &policy,
        );
        let phases: Vec<Phase> = rows.iter().map(|row| row.phase).collect();
        assert_eq!(
            phases,
            [
                Phase::Idle,
                Phase::Dependencies,
                Phase::PreStart(0),
                Phase::PreStart(1),
                Phase::Program,
                Phase::Idle
            ]
        );
        assert_eq!(rows[5].state, Running);
        assert_eq!(
            actions,
            [
                ResetRestarts,
                Prepare,
                RunCommand(ControlCommand::StartPre(0)),
                RunCommand(ControlCommand::StartPre(1)),
                SpawnProgram,
                CancelTimer
            ]
        );
        // Settled twice (a late word) starts nothing twice.
        let (_, actions) = run(
            Lifecycle::STOPPED,
            &[
                Event::Start,
                Event::DependenciesSettled,
                Event::DependenciesSettled,
            ],
            &policy,
        );
        assert_eq!(
            actions
                .iter()
                .filter(|a| matches!(a, RunCommand(_)))
                .count(),
            1
        );
    }

    #[test]
    fn a_failed_pre_start_command_is_the_start_s_end_and_the_policy_decides() {
        let policy = with_commands(2, 0, 1);
        let (rows, actions) = run(
            Lifecycle::STOPPED,
            &[
                Event::Start,
                Event::DependenciesSettled,
                ended(ControlCommand::StartPre(0), 3),
                Event::GroupGone,
            ],
            &policy,
        );
        assert_eq!((rows[3].state, rows[3].phase), (Stopping, Phase::Signalled));
        assert!(actions.contains(&CommandFailed(
            ControlCommand::StartPre(0),
            LastExit::Code(3)
        )));
        // No program ran: no stop command, no second pre-start command, no program.
        assert!(!actions.contains(&RunCommand(ControlCommand::Stop(0))));
        assert!(!actions.contains(&RunCommand(ControlCommand::StartPre(1))));
        assert!(!actions.contains(&SpawnProgram));
        assert_eq!(rows[4].state, Backoff, "on-failure restarts it");
    }

    #[test]
    fn post_start_commands_run_once_it_is_ready_and_it_runs_once_they_succeeded() {
        let policy = with_commands(0, 2, 0);
        let start = [Event::Start, Event::DependenciesSettled, Event::Ready];
        let (rows, actions) = run(
            Lifecycle::STOPPED,
            &[
                &start[..],
                &[
                    // A second word of readiness does not skip them.
                    Event::Ready,
                    ended(ControlCommand::StartPost(0), 0),
                    ended(ControlCommand::StartPost(1), 0),
                ],
            ]
            .concat(),
            &policy,
        );
        assert_eq!(
            (rows[3].state, rows[3].phase),
            (Starting, Phase::PostStart(0))
        );
        assert_eq!(
            (rows[4].state, rows[4].phase),
            (Starting, Phase::PostStart(0))
        );
        assert_eq!(
            (rows[5].state, rows[5].phase),
            (Starting, Phase::PostStart(1))
        );
        assert_eq!(rows[6].state, Running);
        assert!(actions.ends_with(&[RunCommand(ControlCommand::StartPost(1)), CancelTimer]));
        // One that fails stops the program: a failed start.
        let (rows, actions) = run(
            Lifecycle::STOPPED,
            &[&start[..], &[ended(ControlCommand::StartPost(0), 1)]].concat(),
            &policy,
        );
        assert_eq!((rows[4].state, rows[4].phase), (Stopping, Phase::Signalled));
        assert!(actions.contains(&CommandFailed(
            ControlCommand::StartPost(0),
            LastExit::Code(1)
        )));
        assert!(actions.contains(&SignalStop));
    }

    #[test]
    fn stop_commands_run_in_order_before_the_signal_only_while_the_program_runs() {
        let policy = with_commands(0, 0, 2);
        let (rows, actions) = run(
            at(Running),
            &[
                Event::Stop,
                ended(ControlCommand::Stop(0), 1),
                ended(ControlCommand::Stop(1), 0),
                Event::GroupGone,
            ],
            &policy,
        );
        assert_eq!(rows[1].phase, Phase::StopCommand(0));
        assert_eq!(
            rows[2].phase,
            Phase::StopCommand(1),
            "its status does not matter"
        );
        assert_eq!(rows[3].phase, Phase::Signalled);
        assert_eq!(rows[4].state, Stopped);
        let sent: Vec<Action> = actions
            .into_iter()
            .filter(|a| matches!(a, RunCommand(_) | SignalStop))
            .collect();
        assert_eq!(
            sent,
            [
                RunCommand(ControlCommand::Stop(0)),
                RunCommand(ControlCommand::Stop(1)),
                SignalStop
            ]
        );
        // The program gone (a crash), or not yet started (a pre-start command), or its
        // daemon not yet found: the stop signal alone.
        let (rows, _) = run(at(Running), &[crash(5)], &policy);
        assert_eq!(rows[1].phase, Phase::Signalled);
        let pre = Lifecycle {
            phase: Phase::PreStart(0),
            ..at(Starting)
        };
        let finding = Lifecycle {
            phase: Phase::FindingMain,
            ..at(Starting)
        };
        for life in [pre, finding] {
            let (rows, actions) = run(life, &[Event::Stop], &policy);
            assert_eq!(rows[1].phase, Phase::Signalled, "{life:?}");
            assert!(actions.contains(&SignalStop));
        }
        // A program that never got ready still runs: its stop commands run.
        let mut policy = policy;
        policy.ready_timeout = Some(Duration::from_secs(1));
        let (rows, _) = run(at(Starting), &[Event::Timer], &policy);
        assert_eq!(rows[1].phase, Phase::StopCommand(0));
    }

    #[test]
    fn a_forking_daemon_not_found_is_said_so_and_a_stop_meanwhile_does_not_wait_for_it() {
        let mut policy = policy(Restart::Never, 100);
        policy.service_type = ServiceType::Forking;
        policy.ready_timeout = Some(Duration::from_secs(5));
        let clean = Event::Exited {
            exit: LastExit::Code(0),
            uptime: Duration::ZERO,
        };
        let (rows, actions) = run(at(Starting), &[clean, Event::Timer], &policy);
        assert_eq!(rows[1].phase, Phase::FindingMain);
        assert!(actions.contains(&NotReady { finding_main: true }));
        let (rows, _) = run(
            at(Starting),
            &[clean, Event::Stop, Event::GroupGone],
            &policy,
        );
        assert_eq!(rows[3], Lifecycle::STOPPED);
        // Once it runs, its daemon's exit 0 is not a launcher's.
        let post = Lifecycle {
            phase: Phase::PostStart(0),
            ..at(Starting)
        };
        let (rows, actions) = run(post, &[clean], &policy);
        assert_eq!(rows[1].state, Stopping);
        assert!(!actions.contains(&FindMainPid));
    }

    #[test]
    fn adopt_restores_the_recorded_row_and_does_nothing() {
        let policy = policy(Restart::Always, 100);
        let adopt = |recorded, wanted, alive| {
            let event = Event::Adopt {
                recorded,
                wanted,
                alive,
            };
            transition(
                Lifecycle::STOPPED,
                event,
                &policy,
                &mut History::default(),
                Instant::now(),
            )
            .unwrap()
        };
        for (recorded, alive, state) in [
            (Running, true, Running),
            (Starting, true, Running),
            (Stopping, true, Running),
            (Paused, true, Paused),
            (Running, false, Stopped),
            (Failed, false, Failed),
            (Exited, false, Exited),
            (Backoff, false, Stopped),
        ] {
            for wanted in [false, true] {
                let t = adopt(recorded, wanted, alive);
                assert_eq!(
                    (t.next.state, t.next.phase, t.next.wanted, t.actions.len()),
                    (state, Phase::Idle, wanted, 0),
                    "{recorded} alive {alive}"
                );
            }
        }
        // A service already loaded is not rewritten by a late record.
        let t = transition(
            at(Running),
            Event::Adopt {
                recorded: Failed,
                wanted: false,
                alive: false,
            },
            &policy,
            &mut History::default(),
            Instant::now(),
        )
        .unwrap();
        assert_eq!(t.next, at(Running));
    }

    mod properties {
        //! The machine against a simulated world of processes: random requests and happenings,
        //! each delivered only when the world allows it (an exit only of a live program, a
        //! command's end only of a running command, GroupGone only when nothing is left).

        use super::*;
        use proptest::prelude::*;

        /// What may happen next.
        #[derive(Debug, Clone, Copy)]
        enum Stimulus {
            Request(Event),
            Ready,
            Reloading,
            SaysStopping,
            Exit(i32, u64),
            CommandEnds(i32),
            LeftoversDie,
            Settled,
            DependencyMissing,
            Timer,
        }

        fn stimulus() -> impl Strategy<Value = Stimulus> {
            prop_oneof![
                prop::sample::select(vec![
                    Event::Start,
                    Event::Stop,
                    Event::Restart,
                    Event::Pause,
                    Event::Continue,
                    Event::Reload,
                    Event::Shutdown,
                    Event::Recover,
                    Event::Forget,
                ])
                .prop_map(Stimulus::Request),
                Just(Stimulus::Ready),
                Just(Stimulus::Reloading),
                Just(Stimulus::SaysStopping),
                (0..3i32, 0..20_000u64).prop_map(|(code, ms)| Stimulus::Exit(code, ms)),
                (0..2i32).prop_map(Stimulus::CommandEnds),
                Just(Stimulus::LeftoversDie),
                Just(Stimulus::Settled),
                Just(Stimulus::DependencyMissing),
                Just(Stimulus::Timer),
            ]
        }

        fn any_policy() -> impl Strategy<Value = Policy> {
            (
                prop::sample::select(vec![Restart::Never, Restart::OnFailure, Restart::Always]),
                prop::sample::select(vec![
                    ServiceType::Exec,
                    ServiceType::Notify,
                    ServiceType::Forking,
                    ServiceType::Oneshot,
                ]),
                (0..3usize, 0..3usize, 0..3usize),
                any::<bool>(),
                any::<bool>(),
                0..4u32,
            )
                .prop_map(
                    |(restart, service_type, (pre, post, stops), prepare, by_command, limit)| {
                        let mut policy = policy(restart, 100);
                        policy.service_type = service_type;
                        policy.ready_timeout =
                            (service_type != ServiceType::Exec).then_some(Duration::from_secs(2));
                        policy.restart.limit = limit;
                        policy.reload_by_command = by_command;
                        policy.prepare = prepare;
                        policy.start_pre = pre;
                        policy.start_post = post;
                        policy.stop_commands = stops;
                        policy
                    },
                )
        }

        /// The processes of one service, as an executor would see them.
        #[derive(Debug, Default)]
        struct World {
            /// The main process lives.
            program: bool,
            /// Other processes of the service live.
            leftovers: bool,
            /// Control commands running.
            commands: Vec<ControlCommand>,
            timer: bool,
            /// A Prepare was asked and not yet answered.
            preparing: bool,
            /// A forking daemon is being looked for.
            finding: bool,
            forgotten: bool,
        }

        impl World {
            fn empty(&self) -> bool {
                !self.program && !self.leftovers && self.commands.is_empty()
            }

            /// The event `stimulus` makes, if the world allows it now.
            fn event(&mut self, stimulus: Stimulus, life: Lifecycle) -> Option<Event> {
                Some(match stimulus {
                    Stimulus::Request(event) => event,
                    Stimulus::Ready if self.finding && life.phase == Phase::FindingMain => {
                        self.finding = false;
                        self.program = true;
                        self.leftovers = false;
                        Event::Ready
                    }
                    Stimulus::Ready if self.program => Event::Ready,
                    Stimulus::Reloading if self.program => Event::Reloading,
                    Stimulus::SaysStopping if self.program => Event::Stopping,
                    Stimulus::Exit(code, ms) if self.program => {
                        self.program = false;
                        // A forking launcher leaves its daemon.
                        self.leftovers |= code == 0;
                        Event::Exited {
                            exit: LastExit::Code(code),
                            uptime: Duration::from_millis(ms),
                        }
                    }
                    Stimulus::CommandEnds(code) if !self.commands.is_empty() => {
                        Event::CommandEnded {
                            command: self.commands.remove(0),
                            exit: LastExit::Code(code),
                        }
                    }
                    Stimulus::LeftoversDie if self.leftovers && !self.finding => {
                        self.leftovers = false;
                        return None;
                    }
                    Stimulus::Settled if self.preparing => {
                        self.preparing = false;
                        Event::DependenciesSettled
                    }
                    Stimulus::DependencyMissing if self.preparing => {
                        self.preparing = false;
                        Event::StartFailed
                    }
                    Stimulus::Timer if self.timer => {
                        self.timer = false;
                        Event::Timer
                    }
                    _ if self.empty() && life.state == UnitState::Stopping => Event::GroupGone,
                    _ => return None,
                })
            }

            /// Carries out `actions`, checking what must never happen.
            fn carry_out(&mut self, actions: &[Action], next: Lifecycle, policy: &Policy) {
                for (i, action) in actions.iter().enumerate() {
                    assert!(!self.forgotten, "an action after Forget: {actions:?}");
                    match *action {
                        Action::SpawnProgram => {
                            assert!(!self.program, "two main processes: {actions:?}");
                            assert!(
                                !self.leftovers,
                                "a new program beside the old one's leftovers"
                            );
                            self.program = true;
                        }
                        Action::RunCommand(command) => self.commands.push(command),
                        Action::KillGroup => {
                            self.program = false;
                            self.leftovers = false;
                            self.commands.clear();
                        }
                        Action::ArmTimer(after) => {
                            if next.state == UnitState::Backoff {
                                assert!(after <= policy.restart.max_delay, "{after:?}");
                            }
                            self.timer = true;
                        }
                        Action::CancelTimer => self.timer = false,
                        Action::Prepare => self.preparing = true,
                        Action::FindMainPid => self.finding = true,
                        Action::Forget => {
                            assert_eq!(i, actions.len() - 1, "Forget is the last action");
                            assert_eq!(next.state, UnitState::Stopped);
                            self.forgotten = true;
                        }
                        _ => {}
                    }
                }
                // An answer nobody will read any more.
                if next.phase != Phase::Dependencies {
                    self.preparing = false;
                }
                if next.phase != Phase::FindingMain {
                    self.finding = false;
                }
            }
        }

        /// Feeds `event`, checking the row it makes.
        fn step(
            world: &mut World,
            life: Lifecycle,
            event: Event,
            policy: &Policy,
            history: &mut History,
        ) -> Lifecycle {
            let Ok(t) = transition(life, event, policy, history, Instant::now()) else {
                return life;
            };
            assert!(
                t.next.phase.belongs_to(t.next.state),
                "{:?} in {} after {event:?}",
                t.next.phase,
                t.next.state
            );
            world.carry_out(&t.actions, t.next, policy);
            if !t.next.state.has_process() && t.next.state != UnitState::Starting {
                assert!(
                    !world.program && world.commands.is_empty(),
                    "{} while its processes live: {world:?}",
                    t.next.state
                );
            }
            t.next
        }

        proptest! {
            #[test]
            fn the_machine_keeps_its_promises_whatever_happens(
                policy in any_policy(),
                stimuli in prop::collection::vec(stimulus(), 0..80),
            ) {
                let mut world = World::default();
                let mut history = History::default();
                let mut life = Lifecycle::STOPPED;
                for stimulus in stimuli {
                    if world.forgotten {
                        break;
                    }
                    if let Some(event) = world.event(stimulus, life) {
                        life = step(&mut world, life, event, &policy, &mut history);
                    }
                }
                if world.forgotten {
                    return Ok(());
                }
                // A stop always ends, in a world where a stop signal and SIGKILL work.
                life = step(&mut world, life, Event::Stop, &policy, &mut history);
                for _ in 0..64 {
                    if matches!(
                        life.state,
                        UnitState::Stopped | UnitState::Failed | UnitState::Exited
                    ) {
                        break;
                    }
                    let event = if let Some(command) = world.commands.first().copied() {
                        world.commands.remove(0);
                        Event::CommandEnded { command, exit: LastExit::Code(0) }
                    } else if world.program {
                        world.program = false;
                        Event::Exited { exit: LastExit::Signal(15), uptime: Duration::ZERO }
                    } else if world.timer {
                        world.timer = false;
                        Event::Timer
                    } else {
                        world.leftovers = false;
                        Event::GroupGone
                    };
                    life = step(&mut world, life, event, &policy, &mut history);
                }
                prop_assert!(
                    matches!(life.state, UnitState::Stopped | UnitState::Failed | UnitState::Exited),
                    "a stop did not end: {life:?} {world:?}"
                );
                prop_assert!(!life.wanted);
            }
        }
    }
}
