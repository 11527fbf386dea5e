//! The service API's Windows runtime, over the [`windows-service`] crate: the dispatcher
//! (StartServiceCtrlDispatcher), ServiceMain, a control handler (RegisterServiceCtrlHandlerEx)
//! that reports status on every control, Interrogate included, and SetServiceStatus for every
//! transition the service's code makes. Started from a console instead of by the SCM (the
//! dispatcher fails with `ERROR_FAILED_SERVICE_CONTROLLER_CONNECT`, 1063), the same program runs
//! in the foreground with Ctrl-C as Stop.
//!
//! `host` (on Windows) makes any program a service: svckit.exe is the service and runs the program in a
//! job object (`job`).
//!
//! [`windows-service`]: https://docs.rs/windows-service
#![cfg(windows)]

mod capture;
pub mod host;
pub mod job;
pub mod memory;
mod runtime;
pub mod screen;
mod sys;

pub use capture::file_index;
pub use runtime::{RuntimeError, run};

/// Writes `message` to the Windows Application event log as an error from `source` (a
/// service's name): how a service that has no console says why it failed.
pub fn report_error_event(source: &str, message: &str) -> std::io::Result<()> {
    sys::report_error_event(source, message)
}

/// Sends the ParamChange control (a reload) to `service`, opened with
/// `ServiceAccess::PAUSE_CONTINUE`.
pub fn param_change(service: &windows_service::service::Service) -> std::io::Result<()> {
    sys::param_change(service)
}

/// Makes `service` (opened with `ServiceAccess::CHANGE_CONFIG`) start at boot (`auto`) or
/// only when asked, changing nothing else of its configuration.
pub fn set_auto_start(
    service: &windows_service::service::Service,
    auto: bool,
) -> std::io::Result<()> {
    use windows_sys::Win32::System::Services::{SERVICE_AUTO_START, SERVICE_DEMAND_START};
    let start_type = if auto {
        SERVICE_AUTO_START
    } else {
        SERVICE_DEMAND_START
    };
    sys::set_start_type(service, start_type)
}

/// Whether this process has no standard error (a service started by the SCM has none): an
/// error it reports there is lost, so it belongs in the event log.
pub fn stderr_is_nowhere() -> bool {
    sys::stderr_is_nowhere()
}

/// Whether this process's stdout is a pipe whose reader has gone (`svckit list | head`): a
/// write that failed for that is no error of the command's.
pub fn stdout_reader_gone() -> bool {
    sys::stdout_reader_gone()
}

#[cfg(test)]
mod tests {
    //! The model's numbers are the SCM's: checked against windows-sys on the Windows target.
    use svckit_core::{Accept, Control, State};
    use windows_sys::Win32::System::Services as scm;

    #[test]
    fn states_are_the_scm_constants() {
        let expected = [
            (State::Stopped, scm::SERVICE_STOPPED),
            (State::StartPending, scm::SERVICE_START_PENDING),
            (State::StopPending, scm::SERVICE_STOP_PENDING),
            (State::Running, scm::SERVICE_RUNNING),
            (State::ContinuePending, scm::SERVICE_CONTINUE_PENDING),
            (State::PausePending, scm::SERVICE_PAUSE_PENDING),
            (State::Paused, scm::SERVICE_PAUSED),
        ];
        for (state, value) in expected {
            assert_eq!(state.as_u32(), value, "{state:?}");
        }
        assert_eq!(State::ALL.len(), expected.len());
    }

    #[test]
    fn controls_are_the_scm_constants() {
        let expected = [
            (Control::Stop, scm::SERVICE_CONTROL_STOP),
            (Control::Pause, scm::SERVICE_CONTROL_PAUSE),
            (Control::Continue, scm::SERVICE_CONTROL_CONTINUE),
            (Control::Interrogate, scm::SERVICE_CONTROL_INTERROGATE),
            (Control::Shutdown, scm::SERVICE_CONTROL_SHUTDOWN),
            (Control::ParamChange, scm::SERVICE_CONTROL_PARAMCHANGE),
            (Control::NetBindAdd, scm::SERVICE_CONTROL_NETBINDADD),
            (Control::NetBindRemove, scm::SERVICE_CONTROL_NETBINDREMOVE),
            (Control::NetBindEnable, scm::SERVICE_CONTROL_NETBINDENABLE),
            (Control::NetBindDisable, scm::SERVICE_CONTROL_NETBINDDISABLE),
            (Control::DeviceEvent, scm::SERVICE_CONTROL_DEVICEEVENT),
            (
                Control::HardwareProfileChange,
                scm::SERVICE_CONTROL_HARDWAREPROFILECHANGE,
            ),
            (Control::PowerEvent, scm::SERVICE_CONTROL_POWEREVENT),
            (Control::SessionChange, scm::SERVICE_CONTROL_SESSIONCHANGE),
            (Control::Preshutdown, scm::SERVICE_CONTROL_PRESHUTDOWN),
            (Control::TimeChange, scm::SERVICE_CONTROL_TIMECHANGE),
            (Control::TriggerEvent, scm::SERVICE_CONTROL_TRIGGEREVENT),
        ];
        for (control, value) in expected {
            assert_eq!(control.as_u32(), value, "{control:?}");
            assert_eq!(Control::try_from(value), Ok(control));
        }
        assert_eq!(Control::User(128).as_u32(), 128);
    }

    #[test]
    fn accept_bits_are_the_scm_constants() {
        let expected = [
            (Accept::STOP, scm::SERVICE_ACCEPT_STOP),
            (Accept::PAUSE_CONTINUE, scm::SERVICE_ACCEPT_PAUSE_CONTINUE),
            (Accept::SHUTDOWN, scm::SERVICE_ACCEPT_SHUTDOWN),
            (Accept::PARAMCHANGE, scm::SERVICE_ACCEPT_PARAMCHANGE),
            (Accept::NETBINDCHANGE, scm::SERVICE_ACCEPT_NETBINDCHANGE),
            (
                Accept::HARDWAREPROFILECHANGE,
                scm::SERVICE_ACCEPT_HARDWAREPROFILECHANGE,
            ),
            (Accept::POWEREVENT, scm::SERVICE_ACCEPT_POWEREVENT),
            (Accept::SESSIONCHANGE, scm::SERVICE_ACCEPT_SESSIONCHANGE),
            (Accept::PRESHUTDOWN, scm::SERVICE_ACCEPT_PRESHUTDOWN),
            (Accept::TIMECHANGE, scm::SERVICE_ACCEPT_TIMECHANGE),
            (Accept::TRIGGEREVENT, scm::SERVICE_ACCEPT_TRIGGEREVENT),
        ];
        for (accept, value) in expected {
            assert_eq!(accept.bits(), value, "{accept}");
        }
    }

    #[test]
    fn the_memory_status_is_read() {
        let status = crate::memory::memory_status().unwrap();
        assert!(status.total_physical > 0);
        assert!(status.available_physical <= status.total_physical);
        assert!(status.load_percent <= 100);
    }
}
