//! The Windows backend: the Service Control Manager, through the windows-service crate
//! (OpenSCManager, CreateService, ChangeServiceConfig2, StartService, ControlService,
//! QueryServiceStatusEx, DeleteService).
//!
//! The image path and every argument are quoted by the rules of CommandLineToArgvW (the
//! windows-service crate's `shell_escape`), so a path with spaces is never the unquoted-path
//! hole and an argument reaches the program's argv exactly.

use svckit_core::{Key, Restart, ServiceSpec};

#[cfg(windows)]
pub use scm::*;

/// What the SCM cannot honour (its column of the key × backend table,
/// [`crate::honour::refusal`]): for a program on svckit's service API (type notify) all of
/// these; a hosted program (type exec) gets its working directory, environment, start limit,
/// logs and commands from svckit's host.
pub(crate) fn cannot_honour(key: Key, spec: &ServiceSpec) -> Option<&'static str> {
    let hosted = spec.service_type == svckit_core::ServiceType::Exec;
    let for_the_api = |reason: &'static str| (!hosted).then_some(reason);
    match key {
        Key::Readiness | Key::Liveness => for_the_api(
            "a program on the service API reports its own state to the SCM (svckit's host \
             probes a hosted program, type exec)",
        ),
        Key::Listen
        | Key::Accept
        | Key::MaxConnections
        | Key::MaxConnectionsPerSource
        | Key::IdleStop => Some("the SCM starts no service on a connection (no socket activation)"),
        Key::Type
            if !matches!(
                spec.service_type,
                svckit_core::ServiceType::Exec | svckit_core::ServiceType::Notify
            ) =>
        {
            Some("a service on the SCM reports its own state: exec (or notify, the same there)")
        }
        Key::Wants => {
            Some("the SCM's dependencies are all required (use requires or dependencies)")
        }
        Key::After | Key::Before => {
            Some("the SCM orders services only by dependencies it requires")
        }
        Key::Program if spec.program_prefix.privileged => Some(
            "a Windows service runs as its account, and nothing of it runs with more (`+`, `!`)",
        ),
        Key::Program if spec.program_prefix.argv0 => Some(
            "a Windows program reads its command line whole: svckit gives it no argv[0] apart \
             from its name (`@`)",
        ),
        Key::Program if spec.program_prefix.ignore_failure => for_the_api(
            "the SCM judges a program on the service API by the exit code it reports (a \
             hosted program, type exec, gets `-`)",
        ),
        Key::ExecStartPre | Key::ExecStartPost | Key::ExecStop | Key::ExecStopPost
            if crate::honour::command_prefixes(key, spec)
                .any(|prefix| prefix.privileged || prefix.argv0) =>
        {
            Some(
                "a Windows service's commands run as its account (no `+` or `!`) and read their \
                 command line whole (no `@`)",
            )
        }
        Key::TimeoutStart => for_the_api(
            "a program on the service API sets its own start wait hints (a hosted program, type \
             exec, gets it)",
        ),
        Key::ExpandEnv => Some(
            "svckit's Windows host passes arguments as they are written (no `$VAR` expanded \
             yet); write the values in the definition",
        ),
        Key::ExecStopPost => for_the_api(
            "the SCM runs nothing after a program on the service API stops (a hosted program, \
             type exec, gets it)",
        ),
        Key::SendSigkill => for_the_api(
            "the SCM ends a program on the service API that outlasts its stop itself (a hosted \
             program, type exec, gets it)",
        ),
        Key::RestartPolicy
            if !matches!(
                spec.restart.policy,
                Restart::Never | Restart::OnFailure | Restart::Always
            ) =>
        {
            Some(
                "the SCM's recovery restarts a service that failed, knowing neither how it ended \
                 nor a success worth a restart (use on-failure or always)",
            )
        }
        Key::RuntimeDirectoryMode | Key::RuntimeDirectoryPreserve => Some("Windows has no /run"),
        Key::StateDirectory | Key::CacheDirectory | Key::LogsDirectory => Some(
            "Windows has no /var: give the program a directory under %ProgramData% in its \
             arguments",
        ),
        Key::ConfigurationDirectory => Some(
            "Windows has no /etc: give the program a directory under %ProgramData% in its \
             arguments",
        ),
        Key::Conditions => {
            Some("the SCM waits for a dependency to be running and for nothing else")
        }
        Key::ExecStartPost => for_the_api(
            "the SCM starts a program on the service API and nothing after it (a hosted \
             program, type exec, gets it)",
        ),
        Key::ExecStop => for_the_api(
            "the SCM stops a program on the service API by its Stop control (a hosted \
             program, type exec, gets it)",
        ),
        Key::SuccessExitStatus => for_the_api(
            "the SCM judges a program on the service API by the exit code it reports (a \
             hosted program, type exec, gets it)",
        ),
        Key::RestartPreventExitStatus => for_the_api(
            "the SCM's recovery actions know no exit statuses (a hosted program, type exec, \
             gets it)",
        ),
        Key::EnvironmentFile => Some("svckit does not set a service's environment in the SCM"),
        Key::RuntimeDirectory => Some("Windows has no /run"),
        Key::Limits => Some("Windows has no resource limits of this kind (job objects)"),
        Key::Nice => Some("the SCM sets no priority class"),
        Key::OomScoreAdjust => Some("Windows has no OOM killer score"),
        Key::ExecStartPre => for_the_api(
            "the SCM starts a program on the service API and nothing before it (a hosted \
             program, type exec, gets it)",
        ),
        Key::ReloadSignal => {
            Some("Windows has no signals; a reload is the SCM's PARAMCHANGE control")
        }
        Key::ReloadCommand => for_the_api(
            "a reload is the SCM's PARAMCHANGE control, which a program on the service API \
             handles itself (a hosted program, type exec, gets it)",
        ),
        Key::PidFile => Some("the SCM knows its services' processes itself"),
        Key::Watchdog => Some("the SCM has no watchdog"),
        Key::NotifyAccess => Some("the SCM has no sd_notify"),
        Key::KillMode => Some("the SCM stops a service by its Stop control"),
        Key::WorkingDir => for_the_api(
            "a program on the service API is started by the SCM in System32 (a hosted \
             program, type exec, gets it)",
        ),
        Key::Env => for_the_api(
            "a program on the service API gets the SCM's environment (a hosted program, type \
             exec, gets it)",
        ),
        Key::Group => Some("Windows accounts have no primary group to choose"),
        Key::Umask => Some("Windows has no file mode creation mask"),
        Key::StopSignal => Some("Windows has no signals; the SCM sends SERVICE_CONTROL_STOP"),
        Key::LogsMaxSize | Key::LogsKeep => for_the_api(
            "the SCM does not capture a service's output (a hosted program's, type exec, is)",
        ),
        Key::RestartLimit | Key::RestartWindow => for_the_api("the SCM restarts without a limit"),
        // A hosted program's readiness probe is the host's wait, which it bounds.
        Key::ReadyTimeout if !(hosted && spec.readiness.is_some()) => Some(
            "a service on the SCM sets its own start wait hints (the host bounds a hosted \
             program's readiness probe with it)",
        ),
        _ => None,
    }
}

