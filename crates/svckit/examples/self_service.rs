//! An application that manages itself as a service, in a few lines of svckit's management
//! API — one source for Linux (svckit's supervisor, systemd or SysV init) and Windows (the SCM):
//!
//! ```text
//! self_service service install [BACKEND]   # auto by default: this host's manager
//! self_service service start | stop | restart | status | uninstall
//! self_service run                         # what the service runs
//! ```

use std::{error::Error, process::ExitCode, time::Duration};

use svckit::{
    Accept, Control, Service, ServiceName, ServiceSpec,
    manage::{InstallOptions, Manager},
};

/// The service's name.
const NAME: &str = "self-service-example";
/// How long a start or stop may take.
const WAIT: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let done = match args.as_slice() {
        ["run"] => run(),
        ["service", action, rest @ ..] => manage(action, rest),
        _ => Err(
            "usage: self_service run | service install|uninstall|start|stop|restart|status".into(),
        ),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("self_service: {err}");
            ExitCode::FAILURE
        }
    }
}

fn manage(action: &str, rest: &[&str]) -> Result<(), Box<dyn Error>> {
    // As a program with a runtime would be (any tokio main): a thread of its own already. It
    // cannot fork itself into the supervisor then; the svckit in PATH starts it.
    if std::env::var_os("SELF_SERVICE_THREADED").is_some() {
        std::thread::spawn(|| std::thread::sleep(Duration::from_secs(3600)));
    }
    let name = ServiceName::new(NAME)?;
    let manager = Manager::local()?;
    let status = match action {
        "install" => {
            let mut spec = ServiceSpec::new(name, std::env::current_exe()?);
            spec.args = vec!["run".into()];
            // It is on svckit's service API: it reports its own state (and readiness).
            spec.service_type = svckit::ServiceType::Notify;
            spec.description = Some("svckit's self-installing example".into());
            if let Some(backend) = rest.first() {
                spec.backend = backend.parse()?;
            }
            let report = manager.install(spec, &InstallOptions::default())?;
            println!(
                "installed {NAME} ({}: {})",
                report.backend,
                report.location.display()
            );
            return Ok(());
        }
        "uninstall" => {
            manager.uninstall(&name, WAIT)?;
            println!("uninstalled {NAME}");
            return Ok(());
        }
        "start" => manager.start(&name, Some(WAIT))?,
        "stop" => manager.stop(&name, WAIT)?,
        "restart" => manager.restart(&name, WAIT)?,
        "status" => manager.status(&name)?,
        other => return Err(format!("unknown action {other:?}").into()),
    };
    match status.pid {
        Some(pid) => println!("{NAME}: {} (PID {pid})", status.state_name()),
        None => println!("{NAME}: {}", status.state_name()),
    }
    Ok(())
}

/// The service: a line on stdout every second until it is stopped.
fn run() -> Result<(), Box<dyn Error>> {
    let service = Service::new(ServiceName::new(NAME)?, |ctx| {
        ctx.ready();
        loop {
            match ctx.recv_timeout(Duration::from_secs(1)) {
                None => println!("{NAME} is alive"),
                Some(Control::Stop | Control::Shutdown) => return svckit::ExitCode::SUCCESS,
                Some(_) => {}
            }
        }
    })
    .accept(Accept::STOP | Accept::SHUTDOWN);
    let code = svckit::run(service)?;
    std::process::exit(code.unix_status().into())
}
