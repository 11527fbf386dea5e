//! Service definitions as TOML: the one file format the supervisor stores and `svckit install
//! --file` reads. Keys and CLI flags correspond one to one (see [`ServiceSpec`]).
//!
//! Reading checks every value where it stands, so an error points at its line and column:
//! `web.toml:7:9: "10x" is not a duration (like 100ms, 10s, 1m)`.
//!
//! ```toml
//! program = "/usr/bin/python3"
//! args = ["-m", "http.server", "8000"]
//! working_dir = "/srv/www"
//! env = { PYTHONUNBUFFERED = "1" }
//! start = "auto"
//! exec_start_pre = [["/usr/bin/python3", "-c", "import http.server"]]
//!
//! [restart]
//! policy = "on-failure"
//! delay = "100ms"
//! max_delay = "30s"
//! reset_after = "1m"
//! limit = 5
//! window = "10s"
//!
//! [stop]
//! signal = "TERM"
//! timeout = "10s"
//!
//! [reload]
//! signal = "HUP"            # or: command = ["/usr/sbin/nginx", "-s", "reload"]
//!
//! [logs]
//! max_size = "10MiB"
//! keep = 5
//!
//! [[listen]]                 # one table per socket (see svckit_core::listen)
//! address = "tcp:127.0.0.1:8000"
//! name = "http"             # LISTEN_FDNAMES; optional, as are backlog, and for a socket
//!                           # file mode = "0660", user and group (its owner)
//! ```
//!
//! A top-level `backend = "systemd"` (or `builtin`, `sysv`, `windows`, `auto`) says which
//! service manager the definition is installed into.

use std::{collections::BTreeMap, fmt, path::PathBuf, time::Duration};

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

use crate::{
    BackendKind, ExitMatch, KillMode, Limit, Limits, LogPolicy, ModelError, NotifyAccess,
    ReloadPolicy, Restart, RestartPolicy, ServiceName, ServiceSpec, ServiceType, StartType,
    StopPolicy, parse,
};

/// A definition that could not be read: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{line}:{column}: {message}", file.as_deref().map(|f| format!("{f}:")).unwrap_or_default())]
pub struct DefinitionError {
    /// The file, when known.
    pub file: Option<String>,
    /// The line (from 1).
    pub line: usize,
    /// The column (from 1).
    pub column: usize,
    /// What is wrong, naming the value or key.
    pub message: String,
}

impl DefinitionError {
    /// The same error, naming `file`.
    pub fn in_file(mut self, file: impl fmt::Display) -> DefinitionError {
        self.file = Some(file.to_string());
        self
    }
}

impl ServiceSpec {
    /// Reads a definition. The service's name is the `name` key, or `default_name` (the file's
    /// stem) when the key is absent; when both are given they must agree.
    pub fn from_toml(
        text: &str,
        default_name: Option<&str>,
    ) -> Result<ServiceSpec, DefinitionError> {
        let definition: Definition = toml::from_str(text).map_err(|err| {
            let offset = err.span().map(|span| span.start).unwrap_or(0);
            located(text, offset, err.message().trim_end().to_owned())
        })?;
        let at_key = |key: &str, message: String| located(text, key_offset(text, key), message);
        let name = match (&definition.name, default_name) {
            (Some(name), Some(default)) if name != default => {
                return Err(at_key(
                    "name",
                    format!("name {name:?} does not match the file name {default:?}"),
                ));
            }
            (Some(name), _) => name.clone(),
            (None, Some(default)) => default.to_owned(),
            (None, None) => return Err(located(text, 0, "missing key `name`".into())),
        };
        let name = ServiceName::new(&name).map_err(|err| at_key("name", err.to_string()))?;
        let spec = definition
            .into_spec(name)
            .map_err(|err| at_key(err.0, err.1))?;
        spec.validate().map_err(|err| match &err {
            ModelError::InvalidField { field, .. } => {
                at_key(field.rsplit('.').next().unwrap_or(field), err.to_string())
            }
            _ => located(text, 0, err.to_string()),
        })?;
        let mut spec = spec;
        spec.source = crate::spec::SourceText(Some(text.into()));
        Ok(spec)
    }

    /// Writes the definition that [`ServiceSpec::from_toml`] reads back as this spec (every
    /// key, defaults included, so `svckit show` tells the whole truth). A spec read from a
    /// text keeps that text's comments, key order and layout: only what differs is written
    /// anew (toml_edit). The password is never written.
    pub fn to_toml(&self) -> String {
        let canonical = self.canonical_toml();
        self.source
            .0
            .as_deref()
            .and_then(|source| self.keeping(source, &canonical))
            .unwrap_or(canonical)
    }

    /// Every key, as svckit writes a definition of its own.
    fn canonical_toml(&self) -> String {
        let definition = Definition::from_spec(self);
        toml::to_string(&definition).unwrap_or_else(|err| format!("# cannot render: {err}\n"))
    }

    /// `source` with `canonical`'s keys and values where they differ and without the keys
    /// canonical does not have, its comments and order kept; None when the result would not
    /// read back as this spec (then the canonical text is written).
    fn keeping(&self, source: &str, canonical: &str) -> Option<String> {
        use toml_edit::DocumentMut;
        let mut kept: DocumentMut = source.parse().ok()?;
        let canonical: DocumentMut = canonical.parse().ok()?;
        merge(kept.as_table_mut(), canonical.as_table());
        // The keys svckit does not write go: one set back to its default (a list emptied) would
        // still say otherwise, and an old spelling (svckit 0.1's notify = true) is written as
        // today's.
        prune(kept.as_table_mut(), canonical.as_table());
        let text = kept.to_string();
        ServiceSpec::from_toml(&text, Some(self.name.as_str()))
            .is_ok_and(|spec| spec == *self)
            .then_some(text)
    }
}