#[cfg(windows)]
mod scm {
    use std::{
        ffi::OsString,
        io, thread,
        time::{Duration, Instant},
    };

    use svckit_core::{
        Accept, Control, ExitCode, Restart, ServiceName, ServiceSpec, StartType, State,
    };
    use windows_service::{
        service::{
            Service, ServiceAccess, ServiceAction, ServiceActionType, ServiceDependency,
            ServiceErrorControl, ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod,
            ServiceInfo, ServiceStartType, ServiceState, ServiceStatus, ServiceType,
        },
        service_manager::{ServiceManager, ServiceManagerAccess},
    };

    use crate::{Backend, Error, Installed, Status, target_state};

    const ERROR_ACCESS_DENIED: i32 = 5;
    const ERROR_BROKEN_PIPE: i32 = 109;
    const ERROR_NO_DATA: i32 = 232;
    const ERROR_INVALID_SERVICE_CONTROL: i32 = 1052;
    const ERROR_SERVICE_ALREADY_RUNNING: i32 = 1056;
    const ERROR_SERVICE_DISABLED: i32 = 1058;
    const ERROR_SERVICE_DOES_NOT_EXIST: i32 = 1060;
    const ERROR_SERVICE_CANNOT_ACCEPT_CTRL: i32 = 1061;
    const ERROR_SERVICE_NOT_ACTIVE: i32 = 1062;
    const ERROR_SERVICE_MARKED_FOR_DELETE: i32 = 1072;
    const ERROR_SERVICE_EXISTS: i32 = 1073;

