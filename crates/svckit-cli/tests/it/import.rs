//! `svckit import UNIT.service` against units nobody here wrote: every service unit Debian's
//! packages installed on this machine, and Debian's nginx unit run under the supervisor.

use std::{fs, path::Path, process::Command};

use crate::{
    daemons::{lives_its_life, nginx_config},
    supervise::Sup,
    support::{free_port, require_program, require_root},
};

const SVCKIT: &str = env!("CARGO_BIN_EXE_svckit");

/// Every `*.service` of /lib/systemd/system: a definition on stdout (exit 0, or 2 when some
/// directive is not honoured, each named on a line of its own), or one line saying why there
/// is none (exit 2). Nothing else is said, and --lenient turns a lossy import's 2 into 0. The
/// counts are printed: the corpus's numbers.
#[test]
fn every_debian_unit_is_imported_or_refused_and_every_directive_not_mapped_is_named() {
    let Ok(dir) = fs::read_dir("/lib/systemd/system") else {
        return;
    };
    let mut units: Vec<_> = dir
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "service"))
        .filter(|path| !path.is_symlink())
        .collect();
    units.sort();
    assert!(
        units.len() >= 20,
        "too few units to say anything: {units:?}"
    );
    let (mut clean, mut lossy, mut refused) = (0, 0, 0);
    for unit in &units {
        let out = Command::new(SVCKIT)
            .arg("import")
            .arg(unit)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        match (code, stdout.is_empty()) {
            (Some(0), false) => clean += 1,
            (Some(2), false) => {
                lossy += 1;
                assert!(stderr.contains(": not honoured: "), "{unit:?}: {stderr}");
                let lenient = Command::new(SVCKIT)
                    .args(["import", "--lenient"])
                    .arg(unit)
                    .output()
                    .unwrap();
                assert_eq!(lenient.status.code(), Some(0), "{unit:?}");
                assert_eq!(lenient.stdout, out.stdout, "{unit:?}");
            }
            (Some(2), true) => {
                refused += 1;
                assert_eq!(stderr.lines().count(), 1, "{unit:?}: {stderr}");
                assert!(stderr.starts_with("svckit: error: "), "{unit:?}: {stderr}");
            }
            _ => panic!("{unit:?}: exit {code:?}: {stderr}"),
        }
        if !stdout.is_empty() {
            assert!(stdout.starts_with("name = "), "{unit:?}: {stdout}");
            for line in stderr.lines() {
                assert!(
                    line.starts_with("svckit: import: ")
                        && (line.contains(": not honoured: ")
                            || line.contains(": informational: ")),
                    "{unit:?}: {line}"
                );
            }
        }
    }
    println!(
        "{} units: {clean} imported with nothing lost, {lossy} with directives not honoured \
         (each named), {refused} refused (nothing to run)",
        units.len()
    );
    // The daemons of the corpus .ci/run installs, and of the daemon tests: each one's unit
    // makes a definition.
    let daemons = [
        "apache2",
        "named",
        "mariadb",
        "unbound",
        "chrony",
        "rsyslog",
        "lighttpd",
        "vsftpd",
        "squid",
        "cups",
        "avahi-daemon",
        "dnsmasq",
        "nginx",
        "redis-server",
        "postgresql",
        "haproxy",
        "memcached",
        "ssh",
        "cron",
        "mosquitto",
        "tinyproxy",
        "privoxy",
        "nsd",
        "snmpd",
        "keepalived",
        "atd",
        "varnish",
    ];
    let mut made = Vec::new();
    for daemon in daemons {
        let unit = Path::new("/lib/systemd/system").join(format!("{daemon}.service"));
        if !unit.exists() {
            continue;
        }
        let out = Command::new(SVCKIT)
            .args(["import", "--lenient"])
            .arg(&unit)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{daemon}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with("name = "),
            "{daemon}"
        );
        made.push(daemon);
    }
    println!("daemons whose unit makes a definition: {made:?}");
    if std::env::var_os("CI").is_some() {
        assert!(
            made.len() >= 25,
            "the corpus .ci/run installs is missing: {made:?}"
        );
    }
}

