//! The platform-neutral half of the service API: what a service declares ([`Service`]), what its
//! code sees ([`Context`]), and the bookkeeping a platform runtime drives ([`Controller`]).
//!
//! The runtimes (the SCM's in `svckit-windows`, signals and systemd's notify protocol in
//! `svckit-unix`) only translate: an OS request becomes [`Controller::deliver`], and every
//! status change reaches the OS through the runtime's [`StatusSink`]. The state machine, the
//! accepted-controls check and the checkpoint counter live here, once, so a service behaves the
//! same on every platform.

use std::{
    fmt,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use crate::{Accept, Control, ExitCode, ServiceName, State};

/// The code of a service: runs until it is asked to stop, and returns how it ended.
pub type ServiceMain = Box<dyn FnOnce(Context) -> ExitCode + Send + 'static>;

/// A service, declared once and run unchanged by `svckit::run` on every platform.
///
/// ```
/// use svckit_core::{Accept, Control, ExitCode, Service, ServiceName};
///
/// let service = Service::new(ServiceName::new("MemoryStatus")?, |ctx| {
///     ctx.ready();
///     while let Some(control) = ctx.recv() {
///         match control {
///             Control::Stop | Control::Shutdown => break,
///             Control::Pause => ctx.paused(),
///             Control::Continue => ctx.ready(),
///             _ => {}
///         }
///     }
///     ExitCode::SUCCESS
/// })
/// .accept(Accept::STOP | Accept::SHUTDOWN | Accept::PAUSE_CONTINUE);
/// # Ok::<(), svckit_core::ModelError>(())
/// ```
pub struct Service {
    name: ServiceName,
    accept: Accept,
    start_wait_hint: Duration,
    stop_wait_hint: Duration,
    main: ServiceMain,
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("name", &self.name)
            .field("accept", &self.accept)
            .field("start_wait_hint", &self.start_wait_hint)
            .field("stop_wait_hint", &self.stop_wait_hint)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// A service named `name` whose code is `main`. It accepts [`Accept::STOP`] and
    /// [`Accept::SHUTDOWN`] until [`Service::accept`] says otherwise.
    pub fn new(
        name: ServiceName,
        main: impl FnOnce(Context) -> ExitCode + Send + 'static,
    ) -> Service {
        Service {
            name,
            accept: Accept::STOP | Accept::SHUTDOWN,
            start_wait_hint: Duration::from_secs(10),
            stop_wait_hint: Duration::from_secs(10),
            main: Box::new(main),
        }
    }

    /// The controls this service accepts; any other is refused before it reaches the code
    /// (`ERROR_INVALID_SERVICE_CONTROL` on Windows). [`Control::Interrogate`] and user-defined
    /// controls need no bit.
    pub fn accept(mut self, accept: Accept) -> Service {
        self.accept = accept;
        self
    }

    /// How long starting may take before the first checkpoint (the wait hint of the first
    /// `START_PENDING`; default 10 s).
    pub fn start_wait_hint(mut self, hint: Duration) -> Service {
        self.start_wait_hint = hint;
        self
    }

    /// How long stopping may take before the first checkpoint (the wait hint reported with
    /// `STOP_PENDING`; default 10 s).
    pub fn stop_wait_hint(mut self, hint: Duration) -> Service {
        self.stop_wait_hint = hint;
        self
    }

    /// The name the service was declared with. (Under the SCM, the name it was installed
    /// under is what the runtime reports to; see [`Context::name`].)
    pub fn name(&self) -> &ServiceName {
        &self.name
    }

    /// The declared accepted controls.
    pub fn accepted(&self) -> Accept {
        self.accept
    }

    /// For runtimes: reports `START_PENDING` through `sink` and splits the service into the
    /// [`Controller`] the runtime drives and the code to run with its [`Context`].
    pub fn launch(self, name: ServiceName, sink: Box<dyn StatusSink>) -> Launch {
        let (sender, receiver) = flume::unbounded();
        let controller = Controller {
            shared: Arc::new(Shared {
                accept: self.accept,
                stop_wait_hint: self.stop_wait_hint,
                status: Mutex::new(Tracked {
                    state: State::StartPending,
                    checkpoint: 1,
                    wait_hint: self.start_wait_hint,
                    exit_code: ExitCode::SUCCESS,
                    reloading: false,
                }),
                sink,
                sender,
            }),
        };
        controller.report(&controller.lock());
        let context = Context {
            name,
            controller: controller.clone(),
            receiver,
        };
        let main = self.main;
        Launch {
            controller,
            run: Box::new(move || main(context)),
        }
    }
}

/// A launched service: the runtime keeps the [`Controller`] and calls [`Launch::run`] on the
/// thread that should run the service's code.
pub struct Launch {
    /// The runtime's handle on the service's state.
    pub controller: Controller,
    run: Box<dyn FnOnce() -> ExitCode + Send + 'static>,
}

impl fmt::Debug for Launch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Launch").finish_non_exhaustive()
    }
}

