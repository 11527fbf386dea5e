//! `svckit boot`: the supervisor itself brought up at boot, by whatever the host runs then —
//! a systemd unit (the system's for root, the user's with lingering for a user), an LSB init
//! script where SysV init is PID 1, an `@reboot` line in the user's crontab elsewhere — or,
//! in a container, the entrypoint line to use (a container has no boot but its own start).

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use svckit_core::BackendKind;
use svckit_supervise::StateDir;

use crate::{Error, detect::Host};

/// How the supervisor of a state directory is started at boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Boot {
    /// A systemd unit, enabled (`user`: the user's manager, which lingering keeps running).
    Systemd {
        /// The unit file.
        unit: PathBuf,
        /// The user's manager rather than the system's.
        user: bool,
    },
    /// An LSB init script, enabled with update-rc.d.
    Sysv {
        /// The script.
        script: PathBuf,
    },
    /// An `@reboot` line in the user's crontab.
    Cron {
        /// The line.
        line: String,
    },
    /// Nothing here starts it at boot: the container's entrypoint must be this.
    Entrypoint {
        /// The command line.
        line: String,
    },
}

/// Which way to start it at boot: what the host runs ([`Via::Auto`]), or one named by the
/// operator (a container that does run cron, a user without lingering rights).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Via {
    /// systemd where it is PID 1 (the user's manager for a user), else an init script where
    /// SysV init is PID 1 (root), else the entrypoint in a container, else cron.
    #[default]
    Auto,
    /// A systemd unit (the user's for a user).
    Systemd,
    /// An LSB init script (root only).
    Sysv,
    /// An `@reboot` line in the user's crontab.
    Cron,
    /// The line for a container's entrypoint (nothing is set up).
    Entrypoint,
}

impl std::fmt::Display for Boot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Boot::Systemd { unit, user: false } => write!(f, "the systemd unit {}", unit.display()),
            Boot::Systemd { unit, user: true } => write!(
                f,
                "the user's systemd unit {} (with lingering)",
                unit.display()
            ),
            Boot::Sysv { script } => write!(f, "the init script {}", script.display()),
            Boot::Cron { line } => write!(f, "the crontab line `{line}`"),
            Boot::Entrypoint { line } => write!(f, "the container's entrypoint `{line}`"),
        }
    }
}

/// The supervisor of `dir` at boot, with `svckit` (this executable) as its program.
#[derive(Debug, Clone)]
pub struct BootSetup {
    dir: StateDir,
    svckit: PathBuf,
    host: Host,
    via: Via,
}

impl BootSetup {
    /// For the supervisor of `dir`, run as `svckit`, on this host.
    pub fn new(dir: StateDir, svckit: PathBuf) -> BootSetup {
        BootSetup {
            dir,
            svckit,
            host: Host::current(),
            via: Via::Auto,
        }
    }

    /// Starts it at boot `via` this way rather than the host's.
    pub fn via(mut self, via: Via) -> Result<BootSetup, Error> {
        if via == Via::Sysv && self.user() {
            return Err(Error::PermissionDenied {
                operation: "--via sysv: an init script is root's (as a user: --via cron)".into(),
            });
        }
        self.via = via;
        Ok(self)
    }

    /// The name the supervisor of this state directory has at boot: `svckit-PATH` with the
    /// path escaped as systemd-escape --path does (`/var/lib/svckit` → `svckit-var-lib-svckit`).
    pub fn name(&self) -> String {
        format!("svckit-{}", escape_path(self.dir.root()))
    }