/// Debian's nginx unit, with a drop-in beside it (as an operator's `nginx.service.d/*.conf`)
/// that points it at a test configuration and restarts it on failure: imported with nothing
/// lost, installed by `import --install` as it prints it, and it lives its whole life under the
/// supervisor (serves, is restarted after SIGKILL with nothing of the old instance left, stops
/// leaving nothing).
#[test]
fn debian_s_nginx_unit_with_a_drop_in_imports_cleanly_and_lives_its_life() {
    let test = "debian_s_nginx_unit_with_a_drop_in_imports_cleanly_and_lives_its_life";
    let debian = Path::new("/lib/systemd/system/nginx.service");
    if !require_root(test) || !require_program(test, "/usr/sbin/nginx") || !debian.exists() {
        return;
    }
    let sup = Sup::new("import-nginx");
    let port = free_port();
    let (conf, pid_file) = nginx_config(&sup.dir.join("nginx"), port);
    let conf = conf.display();
    let unit = unit_with_dropin(
        &sup,
        "nginx.service",
        &format!(
            "[Service]\nPIDFile={}\nExecStartPre=\nExecStartPre=/usr/sbin/nginx -t -q -c {conf}\n\
             ExecStart=\nExecStart=/usr/sbin/nginx -c {conf}\nExecReload=\n\
             ExecReload=/usr/sbin/nginx -c {conf} -s reload\nExecStop=\nRestart=on-failure\n",
            pid_file.display()
        ),
    );
    let out = Command::new(SVCKIT)
        .args(["import", "--as", "web", &unit])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(!said.contains("not honoured"), "{said}");
    // Installed by import itself: the definition it prints.
    let installed = sup.ok(&["import", "--install", "--as", "web", &unit]);
    assert!(installed.starts_with("web: installed"), "{installed}");
    let shown = sup.ok(&["show", "web"]);
    let printed = String::from_utf8_lossy(&out.stdout);
    for line in [
        "program = \"/usr/sbin/nginx\"",
        "type = \"forking\"",
        "kill_mode = \"mixed\"",
    ] {
        assert!(
            shown.contains(line) && printed.contains(line),
            "{line}: {shown}"
        );
    }
    // WantedBy=multi-user.target: start = auto (installed as `svckit install` installs:
    // started at boot, or by `svckit start`).
    let status = sup.status("web");
    assert_eq!(status["start"], "auto", "{status}");
    // A real request, answered by the page the test configuration serves.
    serves_page(&sup, "web", port, "hi\n");
    lives_its_life(&sup, "web", port, Some(&pid_file));
}

/// A unit with a directive svckit does not honour: `--install` installs nothing (exit 2, the
/// directive named), unless `--lenient`.
#[test]
fn import_install_of_a_lossy_unit_installs_nothing_unless_lenient() {
    let sup = Sup::new("import-lossy");
    let unit = sup.dir.join("lossy.service");
    fs::write(
        &unit,
        "[Unit]\nConflicts=other.service\n[Service]\nExecStart=/bin/sleep 3031\n",
    )
    .unwrap();
    let unit = unit.display().to_string();
    let out = sup.run(&["import", "--install", &unit]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("Unit.Conflicts=other.service: not honoured"),
        "{said}"
    );
    assert!(said.contains("not installed"), "{said}");
    assert!(!sup.ok(&["list"]).contains("lossy"));
    let installed = sup.ok(&["import", "--install", "--lenient", &unit]);
    assert!(installed.starts_with("lossy: installed"), "{installed}");
    assert!(sup.ok(&["list"]).contains("lossy"));
    sup.ok(&["uninstall", "lossy"]);
}

