//! A systemd service unit read as a svckit definition (`svckit import UNIT.service`): pure
//! logic, from the texts of the unit, its drop-ins and its environment files to a
//! [`ServiceSpec`] and the list of what it could not carry over.
//!
//! Every directive is either mapped to a key or told, by name, in the [`Finding`]s: nothing is
//! dropped without a word. What svckit does not do (yet) is [`Verdict::NotHonoured`]; what has
//! no meaning outside systemd (its targets, `Documentation=`) is [`Verdict::Informational`].
//! The unit file syntax is systemd's (systemd.syntax(7)): sections, `KEY=VALUE`, a trailing
//! backslash continuing a line, `#` and `;` comments, an empty assignment resetting a list;
//! command lines are split as systemd splits them (quotes, C escapes), with `$VAR` (split
//! into words) and `${VAR}` (one word) expanded from `Environment=` and `EnvironmentFile=`.

use std::time::Duration;

use crate::{
    DirectoryKind, ExitMatch, KillMode, Limit, NotifyAccess, Preserve, Restart, ServiceName,
    ServiceSpec, ServiceType, Signal, StartType,
};

/// What became of one directive that was not mapped as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `Section.Key`: `Service.ExecStopPost`.
    pub directive: String,
    /// Its value as written.
    pub value: String,
    /// Whether it is lost or meaningless here.
    pub verdict: Verdict,
    /// Why, in a few words.
    pub why: String,
}

/// How much a [`Finding`] matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The unit asks for something svckit does not do: the definition runs it otherwise.
    NotHonoured,
    /// Meaningful only to systemd (a target to order against, documentation): nothing is lost.
    Informational,
}

/// A unit read as a definition.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The definition.
    pub spec: ServiceSpec,
    /// What was not mapped as it is, in the order the directives came.
    pub findings: Vec<Finding>,
}

impl Imported {
    /// Whether something the unit asks for is not honoured.
    pub fn lossy(&self) -> bool {
        self.findings
            .iter()
            .any(|finding| finding.verdict == Verdict::NotHonoured)
    }
}

/// The findings of an import so far.
struct Findings(Vec<Finding>);

impl Findings {
    /// `d` was not mapped as it is: `verdict`, because `why`.
    fn note(&mut self, d: &Directive, verdict: Verdict, why: &str) {
        self.0.push(Finding {
            directive: format!("{}.{}", d.section, d.key),
            value: d.value.clone(),
            verdict,
            why: why.to_owned(),
        });
    }

    /// `d` is an empty assignment, which resets its list: what was said of the entries it
    /// drops no longer holds.
    fn forget(&mut self, d: &Directive) {
        let directive = format!("{}.{}", d.section, d.key);
        self.0.retain(|finding| finding.directive != directive);
    }
}

/// One `KEY=VALUE` of a unit, with its section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// `Unit`, `Service`, `Install`, ...
    pub section: String,
    /// The key.
    pub key: String,
    /// The value (continuations joined, surrounding blanks trimmed).
    pub value: String,
}

/// The directives of a unit file's `text`, in order (systemd.syntax(7)).
pub fn directives(text: &str) -> Vec<Directive> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut pending: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim();
        // Comments are skipped, inside a continued line too.
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let line = match pending.take() {
            Some(mut before) => {
                before.push(' ');
                before.push_str(line);
                before
            }
            None => line.to_owned(),
        };
        if let Some(continued) = line.strip_suffix('\\') {
            pending = Some(continued.trim_end().to_owned());
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_owned();
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            out.push(Directive {
                section: section.clone(),
                key: key.trim().to_owned(),
                value: value.trim().to_owned(),
            });
        }
    }
    if let Some(last) = pending
        && let Some((key, value)) = last.split_once('=')
    {
        out.push(Directive {
            section,
            key: key.trim().to_owned(),
            value: value.trim().to_owned(),
        });
    }
    out
}

/// The variables of an environment file's `text` (systemd's `EnvironmentFile=` format:
/// `KEY=VALUE` lines, `#` and `;` comments, values optionally quoted, `export ` ignored).
pub fn environment_file(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let value = match split_words(value) {
            Ok(words) if value.starts_with(['"', '\'']) => words.join(" "),
            _ => value.to_owned(),
        };
        out.push((key.trim().to_owned(), value));
    }
    out
}

/// `Environment=`'s assignments: words (quoted as in a command line), each `KEY=VALUE`.
fn assignments(value: &str) -> Result<Vec<(String, String)>, String> {
    split_words(value)?
        .into_iter()
        .map(|word| {
            word.split_once('=')
                .map(|(key, value)| (key.to_owned(), value.to_owned()))
                .ok_or_else(|| format!("{word:?} is not KEY=VALUE"))
        })
        .collect()
}

