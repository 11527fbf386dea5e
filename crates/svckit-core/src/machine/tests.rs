//! The machine's cells, one test each, and its promises as a property test.

use super::*;
use crate::ServiceSpec;
use crate::health::{OnUnhealthy, Role};
use Action::*;
use UnitState::*;

/// The machine without its event-log lines and its records of the last exit (each tested on
/// its own): the cells' work.
fn transition(
    life: Lifecycle,
    event: Event,
    policy: &Policy,
    history: &mut History,
    now: Instant,
) -> Result<Transition, Refused> {
    super::transition(life, event, policy, history, now).map(|mut t| {
        t.actions
            .retain(|action| !matches!(action, Tell(_) | RecordExit(_)));
        t
    })
}

/// The lines `events` make from `life`, in words, for `spec`.
fn told(life: Lifecycle, events: &[Event], policy: &Policy, spec: &ServiceSpec) -> Vec<String> {
    let mut history = History::default();
    let mut life = life;
    let mut lines = Vec::new();
    for event in events {
        let t = super::transition(life, *event, policy, &mut history, Instant::now()).unwrap();
        life = t.next;
        let words = Words {
            spec,
            restarts: 1,
            main_pid: crate::Pid::new(42),
            reason: None,
            stop: "SIGTERM",
            kill: "SIGKILL",
        };
        lines.extend(t.actions.iter().filter_map(|action| match action {
            Tell(told) => Some(told.words(&words)),
            _ => None,
        }));
    }
    lines
}

#[test]
fn the_event_log_s_lines_come_from_the_cells_that_decide_them() {
    let mut spec = ServiceSpec::new(crate::ServiceName::new("web").unwrap(), "/bin/web");
    spec.exec_stop = vec![vec!["/bin/web".into(), "stop".into()]];
    let mut policy = policy(Restart::OnFailure, 100);
    policy.stop_commands = 1;
    let lines = told(
        Lifecycle::STOPPED,
        &[
            Event::Start,
            Event::Ready,
            crash(5),
            Event::GroupGone,
            Event::Timer,
            Event::Ready,
            Event::Stop,
            ended(ControlCommand::Stop(0), 0),
            Event::Timer,
            Event::GroupGone,
        ],
        &policy,
        &spec,
    );
    assert_eq!(
        lines,
        [
            "starting",
            "running",
            "exited with exit code 1 after 5ms; restarting in 100ms (restart 2)",
            "restarting (restart 1)",
            "running",
            "stopping (asked to): exec_stop `/bin/web stop`, then SIGTERM to what is left",
            "still running 10s after SIGTERM: SIGKILL",
            "stopped",
        ]
    );
    // A pre-start command's failure is told as the start's end; a give-up, and what it
    // settles as.
    policy.start_pre = 1;
    policy.restart.limit = 1;
    spec.restart = policy.restart;
    let lines = told(
        Lifecycle::STOPPED,
        &[
            Event::Start,
            ended(ControlCommand::StartPre(0), 2),
            Event::GroupGone,
        ],
        &policy,
        &spec,
    );
    assert_eq!(
        lines,
        [
            "starting",
            "exited with exit code 2 after 0ms; gave up: started once within 1m, the start limit",
            "failed: nothing of it is left",
        ]
    );
}

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
        stop_post: 0,
        failure_ignored: Vec::new(),
        program_failure_ignored: false,
        send_sigkill: true,
        on_demand: false,
        accept: false,
        readiness_probe: false,
        liveness_probe: false,
        on_unhealthy: OnUnhealthy::Restart,
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

#[test]
fn every_end_is_recorded_but_a_forking_launcher_s_hand_over() {
    let records = |life: Lifecycle, events: &[Event], policy: &Policy| {
        let mut history = History::default();
        let mut life = life;
        let mut recorded = Vec::new();
        for event in events {
            let t = super::transition(life, *event, policy, &mut history, Instant::now()).unwrap();
            life = t.next;
            recorded.extend(t.actions.iter().filter_map(|action| match action {
                RecordExit(exit) => Some(*exit),
                _ => None,
            }));
        }
        recorded
    };
    let policy = with_commands(1, 0, 0);
    // A crash; an end during a stop (SIGKILL at its timeout); a failed pre-start command.
    assert_eq!(
        records(at(Running), &[crash(5)], &policy),
        [LastExit::Code(1)]
    );
    let killed = Event::Exited {
        exit: LastExit::Signal(9),
        uptime: Duration::ZERO,
    };
    assert_eq!(
        records(at(Running), &[Event::Stop, Event::Timer, killed], &policy),
        [LastExit::Signal(9)]
    );
    assert_eq!(
        records(
            Lifecycle::STOPPED,
            &[
                Event::Start,
                Event::DependenciesSettled,
                ended(ControlCommand::StartPre(0), 4)
            ],
            &policy
        ),
        [LastExit::Code(4)]
    );
    // A forking program's launcher exiting 0 is not how it ended; its daemon's end is.
    let mut forking = policy;
    forking.service_type = ServiceType::Forking;
    forking.start_pre = 0;
    let clean = Event::Exited {
        exit: LastExit::Code(0),
        uptime: Duration::ZERO,
    };
    assert_eq!(
        records(at(Starting), &[clean, Event::Ready, killed], &forking),
        [LastExit::Signal(9)]
    );
}

