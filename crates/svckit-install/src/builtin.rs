//! The builtin backend: svckit's own supervisor (`svckit-supervise`), the embedded default
//! where no init system runs. Definitions live in its state directory; every control is a
//! request on the supervisor's socket, which the first request starts when none runs.

use svckit_core::{Key, ServiceSpec};

#[cfg(unix)]
pub use supervisor::*;

/// What svckit's supervisor cannot honour: its column of the key × backend table
/// ([`crate::honour::refusal`]).
pub(crate) fn cannot_honour(key: Key, spec: &ServiceSpec) -> Option<&'static str> {
    match key {
        Key::Password => Some("the supervisor switches users without passwords"),
        Key::Start if spec.start == svckit_core::StartType::Delayed => {
            Some("\"delayed\" is a Windows start type; the supervisor starts auto services at once")
        }
        _ => None,
    }
}

#[cfg(unix)]
mod supervisor {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use svckit_core::{BackendKind, Control, ServiceName, ServiceSpec, State};
    use svckit_supervise::{
        StateDir, Stream,
        client::{self, Launch},
        machine::UnitState,
        protocol::{ErrorKind, ManyAction, Op, ServiceStatus},
        store,
    };

    use crate::{Action, Backend, Error, Installed, Logs, Status, honour};

    /// How long a request may take when the caller gives no deadline.
    const DEFAULT_WAIT: Duration = Duration::from_secs(30);

    /// The supervisor of one state directory.
    #[derive(Debug, Clone)]
    pub struct Builtin {
        dir: StateDir,
        launch: Launch,
    }

    impl Builtin {
        /// The supervisor of `dir`; `launch` says how to start one when none answers.
        pub fn new(dir: StateDir, launch: Launch) -> Builtin {
            Builtin { dir, launch }
        }

        /// Its state directory.
        pub fn dir(&self) -> &StateDir {
            &self.dir
        }

        /// One request, answered with the statuses the supervisor sends back.
        pub fn ask(&self, op: Op, timeout: Duration) -> Result<Vec<ServiceStatus>, Error> {
            Ok(client::request(&self.dir, op, timeout, &self.launch)?)
        }

        fn ask_one(&self, name: &ServiceName, op: Op, timeout: Duration) -> Result<Status, Error> {
            let statuses = self.ask(op, timeout)?;
            Ok(statuses
                .into_iter()
                .next()
                .map(status_of)
                .unwrap_or_else(|| Status::new(name.clone(), BackendKind::Builtin, State::Stopped)))
        }
    }

    impl Backend for Builtin {
        fn name(&self) -> &'static str {
            "builtin"
        }

