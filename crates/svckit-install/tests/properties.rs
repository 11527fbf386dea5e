//! Property tests of the renderers: no definition makes them panic; a systemd unit they write
//! has only whole `Key=value` lines that no value can continue, split or repeat; an init
//! script parses (`sh -n`); and every value quoted for sh reads back as itself through a real
//! shell.
#![cfg(unix)]

use std::{ffi::OsString, path::PathBuf, process::Command};

use proptest::prelude::*;
use svckit_core::{ServiceName, ServiceSpec};
use svckit_install::{
    systemd::{self, Scope},
    sysv,
};

fn spec() -> impl Strategy<Value = ServiceSpec> {
    (
        "[A-Za-z][A-Za-z0-9_.-]{0,12}",
        "/[a-z]{1,6}(/[a-z0-9 %$]{1,6}){0,2}|/[a-z]{1,3}/[a-z'\"\\\\]{1,3}",
        prop::collection::vec("[^\\x00]{0,12}", 0..4),
        prop::option::of("[^\\p{Cc}]{0,16}"),
        prop::option::of("[^\\p{Cc}]{0,16}"),
        prop::collection::vec(("[A-Z_][A-Z0-9_]{0,5}", "[^\\x00]{0,12}"), 0..3),
        prop::option::of("/[^\\p{Cc}]{1,12}"),
        prop::option::of("[a-z\\\\ %$]{1,8}"),
    )
        .prop_map(
            |(name, program, args, display, description, env, dir, user)| {
                let mut spec =
                    ServiceSpec::new(ServiceName::new(name).unwrap(), PathBuf::from(program));
                spec.args = args.into_iter().map(OsString::from).collect();
                spec.display_name = display;
                spec.description = description;
                spec.env = env;
                spec.working_dir = dir.map(PathBuf::from);
                spec.account = user;
                spec
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_unit_has_whole_lines_that_no_value_can_split(spec in spec()) {
        let Ok(unit) = systemd::render(&spec, Scope::System) else {
            return Ok(());
        };
        let mut keys = Vec::new();
        for line in unit.lines() {
            prop_assert!(!line.ends_with('\\'), "a continued line: {line:?}\n{unit}");
            if line.is_empty() || line.starts_with('#') || line.starts_with('[') {
                continue;
            }
            let (key, _) = line.split_once('=').unwrap_or_else(|| panic!("{line:?}\n{unit}"));
            prop_assert!(key.chars().all(|c| c.is_ascii_alphanumeric()), "{line:?}");
            keys.push(key.to_owned());
        }
        let count = |key: &str| keys.iter().filter(|k| *k == key).count();
        prop_assert_eq!(count("User"), usize::from(spec.account.is_some()), "{}", unit);
        prop_assert_eq!(count("WorkingDirectory"), usize::from(spec.working_dir.is_some()));
        prop_assert_eq!(count("Environment"), spec.env.len());
        prop_assert_eq!(count("ExecStart"), 1);
    }

    #[test]
    fn an_init_script_parses(spec in spec()) {
        let Ok(script) = sysv::render(&spec, std::path::Path::new("/usr/bin/svckit")) else {
            return Ok(());
        };
        let out = Command::new("sh").args(["-n", "-c", &script]).output().unwrap();
        prop_assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stderr), script);
    }

    #[test]
    fn a_value_quoted_for_sh_reads_back_as_itself(text in "[^\\x00]{0,24}") {
        let out = Command::new("sh")
            .args(["-c", &format!("printf %s {}", sysv::sh_quote(&text))])
            .output()
            .unwrap();
        prop_assert_eq!(String::from_utf8_lossy(&out.stdout), text);
    }
}