/// A policy of a service started on demand (it has sockets).
fn on_demand(restart: Restart) -> Policy {
    Policy {
        on_demand: true,
        ..policy(restart, 100)
    }
}

/// `life`, not wanted (a listening service is not asked to run).
fn resting(state: UnitState) -> Lifecycle {
    Lifecycle {
        wanted: false,
        ..at(state)
    }
}

#[test]
fn an_on_demand_service_listens_once_its_sockets_are_bound_and_a_connection_starts_it() {
    let policy = on_demand(Restart::Never);
    let mut history = History::default();
    let now = Instant::now();
    let t = transition(
        Lifecycle::STOPPED,
        Event::Listen,
        &policy,
        &mut history,
        now,
    )
    .unwrap();
    assert_eq!(
        (t.next.state, t.actions),
        (Listening, vec![AwaitConnection])
    );
    assert!(!t.next.wanted);
    let activated = Event::Activated { listener: 0 };
    let t = transition(t.next, activated, &policy, &mut history, now).unwrap();
    assert_eq!(
        (t.next.state, t.actions),
        (Starting, vec![IgnoreConnections, SpawnProgram]),
        "started as a start, restarts not counted from 0 again"
    );
    assert!(t.next.wanted);
    // A service without sockets never listens.
    let plain = super::tests::policy(Restart::Never, 100);
    let t = transition(Lifecycle::STOPPED, Event::Listen, &plain, &mut history, now).unwrap();
    assert_eq!((t.next.state, t.actions), (Stopped, vec![]));
    // Nor does one already running (a new supervisor adopted it).
    let t = transition(at(Running), Event::Listen, &policy, &mut history, now).unwrap();
    assert_eq!((t.next.state, t.actions), (Running, vec![]));
    // A connection is only taken while listening.
    let t = transition(at(Running), activated, &policy, &mut history, now).unwrap();
    assert_eq!((t.next.state, t.actions), (Running, vec![]));
}

#[test]
fn an_on_demand_service_that_ends_or_is_stopped_listens_again() {
    let policy = on_demand(Restart::OnFailure);
    let mut history = History::default();
    // Its own end, not restarted (exit 0 with on-failure).
    let done = Event::Exited {
        exit: LastExit::Code(0),
        uptime: Duration::from_secs(3),
    };
    let (life, actions) = settle(at(Running), done, &policy, &mut history);
    assert_eq!(life.state, Listening);
    assert_eq!(actions.last(), Some(&AwaitConnection));
    assert!(!life.wanted);
    // A stop by request.
    let now = Instant::now();
    let t = transition(at(Running), Event::Stop, &policy, &mut history, now).unwrap();
    let t = transition(t.next, Event::GroupGone, &policy, &mut history, now).unwrap();
    assert_eq!((t.next.state, t.next.wanted), (Listening, false));
    assert_eq!(t.actions.last(), Some(&AwaitConnection));
    // A crash is restarted as any other's, and a stop in the delay listens.
    let (life, _) = settle(at(Running), crash(50), &policy, &mut history);
    assert_eq!(life.state, Backoff);
    let t = transition(life, Event::Stop, &policy, &mut history, now).unwrap();
    assert_eq!(
        (t.next.state, t.actions),
        (Listening, vec![CancelTimer, AwaitConnection])
    );
    // Failed (a crash loop) takes no connection; a stop listens again.
    let t = transition(resting(Failed), Event::Stop, &policy, &mut history, now).unwrap();
    assert_eq!(
        (t.next.state, t.actions),
        (Listening, vec![AwaitConnection])
    );
    // One that was never bound stays stopped.
    let t = transition(resting(Stopped), Event::Stop, &policy, &mut history, now).unwrap();
    assert_eq!((t.next.state, t.actions), (Stopped, vec![]));
}

