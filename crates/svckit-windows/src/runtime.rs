//! Running a [`Service`] under the SCM, or in the console when no SCM started us.

use std::{
    ffi::OsString,
    sync::{Arc, Mutex, OnceLock},
};

use svckit_core::{
    Control, ExitCode, Service, ServiceName, State,
    service::{Controller, Refused, ServiceStatus, StatusSink},
};
use windows_service::{
    define_windows_service,
    service::{
        ServiceControl, ServiceControlAccept, ServiceExitCode, ServiceState,
        ServiceStatus as ScmStatus, ServiceType,
    },
    service_control_handler::{self, ServiceControlHandlerResult, ServiceStatusHandle},
    service_dispatcher,
};

/// `ERROR_FAILED_SERVICE_CONTROLLER_CONNECT`: the dispatcher was not started by the SCM.
const ERROR_FAILED_SERVICE_CONTROLLER_CONNECT: i32 = 1063;
/// `ERROR_SERVICE_CANNOT_ACCEPT_CTRL`: the control makes no sense in the current state.
const ERROR_SERVICE_CANNOT_ACCEPT_CTRL: u32 = 1061;
/// `ERROR_PROCESS_ABORTED`: reported when the service's code panicked.
const ERROR_PROCESS_ABORTED: u32 = 1067;

