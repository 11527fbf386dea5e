//! The command line itself: help, usage errors, exit codes.

use crate::support::{code, run, stderr};

/// The whole table under `svckit --help`; each command's help ends with it in one line
/// (the table under every command was noise).
#[test]
fn help_documents_the_exit_codes() {
    let out = run(&["--help"]);
    assert_eq!(code(&out), 0);
    let help = String::from_utf8_lossy(&out.stdout);
    for line in [
        "0  success",
        "1  the operation failed",
        "2  usage error or bad input",
        "3  not running / service not found",
        "4  already running / already installed",
        "5  permission denied",
        "6  timed out",
    ] {
        assert!(help.contains(line), "--help lacks {line:?}");
    }
    for args in [
        &["daemonize", "--help"][..],
        &["kill", "--help"],
        &["start", "-h"],
    ] {
        let out = run(args);
        assert_eq!(code(&out), 0);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.trim_end().ends_with(
                "Exit status: 0 success, 1 failed, 2 usage or bad input, 3 not running or not \
                 found, 4 already running or installed, 5 permission denied, 6 timed out \
                 (svckit --help says more)."
            ),
            "{args:?}: {help}"
        );
    }
}

/// Regression: `install -h` was 133 lines, every flag's whole paragraph. It shows the common
/// flags one line each and says where the rest are; `--help` has every one in full.
#[test]
fn regression_install_short_help_fits_a_screen() {
    let out = run(&["install", "-h"]);
    assert_eq!(code(&out), 0);
    let short = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(short.lines().count() <= 35, "{short}");
    let options: Vec<&str> = short
        .lines()
        .filter(|line| line.trim_start().starts_with("--"))
        .collect();
    assert!(options.len() >= 10, "{short}");
    for line in &options {
        assert!(line.len() <= 100, "a long line in install -h: {line:?}");
    }
    assert!(short.contains("svckit install --help"), "{short}");
    assert!(!short.contains("--health-retries"), "{short}");
    let out = run(&["install", "--help"]);
    let long = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--health-retries",
        "--exec-start-pre",
        "--limit",
        "--log-keep",
        "--force",
    ] {
        assert!(long.contains(flag), "install --help lacks {flag}");
    }
    // The summary is not said twice in the long help.
    assert!(long.contains("It is stopped first."), "{long}");
    assert_eq!(
        long.matches("Replace an installed service of that name")
            .count(),
        1
    );
}

#[test]
fn usage_errors_are_one_line_and_exit_2() {
    let definition = std::env::temp_dir().join(format!("svckit-cli-{}.toml", std::process::id()));
    std::fs::write(&definition, "name = \"x\"\nprogram = \"/bin/true\"\n").unwrap();
    let definition = definition.to_str().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["daemonize"], "PROGRAM"),
        // One command tree: Windows' own command exists here too, refused by name.
        (
            &["host", "Svc"],
            "host is not available on Unix: it is the Windows service host",
        ),
        // Where there is no service manager to ask, render says which backends it takes.
        (
            &["render", "--file", definition],
            "render takes --backend systemd, sysv or builtin",
        ),
        (&["daemonize", "--bogus", "--", "true"], "--bogus"),
        (&["kill"], "--pidfile"),
        (
            &["kill", "--pidfile", "/x", "--signal", "NOPE"],
            "\"NOPE\" is not a signal",
        ),
    ];
    for (args, needle) in cases {
        let out = run(args);
        assert_eq!(code(&out), 2, "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("svckit: error: ") && err.contains(needle),
            "{args:?}: {err}"
        );
    }
    std::fs::remove_file(definition).unwrap();
}

#[test]
fn help_texts_snapshot() {
    for (name, args) in [
        ("help", &["--help"][..]),
        ("daemonize_help", &["daemonize", "--help"]),
        ("kill_help", &["kill", "--help"]),
        ("timelog_help", &["demo", "timelog", "--help"]),
    ] {
        let out = run(args);
        assert_eq!(code(&out), 0);
        insta::assert_snapshot!(name, String::from_utf8_lossy(&out.stdout));
    }
}

/// A typo gets clap's suggestion, still on one line (they were cut off with the usage).
#[test]
fn regression_typos_get_a_suggestion_on_the_one_line() {
    for (args, suggestion) in [
        (&["stauts"][..], "'status'"),
        (
            &["install", "web", "--restrat", "always", "--", "/bin/true"],
            "a similar argument exists: '--restart'",
        ),
    ] {
        let out = run(args);
        assert_eq!(code(&out), 2, "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(suggestion), "{args:?}: {err}");
    }
}

/// bash, with the script `svckit completions bash` prints, completes svckit's commands and an
/// install's flags.
#[test]
fn bash_completes_commands_and_flags() {
    let script = run(&["completions", "bash"]);
    assert_eq!(code(&script), 0);
    let dir = crate::support::TempDir::new("completions");
    let file = dir.join("svckit.bash");
    std::fs::write(&file, &script.stdout).unwrap();
    let complete = |line: &str| -> Vec<String> {
        let words: Vec<&str> = line.split(' ').collect();
        let program = format!(
            "source {file}; COMP_WORDS=({words}); COMP_CWORD={last}; COMP_LINE='{line}'; \
             COMP_POINT={point}; COMP_TYPE=9; _clap_complete_svckit svckit '{current}' '{previous}'; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            file = file.display(),
            words = words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(" "),
            last = words.len() - 1,
            point = line.len(),
            current = words[words.len() - 1],
            previous = words[words.len() - 2],
        );
        let out = std::process::Command::new("bash")
            .args(["--norc", "-c", &program])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let commands = complete("svckit sta");
    assert!(
        commands.contains(&"start".to_owned()) && commands.contains(&"status".to_owned()),
        "{commands:?}"
    );
    let flags = complete("svckit install --resta");
    assert!(
        flags.contains(&"--restart".to_owned()) && flags.contains(&"--restart-delay".to_owned()),
        "{flags:?}"
    );
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = run(&["completions", shell]);
        assert_eq!(code(&out), 0, "{shell}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("svckit"),
            "{shell}"
        );
    }
}

/// `svckit man --dir` writes svckit.1 and a page per command, which man renders.
#[test]
fn man_pages_are_written_and_render() {
    let dir = crate::support::TempDir::new("man");
    let out = run(&["man", "--dir", &dir.str("pages")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for page in [
        "svckit.1",
        "svckit-install.1",
        "svckit-logs.1",
        "svckit-daemonize.1",
    ] {
        let path = dir.join("pages").join(page);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(text.contains(".TH"), "{page}: {text}");
    }
    let rendered = std::process::Command::new("man")
        .arg("-l")
        .arg(dir.join("pages").join("svckit-install.1"))
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    let rendered = String::from_utf8_lossy(&rendered.stdout);
    assert!(
        rendered.contains("svckit-install") && rendered.contains("--restart-delay"),
        "{rendered}"
    );
    // Without --dir: svckit(1) on stdout.
    let out = run(&["man"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(".SH NAME"));
}