#[test]
fn requests_to_a_listening_service() {
    let policy = on_demand(Restart::Never);
    let mut history = History::default();
    let now = Instant::now();
    let listening = resting(Listening);
    let t = transition(listening, Event::Stop, &policy, &mut history, now).unwrap();
    assert_eq!((t.next, t.actions), (listening, vec![]));
    let t = transition(listening, Event::Shutdown, &policy, &mut history, now).unwrap();
    assert_eq!((t.next, t.actions), (listening, vec![]));
    let t = transition(listening, Event::Start, &policy, &mut history, now).unwrap();
    assert_eq!(
        (t.next.state, t.actions),
        (
            Starting,
            vec![IgnoreConnections, ResetRestarts, SpawnProgram]
        )
    );
    let t = transition(listening, Event::Forget, &policy, &mut history, now).unwrap();
    assert_eq!(
        (t.next.state, t.actions),
        (Stopped, vec![IgnoreConnections, Forget])
    );
    for refused in [Event::Pause, Event::Continue, Event::Reload] {
        assert_eq!(
            transition(listening, refused, &policy, &mut history, now),
            Err(Refused(Listening))
        );
    }
    // Its sockets could not be bound again: failed, and not watched.
    let t = transition(listening, Event::StartFailed, &policy, &mut history, now).unwrap();
    assert_eq!((t.next.state, t.actions), (Failed, vec![IgnoreConnections]));
    // Who waits for a stop is answered; who waits for a start is told it did not run.
    assert_eq!(
        verdict(Wait::Stopped, listening, &policy, None),
        Some(Verdict::Done)
    );
    assert_eq!(
        verdict(Wait::Running, listening, &policy, None),
        Some(Verdict::StartFailed)
    );
}

#[test]
fn per_connection_listening_is_running_and_a_stop_ends_the_instances() {
    let policy = Policy {
        accept: true,
        ..on_demand(Restart::Never)
    };
    let mut history = History::default();
    let now = Instant::now();
    // Bound at load, or started: it listens, and that is its running.
    let t = transition(
        Lifecycle::STOPPED,
        Event::Listen,
        &policy,
        &mut history,
        now,
    )
    .unwrap();
    assert_eq!(
        (t.next.state, t.actions),
        (Listening, vec![AwaitConnection])
    );
    let t = transition(Lifecycle::STOPPED, Event::Start, &policy, &mut history, now).unwrap();
    assert_eq!((t.next.state, t.next.wanted), (Listening, true));
    assert_eq!(
        verdict(Wait::Running, t.next, &policy, None),
        Some(Verdict::Done)
    );
    // Each connection is accepted, its sockets still watched; no program of its own.
    let listening = t.next;
    let t = transition(
        listening,
        Event::Activated { listener: 1 },
        &policy,
        &mut history,
        now,
    )
    .unwrap();
    assert_eq!(
        (t.next, t.actions),
        (listening, vec![AcceptConnections { listener: 1 }])
    );
    // A stop ends the instances and listens no more.
    let t = transition(listening, Event::Stop, &policy, &mut history, now).unwrap();
    assert_eq!(
        (t.next.state, t.actions),
        (
            Stopping,
            vec![
                IgnoreConnections,
                SignalStop,
                ArmTimer(Duration::from_secs(5))
            ]
        )
    );
    let t = transition(t.next, Event::GroupGone, &policy, &mut history, now).unwrap();
    assert_eq!((t.next.state, t.next.wanted), (Stopped, false));
    // A restart ends them and listens again.
    let t = transition(listening, Event::Restart, &policy, &mut history, now).unwrap();
    let t = transition(t.next, Event::GroupGone, &policy, &mut history, now).unwrap();
    assert_eq!(t.next.state, Listening);
    assert_eq!(t.actions.last(), Some(&AwaitConnection));
    // An uninstall ends them, then forgets.
    let t = transition(listening, Event::Forget, &policy, &mut history, now).unwrap();
    let t = transition(t.next, Event::GroupGone, &policy, &mut history, now).unwrap();
    assert_eq!(t.actions.last(), Some(&Forget));
    for refused in [Event::Pause, Event::Continue, Event::Reload] {
        assert!(transition(listening, refused, &policy, &mut history, now).is_err());
    }
}

