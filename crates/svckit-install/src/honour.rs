//! What each backend cannot honour. A setting a backend cannot carry out is an error that names
//! the setting (as definitions and flags name it), never silently dropped.
//!
//! A setting counts as given when it differs from its default: the defaults stand for "the
//! service manager's usual behaviour", so `restart = "on-failure"` alone works everywhere,
//! while `restart.max_delay = "5m"` on a manager without backoff is refused.

use svckit_core::{
    BackendKind, LogPolicy, Restart, ServiceName, ServiceSpec, ServiceType, StartType,
};

use crate::Error;

/// The spec's settings that differ from their defaults, by their definition keys.
pub fn given(spec: &ServiceSpec) -> Vec<&'static str> {
    let base = ServiceSpec::new(spec.name.clone(), spec.program.clone());
    let mut keys = Vec::new();
    let mut check = |key, differs: bool| {
        if differs {
            keys.push(key);
        }
    };
    check("display_name", spec.display_name != base.display_name);
    check("description", spec.description != base.description);
    check("working_dir", spec.working_dir != base.working_dir);
    check("env", spec.env != base.env);
    check("user", spec.account != base.account);
    check("password", spec.password != base.password);
    check("group", spec.group != base.group);
    check("umask", spec.umask != base.umask);
    check("start", spec.start != base.start);
    check("type", spec.service_type != base.service_type);
    check("pid_file", spec.pid_file != base.pid_file);
    check("notify_access", spec.notify_access != base.notify_access);
    check("watchdog", spec.watchdog != base.watchdog);
    check("kill_mode", spec.kill_mode != base.kill_mode);
    check("ready_timeout", spec.ready_timeout != base.ready_timeout);
    check("dependencies", spec.dependencies != base.dependencies);
    check("requires", !spec.requires.is_empty());
    check("wants", !spec.wants.is_empty());
    check("after", !spec.after.is_empty());
    check("restart.policy", spec.restart.policy != base.restart.policy);
    check("restart.delay", spec.restart.delay != base.restart.delay);
    check(
        "restart.max_delay",
        spec.restart.max_delay != base.restart.max_delay,
    );
    check(
        "restart.reset_after",
        spec.restart.reset_after != base.restart.reset_after,
    );
    check("restart.limit", spec.restart.limit != base.restart.limit);
    check("restart.window", spec.restart.window != base.restart.window);
    check("stop.signal", spec.stop.signal != base.stop.signal);
    check("exec_start_pre", !spec.exec_start_pre.is_empty());
    check("exec_start_post", !spec.exec_start_post.is_empty());
    check("exec_stop", !spec.exec_stop.is_empty());
    check("environment_file", !spec.environment_file.is_empty());
    check("runtime_directory", !spec.runtime_directory.is_empty());
    check("limits", spec.limits != base.limits);
    check("nice", spec.nice.is_some());
    check("success_exit_status", !spec.success_exit_status.is_empty());
    check(
        "restart_prevent_exit_status",
        !spec.restart_prevent_exit_status.is_empty(),
    );
    check("oom_score_adjust", spec.oom_score_adjust.is_some());
    check("reload.signal", spec.reload.signal.is_some());
    check("reload.command", !spec.reload.command.is_empty());
    check("stop.timeout", spec.stop.timeout != base.stop.timeout);
    check("logs.max_size", spec.logs.max_size != base.logs.max_size);
    check("logs.keep", spec.logs.keep != base.logs.keep);
    keys
}

