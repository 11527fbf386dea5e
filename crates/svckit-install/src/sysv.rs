//! SysV init: an LSB init script rendered from the spec, which starts the program through
//! `svckit daemonize` (PID file locked for the daemon's life) and stops it with `svckit kill`.
//!
//! [`render`] is a pure function of the spec and the svckit binary's absolute path. Every value
//! is single-quoted for sh (`'` written as `'\''`), so no argument can inject a command. The
//! script answers `start|stop|restart|force-reload|status` with the LSB exit codes (status:
//! 0 running, 1 dead but the PID file exists, 3 not running).

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
};

use svckit_core::{
    BackendKind, Key, ReloadAction, ServiceName, ServiceSpec, ServiceType, StartType,
    command::Prefix, listen::AcceptMode, parse,
};

use crate::{Error, honour};

fn refuse(setting: &'static str, reason: impl Into<String>) -> Error {
    Error::Unsupported {
        backend: "sysv",
        setting,
        reason: reason.into(),
    }
}

/// The script's path under `root`: `etc/init.d/NAME`.
pub fn script_path(root: &Path, name: &ServiceName) -> PathBuf {
    root.join("etc/init.d").join(name.as_str())
}

/// The PID file the script keeps: `/run/NAME.pid`.
pub fn pidfile(name: &ServiceName) -> PathBuf {
    PathBuf::from(format!("/run/{name}.pid"))
}

/// The file the script appends the program's stdout and stderr to: `/var/log/NAME.log`.
pub fn log_file(name: &ServiceName) -> PathBuf {
    PathBuf::from(format!("/var/log/{name}.log"))
}

/// `text` as one sh word: in single quotes, `'` as `'\''`.
pub fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// What an LSB init script (run through `svckit daemonize`) cannot honour: its column of
/// the key × backend table ([`crate::honour::refusal`]).
pub(crate) fn cannot_honour(key: Key, spec: &ServiceSpec) -> Option<&'static str> {
    match key {
        // Sockets are xinetd's (crate::xinetd): an instance per connection.
        Key::Listen if spec.accept == AcceptMode::No => Some(
            "under SysV init xinetd listens, and it hands a program that accepts (wait = yes) \
             its socket on stdin, not as LISTEN_FDS: give accept = \"inetd\", or use the \
             builtin or systemd backend",
        ),
        Key::Accept if spec.accept == AcceptMode::Fd => {
            Some("xinetd puts the connection on stdin and stdout, not at fd 3 (accept = \"inetd\")")
        }
        Key::IdleStop => Some("xinetd stops no server when it is idle"),
        Key::Readiness | Key::Liveness => {
            Some("an init script has no supervisor to run probes (use the builtin backend)")
        }
        Key::Conditions => Some(
            "init scripts run in the order of their LSB headers and wait for nothing else \
             (use the builtin backend)",
        ),
        Key::Type if spec.service_type == ServiceType::Oneshot => Some(
            "an init script runs daemons (exec, forking, notify) through svckit daemonize; a \
             oneshot has none to run",
        ),
        Key::SuccessExitStatus | Key::RestartPreventExitStatus => {
            Some("SysV init neither restarts a service nor judges how it ended")
        }
        Key::EnvironmentFile => Some(
            "an init script reads no environment files (use env, or the builtin or systemd \
             backend)",
        ),
        Key::Watchdog | Key::KillMode | Key::NotifyAccess => Some(
            "an init script has no supervisor to carry it out (use the builtin or systemd backend)",
        ),
        Key::Password => Some("svckit daemonize switches users without passwords"),
        Key::Start => match spec.start {
            StartType::Delayed => Some("SysV init has no delayed start (use auto)"),
            StartType::Disabled => {
                Some("an init script can always be run (use demand: not started at boot)")
            }
            StartType::Auto | StartType::Demand => None,
        },
        Key::RestartPolicy if spec.restart.policy != svckit_core::Restart::Never => Some(
            "SysV init does not restart services that end (use the systemd or builtin backend)",
        ),
        Key::LogsMaxSize | Key::LogsKeep => {
            Some("the script appends output to /var/log/NAME.log; rotate it with logrotate")
        }
        Key::Program if !(spec.program_prefix.is_empty() || spec.program_prefix == verbatim()) => {
            Some(
                "an init script starts its program through svckit daemonize, which runs it as \
                 its user and reports how it started: no `-`, `+`, `!` or `@`",
            )
        }
        Key::ExecStartPre | Key::ExecStartPost | Key::ExecStop | Key::ReloadCommand
            if honour::command_prefixes(key, spec).any(|prefix| prefix.argv0) =>
        {
            Some("sh's exec gives a command no argv[0] of its own (`@`)")
        }
        Key::TimeoutStart => Some(
            "an init script waits for a start as svckit daemonize does (ready_timeout), not \
             for its checks (use the builtin or systemd backend)",
        ),
        Key::ExpandEnv => Some(
            "an init script passes arguments as they are written (use the builtin or systemd \
             backend)",
        ),
        Key::ExecStopPost => Some(
            "an init script runs nothing once its daemon is gone (use the builtin or systemd \
             backend)",
        ),
        Key::SendSigkill => {
            Some("svckit kill ends a daemon that outlasts its stop timeout with SIGKILL")
        }
        Key::RuntimeDirectoryMode | Key::RuntimeDirectoryPreserve => Some(
            "svckit runtime-dir makes them 0755 and svckit kill removes them (use the builtin \
             or systemd backend)",
        ),
        Key::StateDirectory
        | Key::CacheDirectory
        | Key::LogsDirectory
        | Key::ConfigurationDirectory => Some(
            "an init script makes only runtime directories (use the builtin or systemd backend)",
        ),
        _ => None,
    }
}