#[test]
fn an_idle_on_demand_service_is_stopped_and_listens_again() {
    let policy = on_demand(Restart::Always);
    let mut history = History::default();
    let now = Instant::now();
    let t = transition(at(Running), Event::Idle, &policy, &mut history, now).unwrap();
    assert_eq!(
        (t.next.state, t.next.wanted, t.actions),
        (
            Stopping,
            false,
            vec![CancelTimer, SignalStop, ArmTimer(Duration::from_secs(5))]
        )
    );
    // Its end by the stop signal is not restarted: it listens.
    let t = transition(t.next, crash(10), &policy, &mut history, now).unwrap();
    let t = transition(t.next, Event::GroupGone, &policy, &mut history, now).unwrap();
    assert_eq!(t.next.state, Listening);
    // Idle means nothing elsewhere: starting, or a service without sockets.
    let t = transition(at(Starting), Event::Idle, &policy, &mut history, now).unwrap();
    assert_eq!((t.next.state, t.actions), (Starting, vec![]));
    let plain = super::tests::policy(Restart::Never, 100);
    let t = transition(at(Running), Event::Idle, &plain, &mut history, now).unwrap();
    assert_eq!((t.next.state, t.actions), (Running, vec![]));
    let mut spec = ServiceSpec::new(crate::ServiceName::new("web").unwrap(), "/bin/web");
    spec.listen = vec![crate::listen::Listener::at("tcp:8080".parse().unwrap())];
    spec.idle_stop = Some(Duration::from_secs(30));
    let running = Lifecycle {
        state: Running,
        phase: Phase::Idle,
        wanted: true,
        then: Then::Rest,
    };
    let lines = told(running, &[Event::Idle, Event::GroupGone], &policy, &spec);
    assert_eq!(
        lines,
        [
            "stopping (no connection for 30s): SIGTERM",
            "stopped",
            "listening on tcp:[::]:8080: a connection starts it"
        ]
    );
}