impl Launch {
    /// Runs the service's code to its end, then reports `STOPPED` with its exit code.
    pub fn run(self) -> ExitCode {
        let exit_code = (self.run)();
        self.controller.stopped(exit_code);
        exit_code
    }

    /// Splits off the code, for runtimes that run it on another thread; the caller must call
    /// [`Controller::stopped`] with its result.
    pub fn into_parts(self) -> (Controller, Box<dyn FnOnce() -> ExitCode + Send + 'static>) {
        (self.controller, self.run)
    }
}

/// The status a runtime reports to its OS (`SERVICE_STATUS` on Windows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceStatus {
    /// The current state.
    pub state: State,
    /// The controls accepted right now: none while a state is pending or stopped.
    pub accept: Accept,
    /// Progress of a pending state; 0 otherwise.
    pub checkpoint: u32,
    /// How long the current pending step may take; zero otherwise.
    pub wait_hint: Duration,
    /// How the service ended (meaningful once `STOPPED`).
    pub exit_code: ExitCode,
}

/// Where a runtime sends status: the SCM, systemd's notify socket, a readiness pipe.
/// Calls come in order, with the service's status lock held, so a sink never sees two at once.
pub trait StatusSink: Send + Sync {
    /// The status changed (or was interrogated): tell the OS.
    fn report(&self, status: &ServiceStatus);
    /// A [`Control::ParamChange`] was delivered (systemd: `RELOADING=1`).
    fn reloading(&self) {}
    /// The service called [`Context::ready`] after a [`Control::ParamChange`] (systemd:
    /// `READY=1`).
    fn reloaded(&self) {}
    /// Free-form status text (systemd: `STATUS=…`; shown by `systemctl status`).
    fn status_text(&self, _text: &str) {}
}

/// Why a control was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// The service did not declare the control's [`Accept`] bit
    /// (`ERROR_INVALID_SERVICE_CONTROL`, 1052, on Windows).
    #[error("the service does not accept {0}")]
    NotAccepted(Control),
    /// The control makes no sense in the current state, e.g. Pause while stopping
    /// (`ERROR_SERVICE_CANNOT_ACCEPT_CTRL`, 1061, on Windows).
    #[error("the service cannot accept {control} while {state}")]
    CannotAccept {
        /// The control.
        control: Control,
        /// The state it arrived in.
        state: State,
    },
}

/// What [`Controller::deliver`] did with a control that was not refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivered {
    /// Passed to the service's code.
    Queued,
    /// Answered by the runtime alone (Interrogate: the status was reported again).
    Answered,
    /// Already in effect (Pause while paused): nothing to do.
    AlreadyDone,
}

struct Tracked {
    state: State,
    checkpoint: u32,
    wait_hint: Duration,
    exit_code: ExitCode,
    reloading: bool,
}

struct Shared {
    accept: Accept,
    stop_wait_hint: Duration,
    status: Mutex<Tracked>,
    sink: Box<dyn StatusSink>,
    sender: flume::Sender<Control>,
}

/// The runtime's handle on a launched service: delivers controls and reports status.
#[derive(Clone)]
pub struct Controller {
    shared: Arc<Shared>,
}