    /// How long an install over an existing service waits for it to stop and go.
    const REPLACE_TIMEOUT: Duration = Duration::from_secs(30);
    /// How often a wait polls the SCM.
    const POLL: Duration = Duration::from_millis(50);
    /// The Service Control Manager of the local computer.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Scm;

    impl Scm {
        fn manager(&self, access: ServiceManagerAccess) -> Result<ServiceManager, Error> {
            ServiceManager::local_computer(None::<&str>, access)
                .map_err(|err| classify(err, None, "open the service control manager"))
        }

        fn open(&self, name: &ServiceName, access: ServiceAccess) -> Result<Service, Error> {
            self.manager(ServiceManagerAccess::CONNECT)?
                .open_service(name.as_ref(), access)
                .map_err(|err| classify(err, Some(name), &format!("open service {name}")))
        }

        /// Makes `name` start at boot (`StartType::Auto`) or only when asked, nothing else of its
        /// configuration changed. Returns whether it changed.
        pub fn set_start(&self, name: &ServiceName, start: StartType) -> Result<bool, Error> {
            let service = self.open(
                name,
                ServiceAccess::QUERY_CONFIG | ServiceAccess::CHANGE_CONFIG,
            )?;
            let config = service
                .query_config()
                .map_err(|err| classify(err, Some(name), &format!("query service {name}")))?;
            let auto = start == StartType::Auto;
            if (config.start_type == ServiceStartType::AutoStart) == auto {
                return Ok(false);
            }
            svckit_windows::set_auto_start(&service, auto)
                .map_err(|err| Error::os(format!("set the start type of {name}"), err))?;
            Ok(true)
        }

        /// Stops `service` if it runs and waits until it is STOPPED.
        fn stop_and_wait(
            &self,
            name: &ServiceName,
            service: &Service,
            timeout: Duration,
        ) -> Result<ServiceStatus, Error> {
            let status = query(name, service)?;
            if status.current_state == ServiceState::Stopped {
                return Ok(status);
            }
            if status.current_state != ServiceState::StopPending {
                match service.stop() {
                    Ok(_) => {}
                    Err(windows_service::Error::Winapi(err))
                        if err.raw_os_error() == Some(ERROR_SERVICE_NOT_ACTIVE) => {}
                    Err(err) => return Err(control_error(err, name, Control::Stop, &status)),
                }
            }
            wait_for(name, service, State::Stopped, timeout)
        }

        fn create(&self, spec: &ServiceSpec) -> Result<(), Error> {
            let manager =
                self.manager(ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE)?;
            let info = ServiceInfo {
                name: OsString::from(spec.name.as_ref()),
                display_name: OsString::from(
                    spec.display_name.as_deref().unwrap_or(spec.name.as_ref()),
                ),
                service_type: ServiceType::OWN_PROCESS,
                start_type: match spec.start {
                    StartType::Auto | StartType::Delayed => ServiceStartType::AutoStart,
                    StartType::Demand => ServiceStartType::OnDemand,
                    StartType::Disabled => ServiceStartType::Disabled,
                },
                error_control: ServiceErrorControl::Normal,
                executable_path: spec.program.clone(),
                launch_arguments: spec.args.clone(),
                dependencies: spec
                    .dependencies
                    .iter()
                    .chain(&spec.requires)
                    .map(|dep| ServiceDependency::Service(OsString::from(dep.as_ref())))
                    .collect(),
                account_name: spec.account.as_ref().map(OsString::from),
                account_password: spec.password.as_ref().map(OsString::from),
            };
            let access =
                ServiceAccess::CHANGE_CONFIG | ServiceAccess::QUERY_STATUS | ServiceAccess::DELETE;
            // A service deleted a moment ago stays "marked for delete" until its last handle
            // closes (ours, the SCM's, sc.exe's); wait that out.
            let deadline = Instant::now() + REPLACE_TIMEOUT;
            let service = loop {
                match manager.create_service(&info, access) {
                    Ok(service) => break service,
                    Err(windows_service::Error::Winapi(err))
                        if err.raw_os_error() == Some(ERROR_SERVICE_MARKED_FOR_DELETE)
                            && Instant::now() < deadline =>
                    {
                        thread::sleep(POLL);
                    }
                    Err(err) => {
                        return Err(classify(
                            err,
                            Some(&spec.name),
                            &format!("create service {}", spec.name),
                        ));
                    }
                }
            };
            // From here on a failure deletes what was created: never a half-installed service.
            if let Err(err) = configure(&service, spec) {
                let _ = service.delete();
                return Err(err);
            }
            Ok(())
        }
    }