/// Puts `from`'s keys into `into`: a value that differs replaces the old one (keeping its
/// comments), a key not there is added, a table merged key by key.
fn merge(into: &mut toml_edit::Table, from: &toml_edit::Table) {
    use toml_edit::Item;
    for (key, item) in from.iter() {
        match (into.get_mut(key), item) {
            (Some(Item::Table(old)), Item::Table(new)) => merge(old, new),
            (Some(old), Item::Value(new)) if old.is_value() => {
                let Some(value) = old.as_value_mut() else {
                    continue;
                };
                if same_value(value, new) {
                    continue;
                }
                let decor = value.decor().clone();
                *value = new.clone();
                *value.decor_mut() = decor;
            }
            (_, new) => {
                into.insert(key, new.clone());
            }
        }
    }
}

/// Takes out of `into` the keys `from` does not have.
fn prune(into: &mut toml_edit::Table, from: &toml_edit::Table) {
    let gone: Vec<String> = into
        .iter()
        .filter(|(key, _)| !from.contains_key(key))
        .map(|(key, _)| key.to_owned())
        .collect();
    for key in gone {
        into.remove(&key);
    }
    for (key, item) in into.iter_mut() {
        if let (toml_edit::Item::Table(table), Some(toml_edit::Item::Table(other))) =
            (item, from.get(&key))
        {
            prune(table, other);
        }
    }
}

/// Whether two values are the same, however each is written (quotes, spacing, comments).
fn same_value(a: &toml_edit::Value, b: &toml_edit::Value) -> bool {
    let plain = |value: &toml_edit::Value| {
        let mut value = value.clone();
        value.decor_mut().clear();
        format!("x = {value}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut table| table.remove("x"))
    };
    plain(a).is_some() && plain(a) == plain(b)
}

fn located(text: &str, offset: usize, message: String) -> DefinitionError {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    DefinitionError {
        file: None,
        line,
        column,
        message,
    }
}

/// Where `key = …` first appears (the start of the text when it does not).
fn key_offset(text: &str, key: &str) -> usize {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return offset + (line.len() - trimmed.len());
        }
        offset += line.len();
    }
    0
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Definition {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    program: PathBuf,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    expand_env: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    working_dir: Option<PathBuf>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    umask: Option<Umask>,
    #[serde(default)]
    start: Named<StartType>,
    #[serde(default)]
    backend: Named<BackendKind>,
    #[serde(default, rename = "type")]
    service_type: Named<ServiceType>,
    /// svckit 0.1's `notify = true`, read as `type = "notify"` (never written).
    #[serde(default, skip_serializing)]
    notify: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pid_file: Option<PathBuf>,
    #[serde(default = "default_ready_timeout")]
    ready_timeout: Dur,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timeout_start: Option<Dur>,
    #[serde(default)]
    notify_access: Named<NotifyAccess>,
    #[serde(default)]
    watchdog: Dur,
    #[serde(default)]
    kill_mode: Named<KillMode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    exec_start_pre: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    exec_start_post: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    exec_stop: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    exec_stop_post: Vec<Vec<String>>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    send_sigkill: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    environment_file: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    runtime_directory: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    runtime_directory_mode: Option<DirMode>,
    #[serde(default, skip_serializing_if = "is_no")]
    runtime_directory_preserve: Named<crate::Preserve>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    state_directory: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state_directory_mode: Option<DirMode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    cache_directory: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_directory_mode: Option<DirMode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    logs_directory: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    logs_directory_mode: Option<DirMode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    configuration_directory: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    configuration_directory_mode: Option<DirMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nice: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    oom_score_adjust: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    success_exit_status: Vec<ExitValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    restart_prevent_exit_status: Vec<ExitValue>,
    #[serde(default)]
    dependencies: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    requires: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    wants: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    after: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    before: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    conditions: BTreeMap<String, Named<crate::condition::Condition>>,
    #[serde(default)]
    restart: RestartDefinition,
    #[serde(default)]
    stop: StopDefinition,
    #[serde(default, skip_serializing_if = "ReloadDefinition::is_empty")]
    reload: ReloadDefinition,
    #[serde(default, skip_serializing_if = "LimitsDefinition::is_empty")]
    limits: LimitsDefinition,
    #[serde(default)]
    logs: LogsDefinition,
    #[serde(default, skip_serializing_if = "is_default")]
    accept: Named<crate::listen::AcceptMode>,
    #[serde(
        default = "default_max_connections",
        skip_serializing_if = "is_default_max"
    )]
    max_connections: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_connections_per_source: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    idle_stop: Option<Dur>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    listen: Vec<ListenDefinition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    readiness: Option<ProbeDefinition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    liveness: Option<ProbeDefinition>,
}

// A `[readiness]` or `[liveness]` table: one check (`exec = [...]`, `http = "http://…"` with
// optional `expect_status` and `header = "Name: value"`, or `tcp = "127.0.0.1:5432"`), its
// timings in Kubernetes' names, and for liveness `on_unhealthy`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ProbeDefinition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exec: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    http: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tcp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expect_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    header: Option<String>,
    #[serde(default = "default_probe_period")]
    period: Dur,
    #[serde(default = "default_probe_timeout")]
    timeout: Dur,
    #[serde(default)]
    initial_delay: Dur,
    #[serde(default = "default_failure_threshold")]
    failure_threshold: u32,
    #[serde(default = "default_success_threshold")]
    success_threshold: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    on_unhealthy: Option<Named<crate::health::OnUnhealthy>>,
}

fn default_probe() -> crate::health::Probe {
    crate::health::Probe::new(crate::health::Check::Exec(Vec::new()))
}

fn default_probe_period() -> Dur {
    Dur(default_probe().period)
}

fn default_probe_timeout() -> Dur {
    Dur(default_probe().timeout)
}

fn default_failure_threshold() -> u32 {
    default_probe().failure_threshold
}

fn default_success_threshold() -> u32 {
    default_probe().success_threshold
}

