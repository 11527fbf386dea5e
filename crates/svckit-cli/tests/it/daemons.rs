//! Real daemons, as Debian ships them, under the supervisor: programs that fork themselves
//! (nginx with its default `daemon on`, redis `daemonize yes`, memcached -d, `pg_ctl start`,
//! sshd without -D) and ones that speak sd_notify (postgres -D as user postgres, sshd -D), each installed,
//! started (start returns once its daemon is known; the test then connects), shown with its
//! real main pid, reloaded its own way, killed with SIGKILL and restarted with nothing of the
//! old instance left, stopped with nothing of it left, and uninstalled. What is left is read
//! from /proc and the service's cgroup, never from svckit's word.

use std::{
    fs,
    net::TcpStream,
    path::{Path, PathBuf},
    time::Duration,
};

use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};
use serde_json::Value;

use crate::{
    supervise::Sup,
    support::{
        eventually, free_port, is_gone, listening, processes_with, require_program, require_root,
    },
};

/// The pid on the first line of a daemon's own PID file (postgres's has more lines).
fn pid_in(path: &Path) -> Option<i32> {
    fs::read_to_string(path)
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// The processes in the service's cgroup, as status names it.
pub(crate) fn cgroup_pids(status: &Value) -> Vec<i32> {
    let cgroup = status["cgroup"].as_str().expect("a cgroup, as root");
    fs::read_to_string(format!("{cgroup}/cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .collect()
}

/// Whether `port` answers a connection.
fn answers(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// SIGKILLs the service's main process `main` and waits until it runs again with another.
pub(crate) fn restarted_after_sigkill(sup: &Sup, name: &str, main: i32) {
    kill(Pid::from_raw(main), Signal::SIGKILL).unwrap();
    assert!(
        eventually(Duration::from_secs(20), || {
            let now = sup.status(name);
            now["state"] == "running" && now["pid"].as_i64().is_some_and(|pid| pid as i32 != main)
        }),
        "{name} was not restarted: {}",
        sup.status(name)
    );
}

/// The life every forking daemon lives here: start → serving, the status's pid is the pid
/// file's, SIGKILL of the main process → restarted with none of the old processes left →
/// stop → nothing left → uninstall.
pub(crate) fn lives_its_life(sup: &Sup, name: &str, port: u16, pid_file: Option<&Path>) -> Value {
    let serves = || listening(port) && answers(port);
    let status = lives_its_life_serving(sup, name, &serves, pid_file);
    assert!(!listening(port), "{name} still listens on {port}");
    status
}

/// [`lives_its_life`] of a daemon that `serves` tells is serving (a real request answered):
/// serving once started and once restarted after SIGKILL, not any more once stopped.
pub(crate) fn lives_its_life_serving(
    sup: &Sup,
    name: &str,
    serves: &dyn Fn() -> bool,
    pid_file: Option<&Path>,
) -> Value {
    let said = sup.ok(&["start", name]);
    assert!(said.contains("started (running, PID "), "{said}");
    assert!(
        eventually(Duration::from_secs(10), serves),
        "{name} does not serve: {}",
        sup.log(&format!("{name}.stderr"))
    );
    let status = sup.status(name);
    assert_eq!(status["state"], "running", "{status}");
    let main = status["pid"].as_i64().expect("a main pid") as i32;
    if let Some(pid_file) = pid_file {
        assert_eq!(
            pid_in(pid_file),
            Some(main),
            "the main pid is the pid file's"
        );
    }
    let old = cgroup_pids(&status);
    assert!(old.contains(&main), "the daemon is in its cgroup: {old:?}");

    // Killed: restarted (on-failure), and nothing of the old instance is left.
    restarted_after_sigkill(sup, name, main);
    assert!(
        old.iter().all(|pid| is_gone(*pid)),
        "processes of the killed instance live on: {old:?}"
    );
    assert!(eventually(Duration::from_secs(10), serves));
    let status = sup.status(name);
    assert_eq!(status["restarts"], 1, "{status}");
    let running = cgroup_pids(&status);

    // Stopped: nothing of it is left.
    sup.ok(&["stop", name]);
    assert!(
        running.iter().all(|pid| is_gone(*pid)),
        "stop returned with processes of {name} alive: {running:?}"
    );
    assert!(!serves(), "{name} still serves once stopped");
    sup.ok(&["uninstall", name]);
    status
}

/// An nginx configuration in `dir` (its default `daemon on`: it forks), serving on `port`
/// with a master and two workers: the configuration file and nginx's PID file.
pub(crate) fn nginx_config(dir: &Path, port: u16) -> (PathBuf, PathBuf) {
    fs::create_dir_all(dir.join("tmp")).unwrap();
    let conf = dir.join("nginx.conf");
    let d = dir.display();
    fs::write(
        &conf,
        format!(
            "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nworker_processes 2;\n\
             events {{}}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/tmp;\n  \
             proxy_temp_path {d}/tmp;\n  fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n  \
             scgi_temp_path {d}/tmp;\n  server {{ listen 127.0.0.1:{port}; location / {{ return 200 \"hi\\n\"; }} }}\n}}\n"
        ),
    )
    .unwrap();
    (conf, dir.join("nginx.pid"))
}

/// nginx's master `master` and its live workers (its children; a worker that exited and
/// is not reaped yet does not count), as /proc shows them.
pub(crate) fn nginx_processes(master: i32) -> Vec<i32> {
    let mut processes = vec![master];
    processes.extend(
        fs::read_dir("/proc")
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                let stat = crate::support::proc_stat_if_alive(*pid);
                stat.is_some_and(|fields| {
                    fields[0] != "Z" && fields[1].parse::<i32>().ok() == Some(master)
                })
            }),
    );
    processes
}

/// A supervisor of its own with nginx installed as a forking service (its pid file named,
/// restarted on failure): the supervisor, nginx's port and its pid file.
fn nginx_installed(name: &str) -> (Sup, u16, PathBuf) {
    let sup = Sup::new(name);
    let port = free_port();
    let (conf, pid_file) = nginx_config(&sup.dir.join("nginx"), port);
    let pid_arg = pid_file.display().to_string();
    let command = [
        "/usr/sbin/nginx".to_owned(),
        "-c".into(),
        conf.display().to_string(),
    ];
    // Reloaded as Debian's unit does it: `nginx -s reload`.
    let reload = format!("/usr/sbin/nginx -c {} -s reload", conf.display());
    sup.install_restarted(
        "nginx",
        &[
            "--type",
            "forking",
            "--pid-file",
            &pid_arg,
            "--reload-command",
            &reload,
        ],
        &command,
    );
    (sup, port, pid_file)
}

/// nginx started, reloaded its own way (SIGHUP to the master, which starts new workers and
/// keeps its pid), then stopped.
fn nginx_reloads(sup: &Sup, port: u16) {
    sup.ok(&["start", "nginx"]);
    assert!(eventually(Duration::from_secs(10), || answers(port)));
    // The master forks its workers after it is known (and, for a forking nginx, after its
    // pid file names it): a first status can see fewer (a flake under load).
    assert!(
        eventually(Duration::from_secs(10), || sup.status("nginx")["tasks"]
            == 3),
        "a master and two workers: {}",
        sup.status("nginx")
    );
    let status = sup.status("nginx");
    let master = status["pid"].as_i64().unwrap() as i32;
    // Status lists them, the master first, as systemctl lists a cgroup.
    let processes = status["processes"].as_array().expect("processes").clone();
    assert_eq!(processes.len(), 3, "{status}");
    assert_eq!(processes[0]["pid"], master);
    assert!(
        processes[0]["command"]
            .as_str()
            .is_some_and(|command| command.starts_with("nginx: master process")),
        "{status}"
    );
    let described = sup.ok(&["status", "nginx"]);
    assert!(
        described.contains(&format!("├─{master} nginx: master process"))
            && described.contains("└─"),
        "{described}"
    );
    let workers: Vec<i32> = cgroup_pids(&status)
        .into_iter()
        .filter(|pid| *pid != master)
        .collect();
    sup.ok(&["reload", "nginx"]);
    assert!(
        eventually(Duration::from_secs(10), || workers
            .iter()
            .all(|pid| is_gone(*pid))),
        "the old workers live on after the reload"
    );
    let status = sup.status("nginx");
    assert_eq!(status["pid"], master, "a reload keeps the master");
    assert!(answers(port));
    sup.ok(&["stop", "nginx"]);
}

#[test]
fn nginx_in_the_foreground_is_an_exec_service() {
    let test = "nginx_in_the_foreground_is_an_exec_service";
    if !require_root(test) || !require_program(test, "/usr/sbin/nginx") {
        return;
    }
    let sup = Sup::new("nginx-exec");
    let port = free_port();
    let (conf, _) = nginx_config(&sup.dir.join("nginx"), port);
    let command = [
        "/usr/sbin/nginx".to_owned(),
        "-c".into(),
        conf.display().to_string(),
        "-g".into(),
        "daemon off;".into(),
    ];
    sup.install_restarted("nginx", &["--reload-signal", "HUP"], &command);
    nginx_reloads(&sup, port);
    lives_its_life(&sup, "nginx", port, None);
}

#[test]
fn nginx_forking_with_its_pid_file() {
    let test = "nginx_forking_with_its_pid_file";
    if !require_root(test) || !require_program(test, "/usr/sbin/nginx") {
        return;
    }
    let (sup, port, pid_file) = nginx_installed("nginx");
    nginx_reloads(&sup, port);
    lives_its_life(&sup, "nginx", port, Some(&pid_file));
}

#[test]
fn nginx_t_before_the_start_fails_it_on_a_broken_config_with_nginx_s_own_message() {
    let test = "nginx_t_before_the_start_fails_it_on_a_broken_config_with_nginx_s_own_message";
    if !require_root(test) || !require_program(test, "/usr/sbin/nginx") {
        return;
    }
    let sup = Sup::new("nginx-t");
    let port = free_port();
    let (conf, pid_file) = nginx_config(&sup.dir.join("nginx"), port);
    let good = fs::read_to_string(&conf).unwrap();
    fs::write(&conf, format!("{good}\nno_such_directive on;\n")).unwrap();
    let check = format!("/usr/sbin/nginx -t -q -c {}", conf.display());
    let pid_arg = pid_file.display().to_string();
    let command = [
        "/usr/sbin/nginx".to_owned(),
        "-c".into(),
        conf.display().to_string(),
    ];
    sup.install_restarted(
        "nginx",
        &[
            "--type",
            "forking",
            "--pid-file",
            &pid_arg,
            "--exec-start-pre",
            &check,
        ],
        &command,
    );
    let out = sup.run(&["start", "nginx"]);
    assert_eq!(
        crate::support::code(&out),
        1,
        "{}",
        crate::support::stderr(&out)
    );
    let said = crate::support::stderr(&out);
    assert!(
        said.contains("exec_start_pre `/usr/sbin/nginx -t -q")
            && said.contains("ended with exit code 1")
            && said.contains("unknown directive \"no_such_directive\""),
        "{said}"
    );
    assert!(
        crate::support::processes_with(&conf.display().to_string()).is_empty(),
        "nginx ran with a broken config"
    );
    assert!(!listening(port));
    // Fixed, it starts: the check passes, then nginx runs.
    fs::write(&conf, good).unwrap();
    sup.ok(&["start", "nginx"]);
    assert!(eventually(Duration::from_secs(10), || answers(port)));
    sup.ok(&["stop", "nginx"]);
}

#[test]
fn nginx_binary_upgrade_hands_the_service_to_the_new_master() {
    let test = "nginx_binary_upgrade_hands_the_service_to_the_new_master";
    if !require_root(test) || !require_program(test, "/usr/sbin/nginx") {
        return;
    }
    let (sup, port, pid_file) = nginx_installed("nginx-upgrade");
    sup.ok(&["start", "nginx"]);
    // USR2 only once the master runs its signal loop, which it enters after forking its
    // workers: one that arrives earlier sets nginx's flag while its signals are not yet
    // blocked, and the master then sleeps in sigsuspend until some other signal (a flake
    // under load: "no new master").
    assert!(
        eventually(Duration::from_secs(10), || sup.status("nginx")["tasks"]
            == 3),
        "a master and two workers: {}",
        sup.status("nginx")
    );
    let old = sup.status("nginx")["pid"].as_i64().unwrap() as i32;
    // nginx's own upgrade: USR2 starts a new master (it writes nginx.pid, the old one moves to
    // nginx.pid.oldbin), then QUIT ends the old master.
    kill(Pid::from_raw(old), Signal::SIGUSR2).unwrap();
    assert!(
        eventually(Duration::from_secs(10), || {
            pid_in(&pid_file).is_some_and(|pid| pid != old)
        }),
        "no new master"
    );
    let new = pid_in(&pid_file).unwrap();
    kill(Pid::from_raw(old), Signal::SIGQUIT).unwrap();
    assert!(eventually(Duration::from_secs(10), || is_gone(old)));
    // The service followed its pid file to the new master: running, not restarted.
    assert!(
        eventually(Duration::from_secs(5), || sup.status("nginx")["pid"] == new),
        "{}",
        sup.status("nginx")
    );
    std::thread::sleep(Duration::from_millis(200));
    let status = sup.status("nginx");
    assert_eq!(status["state"], "running", "{status}");
    assert_eq!(status["restarts"], 0, "{status}");
    assert!(answers(port));
    let running = cgroup_pids(&status);
    sup.ok(&["stop", "nginx"]);
    assert!(running.iter().all(|pid| is_gone(*pid)), "{running:?}");
    assert!(!listening(port));
}

#[test]
fn redis_daemonize_yes_with_its_pid_file() {
    let test = "redis_daemonize_yes_with_its_pid_file";
    if !require_root(test) || !require_program(test, "/usr/bin/redis-server") {
        return;
    }
    let sup = Sup::new("redis");
    let dir = sup.dir.join("redis");
    fs::create_dir_all(&dir).unwrap();
    let port = free_port().to_string();
    let pid_file = dir.join("redis.pid");
    let pid_arg = pid_file.display().to_string();
    let redis = crate::support::redis_command(
        port.parse().unwrap(),
        &dir,
        &["--daemonize", "yes", "--pidfile", &pid_arg, "--logfile", ""],
    );
    sup.install_restarted(
        "redis",
        &["--type", "forking", "--pid-file", &pid_arg],
        &redis,
    );
    lives_its_life(&sup, "redis", port.parse().unwrap(), Some(&pid_file));
}

#[test]
fn memcached_forking_without_a_pid_file_is_the_one_process_left() {
    let test = "memcached_forking_without_a_pid_file_is_the_one_process_left";
    if !require_root(test) || !require_program(test, "/usr/bin/memcached") {
        return;
    }
    let sup = Sup::new("memcached");
    let port = free_port();
    let memcached = crate::support::memcached_command(port);
    sup.install_restarted("memcached", &["--type", "forking"], &memcached);
    let status = lives_its_life(&sup, "memcached", port, None);
    assert!(status["cgroup"].is_string());
}

#[test]
fn a_forking_program_whose_daemon_never_shows_fails_naming_its_pid_file() {
    let test = "a_forking_program_whose_daemon_never_shows_fails_naming_its_pid_file";
    if !require_root(test) {
        return;
    }
    let sup = Sup::new("no-daemon");
    let pid_file = sup.dir.join("never.pid").display().to_string();
    sup.ok(&[
        "install",
        "ghost",
        "--type",
        "forking",
        "--pid-file",
        &pid_file,
        "--ready-timeout",
        "300ms",
        "--",
        "/bin/true",
    ]);
    let out = sup.run(&["start", "ghost"]);
    assert_ne!(crate::support::code(&out), 0);
    let said = crate::support::stderr(&out);
    assert!(said.contains("never.pid"), "{said}");
    let status = sup.status("ghost");
    assert_ne!(status["state"], "running", "{status}");
    assert!(
        status["reason"]
            .as_str()
            .is_some_and(|why| why.contains("never.pid")),
        "{status}"
    );
}

/// A stop that came while a forking program's daemon was being found (its launcher gone, its
/// pid file not yet written) waited for that search forever: the "awaiting its daemon" flag
/// beside the table kept the stop from ever seeing the group gone. The search is a step of
/// the machine now, which a stop leaves.
#[test]
fn regression_a_stop_while_a_forking_daemon_is_being_found_ends() {
    let sup = Sup::new("finding");
    let pid_file = sup.dir.join("never.pid").display().to_string();
    let marker = format!("svckit-finding-{}", std::process::id());
    let daemon = format!("/bin/sh -c 'while :; do sleep 1; done # {marker}' & exit 0");
    sup.ok(&[
        "install",
        "ghost",
        "--type",
        "forking",
        "--pid-file",
        &pid_file,
        "--ready-timeout",
        "10m",
        "--",
        "/bin/sh",
        "-c",
        &daemon,
    ]);
    sup.ok(&["start", "ghost", "--no-wait"]);
    // Its launcher is gone and its daemon runs: the daemon is being looked for.
    assert!(
        eventually(Duration::from_secs(20), || {
            let status = sup.status("ghost");
            status["state"] == "starting"
                && status["pid"].is_null()
                && !processes_with(&marker).is_empty()
        }),
        "{}",
        sup.status("ghost")
    );
    let mut stop = sup
        .command(&["stop", "ghost"])
        .spawn()
        .expect("svckit stop");
    let ended = eventually(Duration::from_secs(30), || {
        stop.try_wait().expect("wait for svckit stop").is_some()
    });
    if !ended {
        let _ = stop.kill();
        let _ = stop.wait();
        panic!("svckit stop hung: {}", sup.status("ghost"));
    }
    assert!(stop.wait().expect("svckit stop").success());
    assert_eq!(sup.status("ghost")["state"], "stopped");
    assert!(
        eventually(Duration::from_secs(10), || processes_with(&marker)
            .is_empty()),
        "left: {:?}",
        processes_with(&marker)
    );
}

#[test]
fn a_oneshot_is_started_once_it_has_done_its_work() {
    let sup = Sup::new("oneshot");
    let done = sup.dir.join("done");
    let script = format!("sleep 0.2; echo ok > {}", done.display());
    sup.ok(&[
        "install", "setup", "--type", "oneshot", "--", "/bin/sh", "-c", &script,
    ]);
    let said = sup.ok(&["start", "setup"]);
    assert!(
        done.exists(),
        "start returned before the work was done: {said}"
    );
    let status = sup.status("setup");
    assert_eq!(status["state"], "exited", "{status}");
    assert_eq!(status["last_exit"]["code"], 0);
    // One that fails is a failed start.
    sup.ok(&[
        "install", "broken", "--type", "oneshot", "--", "/bin/sh", "-c", "exit 3",
    ]);
    let out = sup.run(&["start", "broken"]);
    assert_ne!(crate::support::code(&out), 0);
    assert!(crate::support::stderr(&out).contains("exit code 3"));
}

// --- postgres, as user postgres: `postgres -D` speaks sd_notify, `pg_ctl start` forks. ---

/// Debian's postgres server binaries (`/usr/lib/postgresql/VERSION/bin`), if installed.
fn postgres_bin() -> Option<PathBuf> {
    fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .find(|bin| bin.join("postgres").exists())
}

/// A cluster made by initdb as user postgres in a directory of postgres's own: the directory
/// (for its sockets too), the data directory, and a free port.
fn postgres_cluster(bin: &Path, name: &str) -> (crate::support::TempDir, PathBuf, u16) {
    let dir = crate::support::TempDir::new(name);
    let postgres = nix::unistd::User::from_name("postgres")
        .unwrap()
        .expect("the postgres package makes the user");
    nix::unistd::chown(&dir.join(""), Some(postgres.uid), Some(postgres.gid)).unwrap();
    let data = dir.join("data");
    let initdb = std::process::Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args(["-A", "trust", "-U", "postgres", "--no-sync"])
        .output()
        .unwrap();
    assert!(initdb.status.success(), "initdb: {initdb:?}");
    (dir, data, free_port())
}

/// What a postgres test needs: Debian's server binaries, a cluster of user postgres (its
/// directory, data directory and port) and a supervisor of its own; None where the test
/// cannot run (it fails instead in CI).
fn postgres_test(
    test: &str,
    name: &str,
) -> Option<(PathBuf, crate::support::TempDir, PathBuf, u16, Sup)> {
    let Some(bin) = postgres_bin() else {
        require_program(test, "/usr/lib/postgresql/15/bin/postgres");
        return None;
    };
    if !require_root(test) {
        return None;
    }
    let (cluster, data, port) = postgres_cluster(&bin, name);
    Some((bin, cluster, data, port, Sup::new(name)))
}

/// One query through psql over TCP: its output, or None if the server did not answer.
fn psql(port: u16, sql: &str) -> Option<String> {
    let output = std::process::Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-Atc", sql, "-p"])
        .arg(port.to_string())
        .env("PGCONNECT_TIMEOUT", "5")
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// postgres's server options: its port, its sockets in `dir`, TCP on 127.0.0.1 only.
fn postgres_options(dir: &Path, port: u16) -> String {
    format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1",
        dir.display()
    )
}

#[test]
fn postgres_as_a_notify_service_of_user_postgres() {
    let Some((bin, cluster, data, port, sup)) =
        postgres_test("postgres_as_a_notify_service_of_user_postgres", "pg-notify")
    else {
        return;
    };
    let mut command = vec![
        bin.join("postgres").display().to_string(),
        "-D".into(),
        data.display().to_string(),
    ];
    command.extend(
        postgres_options(&cluster.join(""), port)
            .split(' ')
            .map(str::to_owned),
    );
    sup.install_restarted("pg", &["--type", "notify", "--user", "postgres"], &command);
    sup.ok(&["start", "pg"]);
    // Ready means serving: the first query is answered, without a retry.
    assert_eq!(psql(port, "select 1").as_deref(), Some("1"));
    let status = sup.status("pg");
    let main = status["pid"].as_i64().unwrap() as i32;
    assert_eq!(pid_in(&data.join("postmaster.pid")), Some(main));
    let postgres_uid = nix::unistd::User::from_name("postgres")
        .unwrap()
        .unwrap()
        .uid
        .to_string();
    let uid = crate::support::proc_status(main)["Uid"].clone();
    assert_eq!(uid.split_whitespace().next(), Some(postgres_uid.as_str()));

    // Reloaded its own way (SIGHUP), as its log says.
    sup.ok(&["reload", "pg"]);
    assert!(eventually(Duration::from_secs(10), || {
        sup.log("pg.stderr")
            .contains("received SIGHUP, reloading configuration files")
    }));

    // A busy client's backend must not outlive a SIGKILLed postmaster: it held the shared
    // memory, and every restart failed ("pre-existing shared memory block is still in use").
    let mut client = std::process::Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-c",
            "select pg_sleep(1000.81)",
            "-p",
        ])
        .arg(port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(eventually(Duration::from_secs(10), || {
        psql(port, "select count(*) from pg_stat_activity where query like '%1000.81%' and pid <> pg_backend_pid()").as_deref() == Some("1")
    }));
    let old = cgroup_pids(&sup.status("pg"));
    restarted_after_sigkill(&sup, "pg", main);
    assert!(
        old.iter().all(|pid| is_gone(*pid)),
        "processes of the killed postmaster (its busy backend) live on: {old:?}"
    );
    assert!(
        eventually(Duration::from_secs(10), || psql(port, "select 2")
            .as_deref()
            == Some("2")),
        "the restarted postgres does not serve: {}",
        sup.log("pg.stderr")
    );
    let _ = client.kill();
    let _ = client.wait();

    let running = cgroup_pids(&sup.status("pg"));
    sup.ok(&["stop", "pg"]);
    assert!(running.iter().all(|pid| is_gone(*pid)), "{running:?}");
    assert!(!listening(port));
    sup.ok(&["uninstall", "pg"]);
}

#[test]
fn postgres_started_by_pg_ctl_is_a_forking_service() {
    let Some((bin, cluster, data, port, sup)) =
        postgres_test("postgres_started_by_pg_ctl_is_a_forking_service", "pg-ctl")
    else {
        return;
    };
    let pid_file = data.join("postmaster.pid");
    let pid_arg = pid_file.display().to_string();
    let command = [
        bin.join("pg_ctl").display().to_string(),
        "start".into(),
        "-w".into(),
        "-s".into(),
        "-D".into(),
        data.display().to_string(),
        "-o".into(),
        postgres_options(&cluster.join(""), port),
    ];
    let reload = format!(
        "{} reload -s -D {}",
        bin.join("pg_ctl").display(),
        data.display()
    );
    sup.install_restarted(
        "pg",
        &[
            "--type",
            "forking",
            "--pid-file",
            &pid_arg,
            "--user",
            "postgres",
            "--reload-command",
            &reload,
        ],
        &command,
    );
    // Reloaded its own way: `pg_ctl reload` (SIGHUP to the postmaster pg_ctl left running).
    sup.ok(&["start", "pg"]);
    assert_eq!(
        psql(port, "select 1").as_deref(),
        Some("1"),
        "not serving once start returned"
    );
    assert_eq!(
        sup.status("pg")["pid"].as_i64().map(|pid| pid as i32),
        pid_in(&pid_file)
    );
    sup.ok(&["reload", "pg"]);
    assert!(eventually(Duration::from_secs(10), || {
        sup.log("pg.stdout")
            .contains("received SIGHUP, reloading configuration files")
    }));
    sup.ok(&["stop", "pg"]);
    lives_its_life(&sup, "pg", port, Some(&pid_file));
}

// --- sshd: -D speaks sd_notify (Debian links it with libsystemd); without -D it forks. ---

/// A host key, a client key authorized for root, and sshd's options for `port`.
pub(crate) fn sshd_setup(dir: &Path, port: u16) -> Vec<String> {
    for key in ["host_key", "client_key"] {
        let keygen = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(dir.join(key))
            .output()
            .unwrap();
        assert!(keygen.status.success(), "{keygen:?}");
    }
    fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
    fs::create_dir_all("/run/sshd").unwrap();
    [
        "-f".to_owned(),
        "/dev/null".to_owned(),
        "-h".to_owned(),
        dir.join("host_key").display().to_string(),
        "-o".to_owned(),
        format!("ListenAddress=127.0.0.1:{port}"),
        "-o".to_owned(),
        "PermitRootLogin=yes".to_owned(),
        "-o".to_owned(),
        format!(
            "AuthorizedKeysFile={}",
            dir.join("authorized_keys").display()
        ),
        "-o".to_owned(),
        "StrictModes=no".to_owned(),
    ]
    .into()
}

/// `ssh` as root to 127.0.0.1:`port` with the client key of `sshd_setup(dir, …)`, running
/// `command`, trusting any host key.
pub(crate) fn ssh(dir: &Path, port: u16, command: &str) -> std::process::Command {
    let mut ssh = std::process::Command::new("ssh");
    ssh.arg("-i").arg(dir.join("client_key")).args([
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-p",
        &port.to_string(),
        "root@127.0.0.1",
        command,
    ]);
    ssh
}

/// What an sshd test needs: the sshd lock (see `support::sshd_alone`), a supervisor of its
/// own and a free port; None where it cannot run (it fails instead in CI).
pub(crate) fn sshd_test(
    test: &str,
    name: &str,
) -> Option<(std::sync::MutexGuard<'static, ()>, Sup, u16)> {
    if !require_root(test) || !require_program(test, "/usr/sbin/sshd") {
        return None;
    }
    Some((crate::support::sshd_alone(), Sup::new(name), free_port()))
}

#[test]
fn sshd_in_the_foreground_is_a_notify_service_whose_sessions_end_with_it() {
    let Some((_sshd, sup, port)) = sshd_test(
        "sshd_in_the_foreground_is_a_notify_service_whose_sessions_end_with_it",
        "sshd-notify",
    ) else {
        return;
    };
    let options = sshd_setup(&sup.dir.join(""), port);
    let command: Vec<String> = ["/usr/sbin/sshd", "-D", "-o", "PidFile=none"]
        .into_iter()
        .map(str::to_owned)
        .chain(options)
        .collect();
    // As Debian's unit runs it, with the limits an operator gives it.
    sup.install_restarted(
        "sshd",
        &[
            "--type",
            "notify",
            "--limit",
            "nofile=4096:8192",
            "--oom-score-adjust",
            "100",
        ],
        &command,
    );
    sup.ok(&["start", "sshd"]);
    assert!(answers(port), "serving once start returned");
    let main = sup.status("sshd")["pid"].as_i64().unwrap();
    let limits = fs::read_to_string(format!("/proc/{main}/limits")).unwrap();
    assert!(
        limits.lines().any(|line| line.starts_with("Max open files")
            && line.contains(" 4096 ")
            && line.contains(" 8192 ")),
        "{limits}"
    );
    assert_eq!(
        fs::read_to_string(format!("/proc/{main}/oom_score_adj")).unwrap(),
        "100\n"
    );
    // A session: sshd forks it a process that calls setsid, and a command under it.
    let mut client = ssh(&sup.dir.join(""), port, "sleep 1000.82")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The session's command (not the client, whose arguments name it too).
    let session = || -> Vec<i32> {
        crate::support::processes_with("1000.82")
            .into_iter()
            .filter(|pid| {
                fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm == "sleep\n")
            })
            .collect()
    };
    assert!(
        eventually(Duration::from_secs(10), || !session().is_empty()),
        "the ssh session did not start"
    );
    let session = session();
    let in_service = cgroup_pids(&sup.status("sshd"));
    assert!(
        session.iter().all(|pid| in_service.contains(pid)),
        "the session is part of the service"
    );
    // Reloaded its own way: SIGHUP makes sshd exec itself again, with the same pid.
    let main = sup.status("sshd")["pid"].as_i64().unwrap();
    sup.ok(&["reload", "sshd"]);
    assert!(eventually(Duration::from_secs(10), || answers(port)));
    assert_eq!(sup.status("sshd")["pid"], main);
    // Stopped: the session (which called setsid) ends with it.
    sup.ok(&["stop", "sshd"]);
    assert!(
        session.iter().all(|pid| is_gone(*pid)),
        "an ssh session outlived stop"
    );
    let _ = client.kill();
    let _ = client.wait();
    lives_its_life(&sup, "sshd", port, None);
}