        fn install(&self, spec: &ServiceSpec) -> Result<Installed, Error> {
            honour::check(BackendKind::Builtin, spec)?;
            // Replacing a running service's definition leaves it running: the manager restarts
            // it when the change needs one (see Manager::install).
            let existed = self.dir.definition(&spec.name).exists();
            let before = existed
                .then(|| store::load(&self.dir, &spec.name).ok())
                .flatten();
            if !existed {
                // A new service of an uninstalled one's name starts with empty logs.
                svckit_supervise::logs::archive(&self.dir, &spec.name)
                    .map_err(|err| Error::os(format!("move the old logs of {}", spec.name), err))?;
            }
            store::save(&self.dir, spec, true)?;
            // Its sockets are bound now (a port in use refuses the install, naming it), and it
            // listens; one that had sockets stops listening on them.
            let had_sockets = before.as_ref().is_some_and(|old| !old.listen.is_empty());
            if !spec.listen.is_empty() || had_sockets {
                let op = Op::Listen {
                    name: spec.name.to_string(),
                };
                if let Err(err) = self.ask(op, DEFAULT_WAIT) {
                    // Nothing half-installed: the definition as it was.
                    let _ = match &before {
                        Some(old) => store::save(&self.dir, old, true).map(drop),
                        None => store::remove(&self.dir, &spec.name),
                    };
                    if let Some(old) = &before {
                        let _ = self.ask(
                            Op::Listen {
                                name: old.name.to_string(),
                            },
                            DEFAULT_WAIT,
                        );
                    }
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
            self.ask(
                Op::Forget {
                    name: name.to_string(),
                },
                timeout,
            )?;
            // The supervisor removed it; make sure even when it was not loaded.
            let _ = std::fs::remove_file(self.dir.definition(name));
            Ok(())
        }

        fn start(&self, name: &ServiceName, wait: Option<Duration>) -> Result<Status, Error> {
            let op = Op::Start {
                name: name.to_string(),
                wait: wait.is_some(),
            };
            self.ask_one(name, op, wait.unwrap_or(DEFAULT_WAIT))
        }

        fn control(
            &self,
            name: &ServiceName,
            control: Control,
            timeout: Duration,
        ) -> Result<Status, Error> {
            let name_text = name.to_string();
            let op = match control {
                Control::Stop | Control::Shutdown | Control::Preshutdown => {
                    Op::Stop { name: name_text }
                }
                Control::Pause => Op::Pause { name: name_text },
                Control::Continue => Op::Continue { name: name_text },
                Control::ParamChange => Op::Reload { name: name_text },
                control => {
                    return Err(Error::NotAccepted {
                        name: name.clone(),
                        control,
                    });
                }
            };
            self.ask_one(name, op, timeout)
        }

        fn restart(&self, name: &ServiceName, timeout: Duration) -> Result<Status, Error> {
            self.ask_one(
                name,
                Op::Restart {
                    name: name.to_string(),
                },
                timeout,
            )
        }

        /// Starts, stops or restarts several in one request: the supervisor orders them (a
        /// stop waits for what depends on a service among them) and carries them out side by
        /// side. The wait for the answer is `timeout` and 10 ms a service for the
        /// supervisor's own work. A supervisor too old to know such requests is asked one by
        /// one.
        fn perform_many(
            &self,
            action: Action,
            names: &[ServiceName],
            timeout: Duration,
            wait: bool,
        ) -> Result<Vec<Result<Status, Error>>, Error> {
            let many = match action {
                Action::Start => Some(ManyAction::Start { wait }),
                Action::Stop => Some(ManyAction::Stop),
                Action::Restart => Some(ManyAction::Restart),
                Action::Pause | Action::Continue | Action::Reload => None,
            };
            let Some(many) = many.filter(|_| names.len() > 1) else {
                return Ok(crate::one_by_one(self, action, names, timeout, wait));
            };
            let op = Op::Many {
                action: many,
                names: names.iter().map(ToString::to_string).collect(),
            };
            let per_service =
                Duration::from_millis(10) * u32::try_from(names.len()).unwrap_or(u32::MAX);
            let each = match client::request_each(
                &self.dir,
                op,
                timeout.saturating_add(per_service),
                &self.launch,
            ) {
                Ok(each) => each,
                Err(svckit_supervise::Error::Refused {
                    kind: ErrorKind::BadRequest,
                    message,
                }) if message.contains("many") => {
                    return Ok(crate::one_by_one(self, action, names, timeout, wait));
                }
                Err(err) => return Err(err.into()),
            };
            if each.len() != names.len() {
                return Err(Error::Supervisor(svckit_supervise::Error::Protocol(
                    format!(
                        "asked about {} services, the supervisor answered for {}",
                        names.len(),
                        each.len()
                    ),
                )));
            }
            Ok(names
                .iter()
                .zip(each)
                .map(|(name, result)| {
                    let statuses = result?;
                    Ok(statuses
                        .into_iter()
                        .next()
                        .map(status_of)
                        .unwrap_or_else(|| {
                            Status::new(name.clone(), BackendKind::Builtin, State::Stopped)
                        }))
                })
                .collect())
        }

        fn logs(&self, name: &ServiceName) -> Result<Logs, Error> {
            let spec = store::load(&self.dir, name)?;
            Ok(Logs::Captured {
                stdout: self.dir.log(name, Stream::Stdout),
                stderr: self.dir.log(name, Stream::Stderr),
                keep: spec.logs.keep,
            })
        }

        /// Whether the supervisor has a definition of `name` (asking it would start one).
        fn is_installed(&self, name: &ServiceName) -> Result<bool, Error> {
            Ok(std::fs::symlink_metadata(self.dir.definition(name)).is_ok())
        }

        /// Read-only: a supervisor that does not run is not started to answer (it would start
        /// the auto services); the status then comes from the definition.
        fn status(&self, name: &ServiceName) -> Result<Status, Error> {
            store::load(&self.dir, name)?;
            let op = Op::Status {
                name: Some(name.to_string()),
                brief: false,
            };
            // Asked in one connection, as the status of all is (not a probe first).
            match client::request_if_running(&self.dir, op, DEFAULT_WAIT) {
                Ok(None) => Ok(not_running(&self.dir, name)),
                Ok(Some(statuses)) => Ok(statuses
                    .into_iter()
                    .next()
                    .map(status_of)
                    .unwrap_or_else(|| not_running(&self.dir, name))),
                // It stopped in between.
                Err(_) if !client::is_running(&self.dir) => Ok(not_running(&self.dir, name)),
                Err(err) => Err(err.into()),
            }
        }
    }

    /// The status of an installed service whose supervisor does not run, from its record: its
    /// process still running (the supervisor was killed; a new one adopts it) or stopped, and why.
    pub fn not_running(dir: &StateDir, name: &ServiceName) -> Status {
        let record =
            store::read_record(dir, name).filter(|record| record.boot_id == store::boot_id());
        let alive = record.as_ref().and_then(|record| {
            let pid = record.pid?;
            let ticks = svckit_unix::process::start_time(pid).ok()?;
            // Not a zombie left by the killed supervisor, nor a recycled pid.
            (Some(ticks) == record.start_ticks && !svckit_unix::process::is_gone(pid))
                .then_some(pid)
        });
        let mut status = Status::new(
            name.clone(),
            BackendKind::Builtin,
            match alive {
                Some(_) => State::Running,
                None => State::Stopped,
            },
        );
        if let Some(record) = &record {
            status.restarts = Some(record.restarts);
            status.last_exit = record.last_exit;
            status.last_exit_why = record.last_exit_why.clone();
        }
        status.reason = Some(match alive {
            Some(pid) => {
                status.pid = Some(pid);
                status.detail = Some("unsupervised".to_owned());
                status.since = record
                    .as_ref()
                    .and_then(|record| record.started_ms)
                    .map(|ms| std::time::UNIX_EPOCH + Duration::from_millis(ms));
                "the supervisor is not running: its process runs on, unwatched \
                 (`svckit supervise --daemon` adopts it)"
                    .to_owned()
            }
            None => "the supervisor is not running (`svckit start NAME` or `svckit supervise \
                     --daemon` starts it; `svckit boot enable` starts it at boot)"
                .to_owned(),
        });
        status
    }

    /// The supervisor's status of one service, in the terms every backend shares; the
    /// supervisor's own state word is kept as `detail`.
    pub fn status_of(service: ServiceStatus) -> Status {
        let state = match service.state {
            UnitState::Running | UnitState::Reloading => State::Running,
            UnitState::Paused => State::Paused,
            UnitState::Starting => State::StartPending,
            UnitState::Stopping => State::StopPending,
            // Per connection, listening is serving.
            UnitState::Listening
                if service
                    .sockets
                    .as_ref()
                    .is_some_and(|sockets| sockets.accept != "no") =>
            {
                State::Running
            }
            // Listening: its program does not run (its sockets do; `detail` says so).
            UnitState::Stopped
            | UnitState::Backoff
            | UnitState::Failed
            | UnitState::Exited
            | UnitState::Listening => State::Stopped,
        };
        let name = ServiceName::new(service.name)
            .unwrap_or_else(|_| ServiceName::new("invalid").expect("a valid name"));
        let mut status = Status::new(name, BackendKind::Builtin, state);
        status.pid = service.pid;
        status.command = Some(service.command);
        status.uptime = service.started_ms.map(|started| {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as u64;
            Duration::from_millis(now.saturating_sub(started))
        });
        status.restarts = Some(service.restarts);
        status.last_exit = service.last_exit;
        status.last_exit_why = service.last_exit_why;
        status.since = Some(UNIX_EPOCH + Duration::from_millis(service.since_ms));
        status.wanted = Some(service.wanted);
        status.start = service
            .start
            .as_deref()
            .and_then(|start| start.parse().ok());
        status.capture_error = service.capture_error;
        status.cgroup = service.cgroup;
        status.notice = service.notice;
        status.processes = service.processes;
        status.sockets = service.sockets;
        status.probes = service.probes;
        if let Some(usage) = service.usage {
            status.tasks = Some(usage.tasks);
            status.memory = usage.memory_bytes;
            status.cpu = usage.cpu_usec.map(Duration::from_micros);
            status.usage_read = usage
                .read_ms
                .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
        }
        status.next_try = service
            .next_try_ms
            .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
        status.detail = Some(service.state.name().to_owned());
        status.reason = service.reason;
        status
    }
}
