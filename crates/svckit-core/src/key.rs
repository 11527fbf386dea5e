//! The keys of a service definition, as definitions and flags name them (`restart.max_delay`):
//! one enum, so what a backend cannot honour, what a change touches and what docs/supervisor.md says
//! each backend makes of a key are told of the same things.

use crate::{DirectoryKind, Preserve, ServiceSpec};

macro_rules! keys {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// A key of a service definition.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Key {
            $(#[doc = $doc] $variant,)*
        }

        impl Key {
            /// Every key, in the order definitions list them.
            pub const ALL: &'static [Key] = &[$(Key::$variant,)*];

            /// The key as definitions and flags name it: `restart.max_delay`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Key::$variant => $name,)*
                }
            }
        }
    };
}

keys! {
    DisplayName => "display_name", "`display_name`: the name shown to people.";
    Description => "description", "`description`.";
    Program => "program", "`program`: its prefixes (`-`, `+`, `!`, `@`, `:`; the program itself is every backend's).";
    ExpandEnv => "expand_env", "`expand_env`: `$VAR` in its arguments and commands replaced at each start.";
    WorkingDir => "working_dir", "`working_dir`: where it runs.";
    Env => "env", "`env`: variables set in its environment.";
    User => "user", "`user`: the account it runs as.";
    Password => "password", "`password`: the account's password (Windows).";
    Group => "group", "`group`: its primary group.";
    Umask => "umask", "`umask`.";
    Start => "start", "`start`: auto, demand, delayed or disabled.";
    Type => "type", "`type`: exec, forking, notify or oneshot.";
    PidFile => "pid_file", "`pid_file`: where a forking daemon writes its pid.";
    NotifyAccess => "notify_access", "`notify_access`: who may send sd_notify messages.";
    Watchdog => "watchdog", "`watchdog`: how often it must say WATCHDOG=1.";
    KillMode => "kill_mode", "`kill_mode`: what a stop signals.";
    ReadyTimeout => "ready_timeout", "`ready_timeout`: how long a start waits for readiness.";
    TimeoutStart => "timeout_start", "`timeout_start`: how long a whole start may take, of any type.";
    Dependencies => "dependencies", "`dependencies`: started first, as Wants= + After=.";
    Requires => "requires", "`requires`: started first and needed, as Requires= + After=.";
    Wants => "wants", "`wants`: started with it, not waited for.";
    After => "after", "`after`: waited for when starting anyway.";
    Before => "before", "`before`: started before these when they start anyway.";
    Conditions => "conditions", "`conditions`: what it waits for in a dependency (started, healthy, a log line, …).";
    RestartPolicy => "restart.policy", "`restart.policy`: never, on-failure, always, on-success, on-abnormal, on-abort or on-watchdog.";
    RestartDelay => "restart.delay", "`restart.delay`: the first wait before a restart.";
    RestartMaxDelay => "restart.max_delay", "`restart.max_delay`: the backoff's ceiling.";
    RestartResetAfter => "restart.reset_after", "`restart.reset_after`: a run that resets the backoff.";
    RestartLimit => "restart.limit", "`restart.limit`: starts allowed within the window.";
    RestartWindow => "restart.window", "`restart.window`: the start limit's window.";
    StopSignal => "stop.signal", "`stop.signal`: the signal a stop sends.";
    StopTimeout => "stop.timeout", "`stop.timeout`: how long before SIGKILL.";
    ExecStartPre => "exec_start_pre", "`exec_start_pre`: commands run before the program.";
    ExecStartPost => "exec_start_post", "`exec_start_post`: commands run once it runs.";
    ExecStop => "exec_stop", "`exec_stop`: commands that stop it.";
    ExecStopPost => "exec_stop_post", "`exec_stop_post`: commands run once nothing of it is left.";
    SendSigkill => "send_sigkill", "`send_sigkill`: whether the stop timeout ends in SIGKILL.";
    EnvironmentFile => "environment_file", "`environment_file`: files of variables read at start.";
    RuntimeDirectory => "runtime_directory", "`runtime_directory`: directories under /run.";
    RuntimeDirectoryMode => "runtime_directory_mode", "`runtime_directory_mode`: their mode.";
    RuntimeDirectoryPreserve => "runtime_directory_preserve", "`runtime_directory_preserve`: whether they outlive a stop.";
    StateDirectory => "state_directory", "`state_directory` (and `state_directory_mode`): directories under /var/lib.";
    CacheDirectory => "cache_directory", "`cache_directory` (and `cache_directory_mode`): directories under /var/cache.";
    LogsDirectory => "logs_directory", "`logs_directory` (and `logs_directory_mode`): directories under /var/log.";
    ConfigurationDirectory => "configuration_directory", "`configuration_directory` (and `configuration_directory_mode`): directories under /etc.";
    Limits => "limits", "`limits`: resource limits (nofile, nproc, …).";
    Nice => "nice", "`nice`: its scheduling priority.";
    SuccessExitStatus => "success_exit_status", "`success_exit_status`: ends that count as success.";
    RestartPreventExitStatus => "restart_prevent_exit_status", "`restart_prevent_exit_status`: ends never restarted.";
    OomScoreAdjust => "oom_score_adjust", "`oom_score_adjust`: the OOM killer's bias.";
    ReloadSignal => "reload.signal", "`reload.signal`: the signal a reload sends.";
    ReloadCommand => "reload.command", "`reload.command`: the command a reload runs.";
    LogsMaxSize => "logs.max_size", "`logs.max_size`: the size captured logs rotate at.";
    LogsKeep => "logs.keep", "`logs.keep`: rotated files kept.";
    Listen => "listen", "`listen`: sockets bound for it, the first connection starting it.";
    Accept => "accept", "`accept`: an instance per connection (inetd, fd) or none (no).";
    MaxConnections => "max_connections", "`max_connections`: instances at once, per connection.";
    MaxConnectionsPerSource => "max_connections_per_source", "`max_connections_per_source`: instances of one address.";
    IdleStop => "idle_stop", "`idle_stop`: stopped after this long without a connection.";
    Readiness => "readiness", "`readiness`: the probe that says when a start is done.";
    Liveness => "liveness", "`liveness`: the probe that says whether it still works.";
}

