//! The static build (`cargo build-static`), the one the README installs. A static glibc must
//! never load an NSS module, so svckit reads the user and group databases itself and asks
//! getent(1) for what another source holds (svckit_unix::accounts). These tests run that
//! build where it matters: users by name, by number, unknown, known only to another source
//! (libnss_systemd, in a mount namespace of the test's own), with supplementary groups, in a
//! daemon and in a supervised service with a socket file it owns.

use std::{
    fs,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use crate::{
    supervise::Sup,
    support::{TempDir, code, eventually, processes_with, require_root, stderr, svckit_static},
};

/// The ids and groups of `pid` as /proc says: (uid, gid, groups sorted).
fn ids(pid: i32) -> (String, String, Vec<u32>) {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |key: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let uids = field("Uid:");
    let gids = field("Gid:");
    assert!(uids.iter().all(|uid| *uid == uids[0]), "{uids:?}");
    assert!(gids.iter().all(|gid| *gid == gids[0]), "{gids:?}");
    let mut groups: Vec<u32> = field("Groups:")
        .iter()
        .map(|g| g.parse().unwrap())
        .collect();
    groups.sort_unstable();
    (uids[0].clone(), gids[0].clone(), groups)
}

/// Kills the daemon `pid` and waits until no process marked `marker` is left.
fn end(pid: i32, marker: &str) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert!(eventually(Duration::from_secs(10), || processes_with(
        marker
    )
    .is_empty()));
}

fn pid_in(pidfile: &Path) -> i32 {
    fs::read_to_string(pidfile).unwrap().trim().parse().unwrap()
}

/// Runs `script` (sh) in a mount namespace of its own, where the `(file, over)` pairs are
/// bind-mounted over /etc's files: what the daemons it starts keep seeing.
fn in_own_etc(mounts: &[(&Path, &str)], script: &str) -> std::process::Output {
    let mut sh = String::new();
    for (file, over) in mounts {
        sh.push_str(&format!("mount --bind {} {over} && ", file.display()));
    }
    sh.push_str(script);
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &sh])
        .output()
        .expect("unshare (util-linux)")
}

/// Regression: a static glibc that looked users up with getpwnam_r loaded libnss_systemd for
/// a name /etc/passwd lacks, and crashed (SIGSEGV, exit 139, seen when static-pie was first
/// tried). Now it is bad input, said in one line, exit 2, as with the dynamic build.
#[test]
fn regression_a_static_svckit_refuses_an_unknown_user_instead_of_crashing() {
    let Some(exe) = svckit_static() else {
        return;
    };
    let dir = TempDir::new("static-unknown");
    let pidfile = dir.str("d.pid");
    for (flag, name, says) in [
        ("--user", "no-such-user-svckit", "unknown user"),
        ("--group", "no-such-group-svckit", "unknown group"),
        ("--user", "4000000000", "unknown user"),
    ] {
        let out = Command::new(&exe)
            .args(["daemonize", "--pidfile", &pidfile, flag, name])
            .args(["--", "/bin/sleep", "1051.1"])
            .output()
            .unwrap();
        assert_eq!(code(&out), 2, "{flag} {name}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            format!("svckit: error: {says} \"{name}\"\n"),
            "{flag} {name}"
        );
    }
    let sup = Sup::with_exe("static-unknown", &exe);
    let out = sup.run(&[
        "install",
        "web",
        "--user",
        "no-such-user-svckit",
        "--",
        "/bin/true",
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("unknown user"), "{}", stderr(&out));
    assert!(sup.ok(&["list"]).lines().all(|line| !line.contains("web")));
    assert!(processes_with("1051.1").is_empty());
}

/// The static binary holds no glibc lookup that would load an NSS module for a name or a
/// group list (the linker's "requires at runtime the shared libraries" functions). Only
/// getpwuid_r is there, behind std::env::home_dir, which completion calls for `~` when HOME
/// is unset.
#[test]
fn a_static_svckit_links_no_lookup_that_loads_nss_modules() {
    let Some(exe) = svckit_static() else {
        return;
    };
    let nm = Command::new("nm")
        .arg(&exe)
        .output()
        .expect("nm (binutils)");
    assert!(nm.status.success(), "{nm:?}");
    let symbols = String::from_utf8_lossy(&nm.stdout);
    let linked: Vec<&str> = symbols
        .lines()
        .filter_map(|line| line.split_whitespace().last())
        .filter(|symbol| {
            [
                "getpwnam",
                "getpwnam_r",
                "getgrnam",
                "getgrnam_r",
                "getgrgid",
                "getgrgid_r",
                "getgrouplist",
                "initgroups",
                "getaddrinfo",
                "gethostbyname",
                "getpwent",
                "getgrent",
            ]
            .iter()
            .any(|name| {
                *symbol == *name || symbol.strip_prefix("__evoke_link_warning_") == Some(name)
            })
        })
        .collect();
    assert!(linked.is_empty(), "NSS lookups linked: {linked:?}");
    let file = Command::new("file").arg(&exe).output().expect("file(1)");
    let file = String::from_utf8_lossy(&file.stdout);
    assert!(file.contains("static-pie linked"), "{file}");
}

