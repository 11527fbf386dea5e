//! What is installed, the same on both platforms: `svckit list` (each service and its backend)
//! and `svckit show` (a definition as svckit keeps it).

use svckit::ServiceName;

use crate::{
    cli::{ListArgs, NameArgs},
    exit::Exit,
};

/// `svckit list`: every installed service and the backend that runs it.
pub fn list(args: ListArgs) -> anyhow::Result<Exit> {
    let listed = super::manager(&args.state)?.list()?;
    if args.json {
        let all: Vec<serde_json::Value> = listed
            .iter()
            .map(|(name, backend)| {
                serde_json::json!({"name": name.as_str(), "backend": backend.name()})
            })
            .collect();
        outln!("{}", serde_json::Value::Array(all));
        return Ok(Exit::Ok);
    }
    for (name, backend) in listed {
        outln!("{name:<24} {}", backend.name());
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
