use std::{fmt, str::FromStr};

use crate::ModelError;

/// The longest service name the SCM accepts (`lpServiceName` of `CreateServiceW`).
pub const MAX_SERVICE_NAME_LEN: usize = 256;

/// The most bytes (UTF-8) a service name may have: every file svckit names after a service
/// (`.NAME.toml.PID.tmp`, `NAME.stdout.1000`, `NAME.service`, `NAME.pid.svckit`) must fit in
/// the 255 bytes a file name may have.
pub const MAX_SERVICE_NAME_BYTES: usize = 200;

/// A service name that is valid for every backend svckit drives.
///
/// The rules are the SCM's (at most 256 characters, no `/` or `\`) plus what keeps the name safe
/// as a file name and a command-line word on Unix (at most 200 bytes): not empty, no control characters, not `.` or
/// `..`, and not starting with `-` (it would read as an option). Spaces are allowed, as the SCM
/// allows them; backends that cannot hold them escape them.
///
/// Shared, not copied, when cloned (an `Arc<str>`): a supervisor of 10,000 services names each
/// in its maps and indexes many times over.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceName(std::sync::Arc<str>);

impl ServiceName {
    /// Checks `name` against the rules above.
    pub fn new(name: impl Into<String>) -> Result<ServiceName, ModelError> {
        let name = name.into();
        let reason = if name.is_empty() {
            Some("it is empty")
        } else if name.chars().count() > MAX_SERVICE_NAME_LEN {
            Some("it is longer than 256 characters")
        } else if name.len() > MAX_SERVICE_NAME_BYTES {
            Some("it is longer than 200 bytes (the files named after it must fit)")
        } else if name.contains(['/', '\\']) {
            Some("it contains a slash or backslash")
        } else if name.chars().any(char::is_control) {
            Some("it contains a control character")
        } else if name == "." || name == ".." {
            Some("it is a relative directory name")
        } else if name.starts_with('-') {
            Some("it starts with '-'")
        } else if name.trim() != name {
            Some("it starts or ends with white space")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(ModelError::InvalidServiceName { name, reason }),
            None => Ok(ServiceName(name.into())),
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ServiceName {
    type Err = ModelError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ServiceName::new(text)
    }
}

impl AsRef<str> for ServiceName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name among `known` most like `typed`: one typo away (a letter wrong, missing, added,
/// or two swapped: `wbe` → `web`), or similar as clap finds a subcommand for a typo (Jaro
/// similarity above 0.7, which short names seldom reach); the most similar first. None when
/// none is close, or when `typed` is one of them.
pub fn most_like<'a>(
    typed: &str,
    known: impl IntoIterator<Item = &'a ServiceName>,
) -> Option<&'a ServiceName> {
    let mut best: Option<(f64, &ServiceName)> = None;
    for name in known {
        if name.as_str() == typed {
            return None;
        }
        let jaro = strsim::jaro(typed, name.as_str());
        let one_typo = strsim::osa_distance(typed, name.as_str()) <= 1;
        // One typo away outranks mere similarity.
        let score = jaro + f64::from(u8::from(one_typo));
        if (one_typo || jaro > 0.7) && best.is_none_or(|(most, _)| score > most) {
            best = Some((score, name));
        }
    }
    best.map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_is_matched_to_the_name_most_like_it() {
        let known: Vec<ServiceName> = ["web", "api", "worker", "web-admin"]
            .into_iter()
            .map(|name| ServiceName::new(name).unwrap())
            .collect();
        let like = |typed: &str| most_like(typed, &known).map(ServiceName::as_str);
        assert_eq!(like("wbe"), Some("web"));
        assert_eq!(like("wokrer"), Some("worker"));
        assert_eq!(like("web-admni"), Some("web-admin"));
        assert_eq!(like("postgres"), None);
        assert_eq!(like("web"), None, "a name that is there is no typo");
        assert_eq!(most_like("web", &[]), None);
    }

    #[test]
    fn accepts_ordinary_and_spaced_names() {
        for name in ["web", "MemoryStatus", "my service", "a.b-c_d@1", "ü"] {
            assert_eq!(ServiceName::new(name).unwrap().as_str(), name);
        }
        assert!(ServiceName::new("x".repeat(200)).is_ok());
    }

    /// Regression: names of 240 to 256 bytes passed validation, then install failed with
    /// ENAMETOOLONG (exit 1) on the files named after them.
    #[test]
    fn regression_a_name_too_long_for_its_files_is_refused() {
        for name in ["x".repeat(201), "x".repeat(256), "ü".repeat(101)] {
            let err = ServiceName::new(name).unwrap_err().to_string();
            assert!(err.contains("longer than 200 bytes"), "{err}");
        }
    }

    #[test]
    fn rejects_names_with_the_rule_broken() {
        let cases = [
            ("", "it is empty"),
            ("a/b", "it contains a slash or backslash"),
            ("a\\b", "it contains a slash or backslash"),
            ("a\nb", "it contains a control character"),
            ("..", "it is a relative directory name"),
            ("-rf", "it starts with '-'"),
            (" web", "it starts or ends with white space"),
        ];
        for (name, reason) in cases {
            let err = ServiceName::new(name).unwrap_err();
            assert_eq!(
                err,
                ModelError::InvalidServiceName {
                    name: name.into(),
                    reason
                }
            );
        }
        let long = ServiceName::new("x".repeat(257)).unwrap_err();
        assert!(long.to_string().contains("longer than 256"), "{long}");
    }

    #[test]
    fn error_message_names_the_input() {
        let err = ServiceName::new("a/b").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid service name \"a/b\": it contains a slash or backslash"
        );
    }
}