impl Key {
    /// The key named `name` (`restart.max_delay`; a table's key alone, `restart`, is none).
    pub fn named(name: &str) -> Option<Key> {
        Key::ALL.iter().copied().find(|key| key.name() == name)
    }

    /// Whether a change of it changes the process (a running service must be restarted for
    /// it): its program, arguments, account, environment, limits, … but not what is around it
    /// (its name for people, start type, restart and stop policies, logs, dependencies,
    /// post-start and stop commands, reload).
    pub fn shapes_the_process(self) -> bool {
        !matches!(
            self,
            Key::DisplayName
                | Key::Description
                | Key::Start
                | Key::RestartPolicy
                | Key::RestartDelay
                | Key::RestartMaxDelay
                | Key::RestartResetAfter
                | Key::RestartLimit
                | Key::RestartWindow
                | Key::LogsMaxSize
                | Key::LogsKeep
                | Key::StopSignal
                | Key::StopTimeout
                | Key::ReloadSignal
                | Key::ReloadCommand
                | Key::Dependencies
                | Key::Requires
                | Key::Wants
                | Key::After
                | Key::Conditions
                | Key::SuccessExitStatus
                | Key::RestartPreventExitStatus
                | Key::ReadyTimeout
                | Key::TimeoutStart
                | Key::ExecStop
                | Key::ExecStartPost
                | Key::ExecStopPost
                | Key::SendSigkill
                | Key::Before
                | Key::RuntimeDirectoryPreserve
        )
    }