/// A command line split into words as systemd splits it: blanks separate, double and single
/// quotes group, C escapes (`\n`, `\t`, `\\`, `\"`, `\'`, `\ `) are resolved.
pub fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (c, quote) {
            ('\\', _) => {
                let escaped = match chars.next() {
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('r') => '\r',
                    Some(other) => other,
                    None => return Err(format!("{text:?} ends with a backslash")),
                };
                word.get_or_insert_default().push(escaped);
            }
            (q, None) if q == '"' || q == '\'' => {
                quote = Some(q);
                word.get_or_insert_default();
            }
            (q, Some(open)) if q == open => quote = None,
            (blank, None) if blank.is_whitespace() => {
                if let Some(done) = word.take() {
                    words.push(done);
                }
            }
            (other, _) => word.get_or_insert_default().push(other),
        }
    }
    if quote.is_some() {
        return Err(format!("{text:?} has an unclosed quote"));
    }
    words.extend(word);
    Ok(words)
}

/// A systemd time span (`5`, `5s`, `100ms`, `1min 30s`, `2h`); `None` for `infinity`.
pub fn time_span(text: &str) -> Result<Option<Duration>, String> {
    let text = text.trim();
    if text == "infinity" {
        return Ok(None);
    }
    let bad = || format!("{text:?} is not a time span");
    let mut total = Duration::ZERO;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        rest = rest.trim_start();
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "" | "s" | "sec" | "second" | "seconds" => 1.0,
            "ms" | "msec" => 1e-3,
            "us" | "usec" => 1e-6,
            "m" | "min" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86400.0,
            "w" | "week" | "weeks" => 604800.0,
            _ => return Err(bad()),
        };
        total += Duration::from_secs_f64(number * seconds);
        rest = &rest[unit_len..];
    }
    Ok(Some(total))
}

/// A systemd timeout: `None` for none (`infinity`, or 0, which systemd reads the same), or
/// for a value that is not a time span.
fn timeout(text: &str) -> Option<Duration> {
    time_span(text)
        .ok()
        .flatten()
        .filter(|limit| !limit.is_zero())
}

/// Where systemd looks for a command named without its path (systemd.service(5)).
pub const PROGRAM_PATH: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// The sandboxing and hardening directives: a later issue.
const SANDBOXING: &[&str] = &[
    "PrivateTmp",
    "PrivateDevices",
    "PrivateNetwork",
    "PrivateUsers",
    "PrivateMounts",
    "PrivateIPC",
    "ProtectSystem",
    "ProtectHome",
    "ProtectKernelTunables",
    "ProtectKernelModules",
    "ProtectKernelLogs",
    "ProtectControlGroups",
    "ProtectClock",
    "ProtectHostname",
    "ProtectProc",
    "ProcSubset",
    "NoNewPrivileges",
    "CapabilityBoundingSet",
    "AmbientCapabilities",
    "ReadWritePaths",
    "ReadOnlyPaths",
    "InaccessiblePaths",
    "ExecPaths",
    "NoExecPaths",
    "TemporaryFileSystem",
    "BindPaths",
    "BindReadOnlyPaths",
    "RestrictAddressFamilies",
    "RestrictNamespaces",
    "RestrictRealtime",
    "RestrictSUIDSGID",
    "RestrictFileSystems",
    "LockPersonality",
    "MemoryDenyWriteExecute",
    "SystemCallFilter",
    "SystemCallArchitectures",
    "SystemCallErrorNumber",
    "DevicePolicy",
    "DeviceAllow",
    "IPAddressAllow",
    "IPAddressDeny",
    "KeyringMode",
    "RemoveIPC",
    "DynamicUser",
    "SecureBits",
];

/// The targets that only say "after the system is up": nothing to wait for under a
/// supervisor (its services start once it runs).
fn is_target(unit: &str) -> bool {
    unit.ends_with(".target")
}