    /// The name as an init script's (and a crontab comment's): no backslash, which
    /// update-rc.d takes for a glob escape (it left `\x2d` names' links behind). Every byte
    /// but ASCII letters, digits, `_` and `.` becomes `-`; a short hash of the path follows
    /// when that lost anything, so two directories never share a name.
    pub fn script_name(&self) -> String {
        let text = self.dir.root().display().to_string();
        let trimmed = text.trim_matches('/');
        let plain: String = trimmed
            .chars()
            .map(|c| match c {
                c if c.is_ascii_alphanumeric() || c == '_' || c == '.' => c,
                _ => '-',
            })
            .collect();
        let lossless = trimmed
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '/');
        match lossless {
            true => format!("svckit-{plain}"),
            false => {
                let hash = svckit_core::hash::fnv1a(text.as_bytes());
                format!("svckit-{plain}-{:08x}", hash as u32)
            }
        }
    }

    fn user(&self) -> bool {
        self.host.euid != 0
    }

    fn command(&self) -> Vec<String> {
        vec![
            self.svckit.display().to_string(),
            "supervise".to_owned(),
            "--state-dir".to_owned(),
            self.dir.root().display().to_string(),
        ]
    }

    /// The command as one line for sh, each word quoted where it needs to be.
    fn shell_line(&self) -> String {
        self.command()
            .iter()
            .map(|word| quote(word))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Where this host's boot would start it, and whether that is set up now. With `--via
    /// auto`, a hook set up another way (`boot enable --via cron` on a host whose own way is
    /// systemd, or in a container) is the one found.
    pub fn status(&self) -> (Boot, bool) {
        let boot = self.mechanism();
        if self.is_set_up(&boot) {
            return (boot, true);
        }
        if self.via == Via::Auto {
            let others = [Via::Systemd, Via::Sysv, Via::Cron]
                .map(|via| self.mechanism_via(via))
                .into_iter()
                .filter(|other| other != &boot);
            for other in others {
                if self.is_set_up(&other) {
                    return (other, true);
                }
            }
        }
        (boot, false)
    }

    /// Whether `boot` is set up now.
    fn is_set_up(&self, boot: &Boot) -> bool {
        match boot {
            Boot::Systemd { unit, user } => {
                let name = format!("{}.service", self.name());
                unit.exists() && systemctl(*user, &["is-enabled", "--quiet", &name]).is_ok()
            }
            Boot::Sysv { script } => script.exists() && rc_links(&self.script_name()),
            Boot::Cron { .. } => {
                crontab().is_ok_and(|table| table.lines().any(|l| self.is_our_cron_line(l)))
            }
            Boot::Entrypoint { .. } => false,
        }
    }

    /// Whether a crontab line is this supervisor's `@reboot` line: by the name it ends with
    /// (the svckit path in it may have changed since it was written).
    fn is_our_cron_line(&self, line: &str) -> bool {
        line.starts_with("@reboot ") && line.ends_with(&format!(" # {}", self.script_name()))
    }

    /// How this host starts things at boot, for this user.
    fn mechanism(&self) -> Boot {
        self.mechanism_via(self.via)
    }

    /// How `via` starts things at boot, for this user.
    fn mechanism_via(&self, via: Via) -> Boot {
        let systemd = match via {
            Via::Auto => self.host.root.join("run/systemd/system").is_dir(),
            Via::Systemd => true,
            _ => false,
        };
        match (systemd, self.user()) {
            (true, false) => Boot::Systemd {
                unit: self
                    .host
                    .root
                    .join("etc/systemd/system")
                    .join(format!("{}.service", self.name())),
                user: false,
            },
            (true, true) => Boot::Systemd {
                unit: user_config()
                    .join("systemd/user")
                    .join(format!("{}.service", self.name())),
                user: true,
            },
            (false, false)
                if via == Via::Sysv
                    || (via == Via::Auto
                        && crate::detect_kind(&self.host) == BackendKind::Sysv) =>
            {
                Boot::Sysv {
                    script: self.host.root.join("etc/init.d").join(self.script_name()),
                }
            }
            _ if via == Via::Entrypoint || (via == Via::Auto && in_a_container()) => {
                Boot::Entrypoint {
                    line: self.shell_line(),
                }
            }
            // cron runs the line with sh, and takes an unescaped % for a newline.
            _ => Boot::Cron {
                line: format!(
                    "@reboot {} --daemon # {}",
                    self.shell_line().replace('%', "\\%"),
                    self.script_name()
                ),
            },
        }
    }

    /// Sets it up; returns how. In a container, nothing is set up: the entrypoint to use is
    /// returned (an error only where printing it is not what was asked).
    pub fn enable(&self) -> Result<Boot, Error> {
        let boot = self.mechanism();
        match &boot {
            Boot::Systemd { unit, user } => {
                // Without lingering, the user's manager (and so the supervisor) runs only while
                // the user is logged in: on already, or turned on (which starts the manager),
                // before anything is written.
                if *user {
                    self.linger()?;
                }
                if let Some(parent) = unit.parent() {
                    fs::create_dir_all(parent)
                        .map_err(|err| Error::os(format!("create {}", parent.display()), err))?;
                }
                fs::write(unit, self.unit_file(*user))
                    .map_err(|err| Error::os(format!("write {}", unit.display()), err))?;
                let name = format!("{}.service", self.name());
                let enabled = systemctl(*user, &["daemon-reload"])
                    .and_then(|()| systemctl(*user, &["enable", &name]));
                if let Err(err) = enabled {
                    let _ = fs::remove_file(unit);
                    return Err(err);
                }
            }
            Boot::Sysv { script } => {
                fs::write(script, self.init_script())
                    .map_err(|err| Error::os(format!("write {}", script.display()), err))?;
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(script, fs::Permissions::from_mode(0o755))
                    .map_err(|err| Error::os(format!("chmod {}", script.display()), err))?;
                if let Err(err) = run("update-rc.d", &[&self.script_name(), "defaults"]) {
                    let _ = fs::remove_file(script);
                    return Err(err);
                }
            }
            Boot::Cron { line } => {
                let table = crontab().unwrap_or_default();
                if !table.lines().any(|l| l == line) {
                    // One line of ours: an older one (another svckit path) is replaced.
                    let mut new: String = table
                        .lines()
                        .filter(|l| !self.is_our_cron_line(l))
                        .map(|l| format!("{l}\n"))
                        .collect();
                    new.push_str(line);
                    new.push('\n');
                    set_crontab(&new)?;
                }
            }
            Boot::Entrypoint { .. } => {}
        }
        Ok(boot)
    }

    /// Lingering for this user (their manager runs from boot, not from their first login):
    /// on already (`/var/lib/systemd/linger/NAME`), or turned on with `loginctl enable-linger
    /// NAME` (the name, not the caller's session: `svckit boot enable` may run from cron, su or
    /// a script, outside any session).
    fn linger(&self) -> Result<(), Error> {
        let user = svckit_unix::accounts::Databases::system()
            .user_by_uid(self.host.euid)
            .ok()
            .flatten()
            .ok_or_else(|| Error::os("lingering", format!("no user has uid {}", self.host.euid)))?;
        if self
            .host
            .root
            .join("var/lib/systemd/linger")
            .join(&user.name)
            .exists()
        {
            return Ok(());
        }
        run("loginctl", &["enable-linger", &user.name]).map_err(|err| {
            Error::os(
                format!("turn on lingering for {}", user.name),
                format!(
                    "{err}: without it the supervisor would start only at {}'s login; as root: \
                     loginctl enable-linger {}, then run this again (or use --via cron)",
                    user.name, user.name
                ),
            )
        })?;
        // Turned on: logind starts the user's manager; systemctl --user needs it up.
        let socket = user_runtime_dir(self.host.euid).join("systemd/private");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !socket.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Ok(())
    }

    /// Undoes [`enable`](BootSetup::enable); returns how it was set up (None: it was not).
    pub fn disable(&self) -> Result<Option<Boot>, Error> {
        let (boot, enabled) = self.status();
        match &boot {
            Boot::Systemd { unit, user } => {
                if !unit.exists() {
                    return Ok(None);
                }
                let name = format!("{}.service", self.name());
                match systemctl(*user, &["disable", &name]) {
                    Ok(()) => {}
                    // A user's manager that does not run (no lingering, logged out): what
                    // enabling made is its symlink in the target's wants, removed here.
                    Err(_) if *user => {
                        if let Some(dir) = unit.parent() {
                            let wants = dir.join(format!("{}.wants", self.wanted_by(true)));
                            let _ = fs::remove_file(wants.join(&name));
                            let _ = fs::remove_dir(wants);
                        }
                    }
                    Err(err) => return Err(err),
                }
                fs::remove_file(unit)
                    .map_err(|err| Error::os(format!("remove {}", unit.display()), err))?;
                let _ = systemctl(*user, &["daemon-reload"]);
            }
            Boot::Sysv { script } => {
                if !script.exists() {
                    return Ok(None);
                }
                fs::remove_file(script)
                    .map_err(|err| Error::os(format!("remove {}", script.display()), err))?;
                run("update-rc.d", &[&self.script_name(), "remove"])?;
            }
            Boot::Cron { .. } => {
                if !enabled {
                    return Ok(None);
                }
                let table = crontab().unwrap_or_default();
                let kept: String = table
                    .lines()
                    .filter(|l| !self.is_our_cron_line(l))
                    .map(|l| format!("{l}\n"))
                    .collect();
                set_crontab(&kept)?;
            }
            Boot::Entrypoint { .. } => return Ok(None),
        }
        Ok(Some(boot))
    }

    /// The unit: the supervisor in the foreground; its stop stops its services first (in
    /// reverse dependency order), then systemd ends what is left; it may make cgroups of
    /// its own below its unit's (Delegate=yes), one per service.
    fn unit_file(&self, user: bool) -> String {
        let command = self.command().iter().map(|w| quote(w)).collect::<Vec<_>>();
        let mut stop = vec![
            quote(&self.svckit.display().to_string()),
            "supervisor".to_owned(),
            "stop".to_owned(),
        ];
        stop.extend(command[2..].iter().cloned());
        format!(
            "# Written by svckit boot enable: the supervisor of {dir} at boot.\n\
             [Unit]\n\
             Description=svckit supervisor of {dir}\n\
             After=network.target\n\
             \n\
             [Service]\n\
             Type=exec\n\
             ExecStart={start}\n\
             ExecStop={stop}\n\
             TimeoutStopSec=5min\n\
             Delegate=yes\n\
             KillMode=mixed\n\
             Restart=on-failure\n\
             \n\
             [Install]\n\
             WantedBy={target}\n",
            dir = self.dir.root().display(),
            start = command.join(" "),
            stop = stop.join(" "),
            target = self.wanted_by(user),
        )
    }

    /// The target the unit is enabled into: the user's default, or the system's multi-user.
    fn wanted_by(&self, user: bool) -> &'static str {
        match user {
            true => "default.target",
            false => "multi-user.target",
        }
    }

    /// An LSB script that runs the supervisor as a daemon and stops it (its services first).
    fn init_script(&self) -> String {
        let svckit = quote(&self.svckit.display().to_string());
        let dir = quote(&self.dir.root().display().to_string());
        format!(
            "#!/bin/sh\n\
             ### BEGIN INIT INFO\n\
             # Provides:          {name}\n\
             # Required-Start:    $remote_fs $network\n\
             # Required-Stop:     $remote_fs $network\n\
             # Default-Start:     2 3 4 5\n\
             # Default-Stop:      0 1 6\n\
             # Short-Description: svckit supervisor of {dir}\n\
             ### END INIT INFO\n\
             # Written by svckit boot enable.\n\
             case \"$1\" in\n\
             \x20 start) exec {svckit} supervise --daemon --state-dir {dir} ;;\n\
             \x20 stop) exec {svckit} supervisor stop --state-dir {dir} ;;\n\
             \x20 restart|force-reload) \"$0\" stop && exec \"$0\" start ;;\n\
             \x20 status) exec {svckit} supervisor status --state-dir {dir} ;;\n\
             \x20 *) echo \"Usage: $0 {{start|stop|restart|force-reload|status}}\" >&2; exit 3 ;;\n\
             esac\n",
            name = self.script_name(),
        )
    }
}

