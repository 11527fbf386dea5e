//! A definition rendered for the engines that schedule services across machines: a
//! Kubernetes Deployment (a Job for a oneshot) whose container runs the program under
//! `svckit-init`, a Compose service, a Nomad job (its JSON job specification). Every key the
//! definition gives is carried over or reported by name as not mapped
//! ([`Rendered::unmapped`]), never dropped.
//!
//! Pure: no OS call. Kubernetes and Compose come out as YAML (every string double-quoted,
//! as YAML and JSON both read it), Nomad as JSON.

use std::{fmt, str::FromStr, time::Duration};

use serde_json::{Map, Value, json};
use svckit_core::{
    Key, Restart, ServiceSpec, ServiceType, StartType,
    condition::Condition,
    health::{Check, OnUnhealthy, Probe},
};

use crate::Error;

/// An engine a definition is rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    /// A Kubernetes Deployment, or a Job for a oneshot (`apps/v1`, `batch/v1`).
    Kubernetes,
    /// A Compose file with one service.
    Compose,
    /// A Nomad job, as the JSON job specification of Nomad's HTTP API.
    Nomad,
}

impl Engine {
    /// Every engine.
    pub const ALL: [Engine; 3] = [Engine::Kubernetes, Engine::Compose, Engine::Nomad];

    /// Its name on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Engine::Kubernetes => "kubernetes",
            Engine::Compose => "compose",
            Engine::Nomad => "nomad",
        }
    }
}

impl FromStr for Engine {
    type Err = String;
    fn from_str(text: &str) -> Result<Engine, String> {
        Engine::ALL
            .into_iter()
            .find(|engine| engine.name() == text)
            .ok_or_else(|| format!("{text:?} is not kubernetes, compose or nomad"))
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a render needs beyond the definition.
#[derive(Debug, Clone)]
pub struct Options {
    /// The container image (Kubernetes, Compose; Nomad's `docker` driver when given).
    pub image: Option<String>,
    /// Where `svckit-init` is in the image (the container's entrypoint runs the program
    /// under it).
    pub init: String,
    /// Where `svckit` is in the image (a Compose healthcheck of HTTP or TCP runs
    /// `svckit probe-wait`).
    pub svckit: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            image: None,
            init: "/usr/local/bin/svckit-init".to_owned(),
            svckit: "/usr/local/bin/svckit".to_owned(),
        }
    }
}

/// A rendered definition and what of it the engine has no place for.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The manifest.
    pub text: String,
    /// Each key given that is not carried over, and why.
    pub unmapped: Vec<(Key, String)>,
}

/// `spec` for `engine`; an error when it cannot be rendered at all (no image for a container
/// engine, a definition that is not valid).
pub fn render(spec: &ServiceSpec, engine: Engine, options: &Options) -> Result<Rendered, Error> {
    spec.validate()?;
    let mut unmapped = Vec::new();
    for key in Key::given(spec) {
        if let Some(why) = unmapped_reason(engine, key, spec, options.image.is_some()) {
            unmapped.push((key, why));
        }
    }
    // Each engine expands its own variables in what it reads: escaped, so the program gets
    // the words the definition gives it.
    let text = match engine {
        Engine::Kubernetes => {
            let mut manifest = kubernetes(spec, image(engine, options)?, options);
            escape_kubernetes(&mut manifest);
            yaml(&manifest)
        }
        Engine::Compose => {
            let mut manifest = compose(spec, image(engine, options)?, options);
            escape_strings(&mut manifest, &|text| text.replace('$', "$$"));
            yaml(&manifest)
        }
        Engine::Nomad => {
            let manifest = nomad(spec, options);
            refuse_nomad_interpolation(&manifest)?;
            serde_json::to_string_pretty(&manifest).expect("a JSON value") + "\n"
        }
    };
    Ok(Rendered { text, unmapped })
}

/// Every string of `value` through `escape`.
fn escape_strings(value: &mut Value, escape: &dyn Fn(&str) -> String) {
    match value {
        Value::String(text) => *text = escape(text),
        Value::Array(list) => list
            .iter_mut()
            .for_each(|item| escape_strings(item, escape)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|item| escape_strings(item, escape)),
        _ => {}
    }
}

/// Kubernetes expands `$(VAR)` in a container's command, args and env values: `$$(` keeps
/// one literally.
fn escape_kubernetes(manifest: &mut Value) {
    let escape = |text: &str| text.replace("$(", "$$(");
    let pod = match manifest["kind"].as_str() {
        Some("Job") | Some("Deployment") => &mut manifest["spec"]["template"]["spec"],
        _ => return,
    };
    for list in ["containers", "initContainers"] {
        let Some(containers) = pod[list].as_array_mut() else {
            continue;
        };
        for container in containers {
            for field in ["command", "args"] {
                escape_strings(&mut container[field], &escape);
            }
            if let Some(env) = container["env"].as_array_mut() {
                for variable in env {
                    escape_strings(&mut variable["value"], &escape);
                }
            }
        }
    }
}