impl ProbeDefinition {
    /// The probe, and for liveness what follows unhealthy; the error names the key.
    fn into_probe(
        self,
        role: crate::health::Role,
    ) -> Result<(crate::health::Probe, Option<crate::health::OnUnhealthy>), (&'static str, String)>
    {
        use crate::health::{Check, HttpCheck, Probe, Role};
        let key = |name: &'static str| crate::spec::probe_key(role, name);
        let check = match (self.exec, self.http, self.tcp) {
            (Some(argv), None, None) => Check::Exec(argv),
            (None, Some(url), None) => {
                let mut http = HttpCheck::parse(&url).map_err(|err| (key("http"), err))?;
                http.status = self.expect_status;
                http.header = match self.header {
                    Some(header) => {
                        let (name, value) = header.split_once(':').ok_or_else(|| {
                            (key("header"), format!("{header:?} is not \"Name: value\""))
                        })?;
                        Some((name.trim().to_owned(), value.trim().to_owned()))
                    }
                    None => None,
                };
                Check::Http(http)
            }
            (None, None, Some(target)) => Check::tcp(&target).map_err(|err| (key("tcp"), err))?,
            _ => {
                return Err((
                    role.name(),
                    "give exactly one check: exec, http or tcp".to_owned(),
                ));
            }
        };
        if !matches!(check, Check::Http(_)) && (self.expect_status.is_some()) {
            return Err((key("expect_status"), "is for an http check".to_owned()));
        }
        let on_unhealthy = self.on_unhealthy.map(|named| named.0);
        if role == Role::Readiness && on_unhealthy.is_some() {
            return Err((
                "on_unhealthy",
                "is a liveness probe's (put it in [liveness])".to_owned(),
            ));
        }
        let probe = Probe {
            check,
            period: self.period.0,
            timeout: self.timeout.0,
            initial_delay: self.initial_delay.0,
            failure_threshold: self.failure_threshold,
            success_threshold: self.success_threshold,
        };
        Ok((probe, on_unhealthy))
    }

    fn from_probe(
        probe: &crate::health::Probe,
        on_unhealthy: Option<crate::health::OnUnhealthy>,
    ) -> ProbeDefinition {
        use crate::health::Check;
        let (exec, http, tcp, expect_status, header) = match &probe.check {
            Check::Exec(argv) => (Some(argv.clone()), None, None, None, None),
            Check::Http(http) => (
                None,
                Some(http.url.clone()),
                None,
                http.status,
                http.header
                    .as_ref()
                    .map(|(name, value)| format!("{name}: {value}")),
            ),
            Check::Tcp(target) => (None, None, Some(target.to_string()), None, None),
        };
        ProbeDefinition {
            exec,
            http,
            tcp,
            expect_status,
            header,
            period: Dur(probe.period),
            timeout: Dur(probe.timeout),
            initial_delay: Dur(probe.initial_delay),
            failure_threshold: probe.failure_threshold,
            success_threshold: probe.success_threshold,
            on_unhealthy: on_unhealthy.map(Named),
        }
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_true(value: &bool) -> bool {
    *value
}

fn yes() -> bool {
    true
}

fn is_no(preserve: &Named<crate::Preserve>) -> bool {
    preserve.0 == crate::Preserve::No
}

fn is_default(accept: &Named<crate::listen::AcceptMode>) -> bool {
    accept.0 == crate::listen::AcceptMode::No
}

fn default_max_connections() -> u32 {
    crate::listen::DEFAULT_MAX_CONNECTIONS
}

fn is_default_max(max: &u32) -> bool {
    *max == crate::listen::DEFAULT_MAX_CONNECTIONS
}

// A `[[listen]]` table: `address = "tcp:127.0.0.1:8080"`, and optionally `name`, `backlog`
// and (a Unix socket file's) `mode = "0660"`, `user` and `group`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ListenDefinition {
    address: Named<crate::listen::Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    backlog: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mode: Option<SocketMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group: Option<String>,
}

/// A socket file's mode written as octal text (`"0660"`).
#[derive(Debug)]
struct SocketMode(u32);

impl<'de> Deserialize<'de> for SocketMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse::umask(&text).map(SocketMode).map_err(|_| {
            D::Error::custom(format!("{text:?} is not an octal mode between 000 and 777"))
        })
    }
}

/// A directory's mode: `"0755"`, `"2755"` (to 7777, as systemd's `*DirectoryMode=`).
#[derive(Debug, Clone, Copy)]
struct DirMode(u32);

impl<'de> Deserialize<'de> for DirMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse::dir_mode(&text)
            .map(DirMode)
            .map_err(D::Error::custom)
    }
}

impl Serialize for DirMode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{:04o}", self.0))
    }
}

impl Serialize for SocketMode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{:04o}", self.0))
    }
}

// Neither key: the type's default (SIGHUP for notify, else no reload).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct ReloadDefinition {
    #[serde(skip_serializing_if = "Option::is_none")]
    signal: Option<Named<crate::Signal>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    command: Vec<String>,
}

// Each limit as systemd writes it: 65536, "1024:65536", "infinity".
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct LimitsDefinition {
    #[serde(skip_serializing_if = "Option::is_none")]
    nofile: Option<LimitValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nproc: Option<LimitValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    core: Option<LimitValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memlock: Option<LimitValue>,
    #[serde(rename = "as", skip_serializing_if = "Option::is_none")]
    address_space: Option<LimitValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu: Option<LimitValue>,
}

impl LimitsDefinition {
    fn is_empty(&self) -> bool {
        self.limits() == Limits::default()
    }

    fn limits(&self) -> Limits {
        let get = |value: &Option<LimitValue>| value.as_ref().map(|value| value.0);
        Limits {
            nofile: get(&self.nofile),
            nproc: get(&self.nproc),
            core: get(&self.core),
            memlock: get(&self.memlock),
            address_space: get(&self.address_space),
            cpu: get(&self.cpu),
        }
    }

