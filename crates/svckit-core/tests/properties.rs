//! Property tests of the definition parser: any text is read without a panic (an error names
//! where it went wrong), and every valid definition survives `to_toml` → `from_toml` whole.

use std::{ffi::OsString, path::PathBuf, time::Duration};

use proptest::prelude::*;
use svckit_core::{Restart, ServiceName, ServiceSpec, StartType};

/// Text without NUL or other control characters but tab (what one-line keys allow).
fn line() -> impl Strategy<Value = String> {
    "[^\\p{Cc}]{0,24}"
}

fn millis(max: u64) -> impl Strategy<Value = Duration> {
    (0..=max).prop_map(Duration::from_millis)
}

fn spec() -> impl Strategy<Value = ServiceSpec> {
    (
        "[A-Za-z][A-Za-z0-9_.@-]{0,20}",
        "/[a-z]{1,8}(/[a-z0-9 %$'\"\\\\]{1,8}){0,2}",
        prop::collection::vec("[^\\x00]{0,16}", 0..5),
        prop::option::of(line()),
        prop::collection::vec(("[A-Z_][A-Z0-9_]{0,7}", "[^\\x00]{0,16}"), 0..4),
        prop::option::of("/[a-z0-9 %$\\\\]{1,12}"),
        (
            prop::sample::select(vec![Restart::Never, Restart::OnFailure, Restart::Always]),
            millis(600_000),
            millis(600_000),
            0u32..=10_000,
            prop::option::of(0u32..=0o777),
            0u32..=1000,
            0u64..=(1 << 40),
        ),
    )
        .prop_map(
            |(
                name,
                program,
                args,
                description,
                env,
                dir,
                (policy, delay, stop, limit, umask, keep, size),
            )| {
                let mut spec =
                    ServiceSpec::new(ServiceName::new(name).unwrap(), PathBuf::from(program));
                spec.args = args.into_iter().map(OsString::from).collect();
                spec.description = description;
                let mut seen = std::collections::HashSet::new();
                spec.env = env
                    .into_iter()
                    .filter(|(k, _)| seen.insert(k.clone()))
                    .collect();
                // The environment is a table: its order is the keys'.
                spec.env.sort();
                spec.working_dir = dir.map(PathBuf::from);
                spec.start = StartType::Auto;
                spec.restart.policy = policy;
                spec.restart.delay = delay;
                spec.restart.max_delay = delay.max(spec.restart.max_delay);
                spec.restart.limit = limit;
                spec.stop.timeout = stop.max(Duration::from_millis(1));
                spec.umask = umask;
                spec.logs.keep = keep;
                spec.logs.max_size = size;
                spec
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_is_read_without_a_panic(text in "[a-z_=\\[\\]\". 0-9\\n{}#,'-]{0,120}|\\PC{0,120}") {
        let _ = ServiceSpec::from_toml(&text, Some("web"));
    }

    #[test]
    fn valid_definitions_round_trip(spec in spec()) {
        prop_assume!(spec.validate().is_ok());
        let text = spec.to_toml();
        let back = ServiceSpec::from_toml(&text, None)
            .unwrap_or_else(|err| panic!("{err}\n{text}"));
        prop_assert_eq!(back, spec, "{}", text);
    }
}
