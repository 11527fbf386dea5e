//! svckit in a real terminal: tmux runs it on a pty, and what the terminal shows is read back
//! with capture-pane (with its escape sequences, or without): colour on a terminal and only
//! there, `NO_COLOR` honoured, the status table aligned, bash completing commands.

use std::{
    path::Path,
    process::{Command, Output},
    time::Duration,
};

use crate::{
    supervise::Sup,
    support::{TempDir, eventually},
};

/// A tmux server of its own (its socket in a temp dir), killed on drop.
struct Tmux {
    dir: TempDir,
}

impl Tmux {
    fn new(name: &str) -> Tmux {
        Tmux {
            dir: TempDir::new(&format!("tmux-{name}")),
        }
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(self.dir.join("socket"))
            .arg("-f")
            .arg("/dev/null")
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux")
    }

    /// A 200×40 window running `shell_command` (through sh), with TERM and `env` set.
    fn run(&self, shell_command: &str, env: &[(&str, &str)]) {
        let mut command = String::from("env TERM=xterm-256color");
        for (key, value) in env {
            command.push_str(&format!(" {key}='{value}'"));
        }
        command.push(' ');
        command.push_str(shell_command);
        let out = self.tmux(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "200",
            "-y",
            "40",
            &command,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A tmux format (`#{cursor_flag}`) for the pane.
    fn display(&self, format: &str) -> String {
        let out = self.tmux(&["display-message", "-p", "-t", "t", format]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// What the pane shows; with `escapes`, with its colours as escape sequences.
    fn screen(&self, escapes: bool) -> String {
        let mut args = vec!["capture-pane", "-p", "-t", "t"];
        if escapes {
            args.push("-e");
        }
        String::from_utf8_lossy(&self.tmux(&args).stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

fn tmux_missing() -> bool {
    let missing = Command::new("tmux").arg("-V").output().is_err();
    if missing && std::env::var_os("CI").is_some() {
        panic!("tmux is missing under CI");
    }
    missing
}

/// `svckit status` on a terminal: the state in colour, the columns aligned for a long name;
/// with NO_COLOR, or into a pipe, no escape sequence at all.
#[test]
fn status_is_coloured_and_aligned_on_a_terminal_and_plain_elsewhere() {
    if tmux_missing() {
        return;
    }
    let sup = Sup::new("tty");
    sup.ok(&["install", "web", "--", "sleep", "1017.1"]);
    sup.ok(&[
        "install",
        "a-service-with-a-rather-long-name",
        "--",
        "sleep",
        "1017.2",
    ]);
    sup.ok(&["start", "web"]);
    let svckit = env!("CARGO_BIN_EXE_svckit");
    let state = sup.state();
    let show = format!("{svckit} status; sleep 60");
    for (no_color, coloured) in [("", true), ("1", false)] {
        let tmux = Tmux::new(if coloured { "colour" } else { "nocolour" });
        tmux.run(
            &show,
            &[("SVCKIT_STATE_DIR", &state), ("NO_COLOR", no_color)],
        );
        assert!(
            eventually(Duration::from_secs(10), || tmux
                .screen(false)
                .contains("LAST EXIT")),
            "{}",
            tmux.screen(false)
        );
        let painted = tmux.screen(true);
        let running = painted
            .lines()
            .find(|line| line.starts_with("web "))
            .expect(&painted);
        // Green: SGR 32.
        assert_eq!(
            running.contains("\u{1b}[32m") || running.contains(";32m"),
            coloured,
            "{painted:?}"
        );
        assert_eq!(painted.contains('\u{1b}'), coloured, "{painted:?}");
        // Aligned as the terminal shows it: each row's STATE under the heading's.
        let plain = tmux.screen(false);
        let lines: Vec<&str> = plain
            .lines()
            .filter(|line| !line.trim().is_empty())
            .collect();
        let at = lines[0].find("STATE").expect(&plain);
        for line in &lines[1..] {
            let word = line[at..].split_whitespace().next().unwrap_or_default();
            assert!(
                ["running", "stopped"].contains(&word),
                "misaligned:\n{plain}"
            );
        }
    }
    // Into a pipe: never painted.
    let piped = sup.ok(&["status"]);
    assert!(!piped.contains('\u{1b}'), "{piped:?}");
    sup.ok(&["stop", "web"]);
}

/// bash on a terminal, with the script `svckit completions bash` prints: Tab completes a
/// command, and a second Tab lists the candidates.
#[test]
fn bash_completes_svckit_on_a_terminal() {
    if tmux_missing() {
        return;
    }
    let dir = TempDir::new("tty-completion");
    let script = dir.join("svckit.bash");
    let out = Command::new(env!("CARGO_BIN_EXE_svckit"))
        .args(["completions", "bash"])
        .output()
        .unwrap();
    std::fs::write(&script, &out.stdout).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_svckit")).parent().unwrap();
    let tmux = Tmux::new("completion");
    tmux.run(
        "bash --norc --noprofile",
        &[
            ("PATH", &format!("{}:/usr/bin:/bin", bin.display())),
            ("PS1", "ready> "),
        ],
    );
    // (capture-pane drops trailing blanks: the prompt reads "ready>".)
    assert!(
        eventually(Duration::from_secs(10), || tmux
            .screen(false)
            .contains("ready>")),
        "{}",
        tmux.screen(false)
    );
    tmux.tmux(&[
        "send-keys",
        "-t",
        "t",
        &format!("source {}", script.display()),
        "Enter",
    ]);
    // The prompt again: the script is read.
    assert!(
        eventually(Duration::from_secs(10), || tmux
            .screen(false)
            .matches("ready>")
            .count()
            >= 2),
        "{}",
        tmux.screen(false)
    );
    // One candidate: completed in place.
    tmux.tmux(&["send-keys", "-t", "t", "svckit uninst", "Tab"]);
    assert!(
        eventually(Duration::from_secs(10), || tmux
            .screen(false)
            .lines()
            .any(|line| line.trim_end().ends_with("svckit uninstall"))),
        "{}",
        tmux.screen(false)
    );
    tmux.tmux(&["send-keys", "-t", "t", "C-u"]);
    // Several: the second Tab lists them.
    tmux.tmux(&["send-keys", "-t", "t", "svckit sta", "Tab", "Tab"]);
    assert!(
        eventually(Duration::from_secs(10), || {
            let screen = tmux.screen(false);
            screen.contains("start") && screen.contains("status")
        }),
        "{}",
        tmux.screen(false)
    );
}

/// `svckit run` on a terminal: the program has it (stdin is a tty) and its process group is
/// the terminal's foreground, so a shell has job control.
#[test]
fn svckit_run_gives_the_program_the_terminal() {
    if tmux_missing() {
        return;
    }
    let tmux = Tmux::new("run");
    let script = "set -- $(cut -d' ' -f5,8 /proc/$$/stat); \
                  [ \"$1\" = \"$2\" ] && echo FOREGROUND-GROUP; \
                  [ -t 0 ] && echo STDIN-IS-A-TTY; sleep 30";
    tmux.run(
        &format!(
            "{} run -- sh -c \"{}\"",
            env!("CARGO_BIN_EXE_svckit"),
            script.replace('"', "\\\"")
        ),
        &[],
    );
    assert!(
        eventually(Duration::from_secs(10), || {
            let screen = tmux.screen(false);
            screen.contains("FOREGROUND-GROUP") && screen.contains("STDIN-IS-A-TTY")
        }),
        "{}",
        tmux.screen(false)
    );
}

/// `svckit status --watch` on a terminal: drawn in place (one heading however many frames), a
/// change shown at the next frame, and the terminal given back as found (main screen, cursor
/// shown, the same stty settings) whether it ends by q or by Ctrl-C.
#[test]
fn status_watch_redraws_in_place_and_gives_the_terminal_back() {
    if tmux_missing() {
        return;
    }
    let sup = Sup::new("watch");
    sup.ok(&["install", "web", "--", "sleep", "1017.3"]);
    sup.ok(&["start", "web"]);
    let state = sup.state();
    for key in ["q", "C-c"] {
        let tmux = Tmux::new(if key == "q" { "watch-q" } else { "watch-int" });
        let before = tmux.dir.join("before");
        let after = tmux.dir.join("after");
        // bash, as an operator's shell: after a child that handled Ctrl-C and exited 0 it goes
        // on (dash dies of the SIGINT itself).
        tmux.run(
            &format!(
                "bash -c 'stty -g > {}; {} status --watch --interval 200ms; echo EXITED=$?; \
                 stty -g > {}; sleep 60'",
                before.display(),
                env!("CARGO_BIN_EXE_svckit"),
                after.display()
            ),
            &[("SVCKIT_STATE_DIR", &state)],
        );
        let row = |screen: &str, word: &str| {
            screen
                .lines()
                .any(|line| line.starts_with("web ") && line.contains(word))
        };
        let was = if key == "q" { "running" } else { "stopped" };
        assert!(
            eventually(Duration::from_secs(10), || row(&tmux.screen(false), was)),
            "{}",
            tmux.screen(false)
        );
        assert_eq!(tmux.display("#{alternate_on} #{cursor_flag}"), "1 0");
        if key == "q" {
            sup.ok(&["stop", "web"]);
        } else {
            sup.ok(&["start", "web"]);
        }
        let now = if key == "q" { "stopped" } else { "running" };
        assert!(
            eventually(Duration::from_secs(10), || row(&tmux.screen(false), now)),
            "{}",
            tmux.screen(false)
        );
        // Frames over each other, never scrolled: the heading once, at the top.
        std::thread::sleep(Duration::from_millis(500));
        let screen = tmux.screen(false);
        assert_eq!(
            screen.matches("svckit status, every 200ms").count(),
            1,
            "{screen}"
        );
        assert!(screen.starts_with("svckit status, every 200ms"), "{screen}");
        tmux.tmux(&["send-keys", "-t", "t", key]);
        assert!(
            eventually(Duration::from_secs(10), || tmux
                .screen(false)
                .contains("EXITED=0")
                && after.exists()),
            "{}",
            tmux.screen(false)
        );
        assert_eq!(tmux.display("#{alternate_on} #{cursor_flag}"), "0 1");
        assert_eq!(
            std::fs::read_to_string(&before).unwrap(),
            std::fs::read_to_string(&after).unwrap(),
            "the terminal's settings were not restored"
        );
    }
    // Bad values: one line naming them, exit 2.
    for bad in [
        &["status", "--watch", "--interval", "10ms"][..],
        &["status", "--watch", "--interval", "2d"],
        &["status", "--watch", "--json"],
    ] {
        let out = sup.run(bad);
        assert_eq!(crate::support::code(&out), 2, "{bad:?}");
        let said = crate::support::stderr(&out);
        assert!(said.contains(bad.last().unwrap()), "{bad:?}: {said}");
        assert_eq!(said.trim_end().lines().count(), 1, "{said}");
    }
    // Into a pipe: frame after frame, and it ends when its reader goes.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} status --watch --interval 100ms | head -n 12",
            env!("CARGO_BIN_EXE_svckit")
        ))
        .env("SVCKIT_STATE_DIR", &state)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.matches("svckit status, every 100ms").count() >= 2,
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "{text:?}");
    sup.ok(&["stop", "web"]);
}