    /// The keys of `spec` that differ from their defaults: a default stands for "the service
    /// manager's usual behaviour", so only a key given asks something of a backend.
    pub fn given(spec: &ServiceSpec) -> Vec<Key> {
        let base = ServiceSpec::new(spec.name.clone(), spec.program.clone());
        let dirs = spec.directories.as_deref().cloned().unwrap_or_default();
        let kept = |kind| {
            let (names, mode) = dirs.of(kind);
            !names.is_empty() || mode.is_some()
        };
        Key::ALL
            .iter()
            .copied()
            .filter(|key| match key {
                Key::DisplayName => spec.display_name != base.display_name,
                Key::Description => spec.description != base.description,
                Key::Program => !spec.program_prefix.is_empty(),
                Key::ExpandEnv => spec.expand_env,
                Key::WorkingDir => spec.working_dir != base.working_dir,
                Key::Env => spec.env != base.env,
                Key::User => spec.account != base.account,
                Key::Password => spec.password != base.password,
                Key::Group => spec.group != base.group,
                Key::Umask => spec.umask != base.umask,
                Key::Start => spec.start != base.start,
                Key::Type => spec.service_type != base.service_type,
                Key::PidFile => spec.pid_file != base.pid_file,
                Key::NotifyAccess => spec.notify_access != base.notify_access,
                Key::Watchdog => spec.watchdog != base.watchdog,
                Key::KillMode => spec.kill_mode != base.kill_mode,
                Key::ReadyTimeout => spec.ready_timeout != base.ready_timeout,
                Key::TimeoutStart => spec.timeout_start.is_some(),
                Key::Dependencies => spec.dependencies != base.dependencies,
                Key::Requires => !spec.requires.is_empty(),
                Key::Wants => !spec.wants.is_empty(),
                Key::After => !spec.after.is_empty(),
                Key::Before => !spec.before.is_empty(),
                Key::Conditions => spec
                    .conditions
                    .iter()
                    .any(|(_, condition)| *condition != crate::condition::Condition::Ready),
                Key::RestartPolicy => spec.restart.policy != base.restart.policy,
                Key::RestartDelay => spec.restart.delay != base.restart.delay,
                Key::RestartMaxDelay => spec.restart.max_delay != base.restart.max_delay,
                Key::RestartResetAfter => spec.restart.reset_after != base.restart.reset_after,
                Key::RestartLimit => spec.restart.limit != base.restart.limit,
                Key::RestartWindow => spec.restart.window != base.restart.window,
                Key::StopSignal => spec.stop.signal != base.stop.signal,
                Key::StopTimeout => spec.stop.timeout != base.stop.timeout,
                Key::ExecStartPre => !spec.exec_start_pre.is_empty(),
                Key::ExecStartPost => !spec.exec_start_post.is_empty(),
                Key::ExecStop => !spec.exec_stop.is_empty(),
                Key::ExecStopPost => !spec.exec_stop_post.is_empty(),
                Key::SendSigkill => !spec.send_sigkill,
                Key::EnvironmentFile => !spec.environment_file.is_empty(),
                Key::RuntimeDirectory => !spec.runtime_directory.is_empty(),
                Key::RuntimeDirectoryMode => dirs.runtime_mode.is_some(),
                Key::RuntimeDirectoryPreserve => dirs.runtime_preserve != Preserve::No,
                Key::StateDirectory => kept(DirectoryKind::State),
                Key::CacheDirectory => kept(DirectoryKind::Cache),
                Key::LogsDirectory => kept(DirectoryKind::Logs),
                Key::ConfigurationDirectory => kept(DirectoryKind::Configuration),
                Key::Limits => spec.limits != base.limits,
                Key::Nice => spec.nice.is_some(),
                Key::SuccessExitStatus => !spec.success_exit_status.is_empty(),
                Key::RestartPreventExitStatus => !spec.restart_prevent_exit_status.is_empty(),
                Key::OomScoreAdjust => spec.oom_score_adjust.is_some(),
                Key::Listen => !spec.listen.is_empty(),
                Key::Accept => spec.accept != base.accept,
                Key::MaxConnections => spec.max_connections != base.max_connections,
                Key::MaxConnectionsPerSource => spec.max_connections_per_source.is_some(),
                Key::IdleStop => spec.idle_stop.is_some(),
                Key::Readiness => spec.readiness.is_some(),
                Key::Liveness => spec.liveness.is_some() || spec.on_unhealthy != base.on_unhealthy,
                Key::ReloadSignal => spec.reload.signal.is_some(),
                Key::ReloadCommand => !spec.reload.command.is_empty(),
                Key::LogsMaxSize => spec.logs.max_size != base.logs.max_size,
                Key::LogsKeep => spec.logs.keep != base.logs.keep,
            })
            .collect()
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_one_name_and_is_found_by_it() {
        for key in Key::ALL {
            assert_eq!(Key::named(key.name()), Some(*key));
        }
        let mut names: Vec<&str> = Key::ALL.iter().map(|key| key.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Key::ALL.len());
        assert_eq!(Key::named("restart"), None);
    }

    #[test]
    fn a_new_definition_gives_no_key() {
        let spec = ServiceSpec::new(
            crate::ServiceName::new("web").unwrap(),
            std::path::PathBuf::from("/bin/true"),
        );
        assert_eq!(Key::given(&spec), []);
    }
}