    impl Scm {
        /// Removes `name` even when it cannot be stopped: a service whose process died while the
        /// SCM still says RUNNING (Wine's SCM keeps a killed service RUNNING), or one that does
        /// not answer Stop within `timeout`. Its process is ended (with it, a hosted program's
        /// job), then the service is deleted.
        pub fn force_uninstall(&self, name: &ServiceName, timeout: Duration) -> Result<(), Error> {
            let service = self.open(
                name,
                ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE,
            )?;
            // The SCM's word for its process, asked before the stop: once a stop is pending
            // (a stop that timed out before this one), Wine's SCM no longer says; then the host's
            // own record does, for a hosted program.
            let process = query(name, &service)?
                .process_id
                .filter(|&pid| pid != 0)
                .or_else(|| hosted_record(name)?.host_pid);
            if self.stop_and_wait(name, &service, timeout).is_err() {
                let Some(pid) = process else {
                    // Nothing known to end: saying "uninstalled" would hide a tree that runs on.
                    let state = query(name, &service)
                        .map(|status| state_of(status.current_state).name())
                        .unwrap_or("unknown");
                    return Err(Error::os(
                        format!("uninstall {name}"),
                        std::io::Error::other(format!(
                            "it did not stop within {} and the SCM names no process of it ({state}): \
                             it may still run; not deleted",
                            svckit_core::parse::format_duration(timeout)
                        )),
                    ));
                };
                // Gone already (a killed host: its job took the program along) is fine.
                if svckit_windows::job::is_alive(pid) {
                    svckit_windows::job::terminate_process(pid, REPLACE_TIMEOUT).map_err(
                        |err| Error::os(format!("end process {pid} of service {name}"), err),
                    )?;
                }
            }
            delete(name, &service)
        }
    }

    /// Deletes `service`; one already marked for deletion counts as deleted.
    fn delete(name: &ServiceName, service: &Service) -> Result<(), Error> {
        match service.delete() {
            Ok(()) => Ok(()),
            Err(windows_service::Error::Winapi(err))
                if err.raw_os_error() == Some(ERROR_SERVICE_MARKED_FOR_DELETE) =>
            {
                Ok(())
            }
            Err(err) => Err(classify(err, Some(name), &format!("delete service {name}"))),
        }
    }