/// `unit`'s definition: its text, its drop-ins' texts in the order systemd applies them, and
/// `find_program` for a command named without its path (systemd looks in a fixed PATH: see
/// [`PROGRAM_PATH`]). `name` is the service's name. Variables in commands are left for the
/// supervisor to expand at each start (`expand_env`), from the environment and the
/// environment files as they are then.
pub fn import(
    name: ServiceName,
    unit: &str,
    dropins: &[String],
    find_program: &dyn Fn(&str) -> Option<String>,
) -> Result<Imported, String> {
    let mut all = directives(unit);
    for dropin in dropins {
        all.extend(directives(dropin));
    }
    let mut findings = Findings(Vec::new());
    // The environment first, wherever it was written.
    let mut env_list: Vec<(String, String)> = Vec::new();
    let mut env_files: Vec<String> = Vec::new();
    for d in all.iter().filter(|d| d.section == "Service") {
        match d.key.as_str() {
            "Environment" if d.value.is_empty() => env_list.clear(),
            "Environment" => match assignments(&d.value) {
                Ok(pairs) => env_list.extend(pairs),
                Err(err) => findings.note(d, Verdict::NotHonoured, &err),
            },
            "EnvironmentFile" if d.value.is_empty() => env_files.clear(),
            "EnvironmentFile" => env_files.push(d.value.clone()),
            _ => {}
        }
    }
    let mut spec = ServiceSpec::new(name, "");
    spec.env = env_list;
    spec.environment_file = env_files;
    let mut started = false;
    // Whether a command names a variable: the supervisor then expands them at each start.
    let mut variables = false;
    let mut timeout_start: Option<Duration> = None;
    let mut reloads: Vec<Directive> = Vec::new();
    let mut pid_file: Option<Directive> = None;
    let mut notify_keys: Vec<Directive> = Vec::new();
    for d in &all {
        let value = d.value.as_str();
        match (d.section.as_str(), d.key.as_str()) {
            ("Unit", "Description") => spec.description = Some(value.to_owned()),
            ("Unit", "Documentation") => {
                findings.note(d, Verdict::Informational, "documentation, for people")
            }
            ("Unit", "DefaultDependencies") => findings.note(
                d,
                Verdict::Informational,
                "systemd's implicit ordering against its own targets",
            ),
            ("Unit", key @ ("After" | "Before" | "Requires" | "Wants")) => {
                for unit in value.split_whitespace() {
                    let list = match key {
                        "After" => &mut spec.after,
                        "Before" => &mut spec.before,
                        "Requires" => &mut spec.requires,
                        _ => &mut spec.wants,
                    };
                    match unit.strip_suffix(".service").map(ServiceName::new) {
                        Some(Ok(service)) => list.push(service),
                        _ if is_target(unit) => findings.note(
                            &Directive {
                                value: unit.to_owned(),
                                ..d.clone()
                            },
                            Verdict::Informational,
                            "a systemd target: nothing to wait for under the supervisor",
                        ),
                        _ => findings.note(
                            &Directive {
                                value: unit.to_owned(),
                                ..d.clone()
                            },
                            Verdict::NotHonoured,
                            "only services can be depended on",
                        ),
                    }
                }
            }
            ("Unit", "StartLimitIntervalSec" | "StartLimitInterval") => match time_span(value) {
                Ok(Some(window)) => spec.restart.window = window,
                _ => findings.note(d, Verdict::NotHonoured, "not a finite time span"),
            },
            ("Unit", "StartLimitBurst") => match value.parse() {
                Ok(limit) => spec.restart.limit = limit,
                Err(_) => findings.note(d, Verdict::NotHonoured, "not a number"),
            },
            ("Unit", key) if key.starts_with("Condition") || key.starts_with("Assert") => {
                findings.note(d, Verdict::NotHonoured, "start conditions are systemd's")
            }
            ("Unit", _) => findings.note(d, Verdict::NotHonoured, "no svckit key for it"),
            ("Service", "Type") => match value {
                "simple" | "exec" => spec.service_type = ServiceType::Exec,
                "forking" => spec.service_type = ServiceType::Forking,
                "notify" => spec.service_type = ServiceType::Notify,
                "oneshot" => spec.service_type = ServiceType::Oneshot,
                "notify-reload" => {
                    spec.service_type = ServiceType::Notify;
                    findings.note(d, Verdict::NotHonoured, "a reload told by RELOADING=1");
                }
                _ => findings.note(d, Verdict::NotHonoured, "run as type exec"),
            },
            ("Service", "ExecStart") if value.is_empty() => {
                started = false;
                findings.forget(d);
            }
            ("Service", "ExecStart") => {
                if started {
                    findings.note(d, Verdict::NotHonoured, "a second ExecStart= (oneshot)");
                    continue;
                }
                let (prefix, words) = command_words(value, find_program)?;
                if words.iter().any(|word| word.contains('%')) {
                    findings.note(d, Verdict::NotHonoured, "systemd's %-specifiers");
                }
                let Some((program, args)) = words.split_first() else {
                    return Err(format!("{}: no program", d.key));
                };
                spec.program = program.into();
                spec.program_prefix = prefix;
                spec.args = args.iter().map(Into::into).collect();
                variables |= !prefix.verbatim && crate::command::names_variables(args);
                started = true;
            }
            ("Service", key @ ("ExecStartPre" | "ExecStartPost" | "ExecStop" | "ExecStopPost")) => {
                let list = match key {
                    "ExecStartPre" => &mut spec.exec_start_pre,
                    "ExecStartPost" => &mut spec.exec_start_post,
                    "ExecStop" => &mut spec.exec_stop,
                    _ => &mut spec.exec_stop_post,
                };
                if value.is_empty() {
                    list.clear();
                    findings.forget(d);
                    continue;
                }
                let (prefix, mut words) = command_words(value, find_program)?;
                if words.iter().any(|word| word.contains('%')) {
                    findings.note(d, Verdict::NotHonoured, "systemd's %-specifiers");
                }
                variables |= !prefix.verbatim && crate::command::names_variables(&words[1..]);
                if let Some(program) = words.first_mut() {
                    *program = format!("{}{program}", prefix.text());
                    list.push(words);
                }
            }
            ("Service", "ExecReload") if value.is_empty() => reloads.clear(),
            ("Service", "ExecReload") => reloads.push(d.clone()),
            ("Service", "PIDFile") => pid_file = Some(d.clone()),
            ("Service", "Restart") => match value {
                "no" => spec.restart.policy = Restart::Never,
                // The same names as svckit's.
                _ => match value.parse::<Restart>() {
                    Ok(policy) if policy != Restart::Never => spec.restart.policy = policy,
                    _ => findings.note(d, Verdict::NotHonoured, "no such restart policy in svckit"),
                },
            },
            ("Service", "SendSIGKILL") => match boolean(value) {
                Some(send) => spec.send_sigkill = send,
                None => findings.note(d, Verdict::NotHonoured, "not a boolean"),
            },
            ("Service", "RestartSec") => match time_span(value) {
                Ok(Some(delay)) => spec.restart.delay = delay,
                _ => findings.note(d, Verdict::NotHonoured, "not a finite time span"),
            },
            // A timeout of 0 is systemd's "none", as infinity is: svckit keeps its own.
            ("Service", "TimeoutStartSec") => match timeout(value) {
                Some(limit) => timeout_start = Some(limit),
                None => findings.note(d, Verdict::NotHonoured, "no start without a timeout"),
            },
            ("Service", "TimeoutStopSec") => match timeout(value) {
                Some(limit) => spec.stop.timeout = limit,
                None => findings.note(d, Verdict::NotHonoured, "no stop without a timeout"),
            },
            ("Service", "TimeoutSec") => match timeout(value) {
                Some(limit) => {
                    timeout_start = Some(limit);
                    spec.stop.timeout = limit;
                }
                None => findings.note(
                    d,
                    Verdict::NotHonoured,
                    "no start or stop without a timeout",
                ),
            },
            ("Service", "KillMode") => match value.parse::<KillMode>() {
                Ok(mode) => spec.kill_mode = mode,
                Err(_) => findings.note(d, Verdict::NotHonoured, "no such kill mode in svckit"),
            },
            ("Service", "KillSignal") => match value.parse::<Signal>() {
                Ok(signal) => spec.stop.signal = signal,
                Err(err) => findings.note(d, Verdict::NotHonoured, &err),
            },
            ("Service", "User") => spec.account = Some(value.to_owned()),
            ("Service", "Group") => spec.group = Some(value.to_owned()),
            ("Service", "WorkingDirectory") => match value.strip_prefix('-') {
                _ if value.trim_start_matches('-').starts_with('~') => {
                    findings.note(d, Verdict::NotHonoured, "the user's home directory")
                }
                Some(dir) => {
                    spec.working_dir = Some(dir.into());
                    findings.note(d, Verdict::NotHonoured, "`-`: a missing directory ignored");
                }
                None => spec.working_dir = Some(value.into()),
            },
            ("Service", "Environment" | "EnvironmentFile") => {}
            ("Service", "UMask") => match crate::parse::umask(value) {
                Ok(mask) => spec.umask = Some(mask),
                Err(err) => findings.note(d, Verdict::NotHonoured, &err),
            },
            ("Service", "Nice") => match value.parse() {
                Ok(nice) => spec.nice = Some(nice),
                Err(_) => findings.note(d, Verdict::NotHonoured, "not a number"),
            },
            ("Service", "OOMScoreAdjust") => match value.parse() {
                Ok(adjust) => spec.oom_score_adjust = Some(adjust),
                Err(_) => findings.note(d, Verdict::NotHonoured, "not a number"),
            },
            (
                "Service",
                key @ ("LimitNOFILE" | "LimitNPROC" | "LimitCORE" | "LimitMEMLOCK" | "LimitAS"
                | "LimitCPU"),
            ) => match value.parse::<Limit>() {
                Ok(limit) => {
                    let name = key.trim_start_matches("Limit").to_ascii_lowercase();
                    if let Some(slot) = spec.limits.by_name_mut(&name) {
                        *slot = Some(limit);
                    }
                }
                Err(err) => findings.note(d, Verdict::NotHonoured, &err.to_string()),
            },
            ("Service", "RuntimeDirectory") if value.is_empty() => spec.runtime_directory.clear(),
            ("Service", "RuntimeDirectory") => spec
                .runtime_directory
                .extend(value.split_whitespace().map(str::to_owned)),
            ("Service", "RuntimeDirectoryPreserve") => match boolean(value) {
                Some(true) => directories(&mut spec).runtime_preserve = Preserve::Yes,
                Some(false) => directories(&mut spec).runtime_preserve = Preserve::No,
                None => match value.parse::<Preserve>() {
                    Ok(preserve) => directories(&mut spec).runtime_preserve = preserve,
                    Err(err) => findings.note(d, Verdict::NotHonoured, &err.to_string()),
                },
            },
            ("Service", key) if key.ends_with("DirectoryMode") => {
                let kind = DirectoryKind::ALL
                    .into_iter()
                    .find(|kind| kind.unit_key() == key.trim_end_matches("Mode"));
                match (kind, crate::parse::dir_mode(value)) {
                    (_, Err(err)) => findings.note(d, Verdict::NotHonoured, &err),
                    (Some(kind), Ok(mode)) => *directories(&mut spec).of_mut(kind).1 = Some(mode),
                    (None, Ok(mode)) if key == "RuntimeDirectoryMode" => {
                        directories(&mut spec).runtime_mode = Some(mode)
                    }
                    (None, Ok(_)) => findings.note(d, Verdict::NotHonoured, "no svckit key for it"),
                }
            }
            ("Service", key)
                if let Some(kind) = DirectoryKind::ALL
                    .into_iter()
                    .find(|kind| kind.unit_key() == key) =>
            {
                let names = directories(&mut spec).of_mut(kind).0;
                match value.is_empty() {
                    true => names.clear(),
                    false => names.extend(value.split_whitespace().map(str::to_owned)),
                }
            }
            ("Service", "WatchdogSec" | "NotifyAccess") => notify_keys.push(d.clone()),
            ("Service", key @ ("SuccessExitStatus" | "RestartPreventExitStatus")) => {
                for word in value.split_whitespace() {
                    let one = match word.parse::<u8>() {
                        Ok(code) => Some(ExitMatch::Code(code)),
                        Err(_) => word.parse::<Signal>().ok().map(ExitMatch::Signal),
                    };
                    match (one, key) {
                        (Some(one), "SuccessExitStatus") => spec.success_exit_status.push(one),
                        (Some(one), _) => spec.restart_prevent_exit_status.push(one),
                        (None, _) => {
                            findings.note(d, Verdict::NotHonoured, "not an exit code or signal")
                        }
                    }
                }
            }
            ("Service", "StandardOutput" | "StandardError")
                if matches!(value, "journal" | "syslog" | "inherit" | "journal+console") =>
            {
                findings.note(
                    d,
                    Verdict::Informational,
                    "svckit stores its output in its own rotated logs",
                )
            }
            ("Service", "SyslogIdentifier") => findings.note(
                d,
                Verdict::Informational,
                "svckit's logs are named after the service",
            ),
            ("Service", "IgnoreSIGPIPE") => match boolean(value) {
                // svckit starts every program with every signal at its default.
                Some(false) => {}
                _ => findings.note(
                    d,
                    Verdict::NotHonoured,
                    "svckit starts a program with SIGPIPE at its default",
                ),
            },
            ("Service", key) if SANDBOXING.contains(&key) => findings.note(
                d,
                Verdict::NotHonoured,
                "sandboxing: not done by svckit yet",
            ),
            ("Service", _) => findings.note(d, Verdict::NotHonoured, "no svckit key for it"),
            ("Install", "WantedBy" | "RequiredBy") => {
                let boot = value.split_whitespace().any(|target| {
                    matches!(
                        target,
                        "multi-user.target" | "default.target" | "graphical.target"
                    )
                });
                if boot {
                    spec.start = StartType::Auto;
                } else {
                    findings.note(d, Verdict::NotHonoured, "started with another unit");
                }
            }
            ("Install", "Alias") => findings.note(
                d,
                Verdict::Informational,
                "another name for systemctl: svckit knows it by its own (--as NAME)",
            ),
            ("Install", "Also") => {
                findings.note(d, Verdict::Informational, "other units to enable")
            }
            _ => findings.note(d, Verdict::NotHonoured, "no svckit key for it"),
        }
    }
    if !started {
        return Err("no ExecStart=: nothing to run".into());
    }
    // What only a program that speaks sd_notify can use.
    for d in &notify_keys {
        let notify = spec.service_type == ServiceType::Notify;
        match (d.key.as_str(), d.value.as_str()) {
            (_, _) if !notify => {
                findings.note(d, Verdict::NotHonoured, "for a type = notify service")
            }
            ("WatchdogSec", value) => match time_span(value) {
                Ok(Some(every)) => spec.watchdog = every,
                _ => findings.note(d, Verdict::NotHonoured, "not a finite time span"),
            },
            (_, "main") => spec.notify_access = NotifyAccess::Main,
            (_, "all" | "exec") => spec.notify_access = NotifyAccess::All,
            _ => findings.note(d, Verdict::NotHonoured, "no such notify access in svckit"),
        }
    }
    // No interval: no start limit, as systemd reads it.
    if spec.restart.window.is_zero() {
        spec.restart.limit = 0;
    }
    if let Some(d) = pid_file {
        match spec.service_type {
            ServiceType::Forking => spec.pid_file = Some(d.value.as_str().into()),
            _ => findings.note(
                &d,
                Verdict::Informational,
                "the main process is the one svckit started: no pid file to read",
            ),
        }
    }
    // Several ExecReload= run in turn (`sshd -t`, then `kill -HUP $MAINPID`): svckit's reload
    // is one signal or one command. The signal is kept, a check before it is told.
    let signals: Vec<(usize, Signal)> = reloads
        .iter()
        .enumerate()
        .filter_map(|(at, d)| reload_signal(&d.value).map(|signal| (at, signal)))
        .collect();
    match (signals.as_slice(), reloads.as_slice()) {
        (_, []) => {}
        ([(_, signal)], _) => {
            spec.reload.signal = Some(*signal);
            for (at, d) in reloads.iter().enumerate() {
                if signals[0].0 != at {
                    findings.note(
                        d,
                        Verdict::NotHonoured,
                        "a command run before the reload signal",
                    );
                }
            }
        }
        ([], [d]) => {
            let (prefix, mut words) = command_words(&d.value, find_program)?;
            variables |= !prefix.verbatim && crate::command::names_variables(&words[1..]);
            if let Some(program) = words.first_mut() {
                *program = format!("{}{program}", prefix.text());
            }
            spec.reload.command = words;
        }
        _ => {
            for d in &reloads {
                findings.note(d, Verdict::NotHonoured, "one reload command or signal only");
            }
        }
    }
    spec.timeout_start = timeout_start;
    spec.expand_env = variables;
    Ok(Imported {
        spec,
        findings: findings.0,
    })
}