#[test]
fn the_event_log_says_where_it_listens_and_which_socket_started_it() {
    let mut spec = ServiceSpec::new(crate::ServiceName::new("web").unwrap(), "/bin/web");
    spec.listen = ["tcp:127.0.0.1:8080", "udp:5353"]
        .iter()
        .map(|at| crate::listen::Listener::at(at.parse().unwrap()))
        .collect();
    let policy = on_demand(Restart::Never);
    let lines = told(
        Lifecycle::STOPPED,
        &[
            Event::Listen,
            Event::Activated { listener: 1 },
            Event::Ready,
            Event::Stop,
            Event::GroupGone,
            Event::Activated { listener: 0 },
        ],
        &policy,
        &spec,
    );
    assert_eq!(
        lines,
        [
            "listening on tcp:127.0.0.1:8080, udp:[::]:5353: a connection starts it",
            "starting: a datagram on udp:[::]:5353",
            "running",
            "stopping (asked to): SIGTERM",
            "stopped",
            "listening on tcp:127.0.0.1:8080, udp:[::]:5353: a connection starts it",
            "starting: a connection on tcp:127.0.0.1:8080",
        ]
    );
    // The executor names the client it saw waiting.
    let words = Words {
        spec: &spec,
        restarts: 0,
        main_pid: None,
        reason: Some("127.0.0.1:53312"),
        stop: "SIGTERM",
        kill: "SIGKILL",
    };
    assert_eq!(
        Told::Activated { listener: 0 }.words(&words),
        "starting: a connection on tcp:127.0.0.1:8080 from 127.0.0.1:53312"
    );
}
#[test]
fn waiting_clients_are_answered_when_what_they_wait_for_came_about_or_will_not() {
    let mut policy = policy(Restart::OnFailure, 100);
    let running = verdict(Wait::Running, at(Running), &policy, None);
    assert_eq!(running, Some(Verdict::Done));
    assert_eq!(verdict(Wait::Running, at(Starting), &policy, None), None);
    assert_eq!(
        verdict(Wait::Running, at(Backoff), &policy, None),
        Some(Verdict::StartFailed)
    );
    // Stopped between a restart's stop and its start: on the way. Stopped by request: not.
    let between = Lifecycle {
        then: Then::Start,
        ..Lifecycle::STOPPED
    };
    assert_eq!(verdict(Wait::Running, between, &policy, None), None);
    assert_eq!(
        verdict(Wait::Running, Lifecycle::STOPPED, &policy, None),
        Some(Verdict::StartFailed)
    );
    // A oneshot that did its work is started.
    policy.service_type = ServiceType::Oneshot;
    let done = Some(LastExit::Code(0));
    assert_eq!(
        verdict(Wait::Running, at(Exited), &policy, done),
        Some(Verdict::Done)
    );
    assert_eq!(
        verdict(Wait::Stopped, at(Stopping), &policy, None),
        None,
        "a stop is answered once nothing of it is left"
    );
    assert_eq!(verdict(Wait::Reloaded, at(Running), &policy, None), None);
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
        SocketsBound,
        Connection,
        /// A probe's verdict changes (only while it runs).
        Verdict(Role, bool),
        /// Its watchdog goes unfed.
        Hung,
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
                Event::Idle,
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
            Just(Stimulus::SocketsBound),
            Just(Stimulus::Connection),
            Just(Stimulus::Hung),
            (
                prop::sample::select(vec![Role::Readiness, Role::Liveness]),
                any::<bool>()
            )
                .prop_map(|(role, healthy)| Stimulus::Verdict(role, healthy)),
        ]
    }

    fn any_policy() -> impl Strategy<Value = Policy> {
        (
            prop::sample::select(Restart::ALL.to_vec()),
            prop::sample::select(vec![
                ServiceType::Exec,
                ServiceType::Notify,
                ServiceType::Forking,
                ServiceType::Oneshot,
            ]),
            (0..3usize, 0..3usize, 0..3usize, 0..3usize),
            any::<bool>(),
            any::<bool>(),
            (0..4u32, any::<bool>(), any::<bool>()),
            any::<bool>(),
            (
                any::<bool>(),
                any::<bool>(),
                prop::sample::select(vec![
                    OnUnhealthy::Restart,
                    OnUnhealthy::Stop,
                    OnUnhealthy::None,
                ]),
            ),
        )
            .prop_map(
                |(
                    restart,
                    service_type,
                    (pre, post, stops, stop_post),
                    prepare,
                    by_command,
                    (limit, send_sigkill, ignore_first),
                    on_demand,
                    (readiness, liveness, on_unhealthy),
                )| {
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
                    policy.stop_post = stop_post;
                    policy.send_sigkill = send_sigkill;
                    if ignore_first {
                        policy.failure_ignored = vec![ControlCommand::StartPre(0)];
                        policy.program_failure_ignored = true;
                    }
                    policy.on_demand = on_demand;
                    // Per connection: a plain program, and sockets.
                    policy.accept = on_demand && by_command && service_type == ServiceType::Exec;
                    // Probes: a program that runs on (no oneshot, no instances).
                    let probed = service_type != ServiceType::Oneshot && !policy.accept;
                    policy.readiness_probe = probed && readiness;
                    policy.liveness_probe = probed && liveness;
                    policy.on_unhealthy = on_unhealthy;
                    if policy.readiness_probe {
                        policy.ready_timeout = Some(Duration::from_secs(2));
                    }
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
        /// Its sockets are watched for a connection.
        awaiting: bool,
        /// The executor accepts each connection (and keeps watching).
        accepting: bool,
        /// Its probes run: readiness, liveness.
        probing: [bool; 2],
    }

    fn slot(role: Role) -> usize {
        match role {
            Role::Readiness => 0,
            Role::Liveness => 1,
        }
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
                Stimulus::CommandEnds(code) if !self.commands.is_empty() => Event::CommandEnded {
                    command: self.commands.remove(0),
                    exit: LastExit::Code(code),
                },
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
                Stimulus::SocketsBound => Event::Listen,
                // The executor stops watching at the first connection.
                Stimulus::Connection if self.awaiting => {
                    // Per connection, the sockets stay watched.
                    self.awaiting = self.accepting;
                    Event::Activated { listener: 0 }
                }
                Stimulus::Hung if self.program => Event::Hung,
                Stimulus::Verdict(role, healthy) if self.probing[slot(role)] => Event::Verdict {
                    role,
                    healthy,
                    uptime: Duration::from_secs(1),
                },
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
                    // Its commands, killed, end as any command does (CommandEnded).
                    Action::KillGroup => {
                        self.program = false;
                        self.leftovers = false;
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
                    Action::AwaitConnection => {
                        assert!(policy.on_demand, "a service without sockets listens");
                        assert!(
                            self.empty(),
                            "its sockets watched while its processes live: {self:?}"
                        );
                        self.awaiting = true;
                    }
                    Action::IgnoreConnections => self.awaiting = false,
                    Action::AcceptConnections { .. } => {
                        assert!(policy.accept && self.awaiting, "accepted unwatched");
                        assert!(!self.program, "an instance beside a program");
                        // Its instances are processes of the service.
                        self.leftovers = true;
                    }
                    Action::Probe(role) => {
                        assert!(
                            !self.probing[slot(role)],
                            "{role} probed twice: {actions:?}"
                        );
                        self.probing[slot(role)] = true;
                    }
                    Action::Unprobe(role) => {
                        assert!(self.probing[slot(role)], "{role} unprobed: {actions:?}");
                        self.probing[slot(role)] = false;
                    }
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
            assert_eq!(
                self.awaiting,
                next.state == UnitState::Listening,
                "its sockets are watched exactly while it listens: {actions:?}"
            );
            for (role, has) in [
                (Role::Readiness, policy.readiness_probe),
                (Role::Liveness, policy.liveness_probe),
            ] {
                assert_eq!(
                    self.probing[slot(role)],
                    has && probes(&next, role),
                    "{role} probed exactly where it runs: {next:?} {actions:?}"
                );
            }
            assert!(
                next.phase != Phase::Probing || policy.readiness_probe,
                "probing for readiness without a readiness probe"
            );
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
            let mut world = World {
                accepting: policy.accept,
                ..World::default()
            };
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
                    UnitState::Stopped
                        | UnitState::Failed
                        | UnitState::Exited
                        | UnitState::Listening
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
                matches!(
                    life.state,
                    UnitState::Stopped | UnitState::Failed | UnitState::Exited | UnitState::Listening
                ),
                "a stop did not end: {life:?} {world:?}"
            );
            prop_assert!(
                life.state != UnitState::Listening || policy.on_demand,
                "a service without sockets listens"
            );
            prop_assert!(!life.wanted);
            // No client waits on: one waiting for the stop is answered, and one waiting for
            // a start is told it will not run.
            prop_assert_eq!(verdict(Wait::Stopped, life, &policy, None), Some(Verdict::Done));
            prop_assert!(verdict(Wait::Running, life, &policy, None).is_some());
        }
    }
}