    fn from_limits(limits: &Limits) -> LimitsDefinition {
        let put = |limit: Option<Limit>| limit.map(LimitValue);
        LimitsDefinition {
            nofile: put(limits.nofile),
            nproc: put(limits.nproc),
            core: put(limits.core),
            memlock: put(limits.memlock),
            address_space: put(limits.address_space),
            cpu: put(limits.cpu),
        }
    }
}

/// An exit written as a code (`143`) or a signal name (`"TERM"`).
#[derive(Debug)]
struct ExitValue(ExitMatch);

impl<'de> Deserialize<'de> for ExitValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(i64),
            Text(String),
        }
        let text = match Raw::deserialize(deserializer)? {
            Raw::Number(n) => n.to_string(),
            Raw::Text(text) => text,
        };
        text.parse().map(ExitValue).map_err(D::Error::custom)
    }
}

impl Serialize for ExitValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            ExitMatch::Code(code) => serializer.serialize_u8(code),
            ExitMatch::Signal(signal) => serializer.serialize_str(signal.name()),
        }
    }
}

/// A limit written as a number or as text (`"1024:65536"`, `"infinity"`).
#[derive(Debug)]
struct LimitValue(Limit);

impl<'de> Deserialize<'de> for LimitValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(n) => Ok(LimitValue(Limit { soft: n, hard: n })),
            Raw::Text(text) => text.parse().map(LimitValue).map_err(D::Error::custom),
        }
    }
}

impl Serialize for LimitValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Limit { soft, hard } if soft == hard && soft != Limit::INFINITY => {
                serializer.serialize_u64(soft)
            }
            limit => serializer.serialize_str(&limit.to_string()),
        }
    }
}

impl ReloadDefinition {
    fn is_empty(&self) -> bool {
        self.signal.is_none() && self.command.is_empty()
    }
}

fn default_ready_timeout() -> Dur {
    Dur(ServiceSpec::new(ServiceName::new("x").expect("valid"), "x").ready_timeout)
}

// Keys left out take their defaults.
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct RestartDefinition {
    policy: Named<Restart>,
    delay: Dur,
    max_delay: Dur,
    reset_after: Dur,
    limit: u32,
    window: Dur,
}

impl Default for RestartDefinition {
    fn default() -> RestartDefinition {
        RestartDefinition::from(RestartPolicy::default())
    }
}

impl From<RestartPolicy> for RestartDefinition {
    fn from(policy: RestartPolicy) -> RestartDefinition {
        RestartDefinition {
            policy: Named(policy.policy),
            delay: Dur(policy.delay),
            max_delay: Dur(policy.max_delay),
            reset_after: Dur(policy.reset_after),
            limit: policy.limit,
            window: Dur(policy.window),
        }
    }
}

// Keys left out take their defaults.
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct StopDefinition {
    signal: Named<crate::Signal>,
    timeout: Dur,
}

impl Default for StopDefinition {
    fn default() -> StopDefinition {
        let policy = StopPolicy::default();
        StopDefinition {
            signal: Named(policy.signal),
            timeout: Dur(policy.timeout),
        }
    }
}

// Keys left out take their defaults.
#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
struct LogsDefinition {
    max_size: Size,
    keep: u32,
}

impl Default for LogsDefinition {
    fn default() -> LogsDefinition {
        let policy = LogPolicy::default();
        LogsDefinition {
            max_size: Size(policy.max_size),
            keep: policy.keep,
        }
    }
}

