//! What hostile testing found (an attacker's planted files, a careless operator's huge values,
//! misbehaving clients, full disks): each test is named after the bug it pins.

use std::{fs, os::unix::fs::PermissionsExt, time::Duration};

use crate::{
    supervise::{Sup, sleepers},
    support::{code, eventually, require_root, stderr},
};

fn chown(path: &std::path::Path, uid: u32) {
    nix::unistd::chown(path, Some(nix::unistd::Uid::from_raw(uid)), None).unwrap();
}

/// Regression: a state directory (or services/, run/, logs/) pre-created by another user was
/// used as is, so nobody's definitions ran as root. Refused with exit 5, naming the path and
/// its owner and mode.
#[test]
fn regression_a_state_dir_owned_by_another_user_is_refused() {
    if !require_root("regression_a_state_dir_owned_by_another_user_is_refused") {
        return;
    }
    let sup = Sup::new("foreignstate");
    let state = sup.dir.join("state");
    for sub in ["", "services", "run", "logs"] {
        let _ = fs::remove_dir_all(&state);
        fs::create_dir_all(state.join("services")).unwrap();
        fs::set_permissions(&state, fs::Permissions::from_mode(0o700)).unwrap();
        fs::create_dir_all(state.join(sub)).unwrap();
        chown(&state.join(sub), 65534);
        let out = sup.run(&["install", "web", "--", "sleep", "73.25"]);
        assert_eq!(code(&out), 5, "{sub}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(
                &state
                    .join(sub)
                    .display()
                    .to_string()
                    .trim_end_matches('/')
                    .to_owned()
            ),
            "{err}"
        );
        assert!(err.contains("owner uid 65534"), "{err}");
        let out = sup.run(&["status"]);
        assert_eq!(code(&out), 5, "status, {sub}: {}", stderr(&out));
    }
    assert!(sleepers("73.25").is_empty());
    assert!(sup.supervisor_pid().is_none(), "no supervisor was started");
}

/// Regression: a state directory writable by group or others was used as is.
#[test]
fn regression_a_state_dir_writable_by_others_is_refused() {
    let sup = Sup::new("loosestate");
    let state = sup.dir.join("state");
    fs::create_dir_all(state.join("logs")).unwrap();
    for (dir, mode) in [(&state, 0o770), (&state.join("logs"), 0o757)] {
        fs::set_permissions(&state, fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(dir, fs::Permissions::from_mode(mode)).unwrap();
        let out = sup.run(&["list"]);
        assert_eq!(code(&out), 5, "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("mode {mode:04o}")),
            "{}",
            stderr(&out)
        );
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).unwrap();
    }
    sup.ok(&["list"]);
}

/// Regression: symlinks planted at supervisor.log and at a definition were followed.
#[test]
fn regression_symlinks_in_the_state_dir_are_never_followed() {
    let sup = Sup::new("symlinks");
    let state = sup.dir.join("state");
    fs::create_dir_all(state.join("services")).unwrap();
    fs::set_permissions(&state, fs::Permissions::from_mode(0o700)).unwrap();
    let victim = sup.dir.join("victim");
    fs::write(&victim, "precious\n").unwrap();
    std::os::unix::fs::symlink(&victim, state.join("supervisor.log")).unwrap();
    let out = sup.run(&["install", "web", "--", "sleep", "73.5"]);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("supervisor.log") && stderr(&out).contains("symbolic link"),
        "{}",
        stderr(&out)
    );
    fs::remove_file(state.join("supervisor.log")).unwrap();
    // A definition that is a symlink (to a file that would parse) is not read.
    fs::write(&victim, "program = \"/bin/sleep\"\nargs = [\"73.5\"]\n").unwrap();
    std::os::unix::fs::symlink(&victim, state.join("services/web.toml")).unwrap();
    let out = sup.run(&["start", "web"]);
    assert_eq!(code(&out), 2, "an unreadable definition: {}", stderr(&out));
    assert!(
        stderr(&out).contains("web.toml: is a symbolic link"),
        "names the definition: {}",
        stderr(&out)
    );
    assert!(!eventually(Duration::from_millis(300), || !sleepers(
        "73.5"
    )
    .is_empty()));
    assert_eq!(
        fs::read_to_string(&victim).unwrap(),
        "program = \"/bin/sleep\"\nargs = [\"73.5\"]\n"
    );
}
