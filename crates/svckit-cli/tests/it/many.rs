//! docs/many.md ("From one machine to many") as it is written: its definition under the
//! supervisor, rendered for systemd (systemd-analyze verify), its container's ENTRYPOINT and CMD
//! run as an image would (svckit-init as PID 1 of a PID namespace), rendered for Kubernetes,
//! Compose and Nomad (their validators), and its Ansible playbook (ansible-playbook
//! --syntax-check, the module found in contrib/ansible). Each on a free port and a directory of
//! the test's, in place of the page's 8000 and /srv/www.

use std::{fs, path::Path, process::Command, time::Duration};

use crate::{
    import::http_get,
    supervise::Sup,
    support::{eventually, free_port, require_program, require_root},
};

fn page() -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/many.md")).unwrap()
}

/// The page's first fenced block in `lang`.
fn block(page: &str, lang: &str) -> String {
    let fence = format!("```{lang}\n");
    let start = page
        .find(&fence)
        .unwrap_or_else(|| panic!("no {lang} block"))
        + fence.len();
    let end = start + page[start..].find("```").unwrap();
    page[start..end].to_owned()
}

/// `text` with the page's port and directory made the test's.
fn localized(text: &str, port: u16, www: &Path) -> String {
    text.replace("8000", &port.to_string())
        .replace("/srv/www", &www.display().to_string())
}

fn ok(command: &mut Command, what: &str) -> String {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_one_machine_to_many_page_runs_as_written() {
    let test = "the_one_machine_to_many_page_runs_as_written";
    for program in [
        "/usr/bin/python3",
        "/usr/bin/systemd-analyze",
        "/usr/bin/docker-compose",
        "/usr/bin/ansible-playbook",
    ] {
        if !require_program(test, program) {
            return;
        }
    }
    let page = page();
    let sup = Sup::new("many-page");
    let port = free_port();
    let www = sup.dir.join("www");
    fs::create_dir_all(&www).unwrap();
    fs::write(www.join("index.html"), "one definition\n").unwrap();
    let definition = localized(&block(&page, "toml"), port, &www);
    let file = sup.dir.join("web.toml");
    fs::write(&file, &definition).unwrap();
    let file = file.display().to_string();

    // Under the supervisor: applied and (start = "auto") started once its page answers.
    let said = sup.ok(&["apply", &file]);
    assert!(said.contains("web: installed"), "{said}");
    assert!(http_get(port).ends_with("one definition\n"));
    assert!(sup.ok(&["status", "web"]).contains("running"));
    sup.ok(&["uninstall", "web"]);

    // As a systemd unit, as systemd reads it.
    let unit = sup.ok(&["render", "--file", &file, "--backend", "systemd"]);
    let units = sup.dir.join("units");
    fs::create_dir_all(&units).unwrap();
    fs::write(units.join("web.service"), &unit).unwrap();
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(units.join("web.service"))
        .output()
        .unwrap();
    let complaints = String::from_utf8_lossy(&verify.stderr);
    assert!(
        verify.status.success() && !complaints.contains("web.service:"),
        "{complaints}\n{unit}"
    );

    // In a container: the Dockerfile's ENTRYPOINT and CMD, as the image runs them.
    if require_root(test)
        && let Some(init) = crate::support::svckit_init()
    {
        let dockerfile = block(&page, "dockerfile");
        let array = |directive: &str| -> Vec<String> {
            let line = dockerfile
                .lines()
                .find_map(|line| line.strip_prefix(directive))
                .unwrap_or_else(|| panic!("no {directive}"));
            serde_json::from_str(line.trim()).unwrap()
        };
        let mut argv = array("ENTRYPOINT ");
        argv.extend(array("CMD "));
        let argv: Vec<String> = argv
            .iter()
            .map(|word| {
                localized(word, port, &www)
                    .replace("/usr/local/bin/svckit-init", &init.display().to_string())
                    .replace("0.0.0.0", "127.0.0.1")
            })
            .collect();
        let mut container = Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc"])
            .args(&argv)
            .spawn()
            .unwrap();
        assert!(
            eventually(Duration::from_secs(10), || http_get(port)
                .ends_with("one definition\n")),
            "the container's program does not serve"
        );
        // `docker stop`: SIGTERM to PID 1, which hands it on; the container ends.
        let pid1 = fs::read_to_string(format!("/proc/{}/task/{0}/children", container.id()))
            .unwrap()
            .trim()
            .parse::<i32>()
            .unwrap();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid1),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let status = container.wait().unwrap();
        assert_eq!(
            status.code(),
            Some(143),
            "the program's end, TERM's 128 + 15"
        );
    }

    // On Kubernetes, Compose and Nomad: the page's commands, each manifest through its
    // engine's validator.
    let renders: Vec<&str> = page
        .lines()
        .filter(|line| line.starts_with("svckit render --file web.toml --target"))
        .collect();
    assert_eq!(renders.len(), 3, "{renders:?}");
    for line in renders {
        let (command, output) = line.split_once(" > ").unwrap();
        let args: Vec<String> = command
            .split_whitespace()
            .skip(1)
            .map(|word| match word {
                "web.toml" => file.clone(),
                word => word.to_owned(),
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = sup.run(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{line}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let manifest = sup.dir.join(output.trim());
        fs::write(&manifest, &out.stdout).unwrap();
        match output.trim() {
            "web.yaml" => match which("kubernetes-validate") {
                true => {
                    ok(
                        Command::new("kubernetes-validate")
                            .args(["--strict", "--kubernetes-version", "1.30.0"])
                            .arg(&manifest),
                        "kubernetes-validate",
                    );
                }
                false => assert!(std::env::var_os("CI").is_none(), "no kubernetes-validate"),
            },
            "compose.yaml" => {
                ok(
                    Command::new("docker-compose")
                        .arg("-f")
                        .arg(&manifest)
                        .args(["config", "-q"]),
                    "docker-compose config",
                );
            }
            "web.json" => {
                let schema = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../contrib/nomad/job.schema.json");
                ok(
                    Command::new("python3")
                        .args([
                            "-c",
                            "import json, sys, jsonschema\n\
                             jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))\
                             .validate(json.load(open(sys.argv[2])))\n",
                        ])
                        .arg(&schema)
                        .arg(&manifest),
                    "the Nomad job schema",
                );
            }
            other => panic!("{other}: which engine?"),
        }
    }

    // The playbook, with the collection of contrib/ansible.
    let playbook = sup.dir.join("web.yml");
    fs::write(&playbook, block(&page, "yaml")).unwrap();
    let inventory = sup.dir.join("hosts.ini");
    fs::write(&inventory, "[web]\nlocalhost ansible_connection=local\n").unwrap();
    ok(
        Command::new("ansible-playbook")
            .arg("--syntax-check")
            .arg("-i")
            .arg(&inventory)
            .arg(&playbook)
            .env(
                "ANSIBLE_COLLECTIONS_PATH",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contrib/ansible"),
            ),
        "ansible-playbook --syntax-check",
    );
}

/// Whether `program` is on the PATH.
fn which(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|out| out.status.success())
}