/// The signal of a reload command that only signals the main process (`/bin/kill -HUP
/// $MAINPID`, `kill -s HUP $MAINPID`).
fn reload_signal(value: &str) -> Option<Signal> {
    // Run with full privileges or not, the supervisor sends the signal itself.
    let (prefix, command) = crate::command::Prefix::split(value).ok()?;
    if prefix.ignore_failure || prefix.argv0 || prefix.verbatim {
        return None;
    }
    let words = split_words(command).ok()?;
    let main = |pid: &str| pid == "$MAINPID" || pid == "${MAINPID}";
    match words.as_slice() {
        [kill, signal, pid] if kill.ends_with("kill") && main(pid) => {
            signal.strip_prefix('-')?.parse().ok()
        }
        [kill, flag, signal, pid] if kill.ends_with("kill") && flag == "-s" && main(pid) => {
            signal.parse().ok()
        }
        _ => None,
    }
}

/// A command line's prefixes and words (the program first, without its prefixes; one named
/// without its path looked up in systemd's PATH).
fn command_words(
    line: &str,
    find_program: &dyn Fn(&str) -> Option<String>,
) -> Result<(crate::command::Prefix, Vec<String>), String> {
    let (prefix, command) = crate::command::Prefix::split(line)?;
    let mut words = split_words(command)?;
    if let Some(program) = words.first_mut()
        && !program.starts_with('/')
    {
        *program = find_program(program)
            .ok_or_else(|| format!("{program:?}: not found in systemd's PATH"))?;
    }
    if words.is_empty() {
        return Err(format!("{line:?}: no program"));
    }
    Ok((prefix, words))
}