/// `GET /` over HTTP/1.0 on 127.0.0.1:`port`: the whole response, or nothing.
pub(crate) fn http_get(port: u16) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    if stream.write_all(b"GET / HTTP/1.0\r\n\r\n").is_err() {
        return String::new();
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

/// Debian's lighttpd unit (Type=simple, a config check before the start, `kill -USR1
/// $MAINPID` to reload) with a drop-in pointing it at a test configuration: imported with
/// nothing lost (its PIDFile= told as informational), installed, it answers a real HTTP
/// request with the page it serves, then lives its whole life under the supervisor.
#[test]
fn debian_s_lighttpd_unit_imports_cleanly_and_answers_a_real_request() {
    let test = "debian_s_lighttpd_unit_imports_cleanly_and_answers_a_real_request";
    let debian = Path::new("/lib/systemd/system/lighttpd.service");
    if !require_root(test) || !require_program(test, "/usr/sbin/lighttpd") || !debian.exists() {
        return;
    }
    let sup = Sup::new("import-lighttpd");
    let port = free_port();
    let dir = sup.dir.join("lighttpd");
    fs::create_dir_all(dir.join("www")).unwrap();
    fs::write(dir.join("www/index.html"), "imported from a unit\n").unwrap();
    let conf = dir.join("lighttpd.conf");
    fs::write(
        &conf,
        format!(
            "server.document-root = \"{d}/www\"\nserver.port = {port}\n\
             server.bind = \"127.0.0.1\"\nserver.errorlog = \"{d}/error.log\"\n\
             index-file.names = ( \"index.html\" )\n",
            d = dir.display()
        ),
    )
    .unwrap();
    let conf = conf.display();
    let unit = unit_with_dropin(
        &sup,
        "lighttpd.service",
        &format!(
            "[Service]\nExecStartPre=\nExecStartPre=/usr/sbin/lighttpd -tt -f {conf}\n\
             ExecStart=\nExecStart=/usr/sbin/lighttpd -D -f {conf}\n"
        ),
    );
    let out = sup.run(&["import", "--install", "--as", "lighttpd-web", &unit]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("Service.PIDFile=/run/lighttpd.pid: informational"),
        "{said}"
    );
    let shown = sup.ok(&["show", "lighttpd-web"]);
    assert!(
        shown.contains("signal = \"USR1\""),
        "the reload signal: {shown}"
    );
    serves_page(&sup, "lighttpd-web", port, "imported from a unit\n");
    lives_its_life(&sup, "lighttpd-web", port, None);
}

/// A copy of Debian's unit `file_name` (from /lib/systemd/system) in a directory of `sup`'s,
/// with `dropin` as its `FILE_NAME.d/test.conf`, as an operator overrides a unit: the copy's
/// path.
pub(crate) fn unit_with_dropin(sup: &Sup, file_name: &str, dropin: &str) -> String {
    let units = sup.dir.join("units");
    fs::create_dir_all(units.join(format!("{file_name}.d"))).unwrap();
    fs::copy(
        Path::new("/lib/systemd/system").join(file_name),
        units.join(file_name),
    )
    .unwrap();
    fs::write(units.join(format!("{file_name}.d/test.conf")), dropin).unwrap();
    units.join(file_name).display().to_string()
}

/// Starts `name`, waits until a GET on `port` is answered with `page`, and stops it.
fn serves_page(sup: &Sup, name: &str, port: u16, page: &str) {
    sup.ok(&["start", name]);
    assert!(
        crate::support::eventually(std::time::Duration::from_secs(10), || {
            http_get(port).ends_with(page)
        }),
        "{name} does not answer {page:?} on {port}: {}",
        http_get(port)
    );
    sup.ok(&["stop", name]);
}

/// Debian's redis unit: Type=notify (sd_notify), its own user and runtime directory, and 30
/// sandboxing directives svckit does not do yet. Imported with --lenient (each of them named)
/// and a drop-in pointing it at a port of the test's, it answers a real PING and lives its
/// whole life under the supervisor. Its `TimeoutStopSec=0` (no timeout, for systemd) keeps
/// svckit's stop timeout rather than a SIGKILL at once.
#[test]
fn debian_s_redis_unit_imports_leniently_and_answers_a_real_ping() {
    let test = "debian_s_redis_unit_imports_leniently_and_answers_a_real_ping";
    if !require_root(test)
        || !require_program(test, "/usr/bin/redis-server")
        || !require_program(test, "/usr/bin/redis-cli")
        || !Path::new("/lib/systemd/system/redis-server.service").exists()
    {
        return;
    }
    let sup = Sup::new("import-redis");
    let port = free_port();
    let unit = unit_with_dropin(
        &sup,
        "redis-server.service",
        &format!(
            "[Service]\nExecStart=\nExecStart=/usr/bin/redis-server --port {port} \
             --bind 127.0.0.1 --save \"\" --appendonly no --dir /tmp \
             --supervised systemd --daemonize no\nLimitNOFILE=4096\n"
        ),
    );
    let out = sup.run(&["import", "--install", "--lenient", "--as", "cache", &unit]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("Service.PrivateTmp=true: not honoured"),
        "{said}"
    );
    assert!(
        said.contains("Service.TimeoutStopSec=0: not honoured"),
        "{said}"
    );
    let shown = sup.ok(&["show", "cache"]);
    assert!(shown.contains("type = \"notify\""), "{shown}");
    assert!(shown.contains("user = \"redis\""), "{shown}");
    sup.ok(&["start", "cache"]);
    let ping = || {
        Command::new("/usr/bin/redis-cli")
            .args(["-p", &port.to_string(), "ping"])
            .output()
            .is_ok_and(|out| out.stdout == b"PONG\n")
    };
    assert!(
        ping(),
        "redis does not answer PING once started (notify: ready)"
    );
    sup.ok(&["stop", "cache"]);
    lives_its_life(&sup, "cache", port, None);
}