impl fmt::Debug for Controller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Controller")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl Controller {
    /// The controls the service declared.
    pub fn accepted(&self) -> Accept {
        self.shared.accept
    }

    /// The current status.
    pub fn status(&self) -> ServiceStatus {
        Self::snapshot(self.shared.accept, &self.lock())
    }

    /// Delivers a control from the OS. Checks the declared accept bits and the current state,
    /// moves to the control's pending state (Stop, Shutdown and Preshutdown → `STOP_PENDING`,
    /// Pause → `PAUSE_PENDING`, Continue → `CONTINUE_PENDING`) and reports it, then queues the
    /// control for the service's code. Interrogate is answered here by reporting again.
    pub fn deliver(&self, control: Control) -> Result<Delivered, Refused> {
        let mut tracked = self.lock();
        if control == Control::Interrogate {
            self.report(&tracked);
            return Ok(Delivered::Answered);
        }
        if let Some(bit) = accept_bit(control)
            && !self.shared.accept.contains(bit)
        {
            return Err(Refused::NotAccepted(control));
        }
        let state = tracked.state;
        let cannot = Err(Refused::CannotAccept { control, state });
        if matches!(state, State::Stopped | State::StopPending) {
            return cannot;
        }
        match control {
            Control::Stop | Control::Shutdown | Control::Preshutdown => {
                self.enter(&mut tracked, State::StopPending, self.shared.stop_wait_hint);
            }
            Control::Pause => match state {
                State::Paused | State::PausePending => return Ok(Delivered::AlreadyDone),
                State::Running => self.enter(
                    &mut tracked,
                    State::PausePending,
                    self.shared.stop_wait_hint,
                ),
                _ => return cannot,
            },
            Control::Continue => match state {
                State::Running | State::ContinuePending => return Ok(Delivered::AlreadyDone),
                State::Paused => self.enter(
                    &mut tracked,
                    State::ContinuePending,
                    self.shared.stop_wait_hint,
                ),
                _ => return cannot,
            },
            Control::ParamChange => {
                tracked.reloading = true;
                self.shared.sink.reloading();
            }
            _ => {}
        }
        // The receiver lives as long as the service's Context; once the code has returned,
        // nobody is left to act on the control, which is fine.
        let _ = self.shared.sender.send(control);
        Ok(Delivered::Queued)
    }

    /// Reports `STOPPED` with `exit_code`: the service's code has returned.
    pub fn stopped(&self, exit_code: ExitCode) {
        let mut tracked = self.lock();
        tracked.exit_code = exit_code;
        self.enter(&mut tracked, State::Stopped, Duration::ZERO);
    }

    fn lock(&self) -> MutexGuard<'_, Tracked> {
        // A panic while the lock was held leaves plain data behind; carry on with it.
        self.shared
            .status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn enter(&self, tracked: &mut Tracked, state: State, wait_hint: Duration) {
        tracked.state = state;
        tracked.checkpoint = u32::from(state.is_pending());
        tracked.wait_hint = if state.is_pending() {
            wait_hint
        } else {
            Duration::ZERO
        };
        self.report(tracked);
    }

    fn report(&self, tracked: &Tracked) {
        self.shared
            .sink
            .report(&Self::snapshot(self.shared.accept, tracked));
    }

    fn snapshot(accept: Accept, tracked: &Tracked) -> ServiceStatus {
        ServiceStatus {
            state: tracked.state,
            accept: match tracked.state {
                State::Running | State::Paused => accept,
                _ => Accept::NONE,
            },
            checkpoint: tracked.checkpoint,
            wait_hint: tracked.wait_hint,
            exit_code: tracked.exit_code,
        }
    }
}

/// The accept bit a control needs, if any.
pub fn accept_bit(control: Control) -> Option<Accept> {
    Some(match control {
        Control::Stop => Accept::STOP,
        Control::Pause | Control::Continue => Accept::PAUSE_CONTINUE,
        Control::Shutdown => Accept::SHUTDOWN,
        Control::ParamChange => Accept::PARAMCHANGE,
        Control::NetBindAdd
        | Control::NetBindRemove
        | Control::NetBindEnable
        | Control::NetBindDisable => Accept::NETBINDCHANGE,
        Control::HardwareProfileChange => Accept::HARDWAREPROFILECHANGE,
        Control::PowerEvent => Accept::POWEREVENT,
        Control::SessionChange => Accept::SESSIONCHANGE,
        Control::Preshutdown => Accept::PRESHUTDOWN,
        Control::TimeChange => Accept::TIMECHANGE,
        Control::TriggerEvent => Accept::TRIGGEREVENT,
        Control::Interrogate | Control::DeviceEvent | Control::User(_) => return None,
    })
}