/// By name and by number, with the supplementary groups an /etc/group of the test's own
/// gives nobody (bind-mounted in a mount namespace): the ids the daemon runs with are the
/// ones the files say, and the same as glibc's getgrouplist gives there.
#[test]
fn a_static_svckit_drops_to_a_user_with_the_groups_the_files_give() {
    if !require_root("a_static_svckit_drops_to_a_user_with_the_groups_the_files_give") {
        return;
    }
    let Some(exe) = svckit_static() else {
        return;
    };
    let dir = TempDir::new("static-groups");
    let group = dir.join("group");
    let mut text = fs::read_to_string("/etc/group").unwrap();
    text.push_str("svckit-a:x:4101:root,nobody\nsvckit-b:x:4102:nobody\nsvckit-c:x:4103:root\n");
    fs::write(&group, text).unwrap();
    for (n, user) in ["nobody", "65534"].iter().enumerate() {
        let pidfile = dir.join(&format!("d{n}.pid"));
        let out = in_own_etc(
            &[(&group, "/etc/group")],
            &format!(
                "{} daemonize --pidfile {} --user {user} -- /bin/sleep 1052.{n}",
                exe.display(),
                pidfile.display()
            ),
        );
        assert!(out.status.success(), "{user}: {}", stderr(&out));
        let pid = pid_in(&pidfile);
        assert_eq!(
            ids(pid),
            ("65534".into(), "65534".into(), vec![4101, 4102, 65534])
        );
        end(pid, "1052.");
    }
}

/// nsswitch.conf says `files systemd` and /etc/passwd lacks nobody (both the test's own, in a
/// mount namespace): nobody is libnss_systemd's, which svckit reaches through getent; a name
/// no source knows is still bad input (the lookup that crashed the static glibc).
#[test]
fn a_static_svckit_asks_getent_for_a_user_only_another_source_knows() {
    if !require_root("a_static_svckit_asks_getent_for_a_user_only_another_source_knows") {
        return;
    }
    let Some(exe) = svckit_static() else {
        return;
    };
    assert!(
        [
            "/usr/lib/x86_64-linux-gnu/libnss_systemd.so.2",
            "/lib/x86_64-linux-gnu/libnss_systemd.so.2"
        ]
        .iter()
        .any(|path| Path::new(path).exists()),
        "libnss-systemd is installed by .ci/run"
    );
    let dir = TempDir::new("static-getent");
    let passwd = dir.join("passwd");
    let text: String = fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with("nobody:"))
        .map(|line| format!("{line}\n"))
        .collect();
    fs::write(&passwd, text).unwrap();
    let nsswitch = dir.join("nsswitch.conf");
    fs::write(&nsswitch, "passwd: files systemd\ngroup: files systemd\n").unwrap();
    let pidfile = dir.join("d.pid");
    let mounts: [(&Path, &str); 2] = [(&passwd, "/etc/passwd"), (&nsswitch, "/etc/nsswitch.conf")];
    let out = in_own_etc(
        &mounts,
        &format!(
            "grep -c '^nobody:' /etc/passwd; {exe} daemonize --pidfile {pid} --user nobody -- \
             /bin/sleep 1053.1 && {exe} daemonize --pidfile {pid}.2 --user no-such-user-svckit \
             -- /bin/sleep 1053.2; echo \"unknown: $?\"",
            exe = exe.display(),
            pid = pidfile.display()
        ),
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("0\n"), "nobody is not in the file: {said}");
    assert!(said.contains("unknown: 2"), "{said} {}", stderr(&out));
    assert!(stderr(&out).contains("unknown user \"no-such-user-svckit\""));
    let pid = pid_in(&pidfile);
    let (uid, gid, _) = ids(pid);
    assert_eq!((uid.as_str(), gid.as_str()), ("65534", "65534"));
    end(pid, "1053.");
}

/// The static build's supervisor runs a service as nobody:nogroup with the groups glibc gives
/// them, and gives its socket file to the user and group named.
#[test]
fn a_static_svckit_supervises_a_service_as_a_user_with_its_socket_file() {
    if !require_root("a_static_svckit_supervises_a_service_as_a_user_with_its_socket_file") {
        return;
    }
    let Some(exe) = svckit_static() else {
        return;
    };
    let sup = Sup::with_exe("static-service", &exe);
    let socket: PathBuf = sup.dir.join("web.sock");
    let definition = sup.dir.join("web.toml");
    fs::write(
        &definition,
        format!(
            "name = \"web\"\nprogram = \"/bin/sleep\"\nargs = [\"1054.1\"]\nuser = \"nobody\"\n\
             group = \"nogroup\"\n\n[[listen]]\naddress = \"unix:{}\"\nmode = \"0660\"\n\
             user = \"nobody\"\ngroup = \"nogroup\"\n",
            socket.display()
        ),
    )
    .unwrap();
    sup.ok(&["install", "--file", &definition.display().to_string()]);
    sup.ok(&["start", "web"]);
    let pid = sup.status("web")["pid"].as_i64().expect("a pid") as i32;
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let nogroup = nix::unistd::Group::from_name("nogroup").unwrap().unwrap();
    let (uid, gid, groups) = ids(pid);
    assert_eq!(uid, nobody.uid.to_string());
    assert_eq!(gid, nogroup.gid.to_string());
    // glibc's answer (this test is dynamically linked): nogroup and nobody's own groups.
    let name = std::ffi::CString::new("nobody").unwrap();
    let mut expected: Vec<u32> = nix::unistd::getgrouplist(&name, nogroup.gid)
        .unwrap()
        .iter()
        .map(|gid| gid.as_raw())
        .collect();
    expected.sort_unstable();
    expected.dedup();
    assert_eq!(groups, expected);
    let meta = fs::symlink_metadata(&socket).expect("the socket file");
    assert_eq!(
        (meta.uid(), meta.gid()),
        (nobody.uid.as_raw(), nogroup.gid.as_raw())
    );
    assert_eq!(meta.mode() & 0o777, 0o660);
    sup.ok(&["stop", "web"]);
    assert!(processes_with("1054.1").is_empty());
}
