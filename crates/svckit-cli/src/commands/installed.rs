//! What is installed, the same on both platforms: `svckit list` (each service and its backend)
//! and `svckit show` (a definition as svckit keeps it).

use svckit::ServiceName;

use crate::{
    cli::{ListArgs, NameArgs},
    exit::Exit,
};

/// `svckit list`: every installed service and the backend that runs it.
pub fn list(args: ListArgs) -> anyhow::Result<Exit> {
    let listed = super::manager(&args.state)?.statuses_for_table()?;
    // What each one is: its backend, when it starts (enabled or not), its state now.
    let start = |one: &svckit_install::Listed| {
        one.status
            .as_ref()
            .ok()
            .and_then(|status| status.start)
            .map(|start| start.name())
    };
    let state = |one: &svckit_install::Listed| match &one.status {
        Ok(status) => status.state_name(),
        Err(_) => "unknown".to_owned(),
    };
    if args.json {
        let all: Vec<serde_json::Value> = listed
            .iter()
            .map(|one| {
                serde_json::json!({
                    "name": one.name.as_str(),
                    "backend": one.backend.name(),
                    "start": start(one),
                    "enabled": start(one).map(|start| matches!(start, "auto" | "delayed")),
                    "state": state(one),
                })
            })
            .collect();
        outln!("{}", serde_json::Value::Array(all));
        return Ok(Exit::Ok);
    }
    for one in &listed {
        outln!(
            "{:<24} {:<8} {:<9} {}",
            one.name.as_str(),
            one.backend.name(),
            start(one).unwrap_or("-"),
            state(one)
        );
    }
    Ok(Exit::Ok)
}

/// `svckit show`: an installed service's definition, every key.
pub fn show(args: NameArgs) -> anyhow::Result<Exit> {
    let manager = super::manager(&args.state)?;
    let spec = manager.definition(&ServiceName::new(&args.name)?)?;
    out!("{}", spec.to_toml());
    // Under the supervisor, a dependency that is no service here (network.target) is
    // ignored: say so, rather than let it look honoured.
    if spec.backend == svckit::BackendKind::Builtin {
        for dependency in spec.started_with().chain(&spec.after) {
            if manager.definition(dependency).is_err() {
                outln!(
                    "# note: {dependency} is not installed here; the supervisor starts and \
                     waits for nothing on its account"
                );
            }
        }
    }
    Ok(Exit::Ok)
}