/// Nomad interpolates `${...}` in a task's strings at run time, and has no escape for it: a
/// definition whose words hold one is refused, naming where.
fn refuse_nomad_interpolation(manifest: &Value) -> Result<(), Error> {
    fn find(value: &Value) -> Option<&str> {
        match value {
            Value::String(text) if text.contains("${") => Some(text),
            Value::Array(list) => list.iter().find_map(find),
            Value::Object(map) => map.values().find_map(find),
            _ => None,
        }
    }
    match find(manifest) {
        Some(text) => Err(Error::Unsupported {
            backend: "nomad",
            setting: "args",
            reason: format!(
                "{text:?} holds `${{`, which Nomad interpolates at run time and cannot escape"
            ),
        }),
        None => Ok(()),
    }
}

fn image(engine: Engine, options: &Options) -> Result<&str, Error> {
    options.image.as_deref().ok_or_else(|| Error::Unsupported {
        backend: engine.name(),
        setting: "image",
        reason: "a container engine runs an image: give --image".to_owned(),
    })
}

/// Why `engine` has no place for `key` as `spec` gives it; `None` when it is carried over.
/// `image`: it runs in a container (Nomad's docker driver rather than exec or raw_exec).
pub fn unmapped_reason(
    engine: Engine,
    key: Key,
    spec: &ServiceSpec,
    image: bool,
) -> Option<String> {
    let k8s = engine == Engine::Kubernetes;
    let compose = engine == Engine::Compose;
    let nomad = engine == Engine::Nomad;
    let oneshot = spec.service_type == ServiceType::Oneshot;
    let numeric = |name: &Option<String>| name.as_deref().is_none_or(|n| n.parse::<u32>().is_ok());
    let why: &str = match key {
        Key::WorkingDir if nomad && !image => {
            "Nomad runs an exec or raw_exec task in its task directory (give --image: docker's \
             work_dir)"
        }
        Key::DisplayName | Key::Description | Key::WorkingDir | Key::Env | Key::StopTimeout => {
            return None;
        }
        Key::User | Key::Group if k8s && !(numeric(&spec.account) && numeric(&spec.group)) => {
            "Kubernetes runs a container as a numeric uid and gid (runAsUser, runAsGroup): \
             give user = \"1000\""
        }
        Key::User | Key::Group => return None,
        Key::Password => "no engine takes an account's password",
        Key::Umask => "containers and tasks take the image's umask",
        // Applied (submitted) is asked: one runs, none for a disabled service.
        Key::Start => return None,
        Key::Type => match spec.service_type {
            ServiceType::Exec | ServiceType::Oneshot => return None,
            ServiceType::Notify => {
                "the engine does not read sd_notify: give a readiness probe for when it is \
                 ready"
            }
            ServiceType::Forking => {
                "a container's program runs in the foreground: run the daemon without forking"
            }
        },
        Key::PidFile | Key::NotifyAccess => "the engine knows its process itself",
        Key::Watchdog => "no engine has a watchdog: give a liveness probe",
        Key::KillMode => "the engine stops the whole container or task",
        Key::ReadyTimeout | Key::TimeoutStart if k8s && !oneshot => return None,
        Key::TimeoutStart => "the engine bounds no start as a whole",
        Key::ReadyTimeout => "the engine bounds no start as a whole",
        Key::Conditions
            if compose
                && spec
                    .conditions
                    .iter()
                    .any(|(_, condition)| matches!(condition, Condition::LogReady(_))) =>
        {
            "Compose waits for a dependency started, healthy or completed, not for a log line"
        }
        Key::Dependencies | Key::Requires | Key::Wants | Key::Conditions if compose => {
            return None;
        }
        Key::Dependencies
        | Key::Requires
        | Key::Wants
        | Key::After
        | Key::Before
        | Key::Conditions => {
            "the engine starts services independently: give readiness probes and let them \
             retry"
        }
        Key::RestartPolicy => match (engine, spec.restart.policy, oneshot) {
            (Engine::Kubernetes, Restart::Always, false) => return None,
            (Engine::Kubernetes, Restart::Never | Restart::OnFailure, true) => return None,
            (Engine::Kubernetes, _, false) => "a Deployment's pods are always restarted",
            (Engine::Kubernetes, _, true) => "a Job's pods restart never or on failure",
            (Engine::Compose, Restart::Never | Restart::OnFailure | Restart::Always, _) => {
                return None;
            }
            (Engine::Nomad, Restart::Never | Restart::OnFailure | Restart::Always, _) => {
                return None;
            }
            _ => "the engine restarts on failure or always, not by how it ended",
        },
        Key::RestartDelay if nomad => return None,
        Key::RestartLimit if nomad || (k8s && oneshot) || compose => return None,
        Key::RestartWindow if nomad => return None,
        Key::RestartDelay | Key::RestartMaxDelay | Key::RestartResetAfter | Key::RestartWindow => {
            "the engine's own backoff applies"
        }
        Key::RestartLimit => "a Deployment restarts without a limit",
        Key::StopSignal if compose || nomad => return None,
        Key::StopSignal => "Kubernetes stops a container with the image's STOPSIGNAL",
        Key::ExecStartPre if k8s && prefixed(key, spec) => {
            "an init container's failure cannot be ignored (`-`), nor run privileged"
        }
        Key::ExecStartPre if k8s => return None,
        Key::ExecStartPost | Key::ExecStop if k8s => {
            let list = match key {
                Key::ExecStop => &spec.exec_stop,
                _ => &spec.exec_start_post,
            };
            match list.len() == 1 && !prefixed(key, spec) {
                true => return None,
                false => "a Kubernetes lifecycle hook is one command, without prefixes",
            }
        }
        Key::ExecStartPre | Key::ExecStartPost | Key::ExecStop | Key::ExecStopPost => {
            "the engine runs the program alone"
        }
        Key::Program => "the engine judges and runs the program as it is (no `-`, `+`, `@`)",
        Key::ExpandEnv => {
            "the engine expands its own $(VAR) or ${VAR} when the file is read, not the \
             service's environment at each start"
        }
        Key::EnvironmentFile => {
            "the files are the machine's: give their variables in env (or a ConfigMap)"
        }
        Key::RuntimeDirectory if !nomad => return None,
        Key::RuntimeDirectory => "a Nomad task has its own local/ and secrets/ directories",
        Key::RuntimeDirectoryMode | Key::RuntimeDirectoryPreserve => {
            "the engine's empty directory is made its own way, and goes with the container"
        }
        Key::StateDirectory
        | Key::CacheDirectory
        | Key::LogsDirectory
        | Key::ConfigurationDirectory => {
            "kept directories are the engine's volumes: mount one (a PersistentVolumeClaim, \
             a named volume, a host volume)"
        }
        Key::Limits if compose => return None,
        Key::Limits => "the engine sets no rlimits per container or task",
        Key::Nice => "the engine sets no scheduling priority",
        Key::OomScoreAdjust if compose => return None,
        Key::OomScoreAdjust => "the engine sets the OOM score itself",
        Key::SuccessExitStatus | Key::RestartPreventExitStatus => {
            "the engine judges an exit by its code 0 alone"
        }
        Key::ReloadSignal | Key::ReloadCommand => "the engine has no reload: roll it out again",
        Key::LogsMaxSize | Key::LogsKeep if compose => return None,
        Key::LogsMaxSize | Key::LogsKeep => "the engine keeps and rotates container logs itself",
        Key::Listen
        | Key::Accept
        | Key::MaxConnections
        | Key::MaxConnectionsPerSource
        | Key::IdleStop => {
            "the engine starts nothing on a connection: the program binds its own sockets"
        }
        Key::SendSigkill => "the engine always kills what outlives the grace period",
        Key::Readiness if compose && spec.liveness.is_some() => {
            "Compose has one healthcheck, made from the liveness probe; dependents wait for it \
             (condition service_healthy)"
        }
        Key::Readiness | Key::Liveness if nomad && sub_second(spec) => {
            "Nomad checks at most once a second, each given a second at least"
        }
        Key::Readiness => return None,
        Key::Liveness if spec.on_unhealthy != OnUnhealthy::Restart && !compose => {
            "the engine restarts an unhealthy container or task: on_unhealthy = \"restart\""
        }
        Key::Liveness => return None,
    };
    Some(why.to_owned())
}