fn verbatim() -> Prefix {
    Prefix {
        verbatim: true,
        ..Prefix::default()
    }
}

/// `path` as text, or the refusal of `setting` naming it.
fn utf8(setting: &'static str, path: &Path) -> Result<String, Error> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| refuse(setting, format!("{} is not UTF-8", path.display())))
}

/// The `svckit daemonize` line that starts the program (its options, one per line, the limits
/// and priority before it) and the program's words after `--`.
fn daemonize_command(spec: &ServiceSpec) -> Result<(Vec<String>, Vec<String>), Error> {
    // prlimit(1) and nice(1) run it with the limits and the priority, which the daemon
    // inherits (POSIX sh's ulimit knows only -f).
    let mut prefix = String::new();
    if spec.limits != svckit_core::Limits::default() {
        prefix.push_str("prlimit");
        for (key, limit) in spec.limits.each() {
            let value = |v: u64| match v {
                svckit_core::Limit::INFINITY => "unlimited".to_owned(),
                v => v.to_string(),
            };
            let _ = write!(
                prefix,
                " --{key}={}:{}",
                value(limit.soft),
                value(limit.hard)
            );
        }
        prefix.push(' ');
    }
    if let Some(nice) = spec.nice {
        let _ = write!(prefix, "nice -n {nice} ");
    }
    let mut daemonize = vec![format!(
        r#"{prefix}"$SVCKIT" daemonize --pidfile="$PIDFILE" --stdout="$LOG" --stderr="$LOG""#
    )];
    let mut option =
        |flag: &str, value: &str| daemonize.push(format!("--{flag}={}", sh_quote(value)));
    if let Some(dir) = &spec.working_dir {
        option("chdir", &utf8("working_dir", dir)?);
    }
    option("umask", &format!("{:03o}", spec.umask.unwrap_or(0o022)));
    if let Some(user) = &spec.account {
        option("user", user);
    }
    if let Some(group) = &spec.group {
        option("group", group);
    }
    for (key, value) in &spec.env {
        option("env", &format!("{key}={value}"));
    }

    match spec.service_type {
        // Ready once it says so: a newline on $SVCKIT_READY_FD or READY=1 on $NOTIFY_SOCKET.
        ServiceType::Notify => {
            option("ready-timeout", &parse::format_duration(spec.ready_timeout));
            daemonize.push("--wait-ready".into());
        }
        // It daemonizes itself: its own PID file names the daemon, which the script's PID
        // file is then pointed at (svckit daemonize --type forking).
        ServiceType::Forking => {
            option("type", "forking");
            if let Some(path) = &spec.pid_file {
                option("program-pidfile", &utf8("pid_file", path)?);
            }
            option("ready-timeout", &parse::format_duration(spec.ready_timeout));
        }
        ServiceType::Exec | ServiceType::Oneshot => {}
    }
    let mut command = vec!["--".to_owned(), sh_quote(&utf8("program", &spec.program)?)];
    for (index, arg) in spec.args.iter().enumerate() {
        let arg = arg
            .to_str()
            .ok_or_else(|| refuse("args", format!("argument {} is not UTF-8", index + 1)))?;
        command.push(sh_quote(arg));
    }
    Ok((daemonize, command))
}

