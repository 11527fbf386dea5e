use std::{ffi::OsString, fmt, path::PathBuf, str::FromStr, time::Duration};

use crate::{ModelError, ServiceName};

/// When a service starts (the SCM's start types; other backends map them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StartType {
    /// Started at boot (`SERVICE_AUTO_START`).
    Auto,
    /// Started at boot, after the other auto-start services (`SERVICE_AUTO_START` with the
    /// delayed-auto-start flag).
    Delayed,
    /// Started on request only (`SERVICE_DEMAND_START`).
    #[default]
    Demand,
    /// Cannot be started (`SERVICE_DISABLED`).
    Disabled,
}

impl StartType {
    /// The lowercase name the CLI and definitions use.
    pub const fn name(self) -> &'static str {
        match self {
            StartType::Auto => "auto",
            StartType::Delayed => "delayed",
            StartType::Demand => "demand",
            StartType::Disabled => "disabled",
        }
    }
}

impl FromStr for StartType {
    type Err = ModelError;
    fn from_str(text: &str) -> Result<StartType, ModelError> {
        [
            StartType::Auto,
            StartType::Delayed,
            StartType::Demand,
            StartType::Disabled,
        ]
        .into_iter()
        .find(|start| start.name() == text)
        .ok_or_else(|| {
            ModelError::invalid(
                "start",
                format!("{text:?} is not auto, delayed, demand or disabled"),
            )
        })
    }
}

impl fmt::Display for StartType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// When the service manager restarts a service that ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Restart {
    /// Never.
    #[default]
    Never,
    /// When it failed: a crash, or an exit code other than success.
    OnFailure,
    /// Whenever it ended without being asked to stop.
    Always,
}

impl Restart {
    /// The name the CLI and definitions use.
    pub const fn name(self) -> &'static str {
        match self {
            Restart::Never => "never",
            Restart::OnFailure => "on-failure",
            Restart::Always => "always",
        }
    }
}

impl FromStr for Restart {
    type Err = ModelError;
    fn from_str(text: &str) -> Result<Restart, ModelError> {
        [Restart::Never, Restart::OnFailure, Restart::Always]
            .into_iter()
            .find(|restart| restart.name() == text)
            .ok_or_else(|| {
                ModelError::invalid(
                    "restart",
                    format!("{text:?} is not never, on-failure or always"),
                )
            })
    }
}

impl fmt::Display for Restart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The restart policy: when, and after how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RestartPolicy {
    /// When to restart.
    pub policy: Restart,
    /// How long to wait before a restart.
    pub delay: Duration,
}

impl Default for RestartPolicy {
    fn default() -> RestartPolicy {
        RestartPolicy {
            policy: Restart::Never,
            delay: Duration::from_secs(1),
        }
    }
}

/// Everything a service manager needs to install a service: what to run and how to manage it.
/// Every backend renders or applies this one definition; [`ServiceSpec::validate`] checks it
/// first, and its errors name the field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceSpec {
    /// The service's name (the key in the service manager).
    pub name: ServiceName,
    /// A friendlier name for listings; the name when absent.
    pub display_name: Option<String>,
    /// A sentence saying what the service does.
    pub description: Option<String>,
    /// The program to run, best given as an absolute path.
    pub program: PathBuf,
    /// Its arguments, passed exactly (each backend quotes them by its own rules).
    pub args: Vec<OsString>,
    /// When it starts.
    pub start: StartType,
    /// The account it runs as (Windows: `DOMAIN\user`, `.\user`, `NT AUTHORITY\LocalService`);
    /// the service manager's default (LocalSystem, root) when absent.
    pub account: Option<String>,
    /// The account's password (Windows only; never stored by svckit).
    pub password: Option<String>,
    /// Services that must run before this one.
    pub dependencies: Vec<ServiceName>,
    /// When and how soon to restart it.
    pub restart: RestartPolicy,
}

impl ServiceSpec {
    /// A spec that runs `program` with no arguments, started on demand, never restarted.
    pub fn new(name: ServiceName, program: impl Into<PathBuf>) -> ServiceSpec {
        ServiceSpec {
            name,
            display_name: None,
            description: None,
            program: program.into(),
            args: Vec::new(),
            start: StartType::default(),
            account: None,
            password: None,
            dependencies: Vec::new(),
            restart: RestartPolicy::default(),
        }
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.program.as_os_str().is_empty() {
            return Err(ModelError::invalid("program", "is empty"));
        }
        check_text("program", &self.program.to_string_lossy())?;
        for (index, arg) in self.args.iter().enumerate() {
            if arg.to_string_lossy().contains('\0') {
                return Err(ModelError::invalid(
                    "args",
                    format!("argument {} contains a NUL byte", index + 1),
                ));
            }
        }
        if let Some(display_name) = &self.display_name {
            check_text("display_name", display_name)?;
            if display_name.chars().count() > 256 {
                return Err(ModelError::invalid(
                    "display_name",
                    "is longer than 256 characters",
                ));
            }
        }
        if let Some(description) = &self.description
            && description.contains('\0')
        {
            return Err(ModelError::invalid("description", "contains a NUL byte"));
        }
        if let Some(account) = &self.account {
            if account.is_empty() {
                return Err(ModelError::invalid("account", "is empty"));
            }
            check_text("account", account)?;
        }
        if self.password.is_some() && self.account.is_none() {
            return Err(ModelError::invalid(
                "password",
                "is given without an account",
            ));
        }
        if let Some(dependency) = self.dependencies.iter().find(|dep| **dep == self.name) {
            return Err(ModelError::invalid(
                "dependencies",
                format!("the service depends on itself ({dependency})"),
            ));
        }
        Ok(())
    }
}

fn check_text(field: &'static str, text: &str) -> Result<(), ModelError> {
    if text.chars().any(char::is_control) {
        return Err(ModelError::invalid(field, "contains a control character"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ServiceSpec {
        ServiceSpec::new(ServiceName::new("web").unwrap(), "/usr/bin/true")
    }

    #[test]
    fn errors_name_the_field() {
        let mut bad = spec();
        bad.password = Some("secret".into());
        assert_eq!(
            bad.validate().unwrap_err().to_string(),
            "invalid password: is given without an account"
        );
        let mut bad = spec();
        bad.display_name = Some("two\nlines".into());
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .starts_with("invalid display_name")
        );
        let mut bad = spec();
        bad.program = PathBuf::new();
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .starts_with("invalid program")
        );
        let mut bad = spec();
        bad.dependencies = vec![ServiceName::new("web").unwrap()];
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("depends on itself")
        );
        assert_eq!(spec().validate(), Ok(()));
    }

    #[test]
    fn policies_parse_their_names_only() {
        assert_eq!("on-failure".parse(), Ok(Restart::OnFailure));
        assert_eq!("delayed".parse(), Ok(StartType::Delayed));
        assert!(
            "sometimes"
                .parse::<Restart>()
                .unwrap_err()
                .to_string()
                .contains("restart")
        );
        assert!(
            "boot"
                .parse::<StartType>()
                .unwrap_err()
                .to_string()
                .contains("start")
        );
    }
}
