//! The Ansible collection of contrib/ansible, run by the real `ansible-playbook` (Debian's
//! ansible-core) against three hosts on this machine: each a network namespace (reached over a
//! veth pair) and a mount namespace (its own /run and /var/lib/svckit: its own svckit state),
//! in a cgroup of its own as a container would be, with its own sshd.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, Command},
    time::Duration,
};

use crate::support::{TempDir, eventually, require_program, require_root};

const SVCKIT: &str = env!("CARGO_BIN_EXE_svckit");

/// One host: its namespace, its sshd (the process whose namespaces its sessions share), and
/// its cgroup. Dropped: everything in it is killed and it is removed.
struct Host {
    netns: String,
    veth: String,
    address: String,
    sshd: Child,
    cgroup: PathBuf,
}

impl Host {
    fn new(index: u8, dir: &Path, cgroups: &Path) -> Host {
        let tag = format!("{}{index}", std::process::id() % 10_000);
        let netns = format!("svckit-h{tag}");
        let veth = format!("svh{tag}");
        let peer = format!("svp{tag}");
        let address = format!("10.199.{index}.2");
        let sh = |script: &str| {
            let out = Command::new("sh").args(["-ec", script]).output().unwrap();
            assert!(
                out.status.success(),
                "{script}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let _ = Command::new("ip").args(["netns", "del", &netns]).output();
        let _ = Command::new("ip").args(["link", "del", &veth]).output();
        sh(&format!(
            "ip netns add {netns}; ip link add {veth} type veth peer name {peer}; \
             ip link set {peer} netns {netns}; ip addr add 10.199.{index}.1/30 dev {veth}; \
             ip link set {veth} up; ip netns exec {netns} ip addr add {address}/30 dev {peer}; \
             ip netns exec {netns} ip link set {peer} up; ip netns exec {netns} ip link set lo up"
        ));
        let cgroup = cgroups.join(format!("svckit-test-host-{tag}"));
        fs::create_dir_all(&cgroup).unwrap();
        fs::create_dir_all("/var/lib/svckit").unwrap();
        let key = dir.join("host_key");
        let authorized = dir.join("authorized_keys");
        // Its own /run and state directory; then sshd, in the foreground.
        let script = format!(
            "mount -t tmpfs -o mode=0755 tmpfs /run; mkdir -p /run/sshd; \
             mount -t tmpfs -o mode=0755 tmpfs /var/lib/svckit; \
             exec /usr/sbin/sshd -D -e -f /dev/null -o \"Subsystem sftp internal-sftp\" \
             -h {key} -o ListenAddress={address}:22 -o PermitRootLogin=yes \
             -o AuthorizedKeysFile={authorized} -o StrictModes=no -o PidFile=none",
            key = key.display(),
            authorized = authorized.display(),
        );
        // In its own cgroup first (`ip netns exec` mounts a /sys of its own, without it).
        let enter = format!(
            "echo $$ > {}; exec ip netns exec {netns} unshare -m --propagation private \
             sh -ec \"$0\"",
            cgroup.join("cgroup.procs").display()
        );
        let sshd = Command::new("sh")
            .args(["-ec", &enter, &script])
            .stderr(fs::File::create(dir.join(format!("sshd-{index}.log"))).unwrap())
            .spawn()
            .unwrap();
        let host = Host {
            netns,
            veth,
            address,
            sshd,
            cgroup,
        };
        assert!(
            eventually(Duration::from_secs(10), || host.port_open()),
            "sshd of {} does not listen: {}",
            host.netns,
            fs::read_to_string(dir.join(format!("sshd-{index}.log"))).unwrap_or_default()
        );
        host
    }

    fn port_open(&self) -> bool {
        std::net::TcpStream::connect_timeout(
            &format!("{}:22", self.address).parse().unwrap(),
            Duration::from_millis(200),
        )
        .is_ok()
    }

    /// `svckit ARGS` inside the host (its namespaces, through its sshd's).
    fn svckit(&self, args: &[&str]) -> std::process::Output {
        Command::new("nsenter")
            .args(["-t", &self.sshd.id().to_string(), "-m", "-n", SVCKIT])
            .args(args)
            .output()
            .unwrap()
    }

    /// The service's status inside the host, or None when it is not installed there.
    fn status(&self, name: &str) -> Option<serde_json::Value> {
        let out = self.svckit(&["status", name, "--json"]);
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        Some(match value {
            serde_json::Value::Array(mut list) => list.remove(0),
            other => other,
        })
    }

    /// The pids of this host's cgroup tree (its sshd, supervisor, services).
    fn pids(&self) -> Vec<i32> {
        crate::support::cgroup_tree_pids(&self.cgroup)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        for pid in self.pids() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.sshd.kill();
        let _ = self.sshd.wait();
        let _ = eventually(Duration::from_secs(5), || self.pids().is_empty());
        fn remove(dir: &Path) {
            if let Ok(entries) = fs::read_dir(dir) {
                for entry in entries.flatten() {
                    if entry.path().is_dir() {
                        remove(&entry.path());
                    }
                }
            }
            let _ = fs::remove_dir(dir);
        }
        remove(&self.cgroup);
        let _ = Command::new("ip")
            .args(["link", "del", &self.veth])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .output();
    }
}

/// This process's own cgroup directory on the cgroup2 mount.
fn own_cgroup() -> Option<PathBuf> {
    let own = fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = own.lines().find_map(|line| line.strip_prefix("0::"))?;
    let mounts = fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mount = mounts.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        right
            .starts_with("cgroup2 ")
            .then(|| left.split_whitespace().nth(4).map(PathBuf::from))?
    })?;
    Some(mount.join(path.trim_start_matches('/')))
}

