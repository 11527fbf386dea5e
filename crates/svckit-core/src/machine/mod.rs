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
//! | listening     | start → starting    | –                    | start → starting      | forget               | –                               | –                   | –                |
//!
//! On demand (a service with sockets, [`Policy::on_demand`]): its sockets bound, a stopped
//! one listens ([`Event::Listen`]); a connection ([`Event::Activated`]) starts it as a start
//! does; where it would rest stopped or exited once nothing of it runs, it listens again, and
//! a stop of a failed one too. Its sockets are watched exactly while it listens
//! ([`Action::AwaitConnection`], [`Action::IgnoreConnections`]): the program takes its
//! connections while it runs, and those that come meanwhile wait in the sockets' queues.
//!
//! Health ([`crate::health`]): with a readiness probe, a program ready by its own word
//! (exec'd, READY=1, its daemon found) waits at [`Phase::Probing`] until the probe's verdict
//! is healthy ([`Event::Verdict`]), bounded by the ready timeout as any start. A liveness
//! verdict of unhealthy while it runs is decided as its definition says: restart (stopped,
//! then as a failed exit, the restart policy and its backoff deciding), stop (not wanted any
//! more), or none (told only). A probe runs exactly where [`probes`] says, which the machine
//! keeps by [`Action::Probe`] and [`Action::Unprobe`] as rows enter and leave it (liveness
//! pauses while the service is paused).
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
use crate::{
    Restart, RestartPolicy, ServiceType,
    health::{OnUnhealthy, Role},
};
use serde::{Deserialize, Serialize};

mod told;
pub use told::{StopWhy, Told, Words, ran};

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
    /// Not running; its sockets are bound and the first connection (or datagram) starts it.
    Listening,
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
            UnitState::Listening => "listening",
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
    /// Starting: the program is ready by its own word (exec'd, READY=1, its daemon found) and
    /// its readiness probe runs; the start goes on once the probe passes.
    Probing,
    /// Starting: its program is ready; its post-start command of this index runs.
    PostStart(usize),
    /// Stopping: its stop command of this index runs; the stop signal follows the last.
    StopCommand(usize),
    /// Stopping: the stop signal was sent (or the main process ended); what is left is
    /// waited for.
    Signalled,
    /// Stopping: the program said it stops (STOPPING=1); its exit is waited for.
    OnItsOwn,
    /// Stopping: nothing of it is left; its post-stop command of this index runs.
    StopPost(usize),
    /// Running: its watchdog went unfed and it was killed as hung; its exit is a watchdog's.
    Hung,
}

