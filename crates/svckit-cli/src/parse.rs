//! Parsers for the values the CLI takes: durations, octal modes, signals, `K=V` pairs.

use std::{ffi::OsString, time::Duration};

/// A duration: `100ms`, `10s`, `1m30s`, or a bare number of seconds (`5`, `0.5`).
pub fn duration(text: &str) -> Result<Duration, String> {
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds)
            .map_err(|_| format!("{text:?} is not a duration (like 100ms, 10s, 1m)"));
    }
    humantime::parse_duration(text)
        .map_err(|_| format!("{text:?} is not a duration (like 100ms, 10s, 1m)"))
}

/// An octal file mode creation mask, 000 to 777 (`022`, `0o027`, `0077`).
pub fn umask(text: &str) -> Result<u32, String> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    match u32::from_str_radix(digits, 8) {
        Ok(mask) if mask <= 0o777 && !digits.is_empty() => Ok(mask),
        _ => Err(format!(
            "{text:?} is not an octal umask between 000 and 777"
        )),
    }
}

/// A `NAME=VALUE` pair for the environment.
pub fn env_pair(text: &str) -> Result<(OsString, OsString), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.into(), value.into())),
        _ => Err(format!("{text:?} is not NAME=VALUE")),
    }
}

/// A signal by name (`TERM`, `SIGTERM`, `term`) or number (`15`).
#[cfg(unix)]
pub fn signal(text: &str) -> Result<svckit::unix::Signal, String> {
    use std::str::FromStr;
    let bad = || format!("{text:?} is not a signal name or number");
    if let Ok(number) = text.parse::<i32>() {
        return svckit::unix::Signal::try_from(number).map_err(|_| bad());
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    svckit::unix::Signal::from_str(&name).map_err(|_| bad())
}

/// Signals are a Unix notion: elsewhere the name is kept as given.
#[cfg(not(unix))]
pub fn signal(text: &str) -> Result<String, String> {
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(duration("0.25"), Ok(Duration::from_millis(250)));
        assert!(duration("soon").unwrap_err().contains("\"soon\""));
        assert!(duration("-1").is_err());
    }

    #[test]
    fn umasks() {
        assert_eq!(umask("022"), Ok(0o022));
        assert_eq!(umask("0o027"), Ok(0o027));
        assert_eq!(umask("0777"), Ok(0o777));
        assert_eq!(umask("0"), Ok(0));
        for bad in ["0999", "1000", "", "rwx", "-1"] {
            assert!(umask(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_pairs() {
        assert_eq!(env_pair("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert_eq!(env_pair("A="), Ok(("A".into(), "".into())));
        assert!(env_pair("=x").is_err());
        assert!(env_pair("novalue").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn signals() {
        use svckit::unix::Signal;
        assert_eq!(signal("TERM"), Ok(Signal::SIGTERM));
        assert_eq!(signal("sigkill"), Ok(Signal::SIGKILL));
        assert_eq!(signal("1"), Ok(Signal::SIGHUP));
        assert!(signal("NOPE").is_err());
        assert!(signal("999").is_err());
    }
}