/// `/var/lib/svckit` → `var-lib-svckit`, as systemd-escape --path: `/` becomes `-`, and
/// every byte but ASCII letters, digits, `_` and a `.` not in front becomes `\xNN`.
pub fn escape_path(path: &Path) -> String {
    let text = path.display().to_string();
    let trimmed = text.trim_matches('/');
    let mut out = String::new();
    for (index, byte) in trimmed.bytes().enumerate() {
        match byte {
            b'/' => out.push('-'),
            b'.' if index > 0 => out.push('.'),
            b if b.is_ascii_alphanumeric() || b == b'_' => out.push(b as char),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// A word for a unit's command line or a shell: quoted when it needs to be.
fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_-.:=+@%,".contains(&b))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn user_config() -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".config")))
        .unwrap_or_else(|| PathBuf::from(".config"))
}

fn in_a_container() -> bool {
    Path::new("/.dockerenv").exists()
        || Path::new("/run/.containerenv").exists()
        || std::env::var_os("container").is_some()
        || std::process::id() == 1
}

fn rc_links(name: &str) -> bool {
    (2..=5).any(|level| {
        fs::read_dir(format!("/etc/rc{level}.d"))
            .map(|entries| {
                entries.filter_map(|e| e.ok()).any(|e| {
                    e.file_name()
                        .to_str()
                        .is_some_and(|file| file.starts_with('S') && file.ends_with(name))
                })
            })
            .unwrap_or(false)
    })
}

/// The user's runtime directory: `$XDG_RUNTIME_DIR`, else `/run/user/UID` (where logind makes
/// it; a shell from su or cron has no variable).
fn user_runtime_dir(uid: u32) -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(format!("/run/user/{uid}")))
}

