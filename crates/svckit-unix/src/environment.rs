//! The environment a daemon starts with (daemon(7) step 4): a pure function of the launcher's
//! environment and the settings, so it can be tested without touching the process.

use std::{collections::BTreeMap, ffi::OsString};

use crate::privileges::Credentials;

/// The variables kept from the launcher's environment unless told otherwise, plus every `LC_*`.
///
/// Everything else (`LD_PRELOAD`, `TERM`, `SSH_*`, `NOTIFY_SOCKET`, stray shell variables) is
/// dropped: a daemon must not depend on the shell that happened to start it.
pub const KEPT_BY_DEFAULT: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ",
];

/// `PATH` when the launcher has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Computes the daemon's environment: the kept variables of `current` (those in
/// [`KEPT_BY_DEFAULT`], `LC_*`, and `keep`), `HOME`/`USER`/`LOGNAME`/`SHELL` of the target user
/// when privileges are dropped, a default `PATH`, then every `set` pair on top. Sorted by name.
pub fn sanitized(
    current: impl IntoIterator<Item = (OsString, OsString)>,
    keep: &[OsString],
    set: &[(OsString, OsString)],
    credentials: Option<&Credentials>,
) -> Vec<(OsString, OsString)> {
    let mut env: BTreeMap<OsString, OsString> = current
        .into_iter()
        .filter(|(key, _)| {
            let name = key.to_string_lossy();
            KEPT_BY_DEFAULT.contains(&name.as_ref())
                || name.starts_with("LC_")
                || keep.contains(key)
        })
        .collect();
    if let Some(user) = credentials.and_then(|c| c.user.as_ref()) {
        env.insert("HOME".into(), user.home.clone().into_os_string());
        env.insert("USER".into(), user.name.clone().into());
        env.insert("LOGNAME".into(), user.name.clone().into());
        env.insert("SHELL".into(), user.shell.clone().into_os_string());
    }
    env.entry("PATH".into())
        .or_insert_with(|| DEFAULT_PATH.into());
    for (key, value) in set {
        env.insert(key.clone(), value.clone());
    }
    env.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use nix::unistd::{Gid, Uid};

    use super::*;
    use crate::privileges::UserInfo;

    fn pairs(items: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        items.iter().map(|(k, v)| (k.into(), v.into())).collect()
    }

    #[test]
    fn keeps_the_documented_list_and_drops_the_rest() {
        let current = pairs(&[
            ("PATH", "/bin"),
            ("LD_PRELOAD", "/evil.so"),
            ("TERM", "xterm"),
            ("LC_TIME", "C"),
            ("LANG", "C.UTF-8"),
            ("STRAY", "1"),
            ("KEEPME", "yes"),
        ]);
        let env = sanitized(current, &["KEEPME".into()], &pairs(&[("NEW", "v")]), None);
        assert_eq!(
            env,
            pairs(&[
                ("KEEPME", "yes"),
                ("LANG", "C.UTF-8"),
                ("LC_TIME", "C"),
                ("NEW", "v"),
                ("PATH", "/bin"),
            ])
        );
    }

    #[test]
    fn path_defaults_and_set_overrides() {
        let env = sanitized(Vec::new(), &[], &pairs(&[("TZ", "UTC")]), None);
        assert_eq!(env, pairs(&[("PATH", DEFAULT_PATH), ("TZ", "UTC")]));
        let env = sanitized(
            pairs(&[("PATH", "/a")]),
            &[],
            &pairs(&[("PATH", "/b")]),
            None,
        );
        assert_eq!(env, pairs(&[("PATH", "/b")]));
    }

    #[test]
    fn target_user_identity_replaces_the_launchers() {
        let creds = Credentials {
            user: Some(UserInfo {
                name: "nobody".into(),
                uid: Uid::from_raw(65534),
                home: PathBuf::from("/nonexistent"),
                shell: PathBuf::from("/usr/sbin/nologin"),
            }),
            gid: Gid::from_raw(65534),
            groups: vec![Gid::from_raw(65534)],
        };
        let current = pairs(&[("HOME", "/root"), ("USER", "root"), ("PATH", "/bin")]);
        let env = sanitized(current, &[], &[], Some(&creds));
        assert_eq!(
            env,
            pairs(&[
                ("HOME", "/nonexistent"),
                ("LOGNAME", "nobody"),
                ("PATH", "/bin"),
                ("SHELL", "/usr/sbin/nologin"),
                ("USER", "nobody"),
            ])
        );
    }
}