impl Definition {
    fn into_spec(self, name: ServiceName) -> Result<ServiceSpec, (&'static str, String)> {
        // Its prefixes, as systemd writes them before ExecStart='s program.
        let program = self.program.to_string_lossy();
        let (prefix, path) = crate::command::Prefix::split(&program).map_err(|e| ("program", e))?;
        if prefix.argv0 && self.args.is_empty() {
            return Err((
                "program",
                "`@` needs args, the first its argv[0]".to_owned(),
            ));
        }
        let mut spec = ServiceSpec::new(name, path);
        spec.program_prefix = prefix;
        spec.expand_env = self.expand_env;
        spec.display_name = self.display_name;
        spec.description = self.description;
        spec.args = self.args.into_iter().map(Into::into).collect();
        spec.working_dir = self.working_dir;
        spec.env = self.env.into_iter().collect();
        spec.account = self.user;
        spec.group = self.group;
        spec.umask = self.umask.map(|umask| umask.0);
        spec.start = self.start.0;
        spec.service_type = match (self.service_type.0, self.notify) {
            (ServiceType::Exec, true) => ServiceType::Notify,
            (other, true) if other != ServiceType::Notify => {
                return Err((
                    "notify",
                    format!("notify = true contradicts type = {:?}", other.name()),
                ));
            }
            (service_type, _) => service_type,
        };
        spec.pid_file = self.pid_file;
        spec.ready_timeout = self.ready_timeout.0;
        spec.timeout_start = self.timeout_start.map(|limit| limit.0);
        spec.notify_access = self.notify_access.0;
        spec.watchdog = self.watchdog.0;
        spec.kill_mode = self.kill_mode.0;
        let names = |key: &'static str, list: &[String]| {
            list.iter()
                .map(|dep| ServiceName::new(dep).map_err(|err| (key, err.to_string())))
                .collect::<Result<Vec<_>, _>>()
        };
        spec.dependencies = names("dependencies", &self.dependencies)?;
        spec.requires = names("requires", &self.requires)?;
        spec.wants = names("wants", &self.wants)?;
        spec.after = names("after", &self.after)?;
        spec.before = names("before", &self.before)?;
        spec.conditions = self
            .conditions
            .into_iter()
            .map(|(name, condition)| {
                ServiceName::new(&name)
                    .map(|name| (name, condition.0))
                    .map_err(|err| ("conditions", err.to_string()))
            })
            .collect::<Result<_, _>>()?;
        spec.restart = RestartPolicy {
            policy: self.restart.policy.0,
            delay: self.restart.delay.0,
            max_delay: self.restart.max_delay.0,
            reset_after: self.restart.reset_after.0,
            limit: self.restart.limit,
            window: self.restart.window.0,
        };
        spec.stop = StopPolicy {
            signal: self.stop.signal.0,
            timeout: self.stop.timeout.0,
        };
        spec.exec_start_pre = self.exec_start_pre;
        spec.exec_start_post = self.exec_start_post;
        spec.exec_stop = self.exec_stop;
        spec.exec_stop_post = self.exec_stop_post;
        spec.send_sigkill = self.send_sigkill;
        spec.environment_file = self.environment_file;
        spec.runtime_directory = self.runtime_directory;
        let mode = |mode: Option<DirMode>| mode.map(|mode| mode.0);
        let directories = crate::Directories {
            runtime_mode: mode(self.runtime_directory_mode),
            runtime_preserve: self.runtime_directory_preserve.0,
            kept: [
                (self.state_directory, mode(self.state_directory_mode)),
                (self.cache_directory, mode(self.cache_directory_mode)),
                (self.logs_directory, mode(self.logs_directory_mode)),
                (
                    self.configuration_directory,
                    mode(self.configuration_directory_mode),
                ),
            ],
        };
        if directories != crate::Directories::default() {
            spec.directories = Some(Box::new(directories));
        }
        spec.nice = self.nice;
        spec.success_exit_status = self.success_exit_status.iter().map(|e| e.0).collect();
        spec.restart_prevent_exit_status = self
            .restart_prevent_exit_status
            .iter()
            .map(|e| e.0)
            .collect();
        spec.oom_score_adjust = self.oom_score_adjust;
        spec.limits = self.limits.limits();
        spec.reload = ReloadPolicy {
            signal: self.reload.signal.map(|signal| signal.0),
            command: self.reload.command,
        };
        spec.logs = LogPolicy {
            max_size: self.logs.max_size.0,
            keep: self.logs.keep,
        };
        spec.backend = self.backend.0;
        spec.accept = self.accept.0;
        spec.max_connections = self.max_connections;
        spec.max_connections_per_source = self.max_connections_per_source;
        spec.idle_stop = self.idle_stop.map(|idle| idle.0);
        spec.listen = self
            .listen
            .into_iter()
            .map(|listen| crate::listen::Listener {
                address: listen.address.0,
                name: listen.name,
                backlog: listen.backlog,
                mode: listen.mode.map(|mode| mode.0),
                user: listen.user,
                group: listen.group,
            })
            .collect();
        if let Some(readiness) = self.readiness {
            spec.readiness = Some(Box::new(
                readiness.into_probe(crate::health::Role::Readiness)?.0,
            ));
        }
        if let Some(liveness) = self.liveness {
            let (probe, on_unhealthy) = liveness.into_probe(crate::health::Role::Liveness)?;
            spec.liveness = Some(Box::new(probe));
            spec.on_unhealthy = on_unhealthy.unwrap_or_default();
        }
        Ok(spec)
    }

    fn from_spec(spec: &ServiceSpec) -> Definition {
        let directories = spec.directories.as_deref().cloned().unwrap_or_default();
        Definition {
            name: Some(spec.name.to_string()),
            display_name: spec.display_name.clone(),
            description: spec.description.clone(),
            program: match spec.program_prefix.is_empty() {
                true => spec.program.clone(),
                false => {
                    let mut program = std::ffi::OsString::from(spec.program_prefix.text());
                    program.push(&spec.program);
                    program.into()
                }
            },
            expand_env: spec.expand_env,
            args: spec
                .args
                .iter()
                .map(|arg| arg.to_string_lossy().into_owned())
                .collect(),
            working_dir: spec.working_dir.clone(),
            env: spec.env.iter().cloned().collect(),
            user: spec.account.clone(),
            group: spec.group.clone(),
            umask: spec.umask.map(Umask),
            start: Named(spec.start),
            backend: Named(spec.backend),
            service_type: Named(spec.service_type),
            notify: false,
            pid_file: spec.pid_file.clone(),
            ready_timeout: Dur(spec.ready_timeout),
            timeout_start: spec.timeout_start.map(Dur),
            notify_access: Named(spec.notify_access),
            watchdog: Dur(spec.watchdog),
            kill_mode: Named(spec.kill_mode),
            dependencies: spec.dependencies.iter().map(ToString::to_string).collect(),
            requires: spec.requires.iter().map(ToString::to_string).collect(),
            wants: spec.wants.iter().map(ToString::to_string).collect(),
            after: spec.after.iter().map(ToString::to_string).collect(),
            before: spec.before.iter().map(ToString::to_string).collect(),
            conditions: spec
                .conditions
                .iter()
                .map(|(name, condition)| (name.to_string(), Named(condition.clone())))
                .collect(),
            restart: RestartDefinition::from(spec.restart),
            stop: StopDefinition {
                signal: Named(spec.stop.signal),
                timeout: Dur(spec.stop.timeout),
            },
            exec_start_pre: spec.exec_start_pre.clone(),
            exec_start_post: spec.exec_start_post.clone(),
            exec_stop: spec.exec_stop.clone(),
            exec_stop_post: spec.exec_stop_post.clone(),
            send_sigkill: spec.send_sigkill,
            environment_file: spec.environment_file.clone(),
            runtime_directory: spec.runtime_directory.clone(),
            runtime_directory_mode: directories.runtime_mode.map(DirMode),
            runtime_directory_preserve: Named(directories.runtime_preserve),
            state_directory: directories.kept[0].0.clone(),
            state_directory_mode: directories.kept[0].1.map(DirMode),
            cache_directory: directories.kept[1].0.clone(),
            cache_directory_mode: directories.kept[1].1.map(DirMode),
            logs_directory: directories.kept[2].0.clone(),
            logs_directory_mode: directories.kept[2].1.map(DirMode),
            configuration_directory: directories.kept[3].0.clone(),
            configuration_directory_mode: directories.kept[3].1.map(DirMode),
            nice: spec.nice,
            success_exit_status: spec
                .success_exit_status
                .iter()
                .map(|e| ExitValue(*e))
                .collect(),
            restart_prevent_exit_status: spec
                .restart_prevent_exit_status
                .iter()
                .map(|e| ExitValue(*e))
                .collect(),
            oom_score_adjust: spec.oom_score_adjust,
            limits: LimitsDefinition::from_limits(&spec.limits),
            reload: ReloadDefinition {
                signal: spec.reload.signal.map(Named),
                command: spec.reload.command.clone(),
            },
            logs: LogsDefinition {
                max_size: Size(spec.logs.max_size),
                keep: spec.logs.keep,
            },
            accept: Named(spec.accept),
            max_connections: spec.max_connections,
            max_connections_per_source: spec.max_connections_per_source,
            idle_stop: spec.idle_stop.map(Dur),
            listen: spec
                .listen
                .iter()
                .map(|listener| ListenDefinition {
                    address: Named(listener.address.clone()),
                    name: listener.name.clone(),
                    backlog: listener.backlog,
                    mode: listener.mode.map(SocketMode),
                    user: listener.user.clone(),
                    group: listener.group.clone(),
                })
                .collect(),
            readiness: spec
                .readiness
                .as_ref()
                .map(|probe| ProbeDefinition::from_probe(probe, None)),
            liveness: spec
                .liveness
                .as_ref()
                .map(|probe| ProbeDefinition::from_probe(probe, Some(spec.on_unhealthy))),
        }
    }
}

