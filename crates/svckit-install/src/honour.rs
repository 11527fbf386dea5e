//! What each backend cannot honour. A setting a backend cannot carry out is an error that names
//! the setting (as definitions and flags name it), never silently dropped.
//!
//! A setting counts as given when it differs from its default: the defaults stand for "the
//! service manager's usual behaviour", so `restart = "on-failure"` alone works everywhere,
//! while `restart.max_delay = "5m"` on a manager without backoff is refused.

use svckit_core::{BackendKind, Key, ServiceName, ServiceSpec};

use crate::Error;

/// Checks that `backend` can honour every setting of `spec`; the error names the first it
/// cannot (in the definition's order), and why.
pub fn check(backend: BackendKind, spec: &ServiceSpec) -> Result<(), Error> {
    for key in Key::given(spec) {
        if let Some(reason) = refusal(backend, key, spec) {
            return Err(Error::Unsupported {
                backend: backend.name(),
                setting: key.name(),
                reason,
            });
        }
    }
    Ok(())
}

/// The one key × backend table: why `backend` cannot honour `key` as `spec` gives it, or
/// `None` when it can. Each backend declares its column in its own file (`cannot_honour` in
/// builtin.rs, systemd.rs, sysv.rs and windows.rs), compiled on every platform so the table
/// is whole on both (`render --backend`, docs/supervisor.md's table of what each backend makes of a
/// key, checked against it).
pub fn refusal(backend: BackendKind, key: Key, spec: &ServiceSpec) -> Option<String> {
    let reason = match backend {
        BackendKind::Auto | BackendKind::Builtin => crate::builtin::cannot_honour(key, spec),
        BackendKind::Systemd => crate::systemd::cannot_honour(key, spec),
        BackendKind::Sysv => crate::sysv::cannot_honour(key, spec),
        BackendKind::Windows => crate::windows::cannot_honour(key, spec),
    };
    reason.map(str::to_owned)
}

/// The prefixes (`-`, `+`, `@`, ...) of the commands `key` gives in `spec`: its pre-start,
/// post-start, stop or post-stop commands, or its reload command; none for another key.
pub(crate) fn command_prefixes(
    key: Key,
    spec: &ServiceSpec,
) -> impl Iterator<Item = svckit_core::command::Prefix> + '_ {
    let list: &[Vec<String>] = match key {
        Key::ExecStartPre => &spec.exec_start_pre,
        Key::ExecStartPost => &spec.exec_start_post,
        Key::ExecStop => &spec.exec_stop,
        Key::ExecStopPost => &spec.exec_stop_post,
        _ => &[],
    };
    let reload = (key == Key::ReloadCommand).then_some(spec.reload.command.as_slice());
    list.iter()
        .map(Vec::as_slice)
        .chain(reload)
        .filter_map(|command| svckit_core::command::parts(command).ok())
        .map(|parts| parts.prefix)
}