/// Checks that `backend` can honour every setting of `spec`; the error names the first it
/// cannot, and why.
pub fn check(backend: BackendKind, spec: &ServiceSpec) -> Result<(), Error> {
    let given = given(spec);
    let refuse = |setting: &'static str, reason: &str| {
        Err(Error::Unsupported {
            backend: backend.name(),
            setting,
            reason: reason.to_owned(),
        })
    };
    let restarts = spec.restart.policy != Restart::Never;
    match backend {
        BackendKind::Auto | BackendKind::Builtin => {
            if given.contains(&"password") {
                return refuse(
                    "password",
                    "the supervisor switches users without passwords",
                );
            }
            if spec.start == StartType::Delayed {
                return refuse(
                    "start",
                    "\"delayed\" is a Windows start type; the supervisor starts auto services at once",
                );
            }
        }
        BackendKind::Systemd => {
            if given.contains(&"password") {
                return refuse("password", "systemd runs User= without a password");
            }
            if spec.start == StartType::Delayed {
                return refuse(
                    "start",
                    "systemd has no delayed start (use auto, and dependencies for order)",
                );
            }
            if restarts
                && given.contains(&"restart.max_delay")
                && spec.restart.max_delay != spec.restart.delay
            {
                return refuse(
                    "restart.max_delay",
                    "systemd restarts after a fixed RestartSec= (no exponential backoff before \
                     systemd 254); make it equal to restart.delay",
                );
            }
            if restarts && given.contains(&"restart.reset_after") {
                return refuse(
                    "restart.reset_after",
                    "systemd's restart delay does not grow, so there is no backoff to reset",
                );
            }
            if spec.logs != LogPolicy::default() {
                let key = first_of(&given, &["logs.max_size", "logs.keep"]);
                return refuse(
                    key,
                    "systemd sends output to the journal, which journald.conf sizes",
                );
            }
        }
        BackendKind::Sysv => {
            if spec.service_type == ServiceType::Oneshot {
                return refuse(
                    "type",
                    "an init script runs daemons (exec, forking, notify) through svckit \
                     daemonize; a oneshot has none to run",
                );
            }
            for key in ["success_exit_status", "restart_prevent_exit_status"] {
                if given.contains(&key) {
                    return refuse(
                        key,
                        "SysV init neither restarts a service nor judges how it ended",
                    );
                }
            }
            if given.contains(&"environment_file") {
                return refuse(
                    "environment_file",
                    "an init script reads no environment files (use env, or the builtin or \
                     systemd backend)",
                );
            }
            for key in ["watchdog", "kill_mode", "notify_access"] {
                if given.contains(&key) {
                    return refuse(
                        key,
                        "an init script has no supervisor to carry it out (use the builtin or systemd backend)",
                    );
                }
            }
            if given.contains(&"password") {
                return refuse(
                    "password",
                    "svckit daemonize switches users without passwords",
                );
            }
            match spec.start {
                StartType::Delayed => {
                    return refuse("start", "SysV init has no delayed start (use auto)");
                }
                StartType::Disabled => {
                    return refuse(
                        "start",
                        "an init script can always be run (use demand: not started at boot)",
                    );
                }
                StartType::Auto | StartType::Demand => {}
            }
            if restarts {
                return refuse(
                    "restart.policy",
                    "SysV init does not restart services that end (use the systemd or builtin backend)",
                );
            }
            if spec.logs != LogPolicy::default() {
                let key = first_of(&given, &["logs.max_size", "logs.keep"]);
                return refuse(
                    key,
                    "the script appends output to /var/log/NAME.log; rotate it with logrotate",
                );
            }
        }
        BackendKind::Windows => {
            if spec.service_type != ServiceType::Exec && spec.service_type != ServiceType::Notify {
                return refuse(
                    "type",
                    "a service on the SCM reports its own state: exec (or notify, the same there)",
                );
            }
            let unsupported: [(&str, &str); 28] = [
                (
                    "wants",
                    "the SCM's dependencies are all required (use requires or dependencies)",
                ),
                (
                    "after",
                    "the SCM orders services only by dependencies it requires",
                ),
                (
                    "exec_start_post",
                    "the SCM starts a program on the service API and nothing after it (a \
                     hosted program, type exec, gets it)",
                ),
                (
                    "exec_stop",
                    "the SCM stops a program on the service API by its Stop control (a hosted \
                     program, type exec, gets it)",
                ),
                (
                    "success_exit_status",
                    "the SCM judges a program on the service API by the exit code it reports \
                     (a hosted program, type exec, gets it)",
                ),
                (
                    "restart_prevent_exit_status",
                    "the SCM's recovery actions know no exit statuses (a hosted program, type \
                     exec, gets it)",
                ),
                (
                    "environment_file",
                    "svckit does not set a service's environment in the SCM",
                ),
                ("runtime_directory", "Windows has no /run"),
                (
                    "limits",
                    "Windows has no resource limits of this kind (job objects)",
                ),
                ("nice", "the SCM sets no priority class"),
                ("oom_score_adjust", "Windows has no OOM killer score"),
                (
                    "exec_start_pre",
                    "the SCM starts a program on the service API and nothing before it (a \
                     hosted program, type exec, gets it)",
                ),
                (
                    "reload.signal",
                    "Windows has no signals; a reload is the SCM's PARAMCHANGE control",
                ),
                (
                    "reload.command",
                    "a reload is the SCM's PARAMCHANGE control, which a program on the service \
                     API handles itself (a hosted program, type exec, gets it)",
                ),
                ("pid_file", "the SCM knows its services' processes itself"),
                ("watchdog", "the SCM has no watchdog"),
                ("notify_access", "the SCM has no sd_notify"),
                ("kill_mode", "the SCM stops a service by its Stop control"),
                (
                    "working_dir",
                    "a program on the service API is started by the SCM in System32 (a \
                     hosted program, type exec, gets it)",
                ),
                (
                    "env",
                    "a program on the service API gets the SCM's environment (a hosted \
                     program, type exec, gets it)",
                ),
                ("group", "Windows accounts have no primary group to choose"),
                ("umask", "Windows has no file mode creation mask"),
                (
                    "stop.signal",
                    "Windows has no signals; the SCM sends SERVICE_CONTROL_STOP",
                ),
                (
                    "logs.max_size",
                    "the SCM does not capture a service's output (a hosted program's, type \
                     exec, is)",
                ),
                (
                    "logs.keep",
                    "the SCM does not capture a service's output (a hosted program's, type \
                     exec, is)",
                ),
                ("restart.limit", "the SCM restarts without a limit"),
                ("restart.window", "the SCM restarts without a limit"),
                (
                    "ready_timeout",
                    "a service on the SCM sets its own start wait hints",
                ),
            ];
            // A hosted program (type exec) gets its working directory, environment, start
            // limit, logs and commands from svckit's host.
            let hosted = spec.service_type == ServiceType::Exec;
            for (key, reason) in unsupported {
                if hosted
                    && matches!(
                        key,
                        "working_dir"
                            | "env"
                            | "restart.limit"
                            | "restart.window"
                            | "logs.max_size"
                            | "logs.keep"
                            | "exec_start_pre"
                            | "exec_start_post"
                            | "exec_stop"
                            | "reload.command"
                            | "success_exit_status"
                            | "restart_prevent_exit_status"
                    )
                {
                    continue;
                }
                if given.contains(&key) {
                    return refuse(key, reason);
                }
            }
        }
    }
    Ok(())
}

fn first_of(given: &[&'static str], keys: &[&'static str]) -> &'static str {
    keys.iter()
        .copied()
        .find(|key| given.contains(key))
        .unwrap_or(keys[0])
}

/// Checks that `name` can name a unit or an init script: letters, digits, `_`, `.`, `-` (and
/// `:` for systemd), as both systemd and LSB allow without escaping.
pub fn file_name(backend: BackendKind, name: &ServiceName) -> Result<(), Error> {
    let extra: &[char] = if backend == BackendKind::Systemd {
        &['_', '.', '-', ':']
    } else {
        &['_', '.', '-']
    };
    let bad = name
        .as_str()
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || extra.contains(c)));
    match bad {
        Some(c) => Err(Error::Unsupported {
            backend: backend.name(),
            setting: "name",
            reason: format!(
                "{:?} contains {c:?}; use letters, digits and {}",
                name.as_str(),
                extra
                    .iter()
                    .map(|c| format!("'{c}'"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        }),
        None if name.as_str().starts_with('.') => Err(Error::Unsupported {
            backend: backend.name(),
            setting: "name",
            reason: format!("{:?} starts with '.'", name.as_str()),
        }),
        None => Ok(()),
    }
}