/// The body of the script's `do_start`: the runtime directories, the OOM score, the pre-start
/// commands, then the daemonize line and the command.
fn start_body(spec: &ServiceSpec, daemonize: &[String], command: &[String]) -> String {
    // One option per line, then the command on the last.
    let mut start = String::from("\t# The values are literal: nothing in single quotes expands.\n");
    // runtime_directory: made before its checks (sshd -t needs /run/sshd), every component
    // reached without following a symlink, owned by its user; `svckit kill` removes exactly
    // what was made once the daemon is gone.
    if !spec.runtime_directory.is_empty() {
        let mut line = String::from("\t\"$SVCKIT\" runtime-dir --pidfile=\"$PIDFILE\"");
        if let Some(user) = &spec.account {
            let _ = write!(line, " --user={}", sh_quote(user));
        }
        if let Some(group) = &spec.group {
            let _ = write!(line, " --group={}", sh_quote(group));
        }
        line.push_str(" --");
        for dir in &spec.runtime_directory {
            let _ = write!(line, " {}", sh_quote(dir));
        }
        let _ = writeln!(start, "{line} || return 1");
    }
    if let Some(adjust) = spec.oom_score_adjust {
        let _ = writeln!(
            start,
            "\techo {adjust} > /proc/$$/oom_score_adj || return 1"
        );
    }
    // exec_start_pre: each must succeed (as the service's user), its output the operator's.
    for command in &spec.exec_start_pre {
        let _ = writeln!(
            start,
            "\t# shellcheck disable=SC2016,SC1003\n\
             \t{} || {{ echo \"$NAME: exec_start_pre failed\" >&2; return 1; }}",
            as_user(spec, command)
        );
    }
    start.push_str("\t# shellcheck disable=SC2016,SC1003\n");
    for (index, option) in daemonize.iter().enumerate() {
        let indent = if index == 0 { "\t" } else { "\t\t" };
        let _ = writeln!(start, "{indent}{option} \\");
    }
    start.push_str("\t\t");
    start.push_str(&command.join(" "));

    start
}