/// Whether a probe checks more often than once a second, or gives a check less than one.
fn sub_second(spec: &ServiceSpec) -> bool {
    [spec.readiness.as_deref(), spec.liveness.as_deref()]
        .into_iter()
        .flatten()
        .any(|probe| {
            probe.period < Duration::from_secs(1) || probe.timeout < Duration::from_secs(1)
        })
}

/// Whether a command `key` gives in `spec` has a prefix.
fn prefixed(key: Key, spec: &ServiceSpec) -> bool {
    crate::honour::command_prefixes(key, spec).any(|prefix| !prefix.is_empty())
}

fn seconds(duration: Duration) -> u64 {
    duration
        .as_secs()
        .max(u64::from(duration.subsec_nanos() > 0))
}

fn args(spec: &ServiceSpec) -> Vec<String> {
    spec.args
        .iter()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect()
}

/// The program, then its arguments: what runs under svckit-init.
fn program_and_args(spec: &ServiceSpec) -> Vec<String> {
    std::iter::once(spec.program.to_string_lossy().into_owned())
        .chain(args(spec))
        .collect()
}

fn env_list(spec: &ServiceSpec) -> Vec<Value> {
    spec.env
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect()
}

/// A Kubernetes probe of `probe`.
fn k8s_probe(probe: &Probe) -> Value {
    let mut out = Map::new();
    match &probe.check {
        Check::Exec(argv) => {
            out.insert("exec".into(), json!({ "command": argv }));
        }
        Check::Http(http) => {
            let mut get = json!({ "path": http.path, "port": http.target.0.port() });
            if !http.target.0.ip().is_loopback() {
                get["host"] = json!(http.target.0.ip().to_string());
            }
            out.insert("httpGet".into(), get);
        }
        Check::Tcp(target) => {
            out.insert("tcpSocket".into(), json!({ "port": target.0.port() }));
        }
    }
    out.insert("periodSeconds".into(), json!(seconds(probe.period).max(1)));
    out.insert(
        "timeoutSeconds".into(),
        json!(seconds(probe.timeout).max(1)),
    );
    out.insert(
        "initialDelaySeconds".into(),
        json!(seconds(probe.initial_delay)),
    );
    out.insert(
        "failureThreshold".into(),
        json!(probe.failure_threshold.max(1)),
    );
    out.insert(
        "successThreshold".into(),
        json!(probe.success_threshold.max(1)),
    );
    Value::Object(out)
}