#[test]
fn sshd_that_forks_itself_is_a_forking_service() {
    let Some((_sshd, sup, port)) = sshd_test(
        "sshd_that_forks_itself_is_a_forking_service",
        "sshd-forking",
    ) else {
        return;
    };
    let options = sshd_setup(&sup.dir.join(""), port);
    let pid_file = sup.dir.join("sshd.pid");
    let pid_arg = pid_file.display().to_string();
    let pid_option = format!("PidFile={pid_arg}");
    let command: Vec<String> = ["/usr/sbin/sshd", "-o", &pid_option]
        .into_iter()
        .map(str::to_owned)
        .chain(options)
        .collect();
    sup.install_restarted(
        "sshd",
        &["--type", "forking", "--pid-file", &pid_arg],
        &command,
    );
    lives_its_life(&sup, "sshd", port, Some(&pid_file));
}

// --- Debian's units ported to svckit definitions (examples/): they run as written. ---

/// The text of `examples/NAME.toml`.
fn example(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../examples/{name}.toml"));
    fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// `text` with each `from` replaced by its `to`, every one of which must be there.
fn edited(text: &str, edits: &[(&str, &str)]) -> String {
    edits.iter().fold(text.to_owned(), |text, (from, to)| {
        assert!(text.contains(from), "the example no longer says {from:?}");
        text.replace(from, to)
    })
}

#[test]
fn debian_s_ssh_service_ported_runs_as_written() {
    let Some((_sshd, sup, port)) =
        sshd_test("debian_s_ssh_service_ported_runs_as_written", "example-ssh")
    else {
        return;
    };
    // The definition as written, pointed at a test's host key and port instead of
    // /etc/ssh (the stock sshd_config would take port 22).
    let options = sshd_setup(&sup.dir.join(""), port);
    let words = options
        .iter()
        .map(|word| format!("{word:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let shell_words = options.join(" ");
    let definition = edited(
        &example("ssh"),
        &[
            ("args = [\"-D\"]", &format!("args = [\"-D\", {words}]")),
            (
                "[\"/usr/sbin/sshd\", \"-t\"]",
                &format!("[\"/usr/sbin/sshd\", \"-t\", {words}]"),
            ),
            (
                "/usr/sbin/sshd -t &&",
                &format!("/usr/sbin/sshd -t {shell_words} &&"),
            ),
            ("start = \"auto\"", "start = \"demand\""),
        ],
    );
    let file = sup.dir.join("ssh.toml");
    fs::write(&file, definition).unwrap();
    let _ = fs::remove_dir_all("/run/sshd");
    sup.ok(&["install", "--file", &file.display().to_string()]);
    sup.ok(&["start", "ssh"]);
    assert!(answers(port), "serving once start returned");
    use std::os::unix::fs::PermissionsExt;
    let run = fs::metadata("/run/sshd").expect("its runtime directory");
    assert_eq!(run.permissions().mode() & 0o7777, 0o755);
    // Reloaded as Debian does it: sshd -t, then HUP to $MAINPID; the same pid.
    let main = sup.status("ssh")["pid"].clone();
    sup.ok(&["reload", "ssh"]);
    assert!(eventually(Duration::from_secs(10), || answers(port)));
    assert_eq!(sup.status("ssh")["pid"], main);
    assert!(
        sup.ok(&["events", "ssh"]).contains("reloaded"),
        "{}",
        sup.ok(&["events", "ssh"])
    );
    sup.ok(&["stop", "ssh"]);
    assert!(!listening(port));
    assert!(
        !Path::new("/run/sshd").exists(),
        "its runtime directory stays"
    );
    // A configuration sshd -t rejects fails the start, and nothing runs.
    let broken = sup.dir.join("broken_config");
    fs::write(&broken, "NoSuchOption yes\n").unwrap();
    let definition = edited(
        &fs::read_to_string(&file).unwrap(),
        &[(
            "\"-t\", \"-f\", \"/dev/null\"",
            &format!("\"-t\", \"-f\", {:?}", broken.display().to_string()),
        )],
    );
    fs::write(&file, definition).unwrap();
    sup.ok(&["install", "--force", "--file", &file.display().to_string()]);
    let out = sup.run(&["start", "ssh"]);
    assert_eq!(
        crate::support::code(&out),
        1,
        "{}",
        crate::support::stderr(&out)
    );
    assert!(
        crate::support::stderr(&out).contains("exec_start_pre `/usr/sbin/sshd -t"),
        "{}",
        crate::support::stderr(&out)
    );
    assert!(!listening(port));
    fs::create_dir_all("/run/sshd").unwrap();
}

#[test]
fn debian_s_nginx_service_ported_runs_as_written() {
    let test = "debian_s_nginx_service_ported_runs_as_written";
    if !require_root(test) || !require_program(test, "/usr/sbin/nginx") {
        return;
    }
    let sup = Sup::new("example-nginx");
    let port = free_port();
    let (conf, pid_file) = nginx_config(&sup.dir.join("nginx"), port);
    // As written, pointed at a test's configuration and pid file instead of /etc/nginx
    // (whose default site takes port 80).
    let conf = conf.display().to_string();
    let definition = edited(
        &example("nginx"),
        &[
            (
                "args = [\"-g\"",
                &format!("args = [\"-c\", {conf:?}, \"-g\""),
            ),
            (
                "[\"/usr/sbin/nginx\", \"-t\"",
                &format!("[\"/usr/sbin/nginx\", \"-c\", {conf:?}, \"-t\""),
            ),
            (
                "command = [\"/usr/sbin/nginx\",",
                &format!("command = [\"/usr/sbin/nginx\", \"-c\", {conf:?},"),
            ),
            ("/run/nginx.pid", &pid_file.display().to_string()),
            ("start = \"auto\"", "start = \"demand\""),
        ],
    );
    let file = sup.dir.join("nginx.toml");
    fs::write(&file, definition).unwrap();
    sup.ok(&["install", "--file", &file.display().to_string()]);
    nginx_reloads(&sup, port);
    // Started again, stopped its way: QUIT (graceful), and nothing of it is left.
    sup.ok(&["start", "nginx"]);
    assert!(answers(port));
    let status = sup.status("nginx");
    let running = cgroup_pids(&status);
    assert_eq!(
        status["pid"].as_i64().map(|pid| pid as i32),
        pid_in(&pid_file)
    );
    sup.ok(&["stop", "nginx"]);
    assert!(running.iter().all(|pid| is_gone(*pid)), "{running:?}");
    assert!(
        sup.ok(&["events", "nginx"])
            .contains("stopping (asked to): SIGQUIT")
    );
    assert!(!listening(port));
}

/// Regression: a forking service's launcher exit (0) was taken for the service's last exit:
/// running, its status said "last exit: exit code 0"; killed by SIGKILL while adopted by a
/// restarted supervisor, it said so still. The last exit is its daemon's alone.
#[test]
fn regression_a_forking_service_s_last_exit_is_its_daemon_s_not_its_launcher_s() {
    let test = "regression_a_forking_service_s_last_exit_is_its_daemon_s_not_its_launcher_s";
    if !require_root(test) || !require_program(test, "/usr/bin/memcached") {
        return;
    }
    let sup = Sup::new("fork-last-exit");
    let port = free_port();
    let mut memcached = crate::support::memcached_command(port);
    memcached.insert(0, "--".into());
    let mut args = vec![
        "install",
        "memcached",
        "--type",
        "forking",
        "--restart",
        "never",
    ];
    args.extend(memcached.iter().map(String::as_str));
    sup.ok(&args);
    sup.ok(&["start", "memcached"]);
    let status = sup.status("memcached");
    assert_eq!(status["last_exit"], Value::Null, "{status}");
    let daemon = status["pid"].as_i64().unwrap() as i32;
    kill(Pid::from_raw(daemon), Signal::SIGKILL).unwrap();
    assert!(eventually(Duration::from_secs(5), || sup
        .status("memcached")["state"]
        == "exited"));
    let status = sup.status("memcached");
    assert_eq!(
        status["last_exit_words"], "killed by SIGKILL (the OOM killer, or a stop that timed out)",
        "{status}"
    );
}

/// Regression: nginx (a forking master and its workers) under `kill_mode = mixed`, its
/// master killed by SIGKILL: the stop signal went to the dead master alone, the workers were
/// waited for the whole stop timeout and then the log said "still running 10s after
/// SIGTERM", though no TERM reached them. What is left is killed at once, and said so.
#[test]
fn regression_mixed_kill_mode_with_its_master_gone_kills_the_workers_at_once() {
    let test = "regression_mixed_kill_mode_with_its_master_gone_kills_the_workers_at_once";
    if !require_root(test) || !require_program(test, "/usr/sbin/nginx") {
        return;
    }
    let sup = Sup::new("nginx-mixed");
    let port = free_port();
    let (conf, pid_file) = nginx_config(&sup.dir.join("nginx"), port);
    let pid_arg = pid_file.display().to_string();
    let conf = conf.display().to_string();
    sup.ok(&[
        "install",
        "nginx",
        "--type",
        "forking",
        "--pid-file",
        &pid_arg,
        "--kill-mode",
        "mixed",
        "--restart",
        "never",
        "--",
        "/usr/sbin/nginx",
        "-c",
        &conf,
    ]);
    sup.ok(&["start", "nginx"]);
    let master = sup.status("nginx")["pid"].as_i64().unwrap() as i32;
    let workers: Vec<i32> = nginx_processes(master).into_iter().skip(1).collect();
    assert!(!workers.is_empty());
    kill(Pid::from_raw(master), Signal::SIGKILL).unwrap();
    // Well inside the 10 s stop timeout.
    assert!(
        eventually(Duration::from_secs(5), || {
            workers.iter().all(|pid| crate::support::is_gone(*pid))
        }),
        "the workers were left to the stop timeout"
    );
    assert!(eventually(
        Duration::from_secs(5),
        || sup.status("nginx")["state"] == "exited"
    ));
    let events = sup.ok(&["events", "nginx"]);
    assert!(events.contains("SIGKILL to what is left"), "{events}");
    assert!(!events.contains("still running"), "{events}");
}

/// Regression: where clone3(2) is refused (a kernel before 5.3, or a container's seccomp
/// profile answering ENOSYS so that glibc falls back), the forker started every service with
/// clone3 alone and every start failed: "spawn: Function not implemented". It falls back to
/// clone(2), as glibc does; memcached, started under a supervisor that runs under such a
/// filter, lives its whole life.
#[test]
fn regression_services_start_where_clone3_is_refused() {
    let test = "regression_services_start_where_clone3_is_refused";
    if !require_root(test) || !require_program(test, "/usr/bin/memcached") {
        return;
    }
    let sup = Sup::new("no-clone3");
    let mut supervise = sup.command(&["supervise", "--daemon"]);
    crate::support::without_clone3(&mut supervise);
    let output = supervise.output().unwrap();
    assert_eq!(
        crate::support::code(&output),
        0,
        "{}",
        crate::support::stderr(&output)
    );
    let port = free_port();
    let memcached = crate::support::memcached_command(port);
    sup.install_restarted("memcached", &["--type", "forking"], &memcached);
    lives_its_life(&sup, "memcached", port, None);
}
