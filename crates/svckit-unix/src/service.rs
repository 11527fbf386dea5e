//! The service API's Unix runtime: signals become controls, and every status change reaches
//! whoever launched the service, by systemd's notify protocol, the readiness fd of `svckit
//! daemonize --wait-ready` (and the svckit supervisor), or the pipe of a [`Daemon`].
//!
//! | signal | control |
//! |---|---|
//! | SIGTERM, SIGINT | [`Control::Stop`] |
//! | SIGPWR | [`Control::Shutdown`] |
//! | SIGHUP | [`Control::ParamChange`] |
//! | SIGTSTP | [`Control::Pause`] |
//! | SIGCONT | [`Control::Continue`] |
//!
//! A daemon has no terminal, so SIGTSTP and SIGCONT are free for pause and continue: they are
//! blocked and read from a signalfd, so SIGTSTP never stops the process. A stop signal is always
//! delivered (the sender of a signal cannot be told "refused", and the default action would end
//! the process anyway); other controls the service did not accept are ignored, with one line on
//! stderr.

use std::{
    fs::File,
    io::{self, Write},
    os::{fd::AsFd, unix::net::UnixStream},
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Instant,
};

use svckit_core::{
    Accept, Control, ExitCode, Service, ServiceName, Signal, State,
    service::{Refused, ServiceStatus, StatusSink},
};

use crate::{
    Daemon, READY_FD_ENV,
    notify::{self, Notifier},
    signals::{SignalWaiter, Wake},
    sys,
};

/// `ERROR_PROCESS_ABORTED`: the exit code reported when the service's code panicked.
const ERROR_PROCESS_ABORTED: u32 = 1067;

/// The signals the runtime turns into controls.
pub const SIGNALS: [Signal; 6] = [
    Signal::Term,
    Signal::Int,
    Signal::Pwr,
    Signal::Hup,
    Signal::Tstp,
    Signal::Cont,
];

/// The control a signal stands for (see the table in the module docs).
pub fn control_for(signal: Signal) -> Option<Control> {
    Some(match signal {
        Signal::Term | Signal::Int => Control::Stop,
        Signal::Pwr => Control::Shutdown,
        Signal::Hup => Control::ParamChange,
        Signal::Tstp => Control::Pause,
        Signal::Cont => Control::Continue,
        _ => return None,
    })
}