/// Runs the playbook at `playbook` against the hosts of `inventory`: each host's `changed`
/// count from the play recap, in host order.
fn play(dir: &Path, inventory: &Path, playbook: &str) -> Vec<u32> {
    let file = dir.join("playbook.yml");
    fs::write(&file, playbook).unwrap();
    let collections = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contrib/ansible");
    let out = Command::new("ansible-playbook")
        .arg("-i")
        .arg(inventory)
        .arg(&file)
        .env("ANSIBLE_COLLECTIONS_PATH", &collections)
        .env("ANSIBLE_HOST_KEY_CHECKING", "False")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "False")
        .env("ANSIBLE_LOCAL_TEMP", dir.join("ansible-local"))
        .env("ANSIBLE_SSH_CONTROL_PATH_DIR", dir.join("cp"))
        .env(
            "ANSIBLE_SSH_ARGS",
            "-o ControlMaster=auto -o ControlPersist=30s -o UserKnownHostsFile=/dev/null",
        )
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ansible-playbook failed:\n{said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recap = said
        .split("PLAY RECAP")
        .nth(1)
        .unwrap_or_else(|| panic!("no recap:\n{said}"));
    ["h1", "h2", "h3"]
        .iter()
        .map(|host| {
            let line = recap
                .lines()
                .find(|line| line.trim_start().starts_with(&format!("{host} ")))
                .unwrap_or_else(|| panic!("{host} not in the recap:\n{recap}"));
            line.split_whitespace()
                .find_map(|word| word.strip_prefix("changed="))
                .and_then(|n| n.parse().ok())
                .unwrap()
        })
        .collect()
}

fn playbook(definition: &str, state: &str) -> String {
    playbook_enabled(definition, state, true)
}

fn playbook_enabled(definition: &str, state: &str, enabled: bool) -> String {
    let definition: String = definition
        .lines()
        .map(|line| format!("          {line}\n"))
        .collect();
    format!(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - svckit.svckit.service:\n        \
         name: web\n        executable: \"{SVCKIT}\"\n        state: {state}\n        \
         enabled: {enabled}\n        definition: |\n{definition}"
    )
}

/// The web server every host runs: Python's own, serving the directory it is given.
fn web(port: u16, dir: &Path) -> String {
    format!(
        "program = \"/usr/bin/python3\"\n\
         args = [\"-m\", \"http.server\", \"--bind\", \"127.0.0.1\", \"{port}\", \"--directory\", \"{}\"]\n\
         [restart]\npolicy = \"on-failure\"\n",
        dir.display()
    )
}

