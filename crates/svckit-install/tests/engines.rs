//! `svckit render --target kubernetes|compose|nomad` checked by the validators that run
//! here: kubernetes-validate (PyPI: Kubernetes' own OpenAPI schemas, --strict), Compose's own
//! `docker-compose config` (Debian), and Nomad's JSON job specification against the schema
//! contrib/nomad/job.schema.json gives of it (no Nomad binary runs in CI). CI installs all
//! three; a test skipped in CI fails instead.
//!
//! Unix only: the validators are Linux programs (the renderers' own unit tests, in
//! src/engines.rs, run on Windows too, under Wine in CI).
#![cfg(unix)]

use std::{fs, path::Path, process::Command, time::Duration};

use svckit_core::{
    Limit, Restart, ServiceName, ServiceSpec, ServiceType,
    condition::Condition,
    health::{Check, Probe},
};
use svckit_install::engines::{self, Engine, Options};

fn name(text: &str) -> ServiceName {
    ServiceName::new(text).unwrap()
}

/// A program alone.
fn plain() -> ServiceSpec {
    ServiceSpec::new(name("plain"), "/usr/bin/sleep")
}

/// Most of what maps: arguments, environment, a numeric user, probes of each kind, a
/// pre-start check, a stop command, a runtime directory, limits, logs, dependencies.
fn full() -> ServiceSpec {
    let mut spec = ServiceSpec::new(name("web"), "/usr/sbin/nginx");
    spec.description = Some("the web server \"front\"".into());
    // `$HOME` and `$(id)`: words for the program, not the engine's variables.
    spec.args = vec![
        "-g".into(),
        "daemon off;".into(),
        "$HOME".into(),
        "$(id)".into(),
    ];
    spec.env = vec![
        ("MODE".into(), "production".into()),
        ("QUOTE".into(), "a 'b' \"c\" $d".into()),
    ];
    spec.account = Some("101".into());
    spec.group = Some("101".into());
    spec.working_dir = Some("/srv/web".into());
    spec.restart.policy = Restart::Always;
    spec.stop.timeout = Duration::from_secs(30);
    spec.exec_start_pre = vec![vec!["/usr/sbin/nginx".into(), "-t".into()]];
    spec.exec_stop = vec![vec!["/usr/sbin/nginx".into(), "-s".into(), "quit".into()]];
    spec.runtime_directory = vec!["nginx".into()];
    let mut ready = Probe::new(Check::Http(
        svckit_core::health::HttpCheck::parse("http://127.0.0.1:8080/health").unwrap(),
    ));
    ready.period = Duration::from_secs(2);
    spec.readiness = Some(Box::new(ready));
    spec.liveness = Some(Box::new(Probe::new(Check::tcp("127.0.0.1:8080").unwrap())));
    spec.limits.nofile = Some(Limit {
        soft: 4096,
        hard: 8192,
    });
    spec.oom_score_adjust = Some(-100);
    spec.requires = vec![name("db")];
    spec.conditions = vec![(name("db"), Condition::Healthy)];
    spec.wants = vec![name("cache")];
    spec
}

/// A oneshot with a command check.
fn oneshot() -> ServiceSpec {
    let mut spec = ServiceSpec::new(name("migrate"), "/usr/bin/true");
    spec.service_type = ServiceType::Oneshot;
    spec.restart.policy = Restart::OnFailure;
    spec.restart.limit = 3;
    spec
}

fn options(image: bool) -> Options {
    Options {
        image: image.then(|| "registry.example/web:1.2".to_owned()),
        ..Options::default()
    }
}

fn write(dir: &Path, file: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(file);
    fs::write(&path, text).unwrap();
    path
}