/// An error that kept the runtime from running the service.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The signals could not be blocked or the signalfd opened.
    #[error("set up signal handling")]
    Signals(#[source] io::Error),
    /// `$NOTIFY_SOCKET` names no usable socket.
    #[error("systemd notify socket")]
    Notify(#[source] io::Error),
    /// The service's thread could not be started, or the wake-up socket made.
    #[error("start the service thread")]
    Thread(#[source] io::Error),
}

/// Runs a service on Unix with the readiness channels found in the environment
/// (`$NOTIFY_SOCKET`, `$SVCKIT_READY_FD`). See [`Runtime`].
pub fn run(service: Service) -> Result<ExitCode, RuntimeError> {
    Runtime::new().run(service)
}

/// The Unix runtime, with optional readiness channels beyond the environment's.
#[derive(Debug, Default)]
pub struct Runtime {
    daemon: Option<Daemon>,
}

impl Runtime {
    /// A runtime that reports to the channels named in the environment.
    pub fn new() -> Runtime {
        Runtime::default()
    }

    /// Also report readiness to the launcher of this daemon ([`Daemon::ready`]) and keep its
    /// PID file locked until the service has stopped.
    pub fn daemon(mut self, daemon: Daemon) -> Runtime {
        self.daemon = Some(daemon);
        self
    }

    /// Runs `service` to its end: blocks the signals of [`SIGNALS`] (call this before starting
    /// other threads, or block them there too), runs the service's code on its own thread
    /// (threads it starts inherit the blocked mask), turns signals into controls until the
    /// code returns, and returns its exit code once `STOPPED` is reported.
    pub fn run(self, service: Service) -> Result<ExitCode, RuntimeError> {
        let mut signals =
            SignalWaiter::new(&SIGNALS).map_err(|err| RuntimeError::Signals(err.into()))?;
        let notifier = Notifier::from_env().map_err(RuntimeError::Notify)?;
        let watchdog = notify::watchdog_interval();
        let watchdog_notifier = match (&notifier, watchdog) {
            (Some(notifier), Some(_)) => Some(notifier.try_clone().map_err(RuntimeError::Notify)?),
            _ => None,
        };
        let sink = UnixSink {
            notifier,
            ready_fd: Mutex::new(ready_fd()),
            daemon: Mutex::new(self.daemon),
            announced: AtomicBool::new(false),
        };
        let name: ServiceName = service.name().clone();
        // A stop signal cannot be refused to its sender: Stop is always accepted here.
        let service = {
            let accept = service.accepted() | Accept::STOP;
            service.accept(accept)
        };
        let (controller, code) = service.launch(name.clone(), Box::new(sink)).into_parts();
        let (wake_reader, mut wake_writer) = UnixStream::pair().map_err(RuntimeError::Thread)?;
        let thread = std::thread::Builder::new()
            .name(format!("service {name}"))
            .spawn(move || {
                let exit_code = code();
                // The runtime polls the other end; a write error means it is gone already.
                let _ = wake_writer.write_all(b"x");
                exit_code
            })
            .map_err(RuntimeError::Thread)?;

        let mut next_watchdog = watchdog.map(|period| Instant::now() + period);
        loop {
            let timeout = next_watchdog.map(|at| at.saturating_duration_since(Instant::now()));
            match signals.wait_or_readable(wake_reader.as_fd(), timeout) {
                Ok(Wake::Readable) => break,
                Ok(Wake::Signal(signal)) => {
                    let Some(control) = control_for(signal) else {
                        continue;
                    };
                    match controller.deliver(control) {
                        Ok(_) => {}
                        // A repeated stop signal while stopping is expected; stay quiet.
                        Err(Refused::CannotAccept {
                            state: State::StopPending,
                            ..
                        }) if control == Control::Stop => {}
                        Err(refused) => eprintln!("{name}: SIG{signal} ignored: {refused}"),
                    }
                }
                Ok(Wake::Timeout) => {}
                Err(errno) => {
                    eprintln!("{name}: waiting for signals failed ({errno}); stopping");
                    let _ = controller.deliver(Control::Stop);
                    break;
                }
            }
            if let (Some(at), Some(period)) = (next_watchdog, watchdog)
                && Instant::now() >= at
            {
                if let Some(notifier) = &watchdog_notifier {
                    let _ = notifier.send("WATCHDOG=1");
                }
                next_watchdog = Some(at + period);
            }
        }
        let exit_code = thread
            .join()
            .unwrap_or(ExitCode::Win32(ERROR_PROCESS_ABORTED));
        controller.stopped(exit_code);
        Ok(exit_code)
    }
}

/// The readiness fd inherited from `svckit daemonize --wait-ready` or the supervisor.
fn ready_fd() -> Option<File> {
    let fd = std::env::var(READY_FD_ENV).ok()?.parse().ok()?;
    let fd = sys::take_inherited_fd(fd)?;
    // Not for the service's own children: they must not be able to signal readiness for it.
    let _ = nix::fcntl::fcntl(
        &fd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    );
    Some(File::from(fd))
}

/// Reports to systemd, the readiness fd and the daemon's launcher.
struct UnixSink {
    notifier: Option<Notifier>,
    ready_fd: Mutex<Option<File>>,
    daemon: Mutex<Option<Daemon>>,
    announced: AtomicBool,
}

impl UnixSink {
    fn notify(&self, message: &str) {
        if let Some(notifier) = &self.notifier
            && let Err(err) = notifier.send(message)
        {
            eprintln!("svckit: notify systemd ({message:?}): {err}");
        }
    }

    fn announce_ready(&self) {
        // s6's protocol: a newline, then close.
        if let Some(mut fd) = lock(&self.ready_fd).take() {
            let _ = fd.write_all(b"\n");
        }
        if let Some(daemon) = lock(&self.daemon).as_mut()
            && let Err(err) = daemon.ready()
        {
            eprintln!("svckit: report ready to the launcher: {err}");
        }
        self.notify(&format!(
            "READY=1\nSTATUS=running\nMAINPID={}",
            std::process::id()
        ));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl StatusSink for UnixSink {
    fn report(&self, status: &ServiceStatus) {
        match status.state {
            State::Running => {
                if self.announced.swap(true, Ordering::SeqCst) {
                    self.notify("STATUS=running");
                } else {
                    self.announce_ready();
                }
            }
            State::Paused => self.notify("STATUS=paused"),
            State::StopPending => self.notify("STOPPING=1"),
            State::Stopped => {
                // A daemon that stops is done with its PID file.
                lock(&self.daemon).take();
            }
            _ => {}
        }
    }

    fn reloading(&self) {
        let now = crate::process::monotonic_now()
            .unwrap_or_default()
            .as_micros();
        self.notify(&format!("RELOADING=1\nMONOTONIC_USEC={now}"));
    }

    fn reloaded(&self) {
        self.notify("READY=1\nSTATUS=running");
    }

    fn status_text(&self, text: &str) {
        // A newline would start another assignment: the text is one line.
        let line: String = text
            .chars()
            .map(|c| if c == '\n' { ' ' } else { c })
            .collect();
        self.notify(&format!("STATUS={line}"));
    }
}