fn said(role: Role, healthy: bool) -> Event {
    Event::Verdict {
        role,
        healthy,
        uptime: Duration::from_secs(60),
    }
}

fn probed(readiness: bool, liveness: bool, on_unhealthy: OnUnhealthy) -> Policy {
    Policy {
        readiness_probe: readiness,
        liveness_probe: liveness,
        on_unhealthy,
        ready_timeout: readiness.then_some(Duration::from_secs(30)),
        ..policy(Restart::OnFailure, 100)
    }
}

#[test]
fn a_start_with_a_readiness_probe_goes_on_only_once_it_passes() {
    let policy = probed(true, true, OnUnhealthy::Restart);
    let (rows, actions) = run(
        Lifecycle::STOPPED,
        &[
            Event::Start,
            Event::Ready,
            said(Role::Readiness, false),
            said(Role::Readiness, true),
        ],
        &policy,
    );
    // Exec'd, it is ready by its own word only: its probe runs, failing changes nothing, and
    // its pass makes it run (the ready timeout cancelled, the liveness probe begun).
    assert_eq!((rows[2].state, rows[2].phase), (Starting, Phase::Probing));
    assert_eq!(rows[3], rows[2]);
    assert_eq!((rows[4].state, rows[4].phase), (Running, Phase::Idle));
    assert_eq!(
        actions,
        [
            ResetRestarts,
            SpawnProgram,
            ArmTimer(Duration::from_secs(30)),
            Probe(Role::Readiness),
            CancelTimer,
            Unprobe(Role::Readiness),
            Probe(Role::Liveness),
        ]
    );
    // Not ready within the ready timeout: stopped as a failed start, the probe ended.
    let (rows, actions) = run(
        Lifecycle::STOPPED,
        &[Event::Start, Event::Ready, Event::Timer],
        &policy,
    );
    assert_eq!((rows[3].state, rows[3].phase), (Stopping, Phase::Signalled));
    assert!(
        actions.contains(&NotReady {
            finding_main: false
        }),
        "{actions:?}"
    );
    assert_eq!(
        actions.last(),
        Some(&Unprobe(Role::Readiness)),
        "{actions:?}"
    );
}

