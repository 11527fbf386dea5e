//! The command line itself: help, usage errors, exit codes.

use crate::support::{code, run, stderr};

#[test]
fn help_documents_the_exit_codes() {
    for args in [
        &["--help"][..],
        &["daemonize", "--help"],
        &["kill", "--help"],
    ] {
        let out = run(args);
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
            assert!(help.contains(line), "{args:?} help lacks {line:?}");
        }
    }
}

#[test]
fn usage_errors_are_one_line_and_exit_2() {
    let cases: [(&[&str], &str); 4] = [
        (&["daemonize"], "PROGRAM"),
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