/// Renders the init script for `spec`, run by the svckit binary at `svckit` (absolute); for a
/// service with sockets, its xinetd entry ([`crate::xinetd::render`]).
pub fn render(spec: &ServiceSpec, svckit: &Path) -> Result<String, Error> {
    if !spec.listen.is_empty() {
        return crate::xinetd::render(spec);
    }
    spec.validate()?;
    honour::check(BackendKind::Sysv, spec)?;
    honour::file_name(BackendKind::Sysv, &spec.name)?;
    for dependency in spec.started_with().chain(&spec.after) {
        honour::file_name(BackendKind::Sysv, dependency)?;
    }
    let header = |setting: &'static str, text: &str| {
        if text.contains(['\n', '\r']) {
            Err(refuse(
                setting,
                format!("{text:?} contains a line break (the LSB header is one line)"),
            ))
        } else {
            Ok(text.to_owned())
        }
    };
    let svckit = utf8("svckit", svckit)?;
    let name = &spec.name;
    let facilities = std::iter::once("$remote_fs $syslog".to_owned())
        .chain(
            spec.dependencies
                .iter()
                .chain(&spec.requires)
                .map(ToString::to_string),
        )
        .collect::<Vec<_>>()
        .join(" ");
    let default_start = if spec.start == StartType::Auto {
        "2 3 4 5"
    } else {
        ""
    };
    let short = header(
        "display_name",
        spec.display_name.as_deref().unwrap_or(name.as_str()),
    )?;
    let description = header(
        "description",
        spec.description.as_deref().unwrap_or(short.as_str()),
    )?;

    let (daemonize, command) = daemonize_command(spec)?;
    let start = start_body(spec, &daemonize, &command);

    Ok(format!(
        r#"#!/bin/sh
# Written by svckit from the definition of {name} (svckit render {name} --backend sysv).
### BEGIN INIT INFO
# Provides:          {name}
# Required-Start:    {facilities}
# Required-Stop:     {facilities}
{should}# Default-Start:     {default_start}
# Default-Stop:      0 1 6
# Short-Description: {short}
# Description:       {description}
### END INIT INFO

SVCKIT={svckit}
NAME={quoted_name}
PIDFILE={pidfile}
LOG={log}

# svckit's exit codes (1 failed, 2 bad input, 3 not running, 4 already running,
# 5 permission denied, 6 timed out) become LSB init-script codes.
do_start() {{
{start}
	case $? in
		0) {posts}echo "$NAME: started" ;;
		4) echo "$NAME: already running" ;;
		5) return 4 ;;
		2) return 6 ;;
		*) return 1 ;;
	esac
}}

do_stop() {{
{stops}	"$SVCKIT" kill --pidfile="$PIDFILE" --signal={signal} --timeout={timeout}
	case $? in
		0) echo "$NAME: stopped" ;;
		3) echo "$NAME: not running" ;;
		5) return 4 ;;
		*) return 1 ;;
	esac
}}

case "$1" in
	start)
		do_start
		;;
	stop)
		do_stop
		;;
	restart|force-reload)
		do_stop || exit $?
		do_start
		;;
	status)
		printf '%s: ' "$NAME"
		"$SVCKIT" probe --pidfile="$PIDFILE"
		;;
	reload)
{reload}		;;
	*)
		echo "Usage: $0 {{start|stop|restart|force-reload|status}}" >&2
		exit 2
		;;
esac
"#,
        quoted_name = sh_quote(name.as_str()),
        svckit = sh_quote(&svckit),
        pidfile = sh_quote(&utf8("pidfile", &pidfile(name))?),
        log = sh_quote(&utf8("log", &log_file(name))?),
        signal = sh_quote(spec.stop.signal.name()),
        timeout = sh_quote(&parse::format_duration(spec.stop.timeout)),
        reload = reload_body(spec)?,
        should = {
            let soft: Vec<String> = spec
                .wants
                .iter()
                .chain(&spec.after)
                .map(ToString::to_string)
                .collect();
            let mut lines = match soft.is_empty() {
                true => String::new(),
                false => format!(
                    "# Should-Start:      {0}\n# Should-Stop:       {0}\n",
                    soft.join(" ")
                ),
            };
            // insserv's keyword for systemd's Before=.
            if !spec.before.is_empty() {
                let before: Vec<String> = spec.before.iter().map(ToString::to_string).collect();
                let _ = writeln!(lines, "# X-Start-Before:    {}", before.join(" "));
            }
            lines
        },
        posts = spec
            .exec_start_post
            .iter()
            .map(|command| {
                format!(
                    "\n\t\t\t# shellcheck disable=SC2016,SC1003\n\t\t\t{} || return 1\n\t\t\t",
                    as_user(spec, command)
                )
            })
            .collect::<String>(),
        stops = spec
            .exec_stop
            .iter()
            .map(|command| {
                format!(
                    "\t# shellcheck disable=SC2016,SC1003\n\t{} || :\n",
                    as_user(spec, command)
                )
            })
            .collect::<String>(),
    ))
}