/// What a service's code sees: the controls sent to it, and the calls that report its state.
/// Every method may be called from any thread; the blocking ones also have an async twin for
/// use inside a tokio (or any other) runtime.
pub struct Context {
    name: ServiceName,
    controller: Controller,
    receiver: flume::Receiver<Control>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("name", &self.name)
            .field("status", &self.controller.status())
            .finish_non_exhaustive()
    }
}

impl Context {
    /// The name the service runs under (under the SCM: the name it was installed as).
    pub fn name(&self) -> &ServiceName {
        &self.name
    }

    /// Waits for the next control. `None` only if the runtime is gone.
    pub fn recv(&self) -> Option<Control> {
        self.receiver.recv().ok()
    }

    /// Waits up to `timeout` for the next control; `None` when the time ran out.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Control> {
        self.receiver.recv_timeout(timeout).ok()
    }

    /// The next control if one is waiting.
    pub fn try_recv(&self) -> Option<Control> {
        self.receiver.try_recv().ok()
    }

    /// Waits for the next control without blocking a thread (for async code). `None` only if
    /// the runtime is gone.
    pub async fn recv_async(&self) -> Option<Control> {
        self.receiver.recv_async().await.ok()
    }

    /// The service is running: `RUNNING` to the SCM, `READY=1` to systemd, "ready" on the
    /// readiness pipe or fd. Call it once started, after a Continue, and after handling a
    /// ParamChange (systemd waits for `READY=1` to end a reload).
    pub fn ready(&self) {
        let controller = &self.controller;
        let mut tracked = controller.lock();
        if tracked.reloading {
            tracked.reloading = false;
            controller.shared.sink.reloaded();
        }
        if matches!(tracked.state, State::StartPending | State::ContinuePending) {
            controller.enter(&mut tracked, State::Running, Duration::ZERO);
        }
    }

    /// The service has paused (after a [`Control::Pause`]): `PAUSED`.
    pub fn paused(&self) {
        let controller = &self.controller;
        let mut tracked = controller.lock();
        if tracked.state == State::PausePending {
            controller.enter(&mut tracked, State::Paused, Duration::ZERO);
        }
    }

    /// A Pause or Continue the service's code cannot carry out now: back to the state it
    /// left (`RUNNING` or `PAUSED`), so whoever waits for the other sees it did not happen.
    pub fn cancel_pending(&self) {
        let controller = &self.controller;
        let mut tracked = controller.lock();
        match tracked.state {
            State::PausePending => controller.enter(&mut tracked, State::Running, Duration::ZERO),
            State::ContinuePending => {
                controller.enter(&mut tracked, State::Paused, Duration::ZERO);
            }
            _ => {}
        }
    }

    /// Progress during a long start, stop, pause or continue: the checkpoint goes up by one and
    /// the next step may take `wait_hint`. Does nothing outside a pending state.
    pub fn checkpoint(&self, wait_hint: Duration) {
        let controller = &self.controller;
        let mut tracked = controller.lock();
        if tracked.state.is_pending() {
            tracked.checkpoint = tracked.checkpoint.saturating_add(1);
            tracked.wait_hint = wait_hint;
            controller.report(&tracked);
        }
    }

    /// Free-form status text for the service manager (systemd's `STATUS=`); ignored where
    /// there is no place for it (the SCM).
    pub fn set_status_text(&self, text: &str) {
        let _tracked = self.controller.lock();
        self.controller.shared.sink.status_text(text);
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.controller.status().state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl StatusSink for Arc<Recorder> {
        fn report(&self, status: &ServiceStatus) {
            self.0.lock().unwrap().push(format!(
                "{}/{}/{}",
                status.state.name(),
                status.checkpoint,
                status.accept
            ));
        }
        fn reloading(&self) {
            self.0.lock().unwrap().push("reloading".into());
        }
        fn reloaded(&self) {
            self.0.lock().unwrap().push("reloaded".into());
        }
    }

    fn launch(accept: Accept) -> (Arc<Recorder>, Controller, Context) {
        let recorder = Arc::new(Recorder::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let name = ServiceName::new("t").unwrap();
        let service = Service::new(name.clone(), move |ctx| {
            tx.send(ctx).unwrap();
            ExitCode::SUCCESS
        })
        .accept(accept);
        let (controller, run) = service
            .launch(name, Box::new(recorder.clone()))
            .into_parts();
        run();
        (recorder, controller, rx.recv().unwrap())
    }

    fn events(recorder: &Recorder) -> Vec<String> {
        std::mem::take(&mut *recorder.0.lock().unwrap())
    }

    #[test]
    fn full_lifecycle_reports_every_transition() {
        let all = Accept::STOP | Accept::PAUSE_CONTINUE | Accept::PARAMCHANGE;
        let (recorder, controller, ctx) = launch(all);
        ctx.checkpoint(Duration::from_secs(1));
        ctx.ready();
        assert_eq!(
            events(&recorder),
            [
                "START_PENDING/1/NONE",
                "START_PENDING/2/NONE",
                "RUNNING/0/STOP|PAUSE_CONTINUE|PARAMCHANGE"
            ]
        );
        assert_eq!(controller.deliver(Control::Pause), Ok(Delivered::Queued));
        assert_eq!(ctx.try_recv(), Some(Control::Pause));
        ctx.paused();
        assert_eq!(
            controller.deliver(Control::Pause),
            Ok(Delivered::AlreadyDone)
        );
        assert_eq!(controller.deliver(Control::Continue), Ok(Delivered::Queued));
        ctx.ready();
        assert_eq!(
            controller.deliver(Control::Interrogate),
            Ok(Delivered::Answered)
        );
        assert_eq!(
            controller.deliver(Control::ParamChange),
            Ok(Delivered::Queued)
        );
        ctx.ready();
        assert_eq!(controller.deliver(Control::Stop), Ok(Delivered::Queued));
        controller.stopped(ExitCode::ServiceSpecific(3));
        assert_eq!(
            events(&recorder),
            [
                "PAUSE_PENDING/1/NONE",
                "PAUSED/0/STOP|PAUSE_CONTINUE|PARAMCHANGE",
                "CONTINUE_PENDING/1/NONE",
                "RUNNING/0/STOP|PAUSE_CONTINUE|PARAMCHANGE",
                "RUNNING/0/STOP|PAUSE_CONTINUE|PARAMCHANGE",
                "reloading",
                "reloaded",
                "STOP_PENDING/1/NONE",
                "STOPPED/0/NONE"
            ]
        );
        assert_eq!(controller.status().exit_code, ExitCode::ServiceSpecific(3));
    }

    #[test]
    fn undeclared_controls_are_refused_before_the_code_sees_them() {
        let (_recorder, controller, ctx) = launch(Accept::STOP);
        ctx.ready();
        assert_eq!(
            controller.deliver(Control::Pause),
            Err(Refused::NotAccepted(Control::Pause))
        );
        assert_eq!(
            controller.deliver(Control::ParamChange),
            Err(Refused::NotAccepted(Control::ParamChange))
        );
        assert_eq!(
            controller.deliver(Control::User(200)),
            Ok(Delivered::Queued)
        );
        assert_eq!(ctx.try_recv(), Some(Control::User(200)));
        assert_eq!(ctx.try_recv(), None);
    }

    #[test]
    fn nothing_but_interrogate_reaches_a_stopping_service() {
        let (_recorder, controller, ctx) = launch(Accept::STOP | Accept::PAUSE_CONTINUE);
        ctx.ready();
        controller.deliver(Control::Stop).unwrap();
        assert_eq!(
            controller.deliver(Control::Pause),
            Err(Refused::CannotAccept {
                control: Control::Pause,
                state: State::StopPending
            })
        );
        assert!(controller.deliver(Control::Stop).is_err());
        assert_eq!(
            controller.deliver(Control::Interrogate),
            Ok(Delivered::Answered)
        );
    }

    #[test]
    fn continue_needs_a_pause_first() {
        let (_recorder, controller, ctx) = launch(Accept::STOP | Accept::PAUSE_CONTINUE);
        assert!(matches!(
            controller.deliver(Control::Pause),
            Err(Refused::CannotAccept { .. })
        ));
        ctx.ready();
        assert_eq!(
            controller.deliver(Control::Continue),
            Ok(Delivered::AlreadyDone)
        );
    }
}
