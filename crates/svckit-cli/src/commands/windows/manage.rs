//! `svckit install | uninstall | start | stop | restart | reload | pause | continue | status`: service management
//! through the host's backend (on Windows, the SCM).

use svckit::ServiceName;
use svckit_install::{InstallOptions, Manager};

use crate::{
    cli::{HostArgs, InstallArgs, StateDirArg},
    exit::Exit,
};

fn manager() -> anyhow::Result<Manager> {
    Ok(Manager::local()?)
}

/// `svckit install`: into the SCM, over an existing service of that name.
pub fn install(args: InstallArgs) -> anyhow::Result<Exit> {
    let spec = crate::commands::definition::from_install(&args)?;
    let name = spec.name.clone();
    let report = manager()?.install(spec, &InstallOptions::default())?;
    crate::commands::apply::say_installed(&name, &report)?;
    Ok(Exit::Ok)
}

/// The SCM's manager; `--state-dir` is the Unix supervisor's, refused by name.
pub(super) fn manager_at(state: &StateDirArg) -> anyhow::Result<svckit_install::Manager> {
    if state.state_dir.is_some() {
        return Err(crate::exit::Failure::new(
            Exit::Usage,
            "--state-dir is the Unix supervisor's: on Windows svckit keeps %ProgramData%\\svckit",
        )
        .into());
    }
    manager()
}

/// `svckit host NAME --data-dir DIR`: the service host of a hosted program, started by the
/// SCM (which gives a service another `%ProgramData%` than the installing user's under Wine:
/// the directory is named in the service's command line).
pub fn host(args: HostArgs) -> anyhow::Result<Exit> {
    let data = args
        .data_dir
        .clone()
        .unwrap_or_else(svckit_install::data_dir);
    let hosted = || -> anyhow::Result<Exit> {
        let name = ServiceName::new(&args.name)?;
        let spec = svckit_install::hosted_definition(&data, &name)?;
        let service = svckit::windows::host::service(spec, &data);
        let code = svckit::run(service)?;
        Ok(match code.is_success() {
            true => Exit::Ok,
            false => Exit::Failed,
        })
    };
    // A host started by the SCM has no console to say why it failed: its log and the event
    // log do.
    hosted().inspect_err(|err| {
        use std::io::Write;
        let _ = svckit::windows::report_error_event(
            &args.name,
            &format!("svckit host {}: {err:#}", args.name),
        );
        let logs = data.join("logs");
        let _ = std::fs::create_dir_all(&logs);
        let log = logs.join("host.log");
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(file, "svckit host {}: {err:#}", args.name);
        }
    })
}

/// `svckit enable|disable NAME...`: the SCM's start type (auto or demand) of each, and a
/// hosted program's definition with it; each says whether it changed.
pub fn set_start(
    one: &str,
    state: &crate::cli::StateDirArg,
    start: svckit::StartType,
) -> anyhow::Result<()> {
    let manager = manager_at(state)?;
    let name = ServiceName::new(one)?;
    match manager.set_start(&name, start)? {
        true => outln!("{name}: changed start"),
        false => outln!("{name}: unchanged"),
    }
    Ok(())
}