#[test]
fn an_unhealthy_verdict_restarts_stops_or_is_only_told_as_the_definition_says() {
    // restart: stopped, then restarted as a failure by the restart policy, with its backoff.
    let policy = probed(false, true, OnUnhealthy::Restart);
    let (rows, actions) = run(
        at(Running),
        &[said(Role::Liveness, false), Event::GroupGone],
        &policy,
    );
    assert_eq!((rows[1].state, rows[1].wanted), (Stopping, true));
    assert_eq!(rows[2].state, Backoff);
    assert!(actions.contains(&SignalStop) && actions.contains(&Unprobe(Role::Liveness)));
    // stop: stopped, and not wanted any more.
    let policy = probed(false, true, OnUnhealthy::Stop);
    let (rows, _) = run(
        at(Running),
        &[said(Role::Liveness, false), Event::GroupGone],
        &policy,
    );
    assert_eq!((rows[1].state, rows[1].wanted), (Stopping, false));
    assert_eq!(rows[2].state, Stopped);
    // none: told, nothing done; healthy again: told.
    let policy = probed(false, true, OnUnhealthy::None);
    let (rows, actions) = run(
        at(Running),
        &[said(Role::Liveness, false), said(Role::Liveness, true)],
        &policy,
    );
    assert_eq!((rows[1], rows[2]), (at(Running), at(Running)));
    assert_eq!(actions, []);
    // Paused, a process cannot answer: its liveness probe pauses with it.
    let (_, actions) = run(at(Running), &[Event::Pause, Event::Continue], &policy);
    assert_eq!(
        actions,
        [
            Suspend,
            Unprobe(Role::Liveness),
            Resume,
            Probe(Role::Liveness)
        ]
    );
}

#[test]
fn verdicts_are_told_with_what_the_probe_saw() {
    let mut spec = ServiceSpec::new(crate::ServiceName::new("web").unwrap(), "/bin/web");
    let check = crate::health::Check::Http(
        crate::health::HttpCheck::parse("http://127.0.0.1:8080/health").unwrap(),
    );
    spec.readiness = Some(Box::new(crate::health::Probe::new(check.clone())));
    spec.liveness = Some(Box::new(crate::health::Probe::new(check)));
    let policy = probed(true, true, OnUnhealthy::Restart);
    let lines = told(
        Lifecycle::STOPPED,
        &[
            Event::Start,
            Event::Ready,
            said(Role::Readiness, true),
            said(Role::Liveness, false),
        ],
        &policy,
        &spec,
    );
    assert_eq!(
        lines,
        [
            "starting",
            "ready: GET http://127.0.0.1:8080/health",
            "running",
            "unhealthy: GET http://127.0.0.1:8080/health (3 failures in a row); stopping it; \
             its restart policy decides",
        ]
    );
}

#[test]
fn a_command_whose_failure_is_ignored_goes_on_as_if_it_succeeded() {
    let mut policy = with_commands(2, 0, 0);
    policy.failure_ignored = vec![ControlCommand::StartPre(0)];
    let (rows, _) = run(
        Lifecycle::STOPPED,
        &[
            Event::Start,
            Event::DependenciesSettled,
            ended(ControlCommand::StartPre(0), 1),
        ],
        &policy,
    );
    assert_eq!(rows[3].phase, Phase::PreStart(1), "`-`: recorded, then on");
    // The second is not ignored: its failure is the start's end.
    let (rows, actions) = run(rows[3], &[ended(ControlCommand::StartPre(1), 1)], &policy);
    assert_eq!(rows[1].state, Stopping);
    assert!(actions.contains(&CommandFailed(
        ControlCommand::StartPre(1),
        LastExit::Code(1)
    )));
    // A program whose failure is ignored: every end is a success, not restarted on-failure.
    policy.program_failure_ignored = true;
    let mut history = History::default();
    let (settled, _) = settle(at(Running), crash(5), &policy, &mut history);
    assert_eq!(settled.state, Exited);
    assert!(policy.succeeded(LastExit::Signal(9)));
    assert!(
        !policy.succeeded(LastExit::SpawnFailed(2)),
        "a program that never ran failed"
    );
}