fn systemctl(user: bool, args: &[&str]) -> Result<(), Error> {
    let mut all = Vec::new();
    if user {
        all.push("--user");
    }
    all.extend_from_slice(args);
    let mut command = Command::new("systemctl");
    command.args(&all);
    if user {
        command.env(
            "XDG_RUNTIME_DIR",
            user_runtime_dir(nix::unistd::geteuid().as_raw()),
        );
    }
    run_command(command, &format!("systemctl {}", all.join(" ")))
}

fn run(program: &str, args: &[&str]) -> Result<(), Error> {
    let mut command = Command::new(program);
    command.args(args);
    run_command(command, &format!("{program} {}", args.join(" ")))
}

/// Runs `command` (said as `what`): Ok when it exits 0, else its status and what it said.
fn run_command(mut command: Command, what: &str) -> Result<(), Error> {
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|err| Error::os(format!("run {what}"), err))?;
    if output.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&output.stderr);
    Err(Error::os(
        what.to_owned(),
        format!("{} ({})", output.status, said.trim()),
    ))
}

fn crontab() -> Result<String, Error> {
    let output = Command::new("crontab")
        .arg("-l")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|err| Error::os("run crontab -l", err))?;
    // No crontab yet is an empty one.
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn set_crontab(table: &str) -> Result<(), Error> {
    use std::io::Write;
    let mut child = Command::new("crontab")
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .map_err(|err| Error::os("run crontab -", err))?;
    let written = child
        .stdin
        .take()
        .expect("piped")
        .write_all(table.as_bytes());
    let status = child
        .wait()
        .map_err(|err| Error::os("run crontab -", err))?;
    written.map_err(|err| Error::os("write the crontab", err))?;
    if !status.success() {
        return Err(Error::os("crontab -", format!("exited with {status}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_escaped_as_systemd_escape_does() {
        assert_eq!(escape_path(Path::new("/var/lib/svckit")), "var-lib-svckit");
        assert_eq!(escape_path(Path::new("/tmp/a b/.x")), "tmp-a\\x20b-.x");
        assert_eq!(escape_path(Path::new("/srv/my-state")), "srv-my\\x2dstate");
    }
}