/// A value written as its name (`"auto"`, `"on-failure"`).
#[derive(Debug, Default)]
struct Named<T>(T);

impl<'de, T> Deserialize<'de> for Named<T>
where
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map(Named).map_err(D::Error::custom)
    }
}

impl<T: fmt::Display> Serialize for Named<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// A duration written as text (`"100ms"`, `"10s"`) or a number of seconds.
#[derive(Debug, Default)]
struct Dur(Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match TextOrNumber::deserialize(deserializer)? {
            TextOrNumber::Text(text) => parse::duration(&text),
            TextOrNumber::Integer(seconds) => u64::try_from(seconds)
                .map(Duration::from_secs)
                .map_err(|_| format!("{seconds} is not a duration")),
            TextOrNumber::Float(seconds) => Duration::try_from_secs_f64(seconds)
                .map_err(|_| format!("{seconds} is not a duration")),
        }
        .map(Dur)
        .map_err(D::Error::custom)
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&parse::format_duration(self.0))
    }
}

/// A size written as bytes or text (`"10MiB"`).
#[derive(Debug)]
struct Size(u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match TextOrNumber::deserialize(deserializer)? {
            TextOrNumber::Text(text) => parse::size(&text),
            TextOrNumber::Integer(bytes) => {
                u64::try_from(bytes).map_err(|_| format!("{bytes} is not a size"))
            }
            TextOrNumber::Float(bytes) => Err(format!("{bytes} is not a whole number of bytes")),
        }
        .map(Size)
        .map_err(D::Error::custom)
    }
}

impl Serialize for Size {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&parse::format_size(self.0))
    }
}

/// A umask written as octal text (`"022"`).
#[derive(Debug)]
struct Umask(u32);

impl<'de> Deserialize<'de> for Umask {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse::umask(&text).map(Umask).map_err(D::Error::custom)
    }
}