#[test]
fn post_stop_commands_run_once_nothing_is_left_then_it_settles_as_decided() {
    let mut stopping = with_commands(0, 0, 0);
    stopping.stop_post = 2;
    // A stop by request.
    let (rows, actions) = run(
        at(Running),
        &[
            Event::Stop,
            Event::GroupGone,
            // The command's own end leaves the group empty again: theirs, not a settle.
            Event::GroupGone,
            ended(ControlCommand::StopPost(0), 1),
            ended(ControlCommand::StopPost(1), 0),
        ],
        &stopping,
    );
    let phases: Vec<Phase> = rows.iter().map(|row| row.phase).collect();
    assert_eq!(
        phases,
        [
            Phase::Idle,
            Phase::Signalled,
            Phase::StopPost(0),
            Phase::StopPost(0),
            Phase::StopPost(1),
            Phase::Idle
        ]
    );
    assert_eq!(rows[5].state, Stopped);
    let run_commands: Vec<&Action> = actions
        .iter()
        .filter(|a| matches!(a, RunCommand(_)))
        .collect();
    assert_eq!(
        run_commands,
        [
            &RunCommand(ControlCommand::StopPost(0)),
            &RunCommand(ControlCommand::StopPost(1))
        ]
    );
    // Its group (cgroup, runtime directories) is cleared only once they ran.
    let clear = actions.iter().position(|a| *a == ClearGroup).unwrap();
    let last = actions
        .iter()
        .position(|a| *a == RunCommand(ControlCommand::StopPost(1)))
        .unwrap();
    assert!(clear > last, "{actions:?}");
    // A crash restarted at once: they run before the new start.
    let restarting = Policy {
        stop_post: 1,
        ..policy(Restart::Always, 0)
    };
    let (rows, actions) = run(
        at(Running),
        &[
            crash(5),
            Event::GroupGone,
            ended(ControlCommand::StopPost(0), 0),
        ],
        &restarting,
    );
    assert_eq!(rows[2].phase, Phase::StopPost(0));
    assert_eq!(rows[3].state, Starting);
    assert!(
        actions.ends_with(&[CancelTimer, ClearGroup, SpawnProgram]),
        "{actions:?}"
    );
    // One that outlasts the stop timeout is killed, and its end goes on.
    let (rows, actions) = run(rows[2], &[Event::Timer], &restarting);
    assert_eq!(rows[1].phase, Phase::StopPost(0));
    assert_eq!(actions, [KillGroup]);
}

#[test]
fn without_sigkill_the_stop_timeout_kills_nothing_and_the_stop_waits() {
    let policy = Policy {
        send_sigkill: false,
        ..policy(Restart::Never, 100)
    };
    let mut history = History::default();
    let t = super::transition(
        at(Stopping),
        Event::Timer,
        &policy,
        &mut history,
        Instant::now(),
    )
    .unwrap();
    assert_eq!(t.next, at(Stopping));
    assert_eq!(t.actions, [Tell(Told::NotKilled)]);
    let (rows, _) = run(at(Stopping), &[Event::Timer, Event::GroupGone], &policy);
    assert_eq!(rows[2].state, Stopped, "it ended on its own: stopped");
}

#[test]
fn restart_policies_tell_clean_ends_signals_timeouts_and_watchdogs_apart() {
    // What each policy does after each kind of end (systemd.service(5)'s table).
    let exit0 = LastExit::Code(0);
    let exit1 = LastExit::Code(1);
    let term = LastExit::Signal(15);
    let segv = LastExit::Signal(11);
    let cases: [(Restart, [bool; 6]); 7] = [
        //                     exit 0  exit 1  SIGTERM SIGSEGV timeout watchdog
        (Restart::Never, [false, false, false, false, false, false]),
        (Restart::Always, [true, true, true, true, true, true]),
        (Restart::OnSuccess, [true, false, true, false, false, false]),
        (Restart::OnFailure, [false, true, true, true, true, true]),
        (Restart::OnAbnormal, [false, false, false, true, true, true]),
        (Restart::OnAbort, [false, false, false, true, false, false]),
        (
            Restart::OnWatchdog,
            [false, false, false, false, false, true],
        ),
    ];
    for (restart, expected) in cases {
        let policy = Policy {
            ready_timeout: Some(Duration::from_secs(1)),
            ..policy(restart, 0)
        };
        let mut got = Vec::new();
        for exit in [exit0, exit1, term, segv] {
            let mut history = History::default();
            let (row, _) = settle(
                at(Running),
                Event::Exited {
                    exit,
                    uptime: Duration::from_secs(1),
                },
                &policy,
                &mut history,
            );
            got.push(row.state == Starting);
        }
        // Not ready within the ready timeout.
        let mut history = History::default();
        let (row, _) = settle(at(Starting), Event::Timer, &policy, &mut history);
        got.push(row.state == Starting);
        // Hung: killed (SIGABRT), then its end.
        let mut history = History::default();
        let (rows, actions) = run(
            at(Running),
            &[
                Event::Hung,
                Event::Exited {
                    exit: LastExit::Signal(6),
                    uptime: Duration::from_secs(1),
                },
                Event::GroupGone,
            ],
            &policy,
        );
        let _ = &mut history;
        assert_eq!(rows[1].phase, Phase::Hung);
        assert!(actions.contains(&KillHung));
        got.push(rows[3].state == Starting);
        assert_eq!(got, expected, "{restart}: restarted after each kind of end");
    }
}