    /// Description, delayed start and failure actions: the settings CreateService has no room for.
    fn configure(service: &Service, spec: &ServiceSpec) -> Result<(), Error> {
        let name = &spec.name;
        let os = |what: &'static str| {
            move |err| {
                classify(
                    err,
                    Some(name),
                    &format!("set the {what} of service {name}"),
                )
            }
        };
        if let Some(description) = &spec.description {
            service
                .set_description(description)
                .map_err(os("description"))?;
        }
        if spec.start == StartType::Delayed {
            service
                .set_delayed_auto_start(true)
                .map_err(os("delayed start"))?;
        }
        let actions = match spec.restart.policy {
            Restart::Never => Vec::new(),
            // The SCM's failure actions run when the process dies without reporting STOPPED, and
            // (with the non-crash flag below) when it stops with a non-zero exit code. The SCM has
            // no "restart after a clean stop": under "always", a service that reports STOPPED with
            // NO_ERROR on its own stays stopped. Documented on `svckit install --restart`.
            // The restart policy's backoff for the first three failures; the SCM repeats the
            // last action, and starts the list over after `reset_after` without a failure.
            // (The others are refused: `cannot_honour`.)
            Restart::OnSuccess | Restart::OnAbnormal | Restart::OnAbort | Restart::OnWatchdog => {
                Vec::new()
            }
            Restart::OnFailure | Restart::Always => (1..=3)
                .map(|attempt| ServiceAction {
                    action_type: ServiceActionType::Restart,
                    delay: spec.restart.backoff(attempt),
                })
                .collect(),
        };
        let restarts = !actions.is_empty();
        service
            .update_failure_actions(ServiceFailureActions {
                reset_period: ServiceFailureResetPeriod::After(spec.restart.reset_after),
                reboot_msg: None,
                command: None,
                actions: Some(actions),
            })
            .map_err(os("failure actions"))?;
        if restarts {
            // Without the flag the SCM restarts only after a crash, not after a stop with a
            // non-zero exit code. (Wine's SCM lacks this setting: there, a restart policy fails.)
            service
                .set_failure_actions_on_non_crash_failures(true)
                .map_err(os("failure actions flag"))?;
        }
        Ok(())
    }

    impl Backend for Scm {
        fn name(&self) -> &'static str {
            "windows"
        }

        fn install(&self, spec: &ServiceSpec) -> Result<Installed, Error> {
            spec.validate()?;
            crate::honour::check(svckit_core::BackendKind::Windows, spec)?;
            if !spec.program.is_file() {
                return Err(Error::ProgramNotFound(spec.program.display().to_string()));
            }
            let access = ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE;
            let installed = match self.open(&spec.name, access) {
                Ok(old) => {
                    // Reinstall: query → stop and wait → delete → create.
                    self.stop_and_wait(&spec.name, &old, REPLACE_TIMEOUT)?;
                    match old.delete() {
                        Ok(()) => {}
                        Err(windows_service::Error::Winapi(err))
                            if err.raw_os_error() == Some(ERROR_SERVICE_MARKED_FOR_DELETE) => {}
                        Err(err) => {
                            return Err(classify(
                                err,
                                Some(&spec.name),
                                &format!("delete service {}", spec.name),
                            ));
                        }
                    }
                    drop(old);
                    Installed::Replaced
                }
                Err(Error::NotInstalled(_)) => Installed::Created,
                Err(err) => return Err(err),
            };
            self.create(spec)?;
            Ok(installed)
        }

        fn uninstall(&self, name: &ServiceName, timeout: Duration) -> Result<(), Error> {
            let service = self.open(
                name,
                ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE,
            )?;
            self.stop_and_wait(name, &service, timeout)?;
            delete(name, &service)
        }

        fn start(&self, name: &ServiceName, wait: Option<Duration>) -> Result<Status, Error> {
            let service = self.open(
                name,
                ServiceAccess::START | ServiceAccess::QUERY_STATUS | ServiceAccess::QUERY_CONFIG,
            )?;
            service
                .start::<&str>(&[])
                .map_err(|err| classify(err, Some(name), &format!("start service {name}")))?;
            if let Some(timeout) = wait {
                let status = wait_for(name, &service, State::Running, timeout)?;
                if status.current_state == ServiceState::Stopped {
                    return Err(Error::StartFailed {
                        name: name.clone(),
                        exit_code: exit_code(&status.exit_code),
                    });
                }
            }
            status_of(name, &service)
        }

        fn control(
            &self,
            name: &ServiceName,
            control: Control,
            timeout: Duration,
        ) -> Result<Status, Error> {
            // A reload is asked, not waited for: ParamChange leads to no other state.
            // (Regression: it was refused as having "no state to wait for", so `svckit reload`
            // never worked on Windows.)
            let wanted = match (control, target_state(control)) {
                (_, Some(wanted)) => Some(wanted),
                (Control::ParamChange, None) => None,
                (_, None) => {
                    return Err(Error::Unsupported {
                        backend: "windows",
                        setting: "control",
                        reason: format!("{control} has no state to wait for"),
                    });
                }
            };
            let access = ServiceAccess::QUERY_STATUS
                | ServiceAccess::QUERY_CONFIG
                | match control {
                    Control::Stop => ServiceAccess::STOP,
                    _ => ServiceAccess::PAUSE_CONTINUE,
                };
            let service = self.open(name, access)?;
            if control == Control::Stop {
                self.stop_and_wait(name, &service, timeout)?;
                return status_of(name, &service);
            }
            let before = query(name, &service)?;
            if before.current_state == ServiceState::Stopped {
                return Err(Error::NotRunning(name.clone()));
            }
            let sent = match control {
                Control::Pause => service.pause().map(drop),
                Control::ParamChange => {
                    svckit_windows::param_change(&service).map_err(windows_service::Error::Winapi)
                }
                _ => service.resume().map(drop),
            };
            sent.map_err(|err| control_error(err, name, control, &before))?;
            let Some(wanted) = wanted else {
                return status_of(name, &service);
            };
            let status = wait_for(name, &service, wanted, timeout)?;
            if status.current_state == ServiceState::Stopped {
                return Err(Error::NotRunning(name.clone()));
            }
            status_of(name, &service)
        }

        /// A hosted program's captured streams, kept by its host in `%ProgramData%\svckit\logs`;
        /// any other service's output is the SCM's to lose.
        fn logs(&self, name: &ServiceName) -> Result<crate::Logs, Error> {
            let data = crate::data_dir();
            let refused = |why: &str| Error::Unsupported {
                backend: "windows",
                setting: "logs",
                reason: format!("{name} {why}: the SCM keeps no output"),
            };
            let spec = match crate::hosted_definition(&data, name) {
                Ok(spec) => spec,
                Err(Error::Unsupported { .. }) => {
                    return Err(refused(
                        "is on svckit's service API (type notify), not hosted",
                    ));
                }
                Err(Error::NotInstalled(_)) => return Err(refused("was not installed by svckit")),
                Err(err) => return Err(err),
            };
            let logs = data.join("logs");
            Ok(crate::Logs::Captured {
                stdout: logs.join(format!("{name}.stdout.log")),
                stderr: logs.join(format!("{name}.stderr.log")),
                keep: spec.logs.keep,
            })
        }

        fn status(&self, name: &ServiceName) -> Result<Status, Error> {
            let service = self.open(
                name,
                ServiceAccess::QUERY_STATUS | ServiceAccess::QUERY_CONFIG,
            )?;
            status_of(name, &service)
        }
    }

    fn query(name: &ServiceName, service: &Service) -> Result<ServiceStatus, Error> {
        service
            .query_status()
            .map_err(|err| classify(err, Some(name), &format!("query service {name}")))
    }

    /// Polls until the service is in `wanted` (or STOPPED, which ends every wait), or `timeout`.
    fn wait_for(
        name: &ServiceName,
        service: &Service,
        wanted: State,
        timeout: Duration,
    ) -> Result<ServiceStatus, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            let status = query(name, service)?;
            let state = state_of(status.current_state);
            if state == wanted || state == State::Stopped {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    name: name.clone(),
                    wanted,
                    state,
                    waited: timeout,
                });
            }
            thread::sleep(POLL);
        }
    }

    fn status_of(name: &ServiceName, service: &Service) -> Result<Status, Error> {
        let status = query(name, service)?;
        let scm_pid = status.process_id.filter(|&pid| pid != 0);
        let config = service.query_config().ok();
        // The SCM keeps neither a start time nor a restart count; its exit code is kept.
        let mut shown = Status::new(
            name.clone(),
            svckit_core::BackendKind::Windows,
            state_of(status.current_state),
        );
        shown.pid = status.process_id.and_then(svckit_core::Pid::new);
        shown.accept = Accept::from_bits_truncate(status.controls_accepted.bits());
        shown.exit_code = exit_code(&status.exit_code);
        shown.checkpoint = status.checkpoint;
        shown.wait_hint = status.wait_hint;
        shown.start = config.as_ref().map(|config| match config.start_type {
            // (windows-service has no getter for the delayed flag: delayed shows as auto.)
            ServiceStartType::AutoStart
            | ServiceStartType::BootStart
            | ServiceStartType::SystemStart => StartType::Auto,
            ServiceStartType::OnDemand => StartType::Demand,
            ServiceStartType::Disabled => StartType::Disabled,
        });
        shown.display_name = config
            .as_ref()
            .map(|config| config.display_name.to_string_lossy().into_owned());
        shown.command = config.map(|config| config.executable_path.to_string_lossy().into_owned());
        hosted_status(&mut shown, scm_pid);
        Ok(shown)
    }

    /// The host's record of the hosted program `name`, when it has one.
    fn hosted_record(name: &ServiceName) -> Option<svckit_core::HostedStatus> {
        crate::hosted_definition(&crate::data_dir(), name).ok()?;
        std::fs::read_to_string(crate::status_path(name))
            .ok()
            .and_then(|text| svckit_core::HostedStatus::from_toml(&text))
    }

    /// For a program svckit.exe hosts, what the host last recorded of it: the program's pid
    /// (the SCM's is the host's), its start, restarts and last exit, and the host's word for its
    /// state when it is not the SCM's (backoff). A host that is gone while the SCM still says it
    /// runs (Wine keeps a killed service RUNNING) makes the service stopped, said so, with no pid:
    /// its program went with it (its job is killed on close).
    fn hosted_status(shown: &mut Status, scm_pid: Option<u32>) {
        let Some(hosted) = hosted_record(&shown.name) else {
            return;
        };
        shown.restarts = Some(hosted.restarts);
        shown.last_exit = hosted.last_exit;
        if shown.state == State::Stopped {
            return;
        }
        if let Some(host) = scm_pid.or(hosted.host_pid)
            && !svckit_windows::job::is_alive(host)
        {
            shown.reason = Some(format!(
                "the SCM says {}, but its process (PID {host}) is gone",
                shown.state.name()
            ));
            shown.state = State::Stopped;
            shown.pid = None;
            return;
        }
        shown.pid = hosted
            .pid
            .filter(|&pid| svckit_windows::job::is_alive(pid))
            .and_then(svckit_core::Pid::new);
        shown.since = hosted.started();
        shown.uptime = shown
            .since
            .and_then(|since| std::time::SystemTime::now().duration_since(since).ok());
        // What its job uses, as its host last counted it (every second while it runs).
        shown.tasks = hosted.tasks;
        shown.cpu = hosted.cpu_usec.map(std::time::Duration::from_micros);
        shown.memory = hosted.memory_bytes;
        shown.probes = hosted.probes;
        if shown.state == State::Running && hosted.state != "running" && !hosted.state.is_empty() {
            shown.detail = Some(hosted.state);
        }
    }

    fn state_of(state: ServiceState) -> State {
        match state {
            ServiceState::Stopped => State::Stopped,
            ServiceState::StartPending => State::StartPending,
            ServiceState::StopPending => State::StopPending,
            ServiceState::Running => State::Running,
            ServiceState::ContinuePending => State::ContinuePending,
            ServiceState::PausePending => State::PausePending,
            ServiceState::Paused => State::Paused,
        }
    }

    fn exit_code(code: &ServiceExitCode) -> ExitCode {
        match *code {
            ServiceExitCode::Win32(code) => ExitCode::Win32(code),
            ServiceExitCode::ServiceSpecific(code) => ExitCode::ServiceSpecific(code),
        }
    }

    /// The error for a control the SCM refused.
    fn control_error(
        err: windows_service::Error,
        name: &ServiceName,
        control: Control,
        before: &ServiceStatus,
    ) -> Error {
        match os_code(&err) {
            Some(ERROR_INVALID_SERVICE_CONTROL) => Error::NotAccepted {
                name: name.clone(),
                control,
            },
            Some(ERROR_SERVICE_CANNOT_ACCEPT_CTRL) => Error::CannotAcceptNow {
                name: name.clone(),
                control,
                state: state_of(before.current_state),
            },
            Some(ERROR_SERVICE_NOT_ACTIVE) => Error::NotRunning(name.clone()),
            // The control pipe to the service's process is closed: the process is gone, though
            // the SCM did not notice (Wine's keeps such a service RUNNING).
            Some(ERROR_BROKEN_PIPE | ERROR_NO_DATA) => Error::os(
                format!(
                    "send {control} to service {name}: its process is gone, though the SCM says \
                     {} (svckit uninstall --force removes it)",
                    state_of(before.current_state)
                ),
                err,
            ),
            _ => classify(
                err,
                Some(name),
                &format!("send {control} to service {name}"),
            ),
        }
    }

    fn os_code(err: &windows_service::Error) -> Option<i32> {
        match err {
            windows_service::Error::Winapi(err) => err.raw_os_error(),
            _ => None,
        }
    }

    /// Turns an SCM error into the typed error for it.
    fn classify(err: windows_service::Error, name: Option<&ServiceName>, operation: &str) -> Error {
        match (os_code(&err), name) {
            (Some(ERROR_SERVICE_DOES_NOT_EXIST), Some(name)) => Error::NotInstalled(name.clone()),
            (Some(ERROR_SERVICE_ALREADY_RUNNING), Some(name)) => {
                Error::AlreadyRunning(name.clone())
            }
            (Some(ERROR_SERVICE_EXISTS), Some(name)) => Error::Os {
                operation: operation.to_string(),
                source: format!("service {name} exists (and could not be replaced)").into(),
            },
            (Some(ERROR_ACCESS_DENIED), _) => Error::PermissionDenied {
                operation: operation.to_string(),
            },
            (Some(ERROR_SERVICE_DISABLED), Some(name)) => Error::Os {
                operation: operation.to_string(),
                source: format!("service {name} is disabled").into(),
            },
            _ => Error::Os {
                operation: operation.to_string(),
                source: match err {
                    windows_service::Error::Winapi(err) => Box::new(err),
                    other => Box::new(io::Error::other(other.to_string())),
                },
            },
        }
    }
}