/// Checks that `name` can name a unit or an init script: letters, digits, `_`, `.`, `-` (and
/// `:` for systemd), as both systemd and LSB allow without escaping.
pub fn file_name(backend: BackendKind, name: &ServiceName) -> Result<(), Error> {
    let extra: &[char] = if backend == BackendKind::Systemd {
        &['_', '.', '-', ':']
    } else {
        &['_', '.', '-']
    };
    let bad = name
        .as_str()
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || extra.contains(c)));
    match bad {
        Some(c) => Err(Error::Unsupported {
            backend: backend.name(),
            setting: "name",
            reason: format!(
                "{:?} contains {c:?}; use letters, digits and {}",
                name.as_str(),
                extra
                    .iter()
                    .map(|c| format!("'{c}'"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        }),
        None if name.as_str().starts_with('.') => Err(Error::Unsupported {
            backend: backend.name(),
            setting: "name",
            reason: format!("{:?} starts with '.'", name.as_str()),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use svckit_core::{ExitMatch, Limit, ServiceType, Signal};

    use super::*;

    /// A definition that gives `key` (and nothing else), of `service_type`.
    fn giving(key: Key, service_type: ServiceType) -> ServiceSpec {
        let mut spec = ServiceSpec::new(ServiceName::new("web").unwrap(), "/bin/true");
        spec.service_type = service_type;
        let command = || vec![vec!["/bin/true".to_owned()]];
        let db = || vec![ServiceName::new("db").unwrap()];
        match key {
            Key::ExecStartPre => spec.exec_start_pre = command(),
            Key::ExecStartPost => spec.exec_start_post = command(),
            Key::ExecStop => spec.exec_stop = command(),
            Key::ReloadSignal => spec.reload.signal = Some(Signal::Usr2),
            Key::ReloadCommand => spec.reload.command = vec!["/bin/true".to_owned()],
            Key::EnvironmentFile => spec.environment_file = vec!["/etc/default/web".to_owned()],
            Key::RuntimeDirectory => spec.runtime_directory = vec!["web".to_owned()],
            Key::Limits => {
                spec.limits.nofile = Some(Limit {
                    soft: 4096,
                    hard: 4096,
                });
            }
            Key::Nice => spec.nice = Some(5),
            Key::OomScoreAdjust => spec.oom_score_adjust = Some(100),
            Key::Listen => {
                spec.listen = vec![svckit_core::listen::Listener::at(
                    "tcp:127.0.0.1:8080".parse().unwrap(),
                )];
            }
            Key::Accept => spec.accept = svckit_core::listen::AcceptMode::Inetd,
            Key::MaxConnections => spec.max_connections = 8,
            Key::MaxConnectionsPerSource => spec.max_connections_per_source = Some(2),
            Key::IdleStop => spec.idle_stop = Some(std::time::Duration::from_secs(60)),
            Key::Readiness | Key::Liveness => {
                let probe = svckit_core::health::Probe::new(
                    svckit_core::health::Check::tcp("127.0.0.1:8080").unwrap(),
                );
                match key {
                    Key::Readiness => spec.readiness = Some(Box::new(probe)),
                    _ => spec.liveness = Some(Box::new(probe)),
                }
            }
            Key::SuccessExitStatus => spec.success_exit_status = vec![ExitMatch::Code(3)],
            Key::RestartPreventExitStatus => {
                spec.restart_prevent_exit_status = vec![ExitMatch::Code(3)];
            }
            Key::Dependencies => spec.dependencies = db(),
            Key::Requires => spec.requires = db(),
            Key::Wants => spec.wants = db(),
            Key::After => spec.after = db(),
            Key::Conditions => {
                spec.requires = db();
                spec.conditions =
                    vec![(db()[0].clone(), svckit_core::condition::Condition::Healthy)];
            }
            Key::Program => spec.program_prefix.ignore_failure = true,
            Key::TimeoutStart => spec.timeout_start = Some(std::time::Duration::from_secs(30)),
            Key::ExpandEnv => spec.expand_env = true,
            Key::Before => spec.before = db(),
            Key::ExecStopPost => spec.exec_stop_post = command(),
            Key::SendSigkill => spec.send_sigkill = false,
            Key::RuntimeDirectoryMode => {
                spec.runtime_directory = vec!["web".to_owned()];
                spec.directories = Some(Box::new(svckit_core::Directories {
                    runtime_mode: Some(0o750),
                    ..Default::default()
                }));
            }
            Key::RuntimeDirectoryPreserve => {
                spec.runtime_directory = vec!["web".to_owned()];
                spec.directories = Some(Box::new(svckit_core::Directories {
                    runtime_preserve: svckit_core::Preserve::Restart,
                    ..Default::default()
                }));
            }
            Key::StateDirectory
            | Key::CacheDirectory
            | Key::LogsDirectory
            | Key::ConfigurationDirectory => {
                let kind = svckit_core::DirectoryKind::ALL
                    .into_iter()
                    .find(|kind| kind.key() == key.name())
                    .unwrap();
                let mut directories = svckit_core::Directories::default();
                directories.of_mut(kind).0.push("web".to_owned());
                spec.directories = Some(Box::new(directories));
            }
            other => panic!("no sample value for {other}: add one"),
        }
        assert!(Key::given(&spec).contains(&key), "{key} is given");
        spec
    }

    /// The keys a row of that table is about: its first cell's backticked names.
    fn keys_of(cell: &str) -> Vec<Key> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .filter_map(|word| match word {
                _ if word.starts_with("[limits]") => Some(Key::Limits),
                "[reload] signal" => Some(Key::ReloadSignal),
                "[reload] command" => Some(Key::ReloadCommand),
                word => Key::named(word),
            })
            .collect()
    }

    /// docs/supervisor.md's table of what each backend makes of a key says "refused" exactly where
    /// this table refuses it; the SCM's column tells a hosted program (type exec) from one on
    /// svckit's service API (type notify): `…; type notify: refused`.
    #[test]
    fn the_supervisor_page_table_says_what_each_backend_refuses() {
        let readme = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/supervisor.md"),
        )
        .unwrap();
        let header = "| key (flag) | builtin supervisor | systemd | init script | SCM |";
        let start = readme
            .find(header)
            .expect("docs/supervisor.md's table of keys");
        let rows: Vec<Vec<String>> = readme[start..]
            .lines()
            .map(str::trim)
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .map(|line| {
                line.replace("\\|", "¦")
                    .trim_matches('|')
                    .split('|')
                    .map(|cell| cell.trim().to_owned())
                    .collect()
            })
            .collect();
        assert!(rows.len() >= 15, "{rows:?}");
        // "refused unless …": refused for the sample, which gives the key alone.
        let refused = |cell: &str| cell == "refused" || cell.starts_with("refused unless");
        for row in &rows {
            let keys = keys_of(&row[0]);
            assert!(!keys.is_empty(), "a row without a key: {row:?}");
            for key in keys {
                for (column, backend) in [
                    (1, BackendKind::Builtin),
                    (2, BackendKind::Systemd),
                    (3, BackendKind::Sysv),
                ] {
                    let spec = giving(key, ServiceType::Exec);
                    assert_eq!(
                        refused(&row[column]),
                        refusal(backend, key, &spec).is_some(),
                        "{key} on {backend}: docs/supervisor.md says {:?}",
                        row[column]
                    );
                }
                let scm = &row[4];
                let hosted = refusal(BackendKind::Windows, key, &giving(key, ServiceType::Exec));
                let api = refusal(BackendKind::Windows, key, &giving(key, ServiceType::Notify));
                assert_eq!(
                    refused(scm),
                    hosted.is_some(),
                    "{key} hosted by svckit.exe: docs/supervisor.md says {scm:?}"
                );
                assert_eq!(
                    refused(scm) || scm.ends_with("type notify: refused"),
                    api.is_some(),
                    "{key} on svckit's service API: docs/supervisor.md says {scm:?}"
                );
            }
        }
    }
}