#[test]
fn ansible_applies_a_service_to_three_hosts_idempotently_and_removes_it() {
    let test = "ansible_applies_a_service_to_three_hosts_idempotently_and_removes_it";
    if !require_root(test)
        || !require_program(test, "/usr/bin/ansible-playbook")
        || !require_program(test, "/usr/sbin/sshd")
        || !require_program(test, "/usr/bin/python3")
    {
        return;
    }
    let Some(cgroups) = own_cgroup() else {
        assert!(std::env::var_os("CI").is_none(), "{test}: no cgroup2");
        return;
    };
    let _sshd = crate::support::sshd_alone();
    let dir = TempDir::new("ansible");
    let dir = dir.join("");
    for key in ["host_key", "client_key"] {
        let keygen = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(dir.join(key))
            .output()
            .unwrap();
        assert!(keygen.status.success());
    }
    fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
    let www = dir.join("www");
    fs::create_dir_all(&www).unwrap();
    fs::write(www.join("index.html"), "served by svckit\n").unwrap();
    let hosts: Vec<Host> = (1..=3).map(|i| Host::new(i, &dir, &cgroups)).collect();
    let mut inventory = String::from("[hosts]\n");
    for (i, host) in hosts.iter().enumerate() {
        inventory.push_str(&format!("h{} ansible_host={}\n", i + 1, host.address));
    }
    inventory.push_str(&format!(
        "[hosts:vars]\nansible_user=root\nansible_ssh_private_key_file={}\n\
         ansible_python_interpreter=/usr/bin/python3\n",
        dir.join("client_key").display()
    ));
    let inventory_file = dir.join("inventory.ini");
    fs::write(&inventory_file, inventory).unwrap();

    // First run: installed and started on all three.
    let first = playbook(&web(8000, &www), "started");
    assert_eq!(play(&dir, &inventory_file, &first), [1, 1, 1]);
    let mut pids = Vec::new();
    for host in &hosts {
        let status = host.status("web").expect("installed on each host");
        assert_eq!(status["state"], "running", "{status}");
        pids.push(status["pid"].as_i64().unwrap());
        // Each host's own state: its supervisor knows only its own service.
        let list = host.svckit(&["list"]);
        assert_eq!(String::from_utf8_lossy(&list.stdout).lines().count(), 1);
    }
    // Second run: nothing changes.
    assert_eq!(play(&dir, &inventory_file, &first), [0, 0, 0]);
    for (host, pid) in hosts.iter().zip(&pids) {
        assert_eq!(host.status("web").unwrap()["pid"].as_i64().unwrap(), *pid);
    }
    // A changed definition (another port): applied and restarted on each.
    let changed = playbook(&web(8001, &www), "started");
    assert_eq!(play(&dir, &inventory_file, &changed), [1, 1, 1]);
    for (host, pid) in hosts.iter().zip(&pids) {
        assert!(
            eventually(Duration::from_secs(10), || {
                let status = host.status("web").unwrap();
                status["state"] == "running" && status["pid"].as_i64().unwrap() != *pid
            }),
            "not restarted on {}",
            host.netns
        );
        let shown = String::from_utf8_lossy(&host.svckit(&["show", "web"]).stdout).into_owned();
        assert!(shown.contains("\"8001\""), "{shown}");
    }
    assert_eq!(play(&dir, &inventory_file, &changed), [0, 0, 0]);
    // Stopped (and not started with the supervisor): stopped on each, then nothing to do. The
    // definition given as a file on the hosts this time (`src`), the same text.
    let src = dir.join("web.toml");
    fs::write(&src, web(8001, &www)).unwrap();
    let stopped = playbook_enabled(&web(8001, &www), "stopped", false).replace(
        &format!(
            "        definition: |\n{}",
            web(8001, &www)
                .lines()
                .map(|line| format!("          {line}\n"))
                .collect::<String>()
        ),
        &format!("        src: \"{}\"\n", src.display()),
    );
    assert!(
        stopped.contains("src: ") && !stopped.contains("definition:"),
        "{stopped}"
    );
    assert_eq!(play(&dir, &inventory_file, &stopped), [1, 1, 1]);
    for host in &hosts {
        let status = host.status("web").unwrap();
        assert_eq!(status["state"], "stopped", "{status}");
    }
    assert_eq!(play(&dir, &inventory_file, &stopped), [0, 0, 0]);
    // Started again.
    assert_eq!(play(&dir, &inventory_file, &changed), [1, 1, 1]);
    // Absent: uninstalled, nothing of it left on any host.
    let running: Vec<i64> = hosts
        .iter()
        .map(|host| host.status("web").unwrap()["pid"].as_i64().unwrap())
        .collect();
    assert_eq!(
        play(&dir, &inventory_file, &playbook(&web(8001, &www), "absent")),
        [1, 1, 1]
    );
    for (host, pid) in hosts.iter().zip(running) {
        assert!(
            host.status("web").is_none(),
            "still installed on {}",
            host.netns
        );
        assert!(
            eventually(Duration::from_secs(10), || !Path::new(&format!(
                "/proc/{pid}"
            ))
            .exists()),
            "its process lives on on {}",
            host.netns
        );
    }
    assert_eq!(
        play(&dir, &inventory_file, &playbook(&web(8001, &www), "absent")),
        [0, 0, 0]
    );
}