fn kubernetes(spec: &ServiceSpec, image: &str, options: &Options) -> Value {
    let name = spec.name.as_str();
    let labels =
        json!({ "app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "svckit" });
    let oneshot = spec.service_type == ServiceType::Oneshot;
    let mut container = Map::new();
    container.insert("name".into(), json!(name));
    container.insert("image".into(), json!(image));
    container.insert("command".into(), json!([options.init, "--"]));
    container.insert("args".into(), json!(program_and_args(spec)));
    if let Some(dir) = &spec.working_dir {
        container.insert("workingDir".into(), json!(dir.to_string_lossy()));
    }
    if !spec.env.is_empty() {
        container.insert("env".into(), json!(env_list(spec)));
    }
    let mut security = Map::new();
    if let Some(uid) = spec.account.as_deref().and_then(|u| u.parse::<u32>().ok()) {
        security.insert("runAsUser".into(), json!(uid));
    }
    if let Some(gid) = spec.group.as_deref().and_then(|g| g.parse::<u32>().ok()) {
        security.insert("runAsGroup".into(), json!(gid));
    }
    if !security.is_empty() {
        container.insert("securityContext".into(), Value::Object(security));
    }
    if let Some(probe) = &spec.readiness {
        container.insert("readinessProbe".into(), k8s_probe(probe));
    }
    if let Some(probe) = &spec.liveness
        && spec.on_unhealthy == OnUnhealthy::Restart
    {
        container.insert("livenessProbe".into(), k8s_probe(probe));
    }
    let mut lifecycle = Map::new();
    if let [command] = spec.exec_start_post.as_slice() {
        lifecycle.insert(
            "postStart".into(),
            json!({ "exec": { "command": command } }),
        );
    }
    if let [command] = spec.exec_stop.as_slice() {
        lifecycle.insert("preStop".into(), json!({ "exec": { "command": command } }));
    }
    if !lifecycle.is_empty() {
        container.insert("lifecycle".into(), Value::Object(lifecycle));
    }
    let volumes: Vec<(String, String)> = spec
        .runtime_directory
        .iter()
        .enumerate()
        .map(|(i, dir)| (format!("run-{i}"), format!("/run/{dir}")))
        .collect();
    if !volumes.is_empty() {
        container.insert(
            "volumeMounts".into(),
            json!(
                volumes
                    .iter()
                    .map(|(volume, path)| json!({ "name": volume, "mountPath": path }))
                    .collect::<Vec<_>>()
            ),
        );
    }
    let mut pod = Map::new();
    pod.insert(
        "terminationGracePeriodSeconds".into(),
        json!(seconds(spec.stop.timeout)),
    );
    if oneshot {
        let policy = match spec.restart.policy {
            Restart::Never => "Never",
            _ => "OnFailure",
        };
        pod.insert("restartPolicy".into(), json!(policy));
    }
    if !spec.exec_start_pre.is_empty() {
        let inits: Vec<Value> = spec
            .exec_start_pre
            .iter()
            .enumerate()
            .map(|(i, command)| {
                let mut init = json!({
                    "name": format!("exec-start-pre-{i}"),
                    "image": image,
                    "command": command,
                });
                if let Some(dir) = container.get("workingDir") {
                    init["workingDir"] = dir.clone();
                }
                if let Some(env) = container.get("env") {
                    init["env"] = env.clone();
                }
                if let Some(security) = container.get("securityContext") {
                    init["securityContext"] = security.clone();
                }
                init
            })
            .collect();
        pod.insert("initContainers".into(), json!(inits));
    }
    pod.insert("containers".into(), json!([Value::Object(container)]));
    if !volumes.is_empty() {
        pod.insert(
            "volumes".into(),
            json!(
                volumes
                    .iter()
                    .map(|(volume, _)| json!({ "name": volume, "emptyDir": {} }))
                    .collect::<Vec<_>>()
            ),
        );
    }
    let mut metadata = json!({ "name": name, "labels": labels });
    let mut annotations = Map::new();
    if let Some(description) = &spec.description {
        annotations.insert("svckit.dev/description".into(), json!(description));
    }
    if let Some(display) = &spec.display_name {
        annotations.insert("svckit.dev/display-name".into(), json!(display));
    }
    if !annotations.is_empty() {
        metadata["annotations"] = Value::Object(annotations);
    }
    let template = json!({ "metadata": { "labels": labels }, "spec": Value::Object(pod) });
    if oneshot {
        let mut job = json!({ "template": template });
        if spec.restart.limit > 0 {
            job["backoffLimit"] = json!(spec.restart.limit);
        }
        return json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": metadata,
            "spec": job,
        });
    }
    // Applied is asked: one runs, but for a disabled service.
    let replicas = match spec.start {
        StartType::Disabled => 0,
        _ => 1,
    };
    let mut deployment = json!({
        "replicas": replicas,
        "selector": { "matchLabels": { "app.kubernetes.io/name": name } },
        "template": template,
    });
    // The whole start, from scheduling to ready, bounded as the ready timeout bounds it.
    let deadline = seconds(spec.timeout_start.unwrap_or(spec.ready_timeout)).max(1);
    deployment["progressDeadlineSeconds"] = json!(deadline);
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": deployment,
    })
}

