//! Debian's own units of daemons nobody here wrote, imported with `svckit import --install`
//! and run under the supervisor: each answers a real client request, is restarted after
//! SIGKILL with nothing of the old instance left, and stops leaving nothing. An operator's
//! drop-in (as `UNIT.service.d/*.conf`) points each at a configuration of the test's; the
//! rest is the unit as Debian ships it: its `$VAR`s expanded at each start from its
//! environment files, its command prefixes, its post-stop commands and its directories.

use std::{
    fs,
    io::{Read, Write},
    net::{TcpStream, UdpSocket},
    os::unix::fs::PermissionsExt,
    path::Path,
    time::Duration,
};

use crate::{
    daemons::lives_its_life_serving,
    import::{http_get, unit_with_dropin},
    supervise::Sup,
    support::{free_port, listening, require_program, require_root},
};

/// Whether `test` can run here: root, the unit, and the daemon's program (CI has them all).
fn can_run(test: &str, unit: &str, program: &str) -> bool {
    require_root(test)
        && require_program(test, program)
        && require_program(test, &format!("/lib/systemd/system/{unit}"))
}

/// A directory of the test's that the daemon's own user can read.
fn shared_dir(sup: &Sup, name: &str) -> std::path::PathBuf {
    let dir = sup.dir.join(name);
    fs::create_dir_all(&dir).unwrap();
    for path in [sup.dir.join(""), dir.clone()] {
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// Imports `unit` (with its drop-in) as `name`, installs it, and returns what import said.
/// `lenient`: its sandboxing (or another directive svckit does not do) is named, not fatal.
fn import(sup: &Sup, name: &str, unit: &str, lenient: bool) -> String {
    let mut args = vec!["import", "--install", "--as", name];
    if lenient {
        args.push("--lenient");
    }
    args.push(unit);
    let out = sup.run(&args);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{said}");
    if !lenient {
        assert!(!said.contains("not honoured"), "{said}");
    }
    said
}

/// The IPv4 address `name` has, as the DNS server on 127.0.0.1:`port` answers a query over
/// UDP, if it answers.
fn resolves(port: u16, name: &str, address: [u8; 4]) -> bool {
    let Ok(socket) = UdpSocket::bind("127.0.0.1:0") else {
        return false;
    };
    let _ = socket.set_read_timeout(Some(Duration::from_millis(500)));
    // A query (id 0x5ec7, recursion desired) for `name`, type A, class IN.
    let mut query = vec![0x5e, 0xc7, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.').filter(|label| !label.is_empty()) {
        query.push(label.len() as u8);
        query.extend(label.as_bytes());
    }
    query.extend([0, 0, 1, 0, 1]);
    if socket.send_to(&query, ("127.0.0.1", port)).is_err() {
        return false;
    }
    let mut reply = [0u8; 1500];
    let Ok(n) = socket.recv(&mut reply) else {
        return false;
    };
    let reply = &reply[..n];
    // Our id, a response, no error, an answer, and the address in it (after the question).
    n > query.len()
        && reply[..2] == query[..2]
        && reply[2] & 0x80 != 0
        && reply[3] & 0x0f == 0
        && u16::from_be_bytes([reply[6], reply[7]]) > 0
        && reply[query.len()..].windows(4).any(|w| w == address)
}

/// Whether the NTP server on 127.0.0.1:`port` answers a client's request (mode 3) with a
/// server's reply (mode 4) carrying our transmit time back as its origin time.
fn ntp_answers(port: u16) -> bool {
    let Ok(socket) = UdpSocket::bind("127.0.0.1:0") else {
        return false;
    };
    let _ = socket.set_read_timeout(Some(Duration::from_millis(500)));
    let mut request = [0u8; 48];
    request[0] = 0x23; // no leap warning, version 4, client
    request[40..48].copy_from_slice(&0x5ec7_1d00_0000_0001u64.to_be_bytes());
    if socket.send_to(&request, ("127.0.0.1", port)).is_err() {
        return false;
    }
    let mut reply = [0u8; 128];
    match socket.recv(&mut reply) {
        Ok(n) => n >= 48 && reply[0] & 0x07 == 4 && reply[24..32] == request[40..48],
        Err(_) => false,
    }
}

/// The first line a TCP server on 127.0.0.1:`port` sends unasked (an FTP or SSH banner).
fn banner(port: u16) -> String {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut line = Vec::new();
    let mut byte = [0u8];
    while line.len() < 256 && stream.read(&mut byte).is_ok_and(|n| n == 1) {
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    String::from_utf8_lossy(&line).into_owned()
}

/// memcached's answer to `version` on 127.0.0.1:`port`.
fn memcached_version(port: u16) -> String {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"version\r\n").is_err() {
        return String::new();
    }
    let mut answer = [0u8; 64];
    let n = stream.read(&mut answer).unwrap_or(0);
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

/// Debian's unbound unit: `$DAEMON_OPTS` from its environment file, two pre-start helpers
/// whose failure is ignored (`-`), a post-stop helper (`ExecStopPost=-`), a reload by `+kill
/// -HUP $MAINPID`, sd_notify. It imports with nothing lost and answers a real DNS query.
#[test]
fn debian_s_unbound_unit_imports_cleanly_and_answers_a_real_dns_query() {
    let test = "debian_s_unbound_unit_imports_cleanly_and_answers_a_real_dns_query";
    if !can_run(test, "unbound.service", "/usr/sbin/unbound") {
        return;
    }
    let sup = Sup::new("import-unbound");
    let dir = shared_dir(&sup, "unbound");
    let port = free_port();
    let d = dir.display();
    fs::write(
        dir.join("unbound.conf"),
        format!(
            "server:\n  interface: 127.0.0.1\n  port: {port}\n  do-ip6: no\n  \
             do-daemonize: no\n  chroot: \"\"\n  username: \"\"\n  directory: \"{d}\"\n  \
             pidfile: \"\"\n  use-syslog: no\n  access-control: 127.0.0.0/8 allow\n  \
             local-zone: \"svckit.test.\" static\n  \
             local-data: \"www.svckit.test. A 10.9.8.7\"\n\
             remote-control:\n  control-enable: no\n"
        ),
    )
    .unwrap();
    fs::write(
        dir.join("env"),
        format!("DAEMON_OPTS=\"-c {d}/unbound.conf\"\n"),
    )
    .unwrap();
    let unit = unit_with_dropin(
        &sup,
        "unbound.service",
        &format!("[Service]\nEnvironmentFile=\nEnvironmentFile={d}/env\n"),
    );
    import(&sup, "unbound", &unit, false);
    let shown = sup.ok(&["show", "unbound"]);
    for line in [
        "expand_env = true",
        "args = [\"-d\", \"-p\", \"$DAEMON_OPTS\"]",
        "exec_stop_post = [[\"-/usr/libexec/unbound-helper\", \"chroot_teardown\"]]",
    ] {
        assert!(shown.contains(line), "no {line:?} in\n{shown}");
    }
    let serves = || resolves(port, "www.svckit.test", [10, 9, 8, 7]);
    lives_its_life_serving(&sup, "unbound", &serves, None);
    assert!(!listening(port));
}

/// Debian's bind9 unit (named): `-f $OPTIONS` from /etc/default/named's format, `rndc stop`
/// to stop (it fails here, which a stop command may: the stop signal follows), sd_notify,
/// `Before=nss-lookup.target`. Authoritative for a zone of the test's, it answers a query.
#[test]
fn debian_s_named_unit_imports_cleanly_and_answers_for_its_zone() {
    let test = "debian_s_named_unit_imports_cleanly_and_answers_for_its_zone";
    if !can_run(test, "named.service", "/usr/sbin/named") {
        return;
    }
    let sup = Sup::new("import-named");
    let dir = shared_dir(&sup, "named");
    let port = free_port();
    let d = dir.display();
    fs::write(
        dir.join("named.conf"),
        format!(
            "options {{ directory \"{d}\"; listen-on port {port} {{ 127.0.0.1; }}; \
             listen-on-v6 {{ none; }}; pid-file none; recursion no; \
             allow-query {{ any; }}; }};\ncontrols {{ }};\n\
             zone \"svckit.test\" {{ type primary; file \"{d}/db.svckit\"; }};\n"
        ),
    )
    .unwrap();
    fs::write(
        dir.join("db.svckit"),
        "$TTL 60\n@ IN SOA ns root 1 60 60 60 60\n@ IN NS ns\nns IN A 127.0.0.1\n\
         www IN A 10.9.8.6\n",
    )
    .unwrap();
    for file in ["named.conf", "db.svckit"] {
        fs::set_permissions(dir.join(file), fs::Permissions::from_mode(0o644)).unwrap();
    }
    // named wants its directory its own (it writes there).
    let chown = std::process::Command::new("chown")
        .arg("bind")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(chown.success());
    fs::write(
        dir.join("env"),
        format!("OPTIONS=\"-u bind -c {d}/named.conf\"\n"),
    )
    .unwrap();
    let unit = unit_with_dropin(
        &sup,
        "named.service",
        &format!("[Service]\nEnvironmentFile=\nEnvironmentFile={d}/env\n"),
    );
    import(&sup, "named", &unit, false);
    let serves = || resolves(port, "www.svckit.test", [10, 9, 8, 6]);
    lives_its_life_serving(&sup, "named", &serves, None);
}

/// Debian's dnsmasq unit: a forking daemon started through Debian's helper script, which
/// reads `$DNSMASQ_OPTS` from its environment; a check before, a helper after, its PID file.
#[test]
fn debian_s_dnsmasq_unit_imports_cleanly_and_answers_a_real_dns_query() {
    let test = "debian_s_dnsmasq_unit_imports_cleanly_and_answers_a_real_dns_query";
    if !can_run(test, "dnsmasq.service", "/usr/sbin/dnsmasq") {
        return;
    }
    let sup = Sup::new("import-dnsmasq");
    let port = free_port();
    let unit = unit_with_dropin(
        &sup,
        "dnsmasq.service",
        &format!(
            "[Service]\nEnvironment=\"DNSMASQ_OPTS=--conf-file=/dev/null --port={port} \
             --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
             --address=/www.svckit.test/10.9.8.5\"\nRestart=on-failure\n"
        ),
    );
    import(&sup, "dnsmasq", &unit, false);
    let serves = || resolves(port, "www.svckit.test", [10, 9, 8, 5]);
    lives_its_life_serving(
        &sup,
        "dnsmasq",
        &serves,
        Some(Path::new("/run/dnsmasq/dnsmasq.pid")),
    );
}

/// Debian's chrony unit: `!/usr/sbin/chronyd $DAEMON_OPTS` (run as root though the unit's
/// user is _chrony: chronyd drops privileges itself), its state, logs and configuration
/// directories and a runtime directory of mode 0750 kept across restarts. Imported leniently
/// (its ConditionCapability= and Conflicts= named), it answers a real NTP request.
#[test]
fn debian_s_chrony_unit_imports_and_answers_a_real_ntp_request() {
    let test = "debian_s_chrony_unit_imports_and_answers_a_real_ntp_request";
    if !can_run(test, "chrony.service", "/usr/sbin/chronyd") {
        return;
    }
    let sup = Sup::new("import-chrony");
    let dir = shared_dir(&sup, "chrony");
    let port = free_port();
    let d = dir.display();
    fs::write(
        dir.join("chrony.conf"),
        format!(
            "port {port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\nlocal stratum 10\ncmdport 0\n"
        ),
    )
    .unwrap();
    fs::set_permissions(dir.join("chrony.conf"), fs::Permissions::from_mode(0o644)).unwrap();
    // -x: the test's chronyd leaves the machine's clock alone.
    fs::write(
        dir.join("env"),
        format!("DAEMON_OPTS=\"-F 1 -x -f {d}/chrony.conf\"\n"),
    )
    .unwrap();
    let unit = unit_with_dropin(
        &sup,
        "chrony.service",
        &format!("[Service]\nEnvironmentFile=\nEnvironmentFile={d}/env\nRestart=on-failure\n"),
    );
    let said = import(&sup, "chrony", &unit, true);
    assert!(said.contains("ConditionCapability"), "{said}");
    let shown = sup.ok(&["show", "chrony"]);
    for line in [
        "program = \"+/usr/sbin/chronyd\"",
        "state_directory = [\"chrony\"]",
        "runtime_directory_mode = \"0700\"",
        "runtime_directory_preserve = \"restart\"",
    ] {
        assert!(shown.contains(line), "no {line:?} in\n{shown}");
    }
    let serves = || ntp_answers(port);
    let runtime_was_there = Path::new("/run/chrony").exists();
    lives_its_life_serving(
        &sup,
        "chrony",
        &serves,
        Some(Path::new("/run/chrony/chronyd.pid")),
    );
    // Its state directory as the unit says: 0750 (its owner the package's, left alone).
    let state = fs::metadata("/var/lib/chrony").unwrap();
    assert_eq!(state.permissions().mode() & 0o7777, 0o750);
    // Kept across its restart (it ran again), removed once it stopped for good.
    if !runtime_was_there {
        assert!(!Path::new("/run/chrony").exists());
    }
}

/// Debian's haproxy unit: `-f $CONFIG -p $PIDFILE $EXTRAOPTS` from `Environment=`, master-
/// worker mode speaking sd_notify, exit 143 a success. It answers a real HTTP request.
#[test]
fn debian_s_haproxy_unit_imports_and_answers_a_real_request() {
    let test = "debian_s_haproxy_unit_imports_and_answers_a_real_request";
    if !can_run(test, "haproxy.service", "/usr/sbin/haproxy") {
        return;
    }
    let sup = Sup::new("import-haproxy");
    let dir = shared_dir(&sup, "haproxy");
    let port = free_port();
    let d = dir.display();
    fs::write(
        dir.join("haproxy.cfg"),
        format!(
            "defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  \
             timeout server 5s\nfrontend web\n  bind 127.0.0.1:{port}\n  \
             http-request return status 200 content-type text/plain string hi\n"
        ),
    )
    .unwrap();
    let unit = unit_with_dropin(
        &sup,
        "haproxy.service",
        &format!(
            "[Service]\nEnvironment=\"CONFIG={d}/haproxy.cfg\" \"PIDFILE={d}/haproxy.pid\" \
             \"EXTRAOPTS=-S {d}/master.sock\"\n"
        ),
    );
    let said = import(&sup, "haproxy", &unit, true);
    assert!(said.contains("BindReadOnlyPaths"), "{said}");
    let serves = || http_get(port).ends_with("hi");
    lives_its_life_serving(&sup, "haproxy", &serves, None);
}

/// Debian's ssh unit: `sshd -D $SSHD_OPTS`, a configuration check before, sd_notify, its
/// runtime directory /run/sshd. A real ssh session runs a command through it.
#[test]
fn debian_s_ssh_unit_imports_and_serves_a_real_session() {
    let test = "debian_s_ssh_unit_imports_and_serves_a_real_session";
    if !can_run(test, "ssh.service", "/usr/sbin/sshd") {
        return;
    }
    let Some((_sshd, sup, port)) = crate::daemons::sshd_test(test, "import-ssh") else {
        return;
    };
    let dir = sup.dir.join("");
    let options = crate::daemons::sshd_setup(&dir, port);
    // sshd's options, each a word: in a variable, as /etc/default/ssh gives them.
    fs::write(
        dir.join("env"),
        format!("SSHD_OPTS=\"{}\"\n", options.join(" ")),
    )
    .unwrap();
    let unit = unit_with_dropin(
        &sup,
        "ssh.service",
        &format!(
            "[Service]\nEnvironmentFile=\nEnvironmentFile={}env\n",
            dir.display()
        ),
    );
    import(&sup, "ssh", &unit, true);
    let serves = || {
        crate::daemons::ssh(&dir, port, "echo served")
            .output()
            .is_ok_and(|out| out.stdout == b"served\n")
    };
    lives_its_life_serving(&sup, "ssh", &serves, None);
}

/// Debian's memcached unit: Debian's wrapper script reads a configuration file and runs
/// memcached as its user. It answers a real `version`.
#[test]
fn debian_s_memcached_unit_imports_and_answers_a_real_request() {
    let test = "debian_s_memcached_unit_imports_and_answers_a_real_request";
    if !can_run(test, "memcached.service", "/usr/bin/memcached") {
        return;
    }
    let sup = Sup::new("import-memcached");
    let dir = shared_dir(&sup, "memcached");
    let port = free_port();
    fs::write(
        dir.join("memcached.conf"),
        format!("-m 16\n-p {port}\n-u memcache\n-l 127.0.0.1\n"),
    )
    .unwrap();
    let unit = unit_with_dropin(
        &sup,
        "memcached.service",
        &format!(
            "[Service]\nExecStart=\n\
             ExecStart=/usr/share/memcached/scripts/systemd-memcached-wrapper {}/memcached.conf\n",
            dir.display()
        ),
    );
    import(&sup, "memcached", &unit, true);
    let serves = || memcached_version(port).starts_with("VERSION ");
    lives_its_life_serving(&sup, "memcached", &serves, None);
}

/// Debian's vsftpd unit: a pre-start `mkdir` whose failure is ignored (`-`), a reload by
/// `kill -HUP $MAINPID`. It greets a real FTP client.
#[test]
fn debian_s_vsftpd_unit_imports_cleanly_and_greets_a_real_ftp_client() {
    let test = "debian_s_vsftpd_unit_imports_cleanly_and_greets_a_real_ftp_client";
    if !can_run(test, "vsftpd.service", "/usr/sbin/vsftpd") {
        return;
    }
    let sup = Sup::new("import-vsftpd");
    let dir = shared_dir(&sup, "vsftpd");
    let port = free_port();
    fs::write(
        dir.join("vsftpd.conf"),
        format!(
            "listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port={port}\n\
             anonymous_enable=NO\nlocal_enable=YES\nftpd_banner=svckit ftp\n"
        ),
    )
    .unwrap();
    let unit = unit_with_dropin(
        &sup,
        "vsftpd.service",
        &format!(
            "[Service]\nExecStart=\nExecStart=/usr/sbin/vsftpd {}/vsftpd.conf\n\
             Restart=on-failure\n",
            dir.display()
        ),
    );
    import(&sup, "vsftpd", &unit, false);
    let shown = sup.ok(&["show", "vsftpd"]);
    assert!(shown.contains("\"-/bin/mkdir\""), "{shown}");
    let serves = || banner(port).starts_with("220 svckit ftp");
    lives_its_life_serving(&sup, "vsftpd", &serves, None);
}

/// Debian's apache2 unit: a forking `apachectl start`, `apachectl graceful-stop` to stop,
/// restarted on-abort (a SIGKILL is an abort), a configuration directory of the test's
/// (`APACHE_CONFDIR`, as apache2's own multi-instance scheme gives it). It serves a page.
#[test]
fn debian_s_apache2_unit_imports_and_serves_a_page() {
    let test = "debian_s_apache2_unit_imports_and_serves_a_page";
    if !can_run(test, "apache2.service", "/usr/sbin/apache2") {
        return;
    }
    let sup = Sup::new("import-apache2");
    let dir = shared_dir(&sup, "apache2");
    let port = free_port();
    let conf = dir.join("apache2-svckit");
    let copy = std::process::Command::new("cp")
        .arg("-a")
        .arg("/etc/apache2")
        .arg(&conf)
        .status()
        .unwrap();
    assert!(copy.success());
    let d = dir.display();
    for sub in ["run", "lock", "log", "www"] {
        fs::create_dir_all(dir.join(sub)).unwrap();
    }
    fs::write(dir.join("www/index.html"), "hi from apache\n").unwrap();
    fs::set_permissions(dir.join("www"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(
        dir.join("www/index.html"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let mut envvars = fs::read_to_string(conf.join("envvars")).unwrap();
    envvars.push_str(&format!(
        "export APACHE_RUN_DIR={d}/run\nexport APACHE_PID_FILE={d}/run/apache2.pid\n\
         export APACHE_LOCK_DIR={d}/lock\nexport APACHE_LOG_DIR={d}/log\n"
    ));
    fs::write(conf.join("envvars"), envvars).unwrap();
    fs::write(
        conf.join("ports.conf"),
        format!("Listen 127.0.0.1:{port}\n"),
    )
    .unwrap();
    for site in fs::read_dir(conf.join("sites-enabled")).unwrap() {
        fs::remove_file(site.unwrap().path()).unwrap();
    }
    fs::write(
        conf.join("sites-enabled/test.conf"),
        format!(
            "<VirtualHost 127.0.0.1:{port}>\n  DocumentRoot {d}/www\n  \
             <Directory {d}/www>\n    Require all granted\n  </Directory>\n</VirtualHost>\n"
        ),
    )
    .unwrap();
    let unit = unit_with_dropin(
        &sup,
        "apache2.service",
        &format!("[Service]\nEnvironment=APACHE_CONFDIR={}\n", conf.display()),
    );
    let said = import(&sup, "apache2", &unit, true);
    assert!(said.contains("OOMPolicy"), "{said}");
    let shown = sup.ok(&["show", "apache2"]);
    assert!(shown.contains("policy = \"on-abort\""), "{shown}");
    let serves = || http_get(port).ends_with("hi from apache\n");
    lives_its_life_serving(&sup, "apache2", &serves, None);
}
