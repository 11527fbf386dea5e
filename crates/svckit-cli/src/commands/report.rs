//! The one way svckit shows a service's status, whatever its backend: a line per action, a
//! description for people, a table row, and JSON with the same keys everywhere (null where the
//! backend does not know).

use std::{
    io::{self, Write},
    time::{Duration, SystemTime},
};

use super::paint::visible;
use svckit::ServiceName;
use svckit_install::Action;
use svckit_install::Status;

/// `NAME: started (running, PID n)`: what came of `action`.
pub fn outcome(action: Action, status: &Status) -> String {
    let (name, done, state) = (&status.name, action.done(), status.state_name());
    match status.pid {
        Some(pid) => format!("{name}: {done} ({state}, PID {pid})"),
        // (Not "stopped (stopped)".)
        None if state == done => format!("{name}: {done}"),
        None => format!("{name}: {done} ({state})"),
    }
}

fn short(duration: Duration) -> String {
    svckit::parse::short_duration(duration)
}

/// One service's status as JSON; the SCM's own numbers (its exit codes, checkpoint and wait
/// hint) only for a service of the SCM.
pub fn json(status: &Status) -> serde_json::Value {
    serde_json::to_value(StatusJson::of(status)).unwrap_or_default()
}

/// One service's status as `status --json` writes it: serialized straight to the output (a
/// tree of `serde_json::Value`s built first was most of a status of 10,000 services). The
/// keys are in alphabetical order, as they were from the tree.
#[derive(serde::Serialize)]
pub struct StatusJson<'a> {
    accepts: String,
    accepts_value: u32,
    backend: &'static str,
    capture_error: &'a Option<String>,
    cgroup: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    checkpoint: Option<u32>,
    command: &'a Option<String>,
    cpu_usec: Option<u64>,
    display_name: &'a Option<String>,
    last_exit: Option<svckit::LastExit>,
    last_exit_why: &'a Option<String>,
    last_exit_words: Option<String>,
    memory_bytes: Option<u64>,
    name: &'a str,
    next_try_ms: Option<u64>,
    pid: Option<svckit::Pid>,
    probes: &'a [svckit::health::Report],
    processes: &'a [svckit::ServiceProcess],
    reason: &'a Option<String>,
    restarts: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_exit_code: Option<u32>,
    since_ms: Option<u64>,
    sockets: &'a Option<svckit::listen::Activity>,
    start: Option<&'static str>,
    state: String,
    state_value: u32,
    status_text: &'a Option<String>,
    tasks: Option<usize>,
    uptime_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wait_hint_ms: Option<u64>,
    wanted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    win32_exit_code: Option<u32>,
}

impl StatusJson<'_> {
    /// The view of `status`.
    pub fn of(status: &Status) -> StatusJson<'_> {
        let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let scm = status.backend == svckit::BackendKind::Windows;
        let (win32, specific) = status.exit_code.to_scm();
        StatusJson {
            accepts: status.accept.to_string(),
            accepts_value: status.accept.bits(),
            backend: status.backend.name(),
            capture_error: &status.capture_error,
            cgroup: &status.cgroup,
            checkpoint: scm.then_some(status.checkpoint),
            command: &status.command,
            cpu_usec: status
                .cpu
                .map(|cpu| u64::try_from(cpu.as_micros()).unwrap_or(u64::MAX)),
            display_name: &status.display_name,
            last_exit: status.last_exit,
            last_exit_why: &status.last_exit_why,
            last_exit_words: status
                .last_exit
                .map(|exit| exit_words(exit, status.last_exit_why.as_deref())),
            memory_bytes: status.memory,
            name: status.name.as_ref(),
            next_try_ms: status.next_try.map(svckit::logfiles::unix_ms),
            pid: status.pid,
            probes: &status.probes,
            processes: &status.processes,
            reason: &status.reason,
            restarts: status.restarts,
            service_exit_code: scm.then_some(specific),
            since_ms: status.since.map(svckit::logfiles::unix_ms),
            sockets: &status.sockets,
            start: status.start.map(|start| start.name()),
            state: status.state_name(),
            state_value: status.state.as_u32(),
            status_text: &status.notice,
            tasks: status.tasks,
            uptime_ms: status.uptime.map(millis),
            wait_hint_ms: scm.then(|| millis(status.wait_hint)),
            wanted: status.wanted,
            win32_exit_code: scm.then_some(win32),
        }
    }
}