/// An error that kept the runtime from running the service.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// StartServiceCtrlDispatcher failed for a reason other than "not started by the SCM".
    #[error("start the service dispatcher")]
    Dispatcher(#[source] windows_service::Error),
    /// RegisterServiceCtrlHandlerEx failed inside ServiceMain.
    #[error("register the service control handler")]
    Register(#[source] windows_service::Error),
    /// The console's Ctrl-C handler could not be installed.
    #[error("install the Ctrl-C handler")]
    Console(#[source] ctrlc::Error),
    /// The dispatcher returned without ever calling ServiceMain.
    #[error("the SCM never started the service")]
    NeverStarted,
}

/// The service handed from [`run`] to ServiceMain (which the SCM calls on its own thread),
/// and what ServiceMain hands back.
static PENDING: Mutex<Option<Service>> = Mutex::new(None);
static OUTCOME: Mutex<Option<Result<ExitCode, RuntimeError>>> = Mutex::new(None);

define_windows_service!(ffi_service_main, service_main);

/// Runs `service`: under the SCM when it started this process (StartServiceCtrlDispatcher
/// returns once the service has stopped), otherwise in the foreground with Ctrl-C as Stop.
/// Returns the service's exit code.
pub fn run(service: Service) -> Result<ExitCode, RuntimeError> {
    let name = service.name().to_string();
    *lock(&PENDING) = Some(service);
    match service_dispatcher::start(&name, ffi_service_main) {
        Ok(()) => lock(&OUTCOME)
            .take()
            .unwrap_or(Err(RuntimeError::NeverStarted)),
        Err(windows_service::Error::Winapi(err))
            if err.raw_os_error() == Some(ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) =>
        {
            let service = lock(&PENDING).take().ok_or(RuntimeError::NeverStarted)?;
            run_in_console(service)
        }
        Err(err) => Err(RuntimeError::Dispatcher(err)),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// ServiceMain: `arguments[0]` is the name the service was installed under.
fn service_main(arguments: Vec<OsString>) {
    let Some(service) = lock(&PENDING).take() else {
        return;
    };
    let name = arguments
        .first()
        .and_then(|name| ServiceName::new(name.to_string_lossy()).ok())
        .unwrap_or_else(|| service.name().clone());
    // Stored before STOPPED is reported (run_under_scm does it for a service that ran): the
    // dispatcher returns as soon as the SCM hears STOPPED, and found no outcome once, so every
    // clean stop was logged as "the SCM never started the service".
    if let Err(err) = run_under_scm(service, name) {
        *lock(&OUTCOME) = Some(Err(err));
    }
}

fn run_under_scm(service: Service, name: ServiceName) -> Result<ExitCode, RuntimeError> {
    let controller: Arc<OnceLock<Controller>> = Arc::default();
    let handler_controller = controller.clone();
    let handle = service_control_handler::register(name.as_ref(), move |control| {
        handle_control(handler_controller.get(), control)
    })
    .map_err(RuntimeError::Register)?;
    let launch = service.launch(name, Box::new(ScmSink { handle }));
    let _ = controller.set(launch.controller.clone());
    let (controller, code) = launch.into_parts();
    let exit_code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(code))
        .unwrap_or(ExitCode::Win32(ERROR_PROCESS_ABORTED));
    *lock(&OUTCOME) = Some(Ok(exit_code));
    controller.stopped(exit_code);
    Ok(exit_code)
}

/// The control handler: every control is answered here, with a status report.
fn handle_control(
    controller: Option<&Controller>,
    control: ServiceControl,
) -> ServiceControlHandlerResult {
    let Some(controller) = controller else {
        // Before START_PENDING was reported there is nothing to say yet.
        return ServiceControlHandlerResult::NoError;
    };
    let Ok(control) = Control::try_from(control.raw_service_control_type()) else {
        return ServiceControlHandlerResult::NotImplemented;
    };
    match controller.deliver(control) {
        Ok(_) => ServiceControlHandlerResult::NoError,
        Err(Refused::NotAccepted(_)) => ServiceControlHandlerResult::NotImplemented,
        Err(_) => ServiceControlHandlerResult::Other(ERROR_SERVICE_CANNOT_ACCEPT_CTRL),
    }
}

/// Reports to the SCM with SetServiceStatus.
struct ScmSink {
    handle: ServiceStatusHandle,
}

impl StatusSink for ScmSink {
    fn report(&self, status: &ServiceStatus) {
        let (win32, specific) = status.exit_code.to_scm();
        let exit_code = if win32 == ExitCode::ERROR_SERVICE_SPECIFIC_ERROR {
            ServiceExitCode::ServiceSpecific(specific)
        } else {
            ServiceExitCode::Win32(win32)
        };
        let current_state = match status.state {
            State::Stopped => ServiceState::Stopped,
            State::StartPending => ServiceState::StartPending,
            State::StopPending => ServiceState::StopPending,
            State::Running => ServiceState::Running,
            State::ContinuePending => ServiceState::ContinuePending,
            State::PausePending => ServiceState::PausePending,
            State::Paused => ServiceState::Paused,
        };
        let report = ScmStatus {
            service_type: ServiceType::OWN_PROCESS,
            current_state,
            controls_accepted: ServiceControlAccept::from_bits_truncate(status.accept.bits()),
            exit_code,
            checkpoint: status.checkpoint,
            wait_hint: status.wait_hint,
            process_id: None,
        };
        // The SCM is the only one to tell; if it cannot be told, nobody can.
        let _ = self.handle.set_service_status(report);
    }
}

/// In the console: state changes go to stderr, Ctrl-C (and Ctrl-Break, console close) is Stop.
fn run_in_console(service: Service) -> Result<ExitCode, RuntimeError> {
    let name = service.name().clone();
    let launch = service.launch(name.clone(), Box::new(ConsoleSink { name }));
    let controller = launch.controller.clone();
    ctrlc::set_handler(move || {
        let _ = controller.deliver(Control::Stop);
    })
    .map_err(RuntimeError::Console)?;
    Ok(launch.run())
}

struct ConsoleSink {
    name: ServiceName,
}

impl StatusSink for ConsoleSink {
    fn report(&self, status: &ServiceStatus) {
        if !status.state.is_pending() || status.checkpoint <= 1 {
            eprintln!(
                "{}: {} (console; Ctrl-C stops)",
                self.name,
                status.state.name()
            );
        }
    }
}