/// A systemd boolean (`yes`, `no`, `true`, `0`, `on`, …).
fn boolean(text: &str) -> Option<bool> {
    match text {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

/// The definition's directories, made when first given.
fn directories(spec: &mut ServiceSpec) -> &mut crate::Directories {
    spec.directories.get_or_insert_with(Default::default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imported(unit: &str) -> Imported {
        import(ServiceName::new("x").unwrap(), unit, &[], &|_| None).unwrap()
    }

    #[test]
    fn continuation_comments_and_sections() {
        let found = directives(
            "# c\n[Unit]\nDescription = A \\\n  long one\n; c\n[Service]\nExecStart=/bin/a \\\n# inside\n -b\n",
        );
        assert_eq!(found[0].value, "A long one");
        assert_eq!(found[1].section, "Service");
        assert_eq!(found[1].value, "/bin/a -b");
    }

    #[test]
    fn words_are_split_as_systemd_splits_them() {
        assert_eq!(
            split_words(r#"/bin/sh -c "echo 'a b'" x\ y 'q"q'"#).unwrap(),
            vec!["/bin/sh", "-c", "echo 'a b'", "x y", "q\"q"]
        );
        assert!(split_words("\"open").is_err());
    }

    #[test]
    fn time_spans() {
        assert_eq!(time_span("5").unwrap(), Some(Duration::from_secs(5)));
        assert_eq!(
            time_span("1min 30s").unwrap(),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            time_span("100ms").unwrap(),
            Some(Duration::from_millis(100))
        );
        assert_eq!(time_span("infinity").unwrap(), None);
        assert!(time_span("soon").is_err());
    }

    #[test]
    fn a_plain_unit_maps_without_a_finding() {
        let got = imported(
            "[Unit]\nDescription=web\nAfter=network.target db.service\n[Service]\nType=forking\n\
             PIDFile=/run/w.pid\nExecStart=/usr/sbin/w -d\nExecReload=/bin/kill -HUP $MAINPID\n\
             Restart=on-failure\nRestartSec=2\nTimeoutStopSec=1min\nKillMode=mixed\n\
             User=www-data\nLimitNOFILE=4096\n[Install]\nWantedBy=multi-user.target\n",
        );
        assert_eq!(got.spec.program.to_str(), Some("/usr/sbin/w"));
        assert_eq!(got.spec.args, vec![std::ffi::OsString::from("-d")]);
        assert_eq!(got.spec.service_type, ServiceType::Forking);
        assert_eq!(got.spec.reload.signal, Some(Signal::Hup));
        assert_eq!(got.spec.restart.policy, Restart::OnFailure);
        assert_eq!(got.spec.stop.timeout, Duration::from_secs(60));
        assert_eq!(got.spec.after, vec![ServiceName::new("db").unwrap()]);
        assert_eq!(got.spec.start, StartType::Auto);
        assert!(!got.lossy(), "{:?}", got.findings);
        // The target is told, not dropped.
        assert_eq!(got.findings.len(), 1);
        assert_eq!(got.findings[0].directive, "Unit.After");
        assert_eq!(got.findings[0].verdict, Verdict::Informational);
    }

    #[test]
    fn what_svckit_does_not_do_is_named() {
        let got = imported(
            "[Unit]\nConflicts=x.service\n[Service]\nExecStartPre=/bin/true %i\n\
             ExecStart=/bin/true\nOOMPolicy=stop\nPrivateTmp=yes\nRestart=sometimes\n",
        );
        let lost: Vec<&str> = got
            .findings
            .iter()
            .filter(|f| f.verdict == Verdict::NotHonoured)
            .map(|f| f.directive.as_str())
            .collect();
        assert_eq!(
            lost,
            vec![
                "Unit.Conflicts",
                "Service.ExecStartPre",
                "Service.OOMPolicy",
                "Service.PrivateTmp",
                "Service.Restart"
            ]
        );
        assert!(got.lossy());
        assert_eq!(
            got.spec.exec_start_pre,
            vec![vec!["/bin/true".to_owned(), "%i".to_owned()]]
        );
    }

    #[test]
    fn variables_are_left_for_each_start_and_environment_files_stay_in_the_definition() {
        let unit = "[Service]\nEnvironmentFile=-/etc/default/d\nExecStart=/usr/sbin/d $OPTS\n";
        let got = imported(unit);
        assert_eq!(got.spec.args, vec![std::ffi::OsString::from("$OPTS")]);
        assert!(got.spec.expand_env);
        assert_eq!(got.spec.environment_file, vec!["-/etc/default/d"]);
        assert!(!got.lossy(), "{:?}", got.findings);
        // Nothing to expand: none asked.
        assert!(
            !imported("[Service]\nExecStart=/usr/sbin/d -f\n")
                .spec
                .expand_env
        );
        // `:` keeps its words as they are.
        let verbatim = imported("[Service]\nExecStart=:/bin/echo $HOME\n");
        assert!(!verbatim.spec.expand_env && verbatim.spec.program_prefix.verbatim);
    }

    #[test]
    fn prefixes_restart_policies_directories_and_the_rest_of_real_units_map() {
        let unit = "[Unit]\nBefore=nss-lookup.target web.service\n\
                    [Service]\nExecStartPre=-/usr/libexec/helper setup\n\
                    ExecStart=!/usr/sbin/chronyd $DAEMON_OPTS\n\
                    ExecStopPost=-/usr/libexec/helper teardown\n\
                    ExecReload=+/bin/kill -HUP $MAINPID\n\
                    Restart=on-abnormal\nSendSIGKILL=no\n\
                    RuntimeDirectory=chrony\nRuntimeDirectoryMode=0750\n\
                    RuntimeDirectoryPreserve=restart\n\
                    StateDirectory=chrony\nStateDirectoryMode=0750\n\
                    LogsDirectory=chrony\nConfigurationDirectory=chrony\n\
                    CacheDirectory=a b\n";
        let got = imported(unit);
        assert!(!got.lossy(), "{:?}", got.findings);
        let spec = &got.spec;
        assert!(spec.program_prefix.privileged && spec.expand_env);
        assert_eq!(spec.exec_start_pre, [["-/usr/libexec/helper", "setup"]]);
        assert_eq!(spec.exec_stop_post, [["-/usr/libexec/helper", "teardown"]]);
        assert_eq!(spec.reload.signal, Some(Signal::Hup));
        assert_eq!(spec.restart.policy, Restart::OnAbnormal);
        assert!(!spec.send_sigkill);
        assert_eq!(spec.before, [ServiceName::new("web").unwrap()]);
        let dirs = spec.directories.as_deref().unwrap();
        assert_eq!(dirs.runtime_mode, Some(0o750));
        assert_eq!(dirs.runtime_preserve, Preserve::Restart);
        assert_eq!(
            dirs.of(DirectoryKind::State),
            (&["chrony".to_owned()][..], Some(0o750))
        );
        assert_eq!(dirs.of(DirectoryKind::Cache).0, ["a", "b"]);
        assert_eq!(dirs.of(DirectoryKind::Logs).0, ["chrony"]);
        assert_eq!(dirs.of(DirectoryKind::Configuration).0, ["chrony"]);
        spec.validate().unwrap();
        // And back through the definition's text, unchanged.
        let again = ServiceSpec::from_toml(&spec.to_toml(), Some("x")).unwrap();
        assert_eq!(&again, spec);
    }

    #[test]
    fn a_drop_in_resets_and_replaces_exec_start() {
        let got = import(
            ServiceName::new("x").unwrap(),
            "[Service]\nExecStart=/bin/a\n",
            &["[Service]\nExecStart=\nExecStart=/bin/b -v\n".to_owned()],
            &|_| None,
        )
        .unwrap();
        assert_eq!(got.spec.program.to_str(), Some("/bin/b"));
        assert!(!got.lossy(), "{:?}", got.findings);
    }

    proptest::proptest! {
        /// Any words, each quoted as systemd quotes them (double quotes, `\` before `"` and
        /// `\`), split back to themselves.
        #[test]
        fn quoted_words_split_back(words in proptest::collection::vec("[ -~]{0,12}", 1..6)) {
            let line = words
                .iter()
                .map(|word| format!("\"{}\"", word.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect::<Vec<_>>()
                .join(" ");
            proptest::prop_assert_eq!(split_words(&line).unwrap(), words);
        }

        /// A unit text never makes the parser panic, and each directive's value is trimmed.
        #[test]
        fn any_text_parses(text in "[\\[\\]=#; a-zA-Z\\\\\n]{0,200}") {
            for d in directives(&text) {
                proptest::prop_assert_eq!(d.value.trim(), d.value.as_str());
            }
        }

        /// `N` seconds, written in seconds or in milliseconds, is N seconds.
        #[test]
        fn time_spans_in_any_unit(n in 0u64..100_000) {
            proptest::prop_assert_eq!(time_span(&format!("{n}s")).unwrap(), Some(Duration::from_secs(n)));
            proptest::prop_assert_eq!(
                time_span(&format!("{}ms", n * 1000)).unwrap(),
                Some(Duration::from_secs(n))
            );
        }
    }

    /// Regression: `TimeoutStopSec=0` (redis's unit) is systemd's "no timeout", and was
    /// imported as a stop timeout of 0: SIGKILL at once after SIGTERM. It keeps svckit's
    /// own, and says so.
    #[test]
    fn regression_a_timeout_of_zero_is_no_timeout_not_an_immediate_kill() {
        let got = imported("[Service]\nExecStart=/bin/true\nTimeoutStopSec=0\nTimeoutStartSec=0\n");
        let default = ServiceSpec::new(ServiceName::new("x").unwrap(), "/bin/true");
        assert_eq!(got.spec.stop.timeout, default.stop.timeout);
        assert_eq!(got.spec.ready_timeout, default.ready_timeout);
        let lost: Vec<&str> = got.findings.iter().map(|f| f.directive.as_str()).collect();
        assert_eq!(
            lost,
            vec!["Service.TimeoutStopSec", "Service.TimeoutStartSec"]
        );
        let got = imported("[Service]\nExecStart=/bin/true\nTimeoutStopSec=3\n");
        assert_eq!(got.spec.stop.timeout, Duration::from_secs(3));
    }

    #[test]
    fn no_exec_start_is_an_error() {
        assert!(
            import(
                ServiceName::new("x").unwrap(),
                "[Unit]\nDescription=d\n",
                &[],
                &|_| None
            )
            .is_err()
        );
    }
}