impl Phase {
    /// Whether `self` is a step of `state` (a property of every row the machine makes).
    pub const fn belongs_to(self, state: UnitState) -> bool {
        match self {
            Phase::Idle => !matches!(state, UnitState::Starting | UnitState::Stopping),
            Phase::Hung => matches!(state, UnitState::Running | UnitState::Reloading),
            Phase::Dependencies
            | Phase::PreStart(_)
            | Phase::Program
            | Phase::FindingMain
            | Phase::Probing
            | Phase::PostStart(_) => matches!(state, UnitState::Starting),
            Phase::StopCommand(_) | Phase::Signalled | Phase::OnItsOwn | Phase::StopPost(_) => {
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
    /// Its post-stop command of this index (`exec_stop_post`).
    StopPost(usize),
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
            ControlCommand::StopPost(_) => "exec_stop_post",
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
    /// Its watchdog went unfed (no WATCHDOG=1 in time): it is hung, killed, and its end is
    /// decided on as a watchdog's.
    Hung,
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
    /// Its sockets are bound (on-demand services): it listens for a connection, unless it
    /// runs already.
    Listen,
    /// The running on-demand service has had no connection for its idle time: it stops, and
    /// listens again.
    Idle,
    /// A connection (or a datagram) arrived on a socket of the listening service: it starts.
    Activated {
        /// Which of its listeners (the index in its definition).
        listener: usize,
    },
    /// A probe's verdict changed ([`crate::health::Tracker`]): its successes in a row reached
    /// its success threshold (`healthy`), or its failures its failure threshold.
    Verdict {
        /// Which probe.
        role: Role,
        /// Healthy (readiness: ready), or unhealthy.
        healthy: bool,
        /// How long its main process has run (an unhealthy one's run counts for the
        /// backoff's reset as an exit's does).
        uptime: Duration,
    },
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
    /// Kill a hung program as systemd does: SIGABRT to its main process, SIGKILL to the rest.
    KillHung,
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
    /// Write this line in the event log ([`Told::words`]).
    Tell(Told),
    /// Watch the service's sockets (which stay bound all along) and say
    /// [`Event::Activated`] at the first connection or datagram, once.
    AwaitConnection,
    /// Stop watching its sockets: the program takes its connections.
    IgnoreConnections,
    /// Accept every connection waiting on this listener (its index), each run by an
    /// instance of the program or, beyond the limits, closed; its sockets stay watched.
    AcceptConnections {
        /// Which listener.
        listener: usize,
    },
    /// Run this probe (after its initial delay, every period, each check bounded by its
    /// timeout) and say [`Event::Verdict`] when its verdict changes. Said when the service's
    /// row enters where the probe runs: readiness while starting at [`Phase::Probing`],
    /// liveness while running or reloading.
    Probe(Role),
    /// Stop running this probe (and forget its results): the row left where it runs.
    Unprobe(Role),
    /// Record how the service last ended: its main process's exit, or its start's failure
    /// (status shows it; as PID 1 the supervisor exits with it). A forking program's launcher
    /// that exited 0 handed over to its daemon, and is not recorded.
    RecordExit(LastExit),
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// How many post-stop commands it has.
    pub stop_post: usize,
    /// The commands whose failure is ignored (prefixed `-`): their end counts as success.
    pub failure_ignored: Vec<ControlCommand>,
    /// Whether its program's failure is ignored (prefixed `-`): every end counts as success.
    pub program_failure_ignored: bool,
    /// Whether what is left at the stop timeout is killed (without: waited for).
    pub send_sigkill: bool,
    /// Whether it is started on demand: it has sockets, bound while it does not run, and
    /// where it would rest stopped or exited it listens instead ([`UnitState::Listening`]).
    pub on_demand: bool,
    /// Whether each connection runs an instance of its own (the executor accepts): listening
    /// is then its running, a start listens, a stop ends the instances and listens no more.
    pub accept: bool,
    /// Whether it has a readiness probe: a start goes on only once it passes (the ready
    /// timeout bounds the wait).
    pub readiness_probe: bool,
    /// Whether it has a liveness probe, run while it runs.
    pub liveness_probe: bool,
    /// What follows a liveness verdict of unhealthy.
    pub on_unhealthy: OnUnhealthy,
}

impl Policy {
    /// Whether `exit` counts as success: exit code 0, or one of `success_exit`.
    pub fn succeeded(&self, exit: LastExit) -> bool {
        exit.success()
            || self.success_exit.iter().any(|m| m.matches(exit))
            || (self.program_failure_ignored && !matches!(exit, LastExit::SpawnFailed(_)))
    }

    /// Whether control command `command`, ended so, succeeded: exit code 0, or any end when
    /// its failure is ignored.
    pub fn command_succeeded(&self, command: ControlCommand, exit: LastExit) -> bool {
        exit.success() || self.failure_ignored.contains(&command)
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
        // Room for one at first, not four: most services start once, and a supervisor may
        // hold thousands of histories.
        if self.starts.capacity() == 0 {
            self.starts.reserve_exact(1);
        }
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

/// Where a probe runs: readiness while starting at [`Phase::Probing`], liveness while
/// running or reloading (not paused: a stopped process cannot answer).
pub const fn probes(life: &Lifecycle, role: Role) -> bool {
    match role {
        Role::Readiness => matches!(life.phase, Phase::Probing),
        Role::Liveness => matches!(life.state, UnitState::Running | UnitState::Reloading),
    }
}

/// The machine. `Err(Refused)` for requests the state cannot take (pause when not running).
///
/// A probe runs exactly where [`probes`] says: the cell's actions are followed by
/// [`Action::Probe`] when the row enters where a probe of the service runs, and by
/// [`Action::Unprobe`] when it leaves.
pub fn transition(
    life: Lifecycle,
    event: Event,
    policy: &Policy,
    history: &mut History,
    now: Instant,
) -> Result<Transition, Refused> {
    let mut transition = cell(life, event, policy, history, now)?;
    for (role, has) in [
        (Role::Readiness, policy.readiness_probe),
        (Role::Liveness, policy.liveness_probe),
    ] {
        match (has, probes(&life, role), probes(&transition.next, role)) {
            (true, false, true) => transition.actions.push(Action::Probe(role)),
            (true, true, false) => transition.actions.push(Action::Unprobe(role)),
            _ => {}
        }
    }
    Ok(transition)
}

/// The cell of the machine's table for (`life`, `event`).
fn cell(
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
    let stop = |state: UnitState, phase: Phase, why: StopWhy| {
        let (phase, first) = policy.stop_from(program_runs(state, phase));
        let commands = phase == Phase::StopCommand(0);
        let mut actions = vec![Tell(Told::Stopping { why, commands }), CancelTimer, first];
        if state == Paused {
            actions.push(Resume);
        }
        actions.push(ArmTimer(policy.stop_timeout));
        (phase, actions)
    };
    // Per connection, listening is running: a start listens (its sockets watched).
    let listen = |mut before: Vec<Action>| {
        before.extend([Tell(Told::Listening), AwaitConnection]);
        before
    };
    // Per connection, a stop ends the instances (the stop signal, then SIGKILL after the stop
    // timeout) and listens no more.
    let stop_instances = |why: StopWhy| {
        vec![
            IgnoreConnections,
            Tell(Told::Stopping {
                why,
                commands: false,
            }),
            SignalStop,
            ArmTimer(policy.stop_timeout),
        ]
    };
    // A stop of the machine's own (idle, unhealthy): not wanted any more, resting after it
    // (`before` told first).
    let stop_for_good = |why: StopWhy, mut before: Vec<Action>| {
        let (next, actions) = stop(state, phase, why);
        before.extend(actions);
        let then = if then == Then::Forget {
            Then::Forget
        } else {
            Then::Rest
        };
        row(Stopping, next, false, then, before)
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
                 program_runs: bool,
                 told: bool,
                 cause: Cause| {
        let (ended, actions) = after_exit(exit, cause, uptime, policy, history, now);
        let (phase, first) = policy.stop_from(program_runs);
        if told {
            before.push(RecordExit(exit));
            before.push(Tell(Told::Ended {
                exit,
                uptime,
                then: ended,
                succeeded: policy.succeeded(exit),
                crash_loop: actions.contains(&CrashLoop),
            }));
        }
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
    // Running once ready (told so), or the next post-start command.
    let running = |state: UnitState, action: Action| match state {
        Running => vec![Tell(Told::Running), action],
        _ => vec![action],
    };
    let idle = Phase::Idle;
    // Where it rests once nothing of it runs and it was not started again: stopped, or, on
    // demand, listening for the next connection (after `before`).
    let rest = |mut before: Vec<Action>| match policy.on_demand && !policy.accept {
        true => {
            before.extend([Tell(Told::Listening), AwaitConnection]);
            (Listening, before)
        }
        false => (Stopped, before),
    };
    // Nothing of it is left (and its post-stop commands ran): it settles as `then` says.
    let settle = |history: &mut History| {
        let gone = vec![CancelTimer, ClearGroup];
        let stopped = [vec![Tell(Told::Stopped)], gone.clone()].concat();
        match then {
            Then::Rest | Then::OwnExit => {
                let (state, actions) = rest(stopped);
                row(state, idle, wanted && state == Stopped, Then::Rest, actions)
            }
            Then::Forget => row(
                Stopped,
                idle,
                false,
                Then::Rest,
                [stopped, vec![Forget]].concat(),
            ),
            Then::Start => {
                *history = History::default();
                let (phase, actions) = start(history, gone);
                row(Starting, phase, true, Then::Rest, actions)
            }
            Then::Ended(Ended::Exited) if policy.on_demand => {
                let (state, actions) = rest(gone);
                row(state, idle, false, Then::Rest, actions)
            }
            Then::Ended(Ended::Exited) => {
                let told = [vec![Tell(Told::Settled(Exited))], gone].concat();
                row(Exited, idle, false, Then::Rest, told)
            }
            Then::Ended(Ended::Failed) => {
                let told = [vec![Tell(Told::Settled(Failed))], gone].concat();
                row(Failed, idle, false, Then::Rest, told)
            }
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
    };
    match (state, event) {
        // Per connection: listening is its running; instances come and go beside the machine.
        (
            Stopped | Exited | Failed,
            Event::Start | Event::Recover | Event::Restart | Event::Listen,
        ) if policy.accept => {
            let wanted = wanted || event != Event::Listen;
            row(Listening, idle, wanted, Then::Rest, listen(vec![]))
        }
        (Listening, Event::Start | Event::Recover | Event::Listen) if policy.accept => {
            row(Listening, idle, true, then, vec![])
        }
        (Listening, Event::Activated { listener }) if policy.accept => row(
            Listening,
            idle,
            wanted,
            then,
            vec![AcceptConnections { listener }],
        ),
        (Listening, Event::Stop | Event::Restart | Event::Forget | Event::Shutdown)
            if policy.accept =>
        {
            let (wanted, then, why) = match event {
                Event::Stop => (false, Then::Rest, StopWhy::Asked),
                Event::Restart => (true, Then::Start, StopWhy::Restarting),
                Event::Forget => (false, Then::Forget, StopWhy::Uninstalling),
                _ => (wanted, Then::Rest, StopWhy::SupervisorEnds),
            };
            row(
                Stopping,
                Phase::Signalled,
                wanted,
                then,
                stop_instances(why),
            )
        }
        (Stopping, Event::GroupGone) if policy.accept && then == Then::Start => {
            let gone = vec![Tell(Told::Stopped), CancelTimer, ClearGroup];
            row(Listening, idle, true, Then::Rest, listen(gone))
        }
        // Starts: by request (restarts counted from 0), by a new supervisor, by a restart.
        (
            Stopped | Exited | Failed | Backoff | Listening,
            Event::Start | Event::Recover | Event::Restart,
        ) => {
            let mut before = match state {
                Listening => vec![IgnoreConnections],
                _ => vec![],
            };
            match event {
                Event::Start => before.push(Tell(Told::Starting)),
                Event::Recover => before.push(Tell(Told::StartingByRecord)),
                _ => {}
            }
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
            let (phase, actions) = stop(state, phase, StopWhy::Restarting);
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
            let (wanted, then, why) = match event {
                Event::Stop => (false, unless_forgotten(Then::Rest), StopWhy::Asked),
                Event::Forget => (false, Then::Forget, StopWhy::Uninstalling),
                _ => (
                    wanted,
                    unless_forgotten(Then::Rest),
                    StopWhy::SupervisorEnds,
                ),
            };
            let (phase, actions) = stop(state, phase, why);
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
        // Its sockets were removed from its definition: it no longer listens.
        (Listening, Event::Stop) if !policy.on_demand => row(
            Stopped,
            idle,
            false,
            Then::Rest,
            vec![IgnoreConnections, Tell(Told::Stopped)],
        ),
        (Listening, Event::Stop | Event::Shutdown) => row(Listening, idle, false, then, vec![]),
        (Listening, Event::Forget) => row(
            Stopped,
            idle,
            false,
            Then::Rest,
            vec![IgnoreConnections, Forget],
        ),
        (Backoff, Event::Stop) => {
            let (state, actions) = rest(vec![CancelTimer]);
            row(state, idle, false, Then::Rest, actions)
        }
        (Backoff, Event::Shutdown) => row(Stopped, idle, wanted, Then::Rest, vec![CancelTimer]),
        (Backoff, Event::Forget) => {
            row(Stopped, idle, false, Then::Rest, vec![CancelTimer, Forget])
        }
        // On demand, a stop of what ran (and settled) listens again; one never bound stays so.
        (Exited | Failed, Event::Stop) if policy.on_demand => {
            let (state, actions) = rest(vec![]);
            row(state, idle, false, Then::Rest, actions)
        }
        (Stopped | Exited | Failed, Event::Stop) => row(Stopped, idle, false, Then::Rest, vec![]),
        (Stopped | Exited | Failed, Event::Shutdown) => row(state, phase, wanted, then, vec![]),
        (Stopped | Exited | Failed, Event::Forget) => {
            row(Stopped, idle, false, Then::Rest, vec![Forget])
        }

        // Controls of a running service.
        (Running, Event::Pause) => row(
            Paused,
            idle,
            wanted,
            then,
            vec![Tell(Told::Paused), Suspend],
        ),
        (Paused, Event::Pause) => row(Paused, idle, wanted, then, vec![]),
        (Paused, Event::Continue) => row(
            Running,
            idle,
            wanted,
            then,
            vec![Tell(Told::Continued), Resume],
        ),
        (Running | Reloading, Event::Continue) => row(state, phase, wanted, then, vec![]),
        // A reload command runs to its end (reloading meanwhile; one at a time); a signal is
        // sent, and the program may say RELOADING=1 itself.
        (Running, Event::Reload) if policy.reload_by_command => row(
            Reloading,
            idle,
            wanted,
            then,
            vec![Tell(Told::Reloading), RunCommand(ControlCommand::Reload)],
        ),
        (Reloading, Event::Reload) if policy.reload_by_command => {
            row(Reloading, idle, wanted, then, vec![])
        }
        (Running | Reloading, Event::Reload) => row(
            state,
            idle,
            wanted,
            then,
            vec![Tell(Told::Reloading), SendReload],
        ),
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
        ) if phase == Phase::PreStart(index) => {
            match policy.command_succeeded(ControlCommand::StartPre(index), exit) {
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
                    true,
                    Cause::Exit,
                ),
            }
        }
        // Ready by its own word: its readiness probe has the last word, if it has one.
        (Starting, Event::Ready)
            if matches!(phase, Phase::Program | Phase::FindingMain) && policy.readiness_probe =>
        {
            row(Starting, Phase::Probing, wanted, then, vec![])
        }
        (Starting, Event::Ready | Event::Verdict { .. })
            if (matches!(phase, Phase::Program | Phase::FindingMain) && event == Event::Ready)
                || (phase == Phase::Probing
                    && matches!(
                        event,
                        Event::Verdict {
                            role: Role::Readiness,
                            healthy: true,
                            ..
                        }
                    )) =>
        {
            let mut before = match phase {
                Phase::Probing => vec![Tell(Told::Verdict {
                    role: Role::Readiness,
                    healthy: true,
                })],
                _ => vec![],
            };
            let (state, phase, action) = policy.post_start_from(0);
            before.extend(running(state, action));
            row(state, phase, wanted, then, before)
        }
        // A liveness verdict of unhealthy: what its definition says follows.
        (
            Running | Reloading,
            Event::Verdict {
                role: Role::Liveness,
                healthy: false,
                uptime,
            },
        ) => {
            let told = Tell(Told::Verdict {
                role: Role::Liveness,
                healthy: false,
            });
            match policy.on_unhealthy {
                // As a program that failed: stopped, then decided on by the restart policy.
                OnUnhealthy::Restart => ended(
                    LastExit::Unknown,
                    uptime,
                    history,
                    vec![told],
                    true,
                    false,
                    Cause::Watchdog,
                ),
                OnUnhealthy::Stop => stop_for_good(StopWhy::Unhealthy, vec![told]),
                OnUnhealthy::None => row(state, phase, wanted, then, vec![told]),
            }
        }
        // Any other verdict is told (a liveness probe that passes again) or not, and changes
        // nothing.
        (
            Running | Reloading,
            Event::Verdict {
                role: Role::Liveness,
                healthy: true,
                ..
            },
        ) => row(
            state,
            phase,
            wanted,
            then,
            vec![Tell(Told::Verdict {
                role: Role::Liveness,
                healthy: true,
            })],
        ),
        (_, Event::Verdict { .. }) => row(state, phase, wanted, then, vec![]),
        (
            Starting,
            Event::CommandEnded {
                command: ControlCommand::StartPost(index),
                exit,
            },
        ) if phase == Phase::PostStart(index) => {
            match policy.command_succeeded(ControlCommand::StartPost(index), exit) {
                true => {
                    let (state, phase, action) = policy.post_start_from(index + 1);
                    row(state, phase, wanted, then, running(state, action))
                }
                // A failed start: the program is stopped.
                false => ended(
                    LastExit::Unknown,
                    Duration::ZERO,
                    history,
                    vec![CommandFailed(ControlCommand::StartPost(index), exit)],
                    true,
                    false,
                    Cause::Exit,
                ),
            }
        }
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
                exit,
            },
        ) => row(
            Running,
            idle,
            wanted,
            then,
            vec![Tell(Told::ReloadEnded(exit))],
        ),
        // Its status does not matter: the next post-stop command, or it settles.
        (
            Stopping,
            Event::CommandEnded {
                command: ControlCommand::StopPost(index),
                ..
            },
        ) if phase == Phase::StopPost(index) => match index + 1 < policy.stop_post {
            true => row(
                Stopping,
                Phase::StopPost(index + 1),
                wanted,
                then,
                vec![
                    CancelTimer,
                    RunCommand(ControlCommand::StopPost(index + 1)),
                    ArmTimer(policy.stop_timeout),
                ],
            ),
            false => settle(history),
        },
        (_, Event::CommandEnded { .. }) => row(state, phase, wanted, then, vec![]),

        // The program.
        (Reloading, Event::Ready) => row(Running, idle, wanted, then, vec![Tell(Told::Reloaded)]),
        (_, Event::Ready) => row(state, phase, wanted, then, vec![]),
        (Running, Event::Reloading) => row(
            Reloading,
            idle,
            wanted,
            then,
            vec![Tell(Told::ReloadingSaid)],
        ),
        (_, Event::Reloading) => row(state, phase, wanted, then, vec![]),
        // It stops on its own: given the stop timeout, and its exit decides what follows.
        (Starting | Running | Reloading, Event::Stopping) => row(
            Stopping,
            Phase::OnItsOwn,
            wanted,
            Then::OwnExit,
            vec![
                Tell(Told::StoppingItself),
                CancelTimer,
                ArmTimer(policy.stop_timeout),
            ],
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
        (Starting | Running, Event::Exited { exit, uptime })
            if policy.service_type == ServiceType::Oneshot && policy.succeeded(exit) =>
        {
            let done = Tell(Told::Ended {
                exit,
                uptime,
                then: Ended::Exited,
                succeeded: true,
                crash_loop: false,
            });
            let before = vec![
                RecordExit(exit),
                done,
                CancelTimer,
                SignalStop,
                ArmTimer(policy.stop_timeout),
            ];
            row(
                Stopping,
                Phase::Signalled,
                false,
                Then::Ended(Ended::Exited),
                before,
            )
        }
        (Starting | Running | Reloading | Paused, Event::Exited { exit, uptime }) => {
            let cause = match phase {
                Phase::Hung => Cause::Watchdog,
                _ => Cause::Exit,
            };
            ended(exit, uptime, history, vec![], false, true, cause)
        }
        (Stopping, Event::Exited { exit, uptime }) if then == Then::OwnExit => {
            ended(exit, uptime, history, vec![], false, true, Cause::Exit)
        }
        // An end during a stop (or after it): recorded, the stop goes on.
        (_, Event::Exited { exit, .. }) => row(state, phase, wanted, then, vec![RecordExit(exit)]),
        // Nothing of it is left: its post-stop commands run, one after another, then it
        // settles. (The group's end during them is theirs.)
        (Stopping, Event::GroupGone)
            if policy.stop_post > 0 && !matches!(phase, Phase::StopPost(_)) =>
        {
            row(
                Stopping,
                Phase::StopPost(0),
                wanted,
                then,
                // (Its cgroup and runtime directories stay theirs until it settles.)
                vec![
                    CancelTimer,
                    RunCommand(ControlCommand::StopPost(0)),
                    ArmTimer(policy.stop_timeout),
                ],
            )
        }
        (Stopping, Event::GroupGone) if matches!(phase, Phase::StopPost(_)) => {
            row(state, phase, wanted, then, vec![])
        }
        (Stopping, Event::GroupGone) => settle(history),
        (_, Event::GroupGone) => row(state, phase, wanted, then, vec![]),

        // Timers. Without SIGKILL, what is left is waited for, as long as it takes; a
        // post-stop command is always killed at its timeout.
        (Stopping, Event::Timer)
            if !policy.send_sigkill && !matches!(phase, Phase::StopPost(_)) =>
        {
            row(Stopping, phase, wanted, then, vec![Tell(Told::NotKilled)])
        }
        (Stopping, Event::Timer) => row(
            Stopping,
            phase,
            wanted,
            then,
            vec![Tell(Told::Killed), KillGroup],
        ),
        // A program that never got ready: stopped, then handled as a failed start.
        (Starting, Event::Timer) => ended(
            LastExit::Unknown,
            Duration::ZERO,
            history,
            vec![
                NotReady {
                    finding_main: phase == Phase::FindingMain,
                },
                Tell(Told::NotReady),
            ],
            runs,
            false,
            Cause::Timeout,
        ),
        (Backoff, Event::Timer) => {
            let (phase, actions) = start(history, vec![Tell(Told::Restarting), CancelTimer]);
            row(Starting, phase, wanted, then, actions)
        }
        (Starting, Event::StartFailed) => ended(
            LastExit::Unknown,
            Duration::ZERO,
            history,
            vec![],
            runs,
            false,
            Cause::Exit,
        ),
        // Its sockets could not be bound again: it cannot listen.
        (Listening, Event::StartFailed) => row(
            Failed,
            idle,
            false,
            Then::Rest,
            vec![IgnoreConnections, Tell(Told::Settled(Failed))],
        ),
        (_, Event::StartFailed) => row(state, phase, wanted, then, vec![]),
        // Hung: killed, its exit then decided on as a watchdog's.
        (Running | Reloading, Event::Hung) if phase != Phase::Hung => row(
            state,
            Phase::Hung,
            wanted,
            then,
            vec![Tell(Told::Hung), KillHung],
        ),
        (_, Event::Hung) => row(state, phase, wanted, then, vec![]),
        (_, Event::Timer) => row(state, phase, wanted, then, vec![]),

        // On demand: its sockets bound, it listens; a connection starts it.
        (Stopped | Exited, Event::Listen) if policy.on_demand => {
            let (state, actions) = rest(vec![]);
            row(state, idle, false, Then::Rest, actions)
        }
        (_, Event::Listen) => row(state, phase, wanted, then, vec![]),
        (Listening, Event::Activated { listener }) => {
            let before = vec![IgnoreConnections, Tell(Told::Activated { listener })];
            let (phase, actions) = start(history, before);
            row(Starting, phase, true, Then::Rest, actions)
        }
        (_, Event::Activated { .. }) => row(state, phase, wanted, then, vec![]),
        // Idle: stopped as by request; it rests listening.
        (Running, Event::Idle) if policy.on_demand && !policy.accept => {
            stop_for_good(StopWhy::Idle, vec![])
        }
        (_, Event::Idle) => row(state, phase, wanted, then, vec![]),
    }
}

/// What brought about the end of a service's run, beyond how its main process ended: the
/// restart policies that tell them apart (on-abnormal, on-watchdog) decide by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// Its main process ended (or a command of its start failed).
    Exit,
    /// It was not ready within its ready timeout.
    Timeout,
    /// Its watchdog went unfed, or its liveness probe found it unhealthy.
    Watchdog,
}

/// What a client of a request waits for before its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wait {
    /// Its request's event to be applied: answered at once.
    Applied,
    /// The service to run (or to fail to).
    Running,
    /// The service to be stopped.
    Stopped,
    /// The service to be forgotten: answered when it is gone.
    Forgotten,
    /// Its reload command to end.
    Reloaded,
}

/// The answer a waiting client gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// What it waited for came about.
    Done,
    /// It will not: the start failed (or a stop by request overtook it).
    StartFailed,
}

/// Whether a client waiting for `wait` is answered now that the service's row is `life`, and
/// how (None: it waits on). `last_exit` is how the service last ended. A Forgotten wait is
/// answered by the forget itself, a Reloaded one once the reload command's process is gone
/// (a stop may overtake the command, which is its failure): both the executor's to see.
pub fn verdict(
    wait: Wait,
    life: Lifecycle,
    policy: &Policy,
    last_exit: Option<LastExit>,
) -> Option<Verdict> {
    use UnitState::*;
    match wait {
        Wait::Applied => Some(Verdict::Done),
        Wait::Running => match life.state {
            Running | Reloading | Paused => Some(Verdict::Done),
            // Per connection, listening is running.
            Listening if policy.accept => Some(Verdict::Done),
            // A oneshot is started once it has done its work.
            Exited
                if policy.service_type == ServiceType::Oneshot
                    && last_exit.is_some_and(|exit| policy.succeeded(exit)) =>
            {
                Some(Verdict::Done)
            }
            Exited | Failed | Backoff | Listening => Some(Verdict::StartFailed),
            // Stopped while a start is still wanted (a restart between its stop and its
            // start) is on the way; stopped by request is not.
            Stopped if life.then != Then::Start && !life.wanted => Some(Verdict::StartFailed),
            _ => None,
        },
        Wait::Stopped => {
            matches!(life.state, Stopped | Exited | Failed | Listening).then_some(Verdict::Done)
        }
        Wait::Reloaded | Wait::Forgotten => None,
    }
}

/// The restart decision when the main process ended: not restarted (its policy), failed (it
/// cannot be run, or started too often within the window), or restarted after the backoff
/// delay (0: at once), with the actions that record it.
fn after_exit(
    exit: LastExit,
    cause: Cause,
    uptime: Duration,
    policy: &Policy,
    history: &mut History,
    now: Instant,
) -> (Ended, Vec<Action>) {
    use Action::*;
    let restart = &policy.restart;
    let prevented = policy.restart_prevent.iter().any(|m| m.matches(exit));
    // systemd's clean signals: how a service is usually asked to end.
    let clean_signal = matches!(exit, LastExit::Signal(1 | 2 | 13 | 15));
    let clean = cause == Cause::Exit && (policy.succeeded(exit) || clean_signal);
    let unclean_signal = matches!(exit, LastExit::Signal(_)) && !clean;
    let wanted = match restart.policy {
        _ if prevented => false,
        Restart::Never => false,
        Restart::OnFailure => !policy.succeeded(exit),
        Restart::Always => true,
        Restart::OnSuccess => clean,
        Restart::OnAbnormal => unclean_signal || cause != Cause::Exit,
        Restart::OnAbort => unclean_signal && cause == Cause::Exit,
        Restart::OnWatchdog => cause == Cause::Watchdog,
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
mod tests;