/// How a process ended, with why the manager sent the signal when it says (`killed by SIGKILL
/// (sent by svckit after the 10s stop timeout)`), else what that usually means: `exit code 127
/// (command not found)`, `killed by SIGKILL (the OOM killer, or a stop that timed out)`.
pub fn exit_words(exit: svckit::LastExit, why: Option<&str>) -> String {
    if let Some(why) = why {
        return format!("{exit} ({why})");
    }
    let meaning = match exit {
        svckit::LastExit::Code(code) => match code {
            2 => Some("a usage error, by convention".to_owned()),
            64 => Some("usage error: EX_USAGE".to_owned()),
            65 => Some("bad input data: EX_DATAERR".to_owned()),
            66 => Some("an input file is missing: EX_NOINPUT".to_owned()),
            67 => Some("unknown user: EX_NOUSER".to_owned()),
            68 => Some("unknown host: EX_NOHOST".to_owned()),
            69 => Some("a service it needs is unavailable: EX_UNAVAILABLE".to_owned()),
            70 => Some("internal software error: EX_SOFTWARE".to_owned()),
            71 => Some("system error: EX_OSERR".to_owned()),
            72 => Some("a system file is missing: EX_OSFILE".to_owned()),
            73 => Some("cannot create an output file: EX_CANTCREAT".to_owned()),
            74 => Some("I/O error: EX_IOERR".to_owned()),
            75 => Some("temporary failure, try again: EX_TEMPFAIL".to_owned()),
            76 => Some("protocol error: EX_PROTOCOL".to_owned()),
            77 => Some("permission denied: EX_NOPERM".to_owned()),
            78 => Some("configuration error: EX_CONFIG".to_owned()),
            126 => Some("found, but not executable".to_owned()),
            127 => Some("command not found".to_owned()),
            129..=192 => svckit::Signal::from_number(code - 128)
                .map(|signal| format!("a shell's way to say SIG{signal} killed it")),
            255 => Some("an exit status out of range, or ssh's own error".to_owned()),
            _ => None,
        },
        svckit::LastExit::Signal(number) => match number {
            9 => Some("the OOM killer, or a stop that timed out".to_owned()),
            6 => Some("it aborted".to_owned()),
            11 => Some("a segmentation fault".to_owned()),
            15 => Some("asked to stop".to_owned()),
            _ => None,
        },
        _ => None,
    };
    match meaning {
        Some(meaning) => format!("{exit} ({meaning})"),
        None => exit.to_string(),
    }
}

/// Whether a start type is enabled, in words: `auto` starts at boot (or with the
/// supervisor), `demand` only when asked.
pub fn start_words(start: svckit::StartType) -> &'static str {
    match start {
        svckit::StartType::Auto | svckit::StartType::Delayed => "enabled",
        svckit::StartType::Demand => "disabled: started when asked",
        svckit::StartType::Disabled => "disabled: refuses to start",
    }
}

