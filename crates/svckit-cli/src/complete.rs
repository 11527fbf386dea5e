//! Completion that knows the services: clap_complete's dynamic engine (`COMPLETE=bash svckit`,
//! which `svckit completions bash` registers) over svckit's command tree, with the installed
//! services' names where a command takes them, each flag's values (restart policies, backends,
//! signals, types, …) and file paths only where a path is meant.

use std::path::PathBuf;

use clap::{Arg, Command, ValueHint, builder::ValueParser};
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};

/// The commands whose NAME arguments are installed services.
const TAKE_SERVICES: [&str; 15] = [
    "start",
    "stop",
    "restart",
    "pause",
    "continue",
    "reload",
    "status",
    "logs",
    "events",
    "show",
    "edit",
    "uninstall",
    "enable",
    "disable",
    "render",
];

/// Answers the shell when it asks for completions (`COMPLETE` is set), then exits; otherwise
/// returns at once.
pub fn answer_the_shell() {
    let current_dir = std::env::current_dir().ok();
    match clap_complete::CompleteEnv::with_factory(command)
        .try_complete(crate::command_line(), current_dir.as_deref())
    {
        Ok(false) => {}
        Ok(true) => std::process::exit(0),
        Err(err) => err.exit(),
    }
}

/// The shell code that makes `shell` ask svckit (this executable) for completions.
pub fn registration(shell: clap_complete::Shell) -> std::io::Result<Vec<u8>> {
    let name = match shell {
        clap_complete::Shell::Bash => "bash",
        clap_complete::Shell::Elvish => "elvish",
        clap_complete::Shell::Fish => "fish",
        clap_complete::Shell::PowerShell => "powershell",
        clap_complete::Shell::Zsh => "zsh",
        _ => "bash",
    };
    let shells = clap_complete::env::Shells::builtins();
    let completer = shells
        .completer(name)
        .ok_or_else(|| std::io::Error::other(format!("no completion for {name}")))?;
    let exe = std::env::current_exe()?;
    let exe = exe.to_string_lossy();
    let mut script = Vec::new();
    // Registered for the command typed (`svckit`), answered by this executable.
    completer.write_registration("COMPLETE", "svckit", "svckit", &exe, &mut script)?;
    Ok(script)
}

/// svckit's command tree, every argument told what completes it.
fn command() -> Command {
    completing(crate::cli::whole(), "")
}

fn completing(mut command: Command, name: &str) -> Command {
    let ids: Vec<clap::Id> = command
        .get_arguments()
        .map(|arg| arg.get_id().clone())
        .collect();
    let services = TAKE_SERVICES.contains(&name);
    for id in ids {
        command = command.mut_arg(id, |arg| told(arg, services));
    }
    let subcommands: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    for sub in subcommands {
        command = command.mut_subcommand(&sub, |inner| completing(inner, &sub));
    }
    command
}

/// `arg`, told what completes it: the services (a NAME of a command that takes installed
/// ones), its values (a flag of a named kind), paths (a path); nothing else.
fn told(arg: Arg, services: bool) -> Arg {
    let kind = arg.get_value_parser().type_id();
    let of = |parser: ValueParser| parser.type_id() == kind;
    let values = |names: Vec<&'static str>| {
        ArgValueCandidates::new(move || {
            names
                .iter()
                .map(|name| CompletionCandidate::new(*name))
                .collect::<Vec<_>>()
        })
    };
    let named = matches!(arg.get_id().as_str(), "name" | "names");
    if services && named && of(ValueParser::string()) {
        return arg.add(ArgValueCandidates::new(installed_services));
    }
    if of(ValueParser::path_buf()) && arg.get_value_hint() == ValueHint::Unknown {
        return arg.value_hint(ValueHint::AnyPath);
    }
    // The values of a type the model names (each has ALL and name()).
    macro_rules! names_of {
        ($($ty:ty),+ $(,)?) => {
            None$(.or_else(|| {
                of(clap::value_parser!($ty).into())
                    .then(|| <$ty>::ALL.iter().map(|value| value.name()).collect())
            }))+
        };
    }
    let names: Option<Vec<&'static str>> = names_of!(
        svckit::Restart,
        svckit::BackendKind,
        svckit::StartType,
        svckit::ServiceType,
        svckit::KillMode,
        svckit::NotifyAccess,
        svckit::Signal,
        svckit::listen::AcceptMode,
    );
    match names {
        Some(names) => arg.add(values(names)),
        None => arg,
    }
}

/// The services installed in the default state directory (the one `--state-dir` would name
/// is not known while the line is being typed), with their backend as help.
fn installed_services() -> Vec<CompletionCandidate> {
    let state = crate::cli::StateDirArg {
        state_dir: std::env::var_os("SVCKIT_STATE_DIR").map(PathBuf::from),
    };
    let Ok(manager) = crate::commands::manager_for_completion(&state) else {
        return Vec::new();
    };
    manager
        .list()
        .unwrap_or_default()
        .into_iter()
        .map(|(name, backend)| {
            CompletionCandidate::new(name.as_str()).help(Some(backend.name().into()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the engine offers after `svckit ARGS` and a word begun with `typed`.
    fn offered(args: &[&str], typed: &str) -> Vec<String> {
        let mut command = command();
        let mut line: Vec<std::ffi::OsString> = vec!["svckit".into()];
        line.extend(args.iter().map(Into::into));
        line.push(typed.into());
        let index = line.len() - 1;
        clap_complete::engine::complete(&mut command, line, index, None)
            .unwrap()
            .into_iter()
            .map(|candidate| candidate.get_value().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn flag_values_are_offered_and_paths_only_where_a_path_is_meant() {
        assert_eq!(
            offered(&["install", "web", "--restart"], ""),
            [
                "never",
                "on-failure",
                "always",
                "on-success",
                "on-abnormal",
                "on-abort",
                "on-watchdog"
            ]
        );
        assert!(offered(&["install", "web", "--backend"], "").contains(&"systemd".to_owned()));
        assert_eq!(
            offered(&["install", "web", "--stop-signal"], "TE"),
            ["TERM"]
        );
        assert_eq!(offered(&["install", "web", "--type"], "no"), ["notify"]);
        // A name, a duration: nothing (not the files here).
        assert!(offered(&["install", "web", "--stop-timeout"], "").is_empty());
        let at_name = offered(&["install"], "");
        assert!(
            at_name.iter().all(|word| word.starts_with('-')),
            "{at_name:?}"
        );
        // A path: the files.
        assert!(!offered(&["install", "web", "--file"], "/et").is_empty());
    }
}