/// `command` as one sh line, each word single-quoted, run as the service's user
/// (`runuser -u USER --`) when it has one.
/// Its prefixes as sh says them: `-` (failure ignored) `{ …|| :; }`, `+` or `!` as root (no
/// runuser); `@` is refused ([`cannot_honour`]) and `:` needs nothing (nothing expands).
fn as_user(spec: &ServiceSpec, command: &[String]) -> String {
    let (prefix, program) = match command.split_first() {
        Some((first, rest)) => match Prefix::split(first) {
            Ok((prefix, program)) => (
                prefix,
                std::iter::once(program)
                    .chain(rest.iter().map(String::as_str))
                    .collect::<Vec<_>>(),
            ),
            Err(_) => (
                Prefix::default(),
                command.iter().map(String::as_str).collect(),
            ),
        },
        None => (Prefix::default(), Vec::new()),
    };
    let words = program
        .iter()
        .map(|word| sh_quote(word))
        .collect::<Vec<_>>()
        .join(" ");
    let line = match &spec.account {
        Some(user) if !prefix.privileged => format!("runuser -u {} -- {words}", sh_quote(user)),
        _ => words,
    };
    match prefix.ignore_failure {
        true => format!("{{ {line} || :; }}"),
        false => line,
    }
}

/// The `reload)` branch: the reload signal to the daemon's verified main process, or the
/// reload command (as the service's user), or a refusal; LSB's 7 when it is not running.
fn reload_body(spec: &ServiceSpec) -> Result<String, Error> {
    let not_running = "\t\t\"$SVCKIT\" probe --pidfile=\"$PIDFILE\" >/dev/null || exit 7\n";
    Ok(match spec.reload_action() {
        Some(ReloadAction::Signal(signal)) => format!(
            "\t\t\"$SVCKIT\" kill --pidfile=\"$PIDFILE\" --signal={} --no-wait || exit 1\n\
             \t\techo \"$NAME: reloading\"\n",
            sh_quote(signal.name())
        ),
        Some(ReloadAction::Command(command)) => format!(
            "{not_running}\t\t# shellcheck disable=SC2016,SC1003\n\
             \t\t{} || exit 1\n\t\techo \"$NAME: reloaded\"\n",
            as_user(spec, command)
        ),
        None => {
            "\t\techo \"$NAME: reload is not supported (use restart)\" >&2\n\t\texit 3\n".to_owned()
        }
    })
}

#[cfg(unix)]
pub use manager::Sysv;

#[cfg(unix)]
mod manager {
    use std::{
        fs,
        path::{Path, PathBuf},
        time::Duration,
    };

    use svckit_core::{Accept, Control, ServiceName, ServiceSpec, State};
    use svckit_unix::pidfile::{self, PidfileState};

    use super::{pidfile as pidfile_of, render, script_path};
    use crate::{
        Backend, Error, Installed, Status,
        run::{check, run, write_file},
    };

    /// Debian's tool that links an init script into the runlevels.
    const UPDATE_RC_D: &str = "/usr/sbin/update-rc.d";

    /// The SysV init backend: scripts in `ROOT/etc/init.d`, registered with update-rc.d when
    /// `ROOT` is `/` and the tool exists (under another root, the package's scripts do it).
    #[derive(Debug, Clone)]
    pub struct Sysv {
        root: PathBuf,
        svckit: PathBuf,
    }

    impl Sysv {
        /// Scripts under `root` (`/` for this system) that run the svckit binary at `svckit`.
        pub fn new(root: impl Into<PathBuf>, svckit: impl Into<PathBuf>) -> Sysv {
            Sysv {
                root: root.into(),
                svckit: svckit.into(),
            }
        }

        /// Where `name`'s script is.
        pub fn script(&self, name: &ServiceName) -> PathBuf {
            script_path(&self.root, name)
        }

        fn registers(&self) -> bool {
            self.root == Path::new("/") && Path::new(UPDATE_RC_D).exists()
        }

        fn run_script(&self, name: &ServiceName, action: &str) -> Result<crate::run::Ran, Error> {
            let script = self.script(name);
            if !script.exists() {
                return Err(Error::NotInstalled(name.clone()));
            }
            run(&script, &[action])
        }
    }