impl Serialize for Umask {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{:03o}", self.0))
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TextOrNumber {
    Text(String),
    Integer(i64),
    Float(f64),
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMENTED: &str = r#"# owner: team-web, ticket OPS-42
program = "/usr/bin/python3"   # the interpreter Debian ships
args = ["-m", "http.server", "8000"]

# Restarted when it crashes.
restart.policy = "on-failure"

[env]
# The port it reads.
PORT = "8000"
"#;

    /// Regression: install --file, edit and apply dropped comments (`# owner: team-web,
    /// ticket OPS-42` vanished): a spec read from a text is written back as that text, its
    /// comments, order and dotted keys kept, with svckit's other keys added after.
    #[test]
    fn a_definition_keeps_its_comments_and_order_when_written_again() {
        let spec = ServiceSpec::from_toml(COMMENTED, Some("web")).unwrap();
        let written = spec.to_toml();
        assert!(
            written.starts_with(COMMENTED.lines().next().unwrap()),
            "{written}"
        );
        for line in COMMENTED.lines() {
            assert!(written.contains(line), "{line:?} lost:\n{written}");
        }
        let program = written.find("program =").unwrap();
        let args = written.find("args =").unwrap();
        assert!(program < args, "{written}");
        assert_eq!(ServiceSpec::from_toml(&written, Some("web")).unwrap(), spec);
        // Every key is there, as svckit writes them (defaults included).
        assert!(written.contains("stop"), "{written}");
    }

    /// A value changed (a flag, an edit) is written in place, its comment kept; a key that
    /// svckit no longer writes and that would say otherwise goes.
    #[test]
    fn a_changed_value_keeps_its_comment_and_a_key_gone_goes() {
        let mut spec = ServiceSpec::from_toml(COMMENTED, Some("web")).unwrap();
        spec.program = "/usr/local/bin/python3".into();
        spec.env.clear();
        let written = spec.to_toml();
        assert!(
            written
                .contains(r#"program = "/usr/local/bin/python3"   # the interpreter Debian ships"#),
            "{written}"
        );
        assert!(
            written.contains("# owner: team-web, ticket OPS-42"),
            "{written}"
        );
        assert!(!written.contains("PORT"), "{written}");
        assert_eq!(ServiceSpec::from_toml(&written, Some("web")).unwrap(), spec);
        // Without a source: svckit's own text.
        let plain = ServiceSpec::new(spec.name.clone(), "/bin/true");
        assert!(!plain.to_toml().contains('#'));
    }

    const FULL: &str = r#"
program = "/usr/bin/python3"
args = ["-m", "http.server", "8000"]
working_dir = "/srv/www"
env = { PYTHONUNBUFFERED = "1" }
user = "www"
umask = "027"
start = "auto"
exec_start_pre = [["/usr/bin/python3", "-c", "import http.server"], ["/bin/true"]]
environment_file = ["-/etc/default/web", "/etc/web.env"]
runtime_directory = ["web"]
nice = 5
oom_score_adjust = -100
success_exit_status = [143, "TERM"]
restart_prevent_exit_status = [255]
accept = "inetd"
max_connections = 10
max_connections_per_source = 2

[restart]
policy = "on-failure"
delay = "100ms"
limit = 3

[stop]
signal = "INT"
timeout = 5

[reload]
command = ["/bin/kill", "-HUP", "1"]

[limits]
nofile = 65536
core = "0:infinity"
as = "infinity"

[logs]
max_size = "1MiB"

[[listen]]
address = "tcp:127.0.0.1:8000"
name = "http"
backlog = 64

[[listen]]
address = "unix:/run/web.sock"
mode = "0660"
user = "www-data"
group = "www-data"
"#;

    #[test]
    fn reads_every_key_and_defaults_the_rest() {
        let spec = ServiceSpec::from_toml(FULL, Some("web")).unwrap();
        assert_eq!(spec.name.as_str(), "web");
        assert_eq!(spec.args.len(), 3);
        assert_eq!(spec.env, [("PYTHONUNBUFFERED".to_owned(), "1".to_owned())]);
        assert_eq!(spec.umask, Some(0o027));
        assert_eq!(spec.start, StartType::Auto);
        assert_eq!(spec.restart.policy, Restart::OnFailure);
        assert_eq!(spec.restart.delay, Duration::from_millis(100));
        assert_eq!(spec.restart.limit, 3);
        assert_eq!(spec.restart.max_delay, RestartPolicy::default().max_delay);
        assert_eq!(spec.stop.signal, crate::Signal::Int);
        assert_eq!(spec.stop.timeout, Duration::from_secs(5));
        assert_eq!(spec.logs.max_size, 1 << 20);
        assert_eq!(spec.logs.keep, LogPolicy::default().keep);
        assert_eq!(spec.exec_start_pre.len(), 2);
        assert_eq!(spec.exec_start_pre[1], ["/bin/true"]);
        assert_eq!(spec.reload.command, ["/bin/kill", "-HUP", "1"]);
        assert_eq!(spec.reload.signal, None);
        assert_eq!(spec.environment_file, ["-/etc/default/web", "/etc/web.env"]);
        assert_eq!(spec.runtime_directory, ["web"]);
        assert_eq!((spec.nice, spec.oom_score_adjust), (Some(5), Some(-100)));
        let http = &spec.listen[0];
        assert_eq!(http.address.to_string(), "tcp:127.0.0.1:8000");
        assert_eq!(
            (http.name.as_deref(), http.backlog),
            (Some("http"), Some(64))
        );
        assert_eq!(spec.listen[1].mode, Some(0o660));
        assert_eq!(
            (
                spec.listen[1].user.as_deref(),
                spec.listen[1].group.as_deref()
            ),
            (Some("www-data"), Some("www-data"))
        );
        assert_eq!(spec.accept, crate::listen::AcceptMode::Inetd);
        assert_eq!(
            (spec.max_connections, spec.max_connections_per_source),
            (10, Some(2))
        );
        assert_eq!(
            spec.limits.nofile,
            Some(Limit {
                soft: 65536,
                hard: 65536
            })
        );
        assert_eq!(
            spec.limits.core,
            Some(Limit {
                soft: 0,
                hard: Limit::INFINITY
            })
        );
        assert_eq!(spec.limits.address_space.unwrap().soft, Limit::INFINITY);
        assert_eq!(spec.limits.nproc, None);
        assert_eq!(
            spec.success_exit_status,
            [ExitMatch::Code(143), ExitMatch::Signal(crate::Signal::Term)]
        );
        assert_eq!(spec.restart_prevent_exit_status, [ExitMatch::Code(255)]);
    }

    #[test]
    fn service_types_read_back_and_their_keys_are_checked() {
        let forking = "program = \"/usr/sbin/nginx\"\ntype = \"forking\"\npid_file = \"/run/nginx.pid\"\nkill_mode = \"mixed\"\n";
        let spec = ServiceSpec::from_toml(forking, Some("nginx")).unwrap();
        assert_eq!(spec.service_type, ServiceType::Forking);
        assert_eq!(
            spec.pid_file.as_deref(),
            Some(std::path::Path::new("/run/nginx.pid"))
        );
        assert_eq!(spec.kill_mode, KillMode::Mixed);
        assert_eq!(
            ServiceSpec::from_toml(&spec.to_toml(), Some("nginx")).unwrap(),
            spec
        );
        let notify = "program = \"/bin/x\"\ntype = \"notify\"\nwatchdog = \"10s\"\nnotify_access = \"all\"\n";
        let spec = ServiceSpec::from_toml(notify, Some("x")).unwrap();
        assert_eq!(spec.watchdog, Duration::from_secs(10));
        assert_eq!(spec.notify_access, NotifyAccess::All);
        // svckit 0.1's notify = true is type = "notify", written back as such.
        let old =
            ServiceSpec::from_toml("program = \"/bin/x\"\nnotify = true\n", Some("x")).unwrap();
        assert_eq!(old.service_type, ServiceType::Notify);
        assert!(old.to_toml().contains("type = \"notify\""));
        assert!(!old.to_toml().contains("notify = true"));
        for (text, key, says) in [
            (
                "type = \"daemon\"\n",
                "type",
                "is not one of exec, forking, notify, oneshot",
            ),
            (
                "pid_file = \"/run/x.pid\"\n",
                "pid_file",
                "is for type = \"forking\"",
            ),
            (
                "type = \"forking\"\npid_file = \"x.pid\"\n",
                "pid_file",
                "not an absolute path",
            ),
            (
                "watchdog = \"5s\"\n",
                "watchdog",
                "is for type = \"notify\"",
            ),
            (
                "notify_access = \"all\"\n",
                "notify_access",
                "is for type = \"notify\"",
            ),
            (
                "kill_mode = \"group\"\n",
                "kill_mode",
                "is not one of control-group, mixed, process",
            ),
            (
                "type = \"forking\"\nnotify = true\n",
                "notify",
                "contradicts",
            ),
        ] {
            let text = format!("program = \"/bin/x\"\n{text}");
            let err = ServiceSpec::from_toml(&text, Some("x"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key) && err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn a_bad_listener_is_named_where_it_stands() {
        let text = "program = \"/bin/true\"\n[[listen]]\naddress = \"tcp:localhost:80\"\n";
        let err = ServiceSpec::from_toml(text, Some("web")).unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        assert!(err.message.contains("is not a port"), "{err}");
        let text = "program = \"/bin/true\"\n[[listen]]\naddress = \"udp:53\"\nbacklog = 5\n";
        let err = ServiceSpec::from_toml(text, Some("web")).unwrap_err();
        assert!(
            err.message.contains("udp:[::]:53: a backlog is for stream"),
            "{err}"
        );
    }

    #[test]
    fn round_trips_through_to_toml() {
        let spec = ServiceSpec::from_toml(FULL, Some("web")).unwrap();
        let again = ServiceSpec::from_toml(&spec.to_toml(), Some("web")).unwrap();
        assert_eq!(spec, again);
    }

    #[test]
    fn errors_point_at_line_and_column() {
        let text = "program = \"/bin/true\"\n[restart]\ndelay = \"10x\"\n";
        let err = ServiceSpec::from_toml(text, Some("web"))
            .unwrap_err()
            .in_file("web.toml");
        assert_eq!(
            err.to_string(),
            "web.toml:3:9: \"10x\" is not a duration (like 100ms, 10s, 1m)"
        );
        let err =
            ServiceSpec::from_toml("program = \"/bin/true\"\nstrat = \"auto\"\n", Some("web"))
                .unwrap_err();
        assert_eq!((err.line, err.column), (2, 1));
        assert!(
            err.message.contains("unknown field `strat`"),
            "{}",
            err.message
        );
        let err = ServiceSpec::from_toml("program = [\n", Some("web")).unwrap_err();
        assert_eq!(err.line, 2);
        let err = ServiceSpec::from_toml(
            "program = \"/bin/true\"\n\n[stop]\nsignal = \"NOPE\"\n",
            Some("web"),
        )
        .unwrap_err();
        assert_eq!((err.line, err.column), (4, 10));
        assert!(
            err.message.starts_with("\"NOPE\" is not a signal name"),
            "{}",
            err.message
        );
    }

    #[test]
    fn the_name_key_must_match_the_file() {
        let err = ServiceSpec::from_toml("name = \"api\"\nprogram = \"/bin/true\"\n", Some("web"))
            .unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("does not match"), "{}", err.message);
        assert!(ServiceSpec::from_toml("program = \"/bin/true\"\n", None).is_err());
        let spec =
            ServiceSpec::from_toml("name = \"api\"\nprogram = \"/bin/true\"\n", None).unwrap();
        assert_eq!(spec.name.as_str(), "api");
    }

    #[test]
    fn probes_read_as_kubernetes_names_them_and_write_back() {
        use crate::health::{Check, OnUnhealthy};
        let text = "program = \"/usr/sbin/nginx\"\n\
            [readiness]\nhttp = \"http://127.0.0.1:8080/health\"\nexpect_status = 204\n\
            header = \"X-Ready: yes\"\nperiod = \"200ms\"\nsuccess_threshold = 2\n\
            [liveness]\nexec = [\"/usr/bin/redis-cli\", \"ping\"]\ntimeout = \"500ms\"\n\
            failure_threshold = 5\non_unhealthy = \"stop\"\n";
        let spec = ServiceSpec::from_toml(text, Some("web")).unwrap();
        let readiness = spec.readiness.as_ref().unwrap();
        let Check::Http(http) = &readiness.check else {
            panic!("{readiness:?}")
        };
        assert_eq!(
            (http.status, http.header.clone()),
            (Some(204), Some(("X-Ready".into(), "yes".into())))
        );
        assert_eq!(
            (readiness.period, readiness.success_threshold),
            (Duration::from_millis(200), 2)
        );
        assert_eq!(
            readiness.timeout,
            Duration::from_secs(1),
            "Kubernetes' default"
        );
        let liveness = spec.liveness.as_ref().unwrap();
        assert_eq!(
            liveness.check,
            Check::Exec(vec!["/usr/bin/redis-cli".into(), "ping".into()])
        );
        assert_eq!(
            (liveness.failure_threshold, spec.on_unhealthy),
            (5, OnUnhealthy::Stop)
        );
        let again = ServiceSpec::from_toml(&spec.to_toml(), Some("web")).unwrap();
        assert_eq!(again, spec);
        for (bad, says) in [
            (
                "[readiness]\ntcp = \"127.0.0.1:1\"\nexec = [\"x\"]\n",
                "exactly one check",
            ),
            ("[readiness]\ntcp = \"db:5432\"\n", "not an IP address"),
            (
                "[liveness]\ntcp = \"127.0.0.1:1\"\nperiod = \"1ms\"\n",
                "period",
            ),
            (
                "[readiness]\ntcp = \"127.0.0.1:1\"\non_unhealthy = \"stop\"\n",
                "liveness probe's",
            ),
            (
                "[readiness]\ntcp = \"127.0.0.1:1\"\nexpect_status = 200\n",
                "for an http check",
            ),
        ] {
            let text = format!("program = \"/bin/true\"\n{bad}");
            let err = ServiceSpec::from_toml(&text, Some("web")).unwrap_err();
            assert!(err.message.contains(says), "{bad}: {}", err.message);
        }
    }
}