fn temp_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("svckit-engines-{test}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether `program` runs here; in CI it must (a skipped test is no test).
fn have(program: &str, probe: &[&str]) -> bool {
    let ran = Command::new(program).args(probe).output().is_ok();
    assert!(
        ran || std::env::var_os("CI").is_none(),
        "{program} must be installed in CI"
    );
    if !ran {
        eprintln!("skipping: {program} is not installed");
    }
    ran
}

/// A validator: the command that checks the manifest at a path.
type Validator<'a> = &'a dyn Fn(&Path) -> Command;

/// Each of `manifests` (a name and its text) passes `validator`, and `misspelt` (a manifest
/// with a field the engine does not have) does not: the validator is shown what it is for.
fn validated(test: &str, validator: Validator<'_>, manifests: &[(String, String)], misspelt: &str) {
    let dir = temp_dir(test);
    for (name, text) in manifests {
        let out = validator(&write(&dir, name, text)).output().unwrap();
        assert!(
            out.status.success(),
            "{name}: {}{}\n{text}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let name = format!("misspelt.{}", manifests[0].0.rsplit('.').next().unwrap());
    let out = validator(&write(&dir, &name, misspelt)).output().unwrap();
    assert!(
        !out.status.success(),
        "a misspelt field passed:\n{misspelt}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

fn rendered(spec: &ServiceSpec, engine: Engine, image: bool) -> String {
    engines::render(spec, engine, &options(image)).unwrap().text
}

#[test]
fn kubernetes_manifests_pass_kubernetes_validate_strict() {
    if !have("kubernetes-validate", &["--version"]) {
        return;
    }
    let manifests: Vec<(String, String)> = [plain(), full(), oneshot()]
        .iter()
        .map(|spec| {
            let text = rendered(spec, Engine::Kubernetes, true);
            (format!("{}.yaml", spec.name), text)
        })
        .collect();
    let misspelt = rendered(&full(), Engine::Kubernetes, true)
        .replace("terminationGracePeriodSeconds", "terminationGracePeriod");
    let validator = |file: &Path| {
        let mut command = Command::new("kubernetes-validate");
        command
            .args(["--strict", "--kubernetes-version", "1.30.0"])
            .arg(file);
        command
    };
    validated("k8s", &validator, &manifests, &misspelt);
}

#[test]
fn compose_files_pass_docker_compose_config() {
    if !have("docker-compose", &["version"]) {
        return;
    }
    let manifests: Vec<(String, String)> = [plain(), full(), oneshot()]
        .iter()
        .map(|spec| {
            // The services it depends on, as Compose wants them in the same file.
            let mut text = rendered(spec, Engine::Compose, true);
            for dependency in spec.started_with() {
                text.push_str(&format!(
                    "  {dependency}:\n    image: \"registry.example/{dependency}:1\"\n    \
                     healthcheck:\n      test: [\"CMD\", \"/bin/true\"]\n"
                ));
            }
            (format!("{}.yaml", spec.name), text)
        })
        .collect();
    let misspelt =
        rendered(&plain(), Engine::Compose, true).replace("stop_grace_period", "stop_grace");
    let validator = |file: &Path| {
        let mut command = Command::new("docker-compose");
        command.arg("-f").arg(file).args(["config", "-q"]);
        command
    };
    validated("compose", &validator, &manifests, &misspelt);
    // What Compose makes of the file: the words as the definition gives them.
    let dir = temp_dir("compose-words");
    let file = write(&dir, "web.yaml", &manifests[1].1);
    let out = Command::new("docker-compose")
        .arg("-f")
        .arg(&file)
        .arg("config")
        .output()
        .unwrap();
    let config = String::from_utf8_lossy(&out.stdout);
    assert!(
        config.contains("$HOME") && config.contains("$(id)"),
        "{config}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn nomad_jobs_pass_the_json_job_schema() {
    if !have("python3", &["-c", "import jsonschema"]) {
        return;
    }
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contrib/nomad/job.schema.json");
    let manifests: Vec<(String, String)> = [
        (plain(), false),
        (full(), false),
        (full(), true),
        (oneshot(), false),
    ]
    .iter()
    .map(|(spec, image)| {
        let text = rendered(spec, Engine::Nomad, *image);
        (format!("{}-{image}.json", spec.name), text)
    })
    .collect();
    let misspelt =
        rendered(&plain(), Engine::Nomad, false).replace("\"KillTimeout\"", "\"KillTimeOut\"");
    let validator = |file: &Path| {
        let mut command = Command::new("python3");
        command
            .args([
                "-c",
                "import json, sys, jsonschema\n\
                 schema = json.load(open(sys.argv[1]))\n\
                 jsonschema.Draft202012Validator.check_schema(schema)\n\
                 jsonschema.Draft202012Validator(schema).validate(json.load(open(sys.argv[2])))\n",
            ])
            .arg(&schema)
            .arg(file);
        command
    };
    validated("nomad", &validator, &manifests, &misspelt);
}

/// What does not map is named by key for each engine, and `full()`'s keys that do map are
/// not among them.
#[test]
fn what_each_engine_cannot_carry_is_named_by_key() {
    let spec = full();
    let keys = |engine| {
        engines::render(&spec, engine, &options(true))
            .unwrap()
            .unmapped
            .into_iter()
            .map(|(key, _)| key.name())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(Engine::Kubernetes),
        [
            "requires",
            "wants",
            "conditions",
            "limits",
            "oom_score_adjust"
        ]
    );
    assert_eq!(
        keys(Engine::Compose),
        ["exec_start_pre", "exec_stop", "readiness"]
    );
    assert_eq!(
        keys(Engine::Nomad),
        [
            "requires",
            "wants",
            "conditions",
            "exec_start_pre",
            "exec_stop",
            "runtime_directory",
            "limits",
            "oom_score_adjust"
        ]
    );
}