/// A Compose duration (`1m30s`, `500ms`).
fn compose_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    match ms % 1000 {
        0 => format!("{}s", ms / 1000),
        _ => format!("{ms}ms"),
    }
}

/// A Compose healthcheck's test for `check`: a command, or `svckit probe-wait` in the image.
fn compose_test(check: &Check, timeout: Duration, options: &Options) -> Value {
    let mut test = vec!["CMD".to_owned()];
    match check {
        Check::Exec(argv) => test.extend(argv.iter().cloned()),
        Check::Http(_) | Check::Tcp(_) => {
            test.extend([
                options.svckit.clone(),
                "probe-wait".to_owned(),
                "--within".to_owned(),
                svckit_core::parse::format_duration(timeout).replace(' ', ""),
            ]);
            match check {
                Check::Http(http) => {
                    test.extend(["--http".to_owned(), http.url.clone()]);
                    if let Some(status) = http.status {
                        test.extend(["--expect-status".to_owned(), status.to_string()]);
                    }
                }
                Check::Tcp(target) => test.extend(["--tcp".to_owned(), target.to_string()]),
                Check::Exec(_) => {}
            }
        }
    }
    json!(test)
}

fn compose(spec: &ServiceSpec, image: &str, options: &Options) -> Value {
    let mut service = Map::new();
    service.insert("image".into(), json!(image));
    service.insert("entrypoint".into(), json!([options.init, "--"]));
    service.insert("command".into(), json!(program_and_args(spec)));
    if let Some(dir) = &spec.working_dir {
        service.insert("working_dir".into(), json!(dir.to_string_lossy()));
    }
    if !spec.env.is_empty() {
        let env: Map<String, Value> = spec
            .env
            .iter()
            .map(|(name, value)| (name.clone(), json!(value)))
            .collect();
        service.insert("environment".into(), Value::Object(env));
    }
    match (&spec.account, &spec.group) {
        (Some(user), Some(group)) => {
            service.insert("user".into(), json!(format!("{user}:{group}")));
        }
        (Some(user), None) => {
            service.insert("user".into(), json!(user));
        }
        _ => {}
    }
    let restart = match spec.restart.policy {
        Restart::Never => "no".to_owned(),
        Restart::Always => "always".to_owned(),
        _ if spec.restart.limit > 0 => format!("on-failure:{}", spec.restart.limit),
        _ => "on-failure".to_owned(),
    };
    service.insert("restart".into(), json!(restart));
    service.insert(
        "stop_signal".into(),
        json!(format!("SIG{}", spec.stop.signal)),
    );
    service.insert(
        "stop_grace_period".into(),
        json!(compose_duration(spec.stop.timeout)),
    );
    if let Some(probe) = spec.liveness.as_deref().or(spec.readiness.as_deref()) {
        service.insert(
            "healthcheck".into(),
            json!({
                "test": compose_test(&probe.check, probe.timeout, options),
                "interval": compose_duration(probe.period),
                "timeout": compose_duration(probe.timeout),
                "retries": probe.failure_threshold.max(1),
                "start_period": compose_duration(probe.initial_delay),
            }),
        );
    }
    // Each it starts after, with what it waits for in it.
    let mut depends = Map::new();
    for dependency in spec.started_with() {
        let condition = match spec.condition(dependency) {
            Some(Condition::Healthy) => "service_healthy",
            Some(Condition::CompletedSuccessfully) => "service_completed_successfully",
            _ => "service_started",
        };
        depends.insert(dependency.to_string(), json!({ "condition": condition }));
    }
    if !depends.is_empty() {
        service.insert("depends_on".into(), Value::Object(depends));
    }
    let mut ulimits = Map::new();
    // Unlimited is -1 to Compose.
    let number = |n: u64| if n == u64::MAX { json!(-1) } else { json!(n) };
    for (key, limit) in spec.limits.each() {
        ulimits.insert(
            key.to_owned(),
            json!({ "soft": number(limit.soft), "hard": number(limit.hard) }),
        );
    }
    if !ulimits.is_empty() {
        service.insert("ulimits".into(), Value::Object(ulimits));
    }
    if let Some(adjust) = spec.oom_score_adjust {
        service.insert("oom_score_adj".into(), json!(adjust));
    }
    if !spec.runtime_directory.is_empty() {
        let tmpfs: Vec<String> = spec
            .runtime_directory
            .iter()
            .map(|dir| format!("/run/{dir}"))
            .collect();
        service.insert("tmpfs".into(), json!(tmpfs));
    }
    service.insert(
        "logging".into(),
        json!({
            "driver": "json-file",
            "options": {
                "max-size": format!("{}k", spec.logs.max_size.div_ceil(1024)),
                "max-file": (spec.logs.keep + 1).to_string(),
            },
        }),
    );
    let mut labels = Map::new();
    if let Some(description) = &spec.description {
        labels.insert("svckit.description".into(), json!(description));
    }
    if let Some(display) = &spec.display_name {
        labels.insert("svckit.display-name".into(), json!(display));
    }
    if !labels.is_empty() {
        service.insert("labels".into(), Value::Object(labels));
    }
    let mut services = Map::new();
    services.insert(spec.name.to_string(), Value::Object(service));
    json!({ "services": services })
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// A Nomad service check of `probe`.
/// The label of the port a check of `probe` connects to (`port-8080`), declared as the
/// group's reserved port.
fn port_label(port: u16) -> String {
    format!("port-{port}")
}

fn nomad_check(probe: &Probe, name: &str) -> Value {
    // (Nomad's floor: a shorter one is reported, `unmapped_reason`.)
    let second = Duration::from_secs(1);
    let mut check = json!({
        "Name": name,
        "Interval": nanos(probe.period.max(second)),
        "Timeout": nanos(probe.timeout.max(second)),
    });
    match &probe.check {
        Check::Exec(argv) => {
            check["Type"] = json!("script");
            check["Command"] = json!(argv[0]);
            check["Args"] = json!(argv[1..]);
        }
        Check::Http(http) => {
            check["Type"] = json!("http");
            check["Path"] = json!(http.path);
            check["PortLabel"] = json!(port_label(http.target.0.port()));
        }
        Check::Tcp(target) => {
            check["Type"] = json!("tcp");
            check["PortLabel"] = json!(port_label(target.0.port()));
        }
    }
    check
}

fn nomad(spec: &ServiceSpec, options: &Options) -> Value {
    let name = spec.name.as_str();
    let oneshot = spec.service_type == ServiceType::Oneshot;
    let mut task = Map::new();
    task.insert("Name".into(), json!(name));
    let mut argv: Vec<String> = args(spec);
    let program = spec.program.to_string_lossy().into_owned();
    match &options.image {
        // In a container: the program under svckit-init.
        Some(image) => {
            task.insert("Driver".into(), json!("docker"));
            let mut all = vec!["--".to_owned(), program];
            all.append(&mut argv);
            let mut config = json!({ "image": image, "entrypoint": [options.init], "args": all });
            if let Some(dir) = &spec.working_dir {
                config["work_dir"] = json!(dir.to_string_lossy());
            }
            task.insert("Config".into(), config);
        }
        // On the client, isolated (exec) or as the client's user when root is asked for.
        None => {
            let driver = match spec.account.as_deref() {
                None | Some("root") => "raw_exec",
                Some(_) => "exec",
            };
            task.insert("Driver".into(), json!(driver));
            task.insert("Config".into(), json!({ "command": program, "args": argv }));
        }
    }
    if let Some(user) = &spec.account {
        task.insert("User".into(), json!(user));
    }
    if !spec.env.is_empty() {
        let env: Map<String, Value> = spec
            .env
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        task.insert("Env".into(), Value::Object(env));
    }
    task.insert("KillTimeout".into(), json!(nanos(spec.stop.timeout)));
    task.insert(
        "KillSignal".into(),
        json!(format!("SIG{}", spec.stop.signal)),
    );
    let mut checks = Vec::new();
    if let Some(probe) = &spec.readiness {
        checks.push(nomad_check(probe, "readiness"));
    }
    if let Some(probe) = &spec.liveness {
        let mut check = nomad_check(probe, "liveness");
        if spec.on_unhealthy == OnUnhealthy::Restart {
            check["CheckRestart"] = json!({
                "Limit": probe.failure_threshold.max(1),
                "Grace": nanos(probe.initial_delay),
            });
        }
        checks.push(check);
    }
    if !checks.is_empty() {
        task.insert(
            "Services".into(),
            json!([{ "Name": name, "Provider": "nomad", "Checks": checks }]),
        );
    }
    let restart = &spec.restart;
    let attempts = match restart.policy {
        Restart::Never => 0,
        _ => restart.limit,
    };
    let mut group = json!({
        "Name": name,
        "Count": match spec.start { StartType::Disabled => 0, _ => 1 },
        "RestartPolicy": {
            "Attempts": attempts,
            "Interval": nanos(restart.window.max(Duration::from_secs(5))),
            "Delay": nanos(restart.delay),
            "Mode": "fail",
        },
        "Tasks": [Value::Object(task)],
    });
    if oneshot {
        group["ReschedulePolicy"] = json!({ "Attempts": 0, "Unlimited": false });
    }
    // The ports its checks connect to: the program's own, on the client's network.
    let mut ports: Vec<u16> = [spec.readiness.as_deref(), spec.liveness.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(|probe| match &probe.check {
            Check::Http(http) => Some(http.target.0.port()),
            Check::Tcp(target) => Some(target.0.port()),
            Check::Exec(_) => None,
        })
        .collect();
    ports.sort_unstable();
    ports.dedup();
    if !ports.is_empty() {
        let reserved: Vec<Value> = ports
            .iter()
            .map(|port| json!({ "Label": port_label(*port), "Value": port }))
            .collect();
        group["Networks"] = json!([{ "Mode": "host", "ReservedPorts": reserved }]);
    }
    let mut job = json!({
        "ID": name,
        "Name": name,
        "Type": if oneshot { "batch" } else { "service" },
        "Datacenters": ["*"],
        "TaskGroups": [group],
    });
    let mut meta = Map::new();
    if let Some(description) = &spec.description {
        meta.insert("description".into(), json!(description));
    }
    if let Some(display) = &spec.display_name {
        meta.insert("display_name".into(), json!(display));
    }
    if !meta.is_empty() {
        job["Meta"] = Value::Object(meta);
    }
    json!({ "Job": job })
}

/// `value` as YAML: mappings and sequences in block style, every string double-quoted (its
/// escapes JSON's, which YAML reads the same), numbers and booleans as they are.
pub fn yaml(value: &Value) -> String {
    let mut out = String::new();
    yaml_into(&mut out, value, 0);
    out
}

/// A mapping's key: as it is where YAML reads it as that string (`apiVersion`,
/// `app.kubernetes.io/name`), else double-quoted.
fn yaml_key(key: &str) -> String {
    let plain = key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        // YAML 1.1's booleans and null, which a plain key would be.
        && !matches!(
            key.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        );
    match plain {
        true => key.to_owned(),
        false => Value::String(key.to_owned()).to_string(),
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::Object(map) if map.is_empty() => Some("{}".to_owned()),
        Value::Array(list) if list.is_empty() => Some("[]".to_owned()),
        Value::Object(_) | Value::Array(_) => None,
        other => Some(other.to_string()),
    }
}

fn yaml_into(out: &mut String, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                let key = yaml_key(key);
                match scalar(item) {
                    Some(text) => out.push_str(&format!("{pad}{key}: {text}\n")),
                    None => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        let inner = match item {
                            Value::Array(_) => indent,
                            _ => indent + 2,
                        };
                        yaml_into(out, item, inner);
                    }
                }
            }
        }
        Value::Array(list) => {
            for item in list {
                match scalar(item) {
                    Some(text) => out.push_str(&format!("{pad}- {text}\n")),
                    None => {
                        // The item's first line after the dash, the rest under it.
                        let mut inner = String::new();
                        yaml_into(&mut inner, item, indent + 2);
                        let inner = inner.trim_start();
                        out.push_str(&format!("{pad}- {inner}"));
                    }
                }
            }
        }
        other => out.push_str(&format!("{pad}{other}\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use svckit_core::ServiceName;

    fn spec() -> ServiceSpec {
        let mut spec = ServiceSpec::new(ServiceName::new("web").unwrap(), "/usr/sbin/nginx");
        spec.args = vec!["-g".into(), "daemon off;".into()];
        spec.env = vec![("MODE".into(), "production".into())];
        spec.restart.policy = Restart::Always;
        spec
    }

    fn options() -> Options {
        Options {
            image: Some("nginx:1.25".into()),
            ..Options::default()
        }
    }

    #[test]
    fn yaml_reads_back_as_the_same_value() {
        let value = json!({"a": [1, {"b": "x: y", "c": []}, [2, 3]], "d": {}, "e": "\"q\"\n"});
        let text = yaml(&value);
        assert_eq!(
            text,
            "a:\n- 1\n- b: \"x: y\"\n  c: []\n- - 2\n  - 3\nd: {}\ne: \"\\\"q\\\"\\n\"\n"
        );
        assert_eq!(yaml(&json!({"on": 1, "a b": 2})), "\"a b\": 2\n\"on\": 1\n");
    }

    #[test]
    fn a_plain_service_is_a_deployment_under_svckit_init_with_nothing_unmapped() {
        let rendered = render(&spec(), Engine::Kubernetes, &options()).unwrap();
        assert_eq!(rendered.unmapped, []);
        for line in [
            "kind: \"Deployment\"\n",
            "- \"/usr/local/bin/svckit-init\"\n",
            "- \"daemon off;\"\n",
            "terminationGracePeriodSeconds: 10\n",
        ] {
            assert!(
                rendered.text.contains(line),
                "no {line:?} in\n{}",
                rendered.text
            );
        }
    }

    #[test]
    fn what_an_engine_has_no_place_for_is_named_never_dropped() {
        let mut spec = spec();
        spec.account = Some("www-data".into());
        spec.restart.policy = Restart::OnFailure;
        spec.exec_stop_post = vec![vec!["/bin/true".into()]];
        let rendered = render(&spec, Engine::Kubernetes, &options()).unwrap();
        let keys: Vec<Key> = rendered.unmapped.iter().map(|(key, _)| *key).collect();
        assert_eq!(keys, [Key::User, Key::RestartPolicy, Key::ExecStopPost]);
        let compose = render(&spec, Engine::Compose, &options()).unwrap();
        let keys: Vec<Key> = compose.unmapped.iter().map(|(key, _)| *key).collect();
        assert_eq!(keys, [Key::ExecStopPost]);
        assert!(
            compose.text.contains("user: \"www-data\""),
            "{}",
            compose.text
        );
        // No image: a container engine refuses by name.
        let err = render(&spec, Engine::Compose, &Options::default()).unwrap_err();
        assert!(err.to_string().contains("image"), "{err}");
    }

    #[test]
    fn regression_an_engine_s_own_variables_in_a_definition_s_words_are_escaped_or_refused() {
        let mut spec = spec();
        spec.args = vec!["$HOME".into(), "$(id)".into(), "a$$b".into()];
        spec.env = vec![("X".into(), "$(Y)".into())];
        let k8s = render(&spec, Engine::Kubernetes, &options()).unwrap().text;
        for word in ["\"$HOME\"", "\"$$(id)\"", "\"a$$b\"", "value: \"$$(Y)\""] {
            assert!(k8s.contains(word), "no {word} in\n{k8s}");
        }
        let compose = render(&spec, Engine::Compose, &options()).unwrap().text;
        for word in ["\"$$HOME\"", "\"$$(id)\"", "\"a$$$$b\"", "X: \"$$(Y)\""] {
            assert!(compose.contains(word), "no {word} in\n{compose}");
        }
        spec.args = vec!["${attr.unique.hostname}".into()];
        let err = render(&spec, Engine::Nomad, &Options::default()).unwrap_err();
        assert!(err.to_string().contains("args"), "{err}");
    }

    #[test]
    fn every_key_is_mapped_or_has_a_reason_on_every_engine() {
        // Each engine says something of each key: the match above is whole.
        for engine in Engine::ALL {
            for key in Key::ALL {
                let _ = unmapped_reason(engine, *key, &spec(), false);
            }
        }
        let nomad = render(&spec(), Engine::Nomad, &Options::default()).unwrap();
        let job: Value = serde_json::from_str(&nomad.text).unwrap();
        assert_eq!(
            job["Job"]["TaskGroups"][0]["Tasks"][0]["Driver"],
            "raw_exec"
        );
    }
}
