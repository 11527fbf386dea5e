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

/// The files the system's locale is read from, first found wins (Debian's, then systemd's).
pub const LOCALE_FILES: &[&str] = &["/etc/default/locale", "/etc/locale.conf"];

/// Computes a supervised service's environment. Unlike [`sanitized`], nothing comes from the
/// supervisor's own environment, which is that of whichever shell first started it: `PATH` is
/// [`DEFAULT_PATH`], `HOME`/`USER`/`LOGNAME`/`SHELL` are those of the account the service runs
/// as (`credentials`, else the supervisor's effective user, from the password database), the
/// locale (`LANG`, `LANGUAGE`, `LC_*`) is the system's ([`LOCALE_FILES`]), then every `set` pair
/// on top. Sorted by name, as systemd gives its services a fixed environment.
pub fn for_service(
    credentials: Option<&Credentials>,
    set: &[(OsString, OsString)],
) -> Vec<(OsString, OsString)> {
    let mut base: Vec<(OsString, OsString)> = vec![("PATH".into(), DEFAULT_PATH.into())];
    if let Some(locale) = LOCALE_FILES
        .iter()
        .find_map(|file| read_file(std::path::Path::new(file)).ok())
    {
        base.extend(
            locale
                .into_iter()
                .filter(|(k, _)| k == "LANG" || k == "LANGUAGE" || k.starts_with("LC_"))
                .map(|(k, v)| (k.into(), v.into())),
        );
    }
    if credentials.and_then(|c| c.user.as_ref()).is_none()
        && let Ok(Some(me)) =
            crate::accounts::Databases::system().user_by_uid(nix::unistd::geteuid().as_raw())
    {
        base.push(("HOME".into(), me.home.into_os_string()));
        base.push(("USER".into(), me.name.clone().into()));
        base.push(("LOGNAME".into(), me.name.into()));
        base.push(("SHELL".into(), me.shell.into_os_string()));
    }
    sanitized(base, &[], set, credentials)
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

/// Reads an environment file in systemd's `EnvironmentFile=` format: `NAME=value` lines;
/// empty lines and lines starting with `#` or `;` are skipped; a value in double quotes may
/// hold `\"`, `\\`, `\n`, one in single quotes is taken as it is; a line ending in `\` goes on
/// on the next. A line that is no assignment is an error naming it (systemd skips it, with a
/// warning nobody reads).
pub fn read_file(path: &std::path::Path) -> std::io::Result<Vec<(String, String)>> {
    use std::io::{Error, ErrorKind, Read};
    let mut text = String::new();
    // A file, at most 1 MiB: never a FIFO to block on, never a device to read forever.
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    file.take(1 << 20).read_to_string(&mut text)?;
    let mut vars = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((index, line)) = lines.next() {
        let mut line = line.to_owned();
        while line.ends_with('\\') {
            line.pop();
            match lines.next() {
                Some((_, more)) => line.push_str(more),
                None => break,
            }
        }
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let bad = || {
            Error::new(
                ErrorKind::InvalidData,
                format!("line {}: {trimmed:?} is not NAME=value", index + 1),
            )
        };
        let (name, value) = trimmed.split_once('=').ok_or_else(bad)?;
        let name = name.trim();
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(bad());
        }
        let value = value.trim();
        let value = if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match (c, chars.clone().next()) {
                    ('\\', Some('n')) => {
                        out.push('\n');
                        chars.next();
                    }
                    ('\\', Some(next @ ('"' | '\\' | '$' | '`'))) => {
                        out.push(next);
                        chars.next();
                    }
                    (c, _) => out.push(c),
                }
            }
            out
        } else if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            inner.to_owned()
        } else {
            value.to_owned()
        };
        vars.push((name.to_owned(), value));
    }
    Ok(vars)
}

#[cfg(test)]
mod file_tests {
    use super::*;

    #[test]
    fn an_environment_file_reads_as_systemd_reads_it() {
        let path = std::env::temp_dir().join(format!("svckit-envfile-{}", std::process::id()));
        std::fs::write(
            &path,
            "# a comment\n; another\n\nSSHD_OPTS=\nPLAIN=a b c\nQUOTED=\"say \\\"hi\\\"\\nbye\"\n\
             SINGLE='$HOME stays'\n  SPACED = x  \nLONG=one \\\ntwo\n",
        )
        .unwrap();
        let vars = read_file(&path).unwrap();
        assert_eq!(
            vars,
            [
                ("SSHD_OPTS".into(), String::new()),
                ("PLAIN".into(), "a b c".into()),
                ("QUOTED".into(), "say \"hi\"\nbye".into()),
                ("SINGLE".into(), "$HOME stays".into()),
                ("SPACED".into(), "x".into()),
                ("LONG".into(), "one two".into()),
            ]
        );
        std::fs::write(&path, "export X=1\n").unwrap();
        let err = read_file(&path).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        let _ = std::fs::remove_file(&path);
        assert!(read_file(std::path::Path::new("/dev/zero")).is_err());
    }
}