    fn failed(name: &ServiceName, action: &str, ran: &crate::run::Ran) -> Error {
        let said = ran.last_message();
        match ran.code {
            4 => Error::PermissionDenied {
                operation: format!("{action} {name}: {said}"),
            },
            _ => Error::os(
                format!("/etc/init.d/{name} {action} exited with {}", ran.code),
                said,
            ),
        }
    }

    impl Backend for Sysv {
        fn name(&self) -> &'static str {
            "sysv"
        }

        fn install(&self, spec: &ServiceSpec) -> Result<Installed, Error> {
            if !spec.listen.is_empty() {
                return self.install_entry(spec);
            }
            let script = render(spec, &self.svckit)?;
            let path = self.script(&spec.name);
            let had_entry = self.entry(&spec.name).exists();
            if had_entry {
                // It had sockets: xinetd's entry goes.
                self.remove_entry(&spec.name, Duration::from_secs(10))?;
            }
            let existed = path.exists() || had_entry;
            if path.exists() {
                // Over an existing script: stop what it runs first.
                let ran = self.run_script(&spec.name, "stop")?;
                if ran.code != 0 {
                    return Err(failed(&spec.name, "stop", &ran));
                }
            }
            write_file(&path, &script, 0o755)?;
            if self.registers() {
                let name = spec.name.as_str();
                let registered = (|| {
                    if existed && !had_entry {
                        check(Path::new(UPDATE_RC_D), &["-f", name, "remove"])?;
                    }
                    check(Path::new(UPDATE_RC_D), &[name, "defaults"])
                })();
                if let Err(err) = registered {
                    // No half-installed service.
                    let _ = run(Path::new(UPDATE_RC_D), &["-f", name, "remove"]);
                    let _ = fs::remove_file(&path);
                    return Err(err);
                }
            }
            Ok(if existed {
                Installed::Replaced
            } else {
                Installed::Created
            })
        }

        fn uninstall(&self, name: &ServiceName, timeout: Duration) -> Result<(), Error> {
            if self.entry(name).exists() {
                return self.remove_entry(name, timeout);
            }
            let ran = self.run_script(name, "stop")?;
            if ran.code != 0 {
                return Err(failed(name, "stop", &ran));
            }
            if self.registers() {
                check(Path::new(UPDATE_RC_D), &["-f", name.as_str(), "remove"])?;
            }
            let path = self.script(name);
            fs::remove_file(&path)
                .map_err(|err| Error::os(format!("remove {}", path.display()), err))
        }

        fn start(&self, name: &ServiceName, _wait: Option<Duration>) -> Result<Status, Error> {
            if self.entry(name).exists() {
                self.switch_entry(name, true, Duration::from_secs(10))?;
                return self.status(name);
            }
            // The script returns once the program runs (or is ready, with notify).
            let ran = self.run_script(name, "start")?;
            if ran.code != 0 {
                return Err(failed(name, "start", &ran));
            }
            self.status(name)
        }

        fn control(
            &self,
            name: &ServiceName,
            control: Control,
            timeout: Duration,
        ) -> Result<Status, Error> {
            if control == Control::Stop && self.entry(name).exists() {
                self.switch_entry(name, false, timeout)?;
                return self.status(name);
            }
            if control != Control::Stop {
                return Err(Error::NotAccepted {
                    name: name.clone(),
                    control,
                });
            }
            let ran = self.run_script(name, "stop")?;
            if ran.code != 0 {
                return Err(failed(name, "stop", &ran));
            }
            self.status(name)
        }

        fn logs(&self, name: &ServiceName) -> Result<crate::Logs, Error> {
            if self.entry(name).exists() {
                return Err(Error::Unsupported {
                    backend: "sysv",
                    setting: "logs",
                    reason: "xinetd connects its servers' stderr to their client and logs \
                             connections to syslog: there is no log of the service's own"
                        .into(),
                });
            }
            if !self.script(name).exists() {
                return Err(Error::NotInstalled(name.clone()));
            }
            // The init script appends both streams to one file, never rotated by svckit.
            Ok(crate::Logs::File(super::log_file(name)))
        }

