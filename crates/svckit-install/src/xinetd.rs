//! xinetd: a SysV host's super-server, the original design's starter of passive daemons. A
//! service with sockets installed with `--backend sysv` is an `/etc/xinetd.d/NAME` entry
//! (where xinetd is installed) instead of an init script: xinetd listens, and runs an instance
//! of the program per connection with the connection on its stdin and stdout (`wait = no`).
//!
//! [`render`] is a pure function of the spec. xinetd's values cannot be quoted (it splits
//! `server_args` and `env` at white space, and ends a value at the line's end), so a value it
//! would split or change is refused, naming its setting, as is everything xinetd has no
//! attribute for.

use std::{fmt::Write as _, net::SocketAddr, path::Path};

use svckit_core::{BackendKind, ServiceSpec, listen::AcceptMode, listen::Address};

use crate::{Error, honour};

fn refuse(setting: &'static str, reason: impl Into<String>) -> Error {
    Error::Unsupported {
        backend: "sysv",
        setting,
        reason: reason.into(),
    }
}

/// The entry's path under `root`: `etc/xinetd.d/NAME`.
pub fn entry_path(root: &Path, name: &svckit_core::ServiceName) -> std::path::PathBuf {
    root.join("etc/xinetd.d").join(name.as_str())
}

/// One word of a value: no white space (xinetd splits there), no control characters, not
/// empty.
fn word(setting: &'static str, text: &str) -> Result<String, Error> {
    if text.is_empty() {
        return Err(refuse(setting, "xinetd cannot pass an empty word"));
    }
    if let Some(c) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse(
            setting,
            format!(
                "{text:?} contains {c:?}: xinetd splits its values at white space and cannot quote"
            ),
        ));
    }
    Ok(text.to_owned())
}

/// Where the one listener is: its TCP address.
fn address(spec: &ServiceSpec) -> Result<SocketAddr, Error> {
    match spec.listen.as_slice() {
        [one] => match &one.address {
            Address::Tcp(addr) => Ok(*addr),
            other => Err(refuse(
                "listen",
                format!("{other}: xinetd accepts TCP connections only (no Unix sockets)"),
            )),
        },
        _ => Err(refuse(
            "listen",
            format!(
                "{} listeners: an xinetd entry listens on one port",
                spec.listen.len()
            ),
        )),
    }
}

/// Renders the xinetd entry for `spec`, a service with sockets and an instance per connection.
pub fn render(spec: &ServiceSpec) -> Result<String, Error> {
    spec.validate()?;
    honour::check(BackendKind::Sysv, spec)?;
    honour::file_name(BackendKind::Sysv, &spec.name)?;
    if spec.accept != AcceptMode::Inetd {
        return Err(refuse(
            "accept",
            "xinetd runs an instance per connection on its stdin and stdout: accept = \"inetd\"",
        ));
    }
    let addr = address(spec)?;
    // What an entry has no attribute for.
    let unsaid: [(&'static str, bool); 9] = [
        ("working_dir", spec.working_dir.is_some()),
        ("exec_start_pre", !spec.exec_start_pre.is_empty()),
        ("exec_start_post", !spec.exec_start_post.is_empty()),
        ("exec_stop", !spec.exec_stop.is_empty()),
        ("runtime_directory", !spec.runtime_directory.is_empty()),
        ("limits", spec.limits != svckit_core::Limits::default()),
        ("oom_score_adjust", spec.oom_score_adjust.is_some()),
        (
            "dependencies",
            spec.started_with().next().is_some()
                || !spec.after.is_empty()
                || !spec.before.is_empty(),
        ),
        (
            "reload",
            spec.reload.signal.is_some() || !spec.reload.command.is_empty(),
        ),
    ];
    if let Some((setting, _)) = unsaid.iter().find(|(_, given)| *given) {
        return Err(refuse(
            setting,
            "xinetd has no such attribute for the servers it starts",
        ));
    }
    let program = spec
        .program
        .to_str()
        .ok_or_else(|| refuse("program", "the path is not UTF-8"))?;
    let mut entry = format!(
        "# Written by svckit from the definition of {name} (svckit render {name} --backend \
         sysv): run by xinetd.\n",
        name = spec.name
    );
    if let Some(description) = spec.description.as_deref().or(spec.display_name.as_deref()) {
        if description.contains(['\n', '\r']) {
            return Err(refuse(
                "description",
                format!("{description:?} contains a line break"),
            ));
        }
        let _ = writeln!(entry, "# description: {description}");
    }
    let _ = writeln!(entry, "service {}\n{{", spec.name);
    let mut set = |key: &str, value: &str| {
        let _ = writeln!(entry, "\t{key:<12}= {value}");
    };
    set("type", "UNLISTED");
    set("socket_type", "stream");
    set("protocol", "tcp");
    set("wait", "no");
    set("port", &addr.port().to_string());
    if addr.is_ipv6() {
        set("flags", "IPv6");
    }
    if !addr.ip().is_unspecified() {
        set("bind", &addr.ip().to_string());
    }
    set(
        "user",
        &word("account", spec.account.as_deref().unwrap_or("root"))?,
    );
    if let Some(group) = &spec.group {
        set("group", &word("group", group)?);
    }
    set("server", &word("program", program)?);
    let args = spec
        .args
        .iter()
        .enumerate()
        .map(|(index, arg)| {
            let arg = arg
                .to_str()
                .ok_or_else(|| refuse("args", format!("argument {} is not UTF-8", index + 1)))?;
            word("args", arg)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !args.is_empty() {
        set("server_args", &args.join(" "));
    }
    set("instances", &spec.max_connections.to_string());
    match spec.max_connections_per_source {
        Some(per_source) => set("per_source", &per_source.to_string()),
        None => set("per_source", "UNLIMITED"),
    }
    // svckit bounds instances, never the rate (xinetd's default stops a service that takes
    // more than 50 connections a second, for 10 seconds).
    set("cps", "1000000 1");
    set("umask", &format!("{:03o}", spec.umask.unwrap_or(0o022)));
    if let Some(nice) = spec.nice {
        set("nice", &nice.to_string());
    }
    if !spec.env.is_empty() {
        let assignments = spec
            .env
            .iter()
            .map(|(key, value)| word("env", &format!("{key}={value}")))
            .collect::<Result<Vec<_>, _>>()?;
        set("env", &assignments.join(" "));
    }
    set("disable", "no");
    entry.push_str("}\n");
    Ok(entry)
}

/// `entry` with its `disable` attribute set to `disabled`: how a start and a stop switch the
/// service on and off in xinetd.
pub fn with_disable(entry: &str, disabled: bool) -> String {
    let value = if disabled { "yes" } else { "no" };
    entry
        .lines()
        .map(|line| match line.trim_start().starts_with("disable") {
            true => format!("\t{:<12}= {value}\n", "disable"),
            false => format!("{line}\n"),
        })
        .collect()
}

/// Whether `entry` is switched on (`disable = no`).
pub fn enabled(entry: &str) -> bool {
    entry.lines().any(|line| {
        let mut words = line.split_whitespace();
        words.next() == Some("disable") && words.next() == Some("=") && words.next() == Some("no")
    })
}