fn format_time(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Local>::from(at)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// One service's status for people, with where its output goes and its recent lines
/// (`(stream, lines)`).
pub fn describe(
    out: &mut impl Write,
    status: &Status,
    logs: Option<&str>,
    recent: &[(&str, Vec<String>)],
) -> io::Result<()> {
    describe_state(out, status)?;
    describe_process(out, status)?;
    describe_sockets(out, status)?;
    describe_probes(out, status)?;
    describe_history(out, status)?;
    describe_definition(out, status, logs)?;
    for (stream, lines) in recent.iter().filter(|(_, lines)| !lines.is_empty()) {
        writeln!(out, "\n{stream} (last {}):", lines.len())?;
        for line in lines {
            writeln!(out, "  {}", visible(line))?;
        }
    }
    Ok(())
}

/// Its name, backend and state: since when, progress, the next try.
fn describe_state(out: &mut impl Write, status: &Status) -> io::Result<()> {
    let mark = match status.detail.as_deref() {
        Some("failed") => "×",
        _ if status.pid.is_some() => "●",
        _ => "○",
    };
    let state = status.state_name();
    let mark = super::paint::paint(mark, super::paint::state(&state));
    write!(out, "{mark} {}", status.name)?;
    if let Some(display_name) = &status.display_name
        && display_name != status.name.as_ref()
    {
        write!(out, " - {}", visible(display_name))?;
    }
    writeln!(out)?;
    writeln!(out, "    backend: {}", status.backend)?;
    if let Some(start) = status.start {
        writeln!(out, "      start: {start} ({})", start_words(start))?;
    }
    write!(
        out,
        "      state: {}",
        super::paint::paint(&state, super::paint::state(&state))
    )?;
    if let Some(since) = status.since {
        let ago = SystemTime::now().duration_since(since).unwrap_or_default();
        write!(out, " since {}; {} ago", format_time(since), short(ago))?;
    }
    writeln!(out)?;
    if status.state.is_pending() && !status.wait_hint.is_zero() {
        writeln!(
            out,
            "   progress: checkpoint {}, wait hint {}",
            status.checkpoint,
            short(status.wait_hint)
        )?;
    }
    if let Some(next) = status.next_try {
        let wait = next.duration_since(SystemTime::now()).unwrap_or_default();
        writeln!(
            out,
            "   next try: in {} (at {})",
            short(wait),
            format_time(next)
        )?;
    }
    Ok(())
}

/// Its process: pid, status text, uptime, tasks and processes, memory, CPU.
fn describe_process(out: &mut impl Write, status: &Status) -> io::Result<()> {
    if let Some(pid) = status.pid {
        writeln!(out, "        pid: {pid}")?;
    }
    if let Some(notice) = &status.notice {
        writeln!(out, "     status: {}", visible(notice))?;
    }
    if let Some(uptime) = status.uptime {
        writeln!(out, "     uptime: {}", short(uptime))?;
    }
    if let Some(tasks) = status.tasks {
        write!(out, "      tasks: {tasks}")?;
        if let Some(cgroup) = &status.cgroup {
            write!(out, " (cgroup {cgroup})")?;
        }
        writeln!(out)?;
    }
    // The processes as systemctl shows a cgroup's: the main one first.
    if status.tasks.is_none() && !status.processes.is_empty() {
        writeln!(out, "  processes: {}", status.processes.len())?;
    }
    for (index, process) in status.processes.iter().enumerate() {
        let branch = if index + 1 == status.processes.len() {
            "└─"
        } else {
            "├─"
        };
        writeln!(
            out,
            "             {branch}{} {}",
            process.pid,
            visible(&process.command)
        )?;
    }
    if let Some(memory) = status.memory {
        writeln!(out, "     memory: {}", svckit::parse::human_size(memory))?;
    }
    if let Some(cpu) = status.cpu {
        writeln!(out, "        cpu: {}", short(cpu))?;
    }
    Ok(())
}

/// Where its sockets listen and, per connection, its instances and connections.
fn describe_sockets(out: &mut impl Write, status: &Status) -> io::Result<()> {
    let Some(sockets) = &status.sockets else {
        return Ok(());
    };
    let what = match sockets.accept.as_str() {
        "no" => "the first connection starts it".to_owned(),
        mode => format!(
            "an instance per connection ({mode}): {} running; {} accepted, {} refused",
            sockets.instances, sockets.accepted, sockets.refused
        ),
    };
    writeln!(out, "     listen: {} ({what})", sockets.listen.join(", "))
}

/// Its probes that run: each one's verdict, failures in a row, and what its last check saw.
fn describe_probes(out: &mut impl Write, status: &Status) -> io::Result<()> {
    for probe in &status.probes {
        let failures = match probe.failures {
            0 => String::new(),
            n => format!(", {n} failures in a row"),
        };
        let last = probe.last.as_deref().unwrap_or(&probe.check);
        // Since when it is what it is (not said of a verdict not yet reached).
        let since = match probe.since_ms {
            Some(ms) if probe.health != "unknown" => format!(
                " since {}",
                format_time(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
            ),
            _ => String::new(),
        };
        writeln!(
            out,
            "{:>11}: {}{since}{failures} ({last})",
            probe.role, probe.health
        )?;
    }
    Ok(())
}

/// What happened to it: restarts, the last exit, the exit code, why, output not stored.
fn describe_history(out: &mut impl Write, status: &Status) -> io::Result<()> {
    if let Some(restarts) = status.restarts {
        writeln!(out, "   restarts: {restarts}")?;
    }
    if let Some(exit) = status.last_exit {
        let when = match status.pid {
            Some(_) => ", before this run",
            None => "",
        };
        writeln!(
            out,
            "  last exit: {}{when}",
            exit_words(exit, status.last_exit_why.as_deref())
        )?;
    }
    if !status.exit_code.is_success() {
        writeln!(out, "  exit code: {}", status.exit_code)?;
    }
    if let Some(reason) = &status.reason {
        writeln!(out, "     reason: {}", visible(reason))?;
    }
    if let Some(error) = &status.capture_error {
        writeln!(out, "     output: not stored: {}", visible(error))?;
    }
    Ok(())
}

/// What it is: the controls it accepts, its start type, its command, where its logs are.
fn describe_definition(
    out: &mut impl Write,
    status: &Status,
    logs: Option<&str>,
) -> io::Result<()> {
    if !status.accept.is_empty() {
        writeln!(out, "    accepts: {}", status.accept)?;
    }
    if let Some(command) = &status.command {
        writeln!(out, "    command: {}", visible(command))?;
    }
    if let Some(logs) = logs {
        writeln!(out, "       logs: {}", visible(logs))?;
    }
    Ok(())
}

/// `status NAME`'s exit status, as systemctl's: 0 while it runs (or is paused, or on its way
/// up or down), 3 when it is stopped.
pub fn exit_for(status: &Status) -> crate::exit::Exit {
    match status.state {
        svckit::State::Stopped => crate::exit::Exit::NotFound,
        _ => crate::exit::Exit::Ok,
    }
}

/// One service of the status table: its status, or why its backend could not tell.
pub struct Row<'a> {
    /// The service.
    pub name: &'a ServiceName,
    /// Its backend's name.
    pub backend: &'a str,
    /// Its status, or the error.
    pub status: Result<&'a Status, String>,
}

/// The status table, each column as wide as its widest cell (a long name, an error).
pub fn table(out: &mut impl Write, rows: &[Row<'_>]) -> io::Result<()> {
    let dash = || "-".to_owned();
    let cells: Vec<[String; 9]> = rows
        .iter()
        .map(|row| {
            let [state, pid, uptime, restarts, cpu, memory, last_exit] = match &row.status {
                Ok(status) => [
                    status.state_name(),
                    status.pid.map_or_else(dash, |pid| pid.to_string()),
                    status.uptime.map_or_else(dash, short),
                    status.restarts.map_or_else(dash, |n| n.to_string()),
                    status.cpu.map_or_else(dash, short),
                    status.memory.map_or_else(dash, svckit::parse::human_size),
                    // A running service's last exit is its previous run's: `status NAME` says so.
                    match status.pid {
                        Some(_) => dash(),
                        None => status.last_exit.map_or_else(dash, |exit| {
                            exit_words(exit, status.last_exit_why.as_deref())
                        }),
                    },
                ],
                Err(err) => [
                    format!("unknown ({err})"),
                    dash(),
                    dash(),
                    dash(),
                    dash(),
                    dash(),
                    dash(),
                ],
            };
            [
                row.name.as_str().to_owned(),
                row.backend.to_owned(),
                state,
                pid,
                uptime,
                restarts,
                cpu,
                memory,
                last_exit,
            ]
            .map(|cell| visible(&cell).into_owned())
        })
        .collect();
    let heading = [
        "NAME",
        "BACKEND",
        "STATE",
        "PID",
        "UPTIME",
        "RESTARTS",
        "CPU",
        "MEM",
        "LAST EXIT",
    ];
    let width = |column: usize| {
        cells
            .iter()
            .map(|row| row[column].chars().count())
            .chain([heading[column].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..heading.len()).map(width).collect();
    let line = |out: &mut dyn Write, row: [&str; 9]| -> io::Result<()> {
        let [
            name,
            backend,
            state,
            pid,
            uptime,
            restarts,
            cpu,
            memory,
            last_exit,
        ] = row;
        writeln!(
            out,
            "{name:<w0$}  {backend:<w1$}  {state}  {pid:>w3$}  {uptime:>w4$}  {restarts:>w5$}  \
             {cpu:>w6$}  {memory:>w7$}  {last_exit}",
            w0 = widths[0],
            w1 = widths[1],
            w3 = widths[3],
            w4 = widths[4],
            w5 = widths[5],
            w6 = widths[6],
            w7 = widths[7],
        )
    };
    // Painted after padding, so colour codes never count as width.
    let padded = |cells: [&str; 9]| -> [String; 9] {
        let mut padded = cells.map(str::to_owned);
        padded[2] = format!("{:<w$}", cells[2], w = widths[2]);
        padded
    };
    let mut heading = padded(heading);
    heading[2] = super::paint::paint(&heading[2], super::paint::heading());
    line(out, heading.each_ref().map(String::as_str))?;
    for row in &cells {
        let mut row = padded(row.each_ref().map(String::as_str));
        row[2] = super::paint::paint(&row[2], super::paint::state(&row[2]));
        line(out, row.each_ref().map(String::as_str))?;
    }
    Ok(())
}