        fn status(&self, name: &ServiceName) -> Result<Status, Error> {
            if self.entry(name).exists() {
                return self.entry_status(name);
            }
            let ran = self.run_script(name, "status")?;
            let state = match ran.code {
                0 => State::Running,
                1 | 3 => State::Stopped,
                _ => return Err(failed(name, "status", &ran)),
            };
            let pid = match pidfile::probe(pidfile_of(name)) {
                Ok(PidfileState::Running(pid)) if state == State::Running => pid,
                _ => None,
            };
            let mut status = Status::new(name.clone(), svckit_core::BackendKind::Sysv, state);
            status.pid = pid;
            status.uptime = pid.and_then(|pid| svckit_unix::process::uptime(pid).ok());
            if state == State::Running {
                status.accept = Accept::STOP;
            }
            Ok(status)
        }
    }

    /// Where xinetd writes its pid (Debian's init script).
    const XINETD_PIDFILE: &str = "/run/xinetd.pid";

    /// xinetd's pid, when it runs (its PID file names a live process called xinetd).
    fn xinetd() -> Option<svckit_core::Pid> {
        let pid: u32 = fs::read_to_string(XINETD_PIDFILE)
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let pid = svckit_core::Pid::new(pid)?;
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (comm.trim() == "xinetd").then_some(pid)
    }

    /// An entry's `attribute = value`.
    fn attribute<'a>(entry: &'a str, attribute: &str) -> Option<&'a str> {
        entry.lines().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == attribute).then(|| value.trim())
        })
    }

    /// Where an entry listens: its `bind` (every address when absent) and `port`.
    fn address_of(entry: &str) -> Option<std::net::SocketAddr> {
        let port: u16 = attribute(entry, "port")?.parse().ok()?;
        let ip = match attribute(entry, "bind") {
            Some(ip) => ip.parse().ok()?,
            None => std::net::IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        };
        Some(std::net::SocketAddr::new(ip, port))
    }

    impl Sysv {
        /// Where `name`'s xinetd entry is.
        pub fn entry(&self, name: &ServiceName) -> PathBuf {
            crate::xinetd::entry_path(&self.root, name)
        }

        /// Whether xinetd here is the running one (not files under another root).
        fn live(&self) -> bool {
            self.root == Path::new("/")
        }

        /// Installs a service with sockets as an xinetd entry, switched on at once when xinetd
        /// runs (it listens before this returns); a port xinetd cannot bind fails the install
        /// and leaves nothing of it.
        fn install_entry(&self, spec: &ServiceSpec) -> Result<Installed, Error> {
            let entry = render(spec, &self.svckit)?;
            let dir = self.root.join("etc/xinetd.d");
            if !dir.is_dir() {
                return Err(Error::Unsupported {
                    backend: "sysv",
                    setting: "listen",
                    reason: format!(
                        "xinetd is not installed (no {}), and SysV init binds no sockets \
                         itself; install xinetd, or use the builtin or systemd backend",
                        dir.display()
                    ),
                });
            }
            let name = &spec.name;
            let path = self.entry(name);
            let script = self.script(name);
            let existed = path.exists() || script.exists();
            if script.exists() {
                // It had no sockets: its init script goes.
                self.uninstall(name, spec.stop.timeout)?;
            }
            if path.exists() {
                self.switch_entry(name, false, spec.stop.timeout)?;
            }
            write_file(&path, &entry, 0o644)?;
            // xinetd reads it now if it runs (and must then listen), else when it starts.
            if self.live()
                && let Some(xinetd) = xinetd()
                && let Err(err) = self.switch_entry(name, true, spec.stop.timeout)
            {
                let _ = fs::remove_file(&path);
                svckit_unix::process::send(xinetd, svckit_core::Signal::Hup);
                return Err(err);
            }
            Ok(if existed {
                Installed::Replaced
            } else {
                Installed::Created
            })
        }

        /// Switches `name`'s entry on (xinetd listens) or off (xinetd stops listening, and its
        /// instances are stopped: SIGTERM, SIGKILL after `timeout`), and has xinetd read it.
        fn switch_entry(
            &self,
            name: &ServiceName,
            on: bool,
            timeout: Duration,
        ) -> Result<(), Error> {
            let path = self.entry(name);
            let entry = fs::read_to_string(&path)
                .map_err(|err| Error::os(format!("read {}", path.display()), err))?;
            write_file(&path, &crate::xinetd::with_disable(&entry, !on), 0o644)?;
            if !self.live() {
                return Ok(());
            }
            let at = address_of(&entry)
                .ok_or_else(|| Error::os(format!("read {}", path.display()), "no port"))?;
            let port = at.port();
            let Some(xinetd) = xinetd() else {
                return match on {
                    true => Err(Error::NoBackend(format!(
                        "xinetd is not running (no live {XINETD_PIDFILE}): start it with \
                         `service xinetd start`, which reads {}",
                        path.display()
                    ))),
                    false => Ok(()),
                };
            };
            // SIGHUP: xinetd reads its configuration again.
            svckit_unix::process::send(xinetd, svckit_core::Signal::Hup);
            let settled = svckit_unix::process::wait_until(Duration::from_secs(10), || {
                svckit_unix::sockets::listens(at) == on
            });
            if !settled {
                return Err(Error::os(
                    format!(
                        "{} port {port} with xinetd",
                        if on { "listen on" } else { "close" }
                    ),
                    "xinetd did not (its log, in syslog, says why)",
                ));
            }
            if !on {
                let instances = self.instances(name);
                let _ = svckit_unix::process::terminate_all(
                    &instances,
                    svckit_core::Signal::Term,
                    timeout,
                    || {
                        instances
                            .iter()
                            .all(|pid| svckit_unix::process::is_gone(*pid))
                    },
                );
            }
            Ok(())
        }

        /// The instances xinetd runs for `name`: its children running the entry's server.
        fn instances(&self, name: &ServiceName) -> Vec<svckit_core::Pid> {
            let (Some(xinetd), Ok(entry)) = (xinetd(), fs::read_to_string(self.entry(name))) else {
                return Vec::new();
            };
            let Some(server) = attribute(&entry, "server").and_then(|s| fs::canonicalize(s).ok())
            else {
                return Vec::new();
            };
            svckit_unix::process::live_children(xinetd)
                .into_iter()
                .filter(|pid| {
                    fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == server)
                })
                .collect()
        }

        /// Stops `name`'s entry and removes it.
        fn remove_entry(&self, name: &ServiceName, timeout: Duration) -> Result<(), Error> {
            self.switch_entry(name, false, timeout)?;
            let path = self.entry(name);
            fs::remove_file(&path)
                .map_err(|err| Error::os(format!("remove {}", path.display()), err))?;
            if let Some(xinetd) = xinetd().filter(|_| self.live()) {
                svckit_unix::process::send(xinetd, svckit_core::Signal::Hup);
            }
            Ok(())
        }

        /// The status of a service xinetd runs: running while its entry is on and xinetd
        /// listens on its port; its instances.
        fn entry_status(&self, name: &ServiceName) -> Result<Status, Error> {
            let path = self.entry(name);
            let entry = fs::read_to_string(&path)
                .map_err(|err| Error::os(format!("read {}", path.display()), err))?;
            let at = address_of(&entry);
            let on = crate::xinetd::enabled(&entry)
                && self.live()
                && xinetd().is_some()
                && at.is_some_and(svckit_unix::sockets::listens);
            let state = if on { State::Running } else { State::Stopped };
            let mut status = Status::new(name.clone(), svckit_core::BackendKind::Sysv, state);
            status.sockets = Some(svckit_core::listen::Activity {
                listen: at.map(|at| format!("tcp:{at}")).into_iter().collect(),
                accept: "inetd".into(),
                instances: self.instances(name).len() as u32,
                accepted: 0,
                refused: 0,
            });
            if on {
                status.accept = Accept::STOP;
            }
            Ok(status)
        }
    }
}
