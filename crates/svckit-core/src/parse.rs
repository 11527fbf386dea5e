//! Parsers for the values definitions and flags share: durations, sizes, umasks. Each error
//! names the text it could not read and what was expected.

use std::time::Duration;

/// The longest duration any setting takes: a year. Longer waits are mistakes (`1e19`), and
/// would overflow the clock arithmetic of whoever waits.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 86_400);

/// The most rotated log files a service keeps.
pub const MAX_LOG_KEEP: u32 = 1000;

/// The most starts a restart window counts.
pub const MAX_START_LIMIT: u32 = 10_000;

/// A duration: `100ms`, `10s`, `1m30s`, or a bare number of seconds (`5`, `0.5`); at most
/// [`MAX_DURATION`].
pub fn duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration (like 100ms, 10s, 1m)");
    let parsed = match text.parse::<f64>() {
        Ok(seconds) => Duration::try_from_secs_f64(seconds).map_err(|_| bad())?,
        Err(_) => humantime::parse_duration(text).map_err(|_| bad())?,
    };
    if parsed > MAX_DURATION {
        return Err(format!("{text:?} is longer than a year (365d)"));
    }
    Ok(parsed)
}

/// Formats a duration the way [`duration`] reads it back (`1m 30s`, `100ms`, `0s`).
pub fn format_duration(duration: Duration) -> String {
    if duration.is_zero() {
        return "0s".into();
    }
    humantime::format_duration(duration).to_string()
}

/// A duration rounded to its two largest units, as a status table shows an uptime: `250ms`,
/// `42s`, `3min 5s`, `2h 10min`, `4d 3h`.
pub fn short_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0 => format!("{}ms", duration.as_millis()),
        1..60 => format!("{seconds}s"),
        60..3600 => format!("{}min {}s", seconds / 60, seconds % 60),
        3600..86400 => format!("{}h {}min", seconds / 3600, seconds % 3600 / 60),
        _ => format!("{}d {}h", seconds / 86400, seconds % 86400 / 3600),
    }
}

/// A size in bytes: a number, optionally followed by `k`/`K`/`KiB` (1024), `M`/`MiB`, `G`/`GiB`
/// (powers of 1024), or `B`.
pub fn size(text: &str) -> Result<u64, String> {
    let bad = || format!("{text:?} is not a size (like 4096, 512k, 10MiB, 1G)");
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let number: u64 = digits.parse().map_err(|_| bad())?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(bad()),
    };
    number.checked_mul(1 << shift).ok_or_else(bad)
}

/// Formats a size the way [`size`] reads it back, in the largest exact unit.
pub fn format_size(bytes: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// A size for people, in binary units with one decimal: `512 B`, `1.5 KiB`, `23.5 GiB` (memory
/// in use, as status and the MemoryStatus demo show it).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
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

/// An octal directory mode, `0755` or `2755` (setgid, sticky and setuid bits allowed), as
/// systemd's `*DirectoryMode=` take it.
pub fn dir_mode(text: &str) -> Result<u32, String> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    match u32::from_str_radix(digits, 8) {
        Ok(mode) if mode <= 0o7777 && !digits.is_empty() => Ok(mode),
        _ => Err(format!(
            "{text:?} is not an octal mode between 0000 and 7777"
        )),
    }
}

/// A `NAME=VALUE` pair of an environment (`--env`): a non-empty name, the value may be empty or
/// hold `=`.
pub fn env_pair(text: &str) -> Result<(std::ffi::OsString, std::ffi::OsString), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.into(), value.into())),
        _ => Err(format!("{text:?} is not NAME=VALUE")),
    }
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
        // Regression: `--stop-timeout 1e19` made every stop panic ("overflow when adding
        // duration to instant").
        for huge in ["1e19", "1e12", "366d", "18446744073709551615s"] {
            assert!(duration(huge).is_err(), "{huge}");
        }
        assert_eq!(duration("365d"), Ok(MAX_DURATION));
        for value in [0, 100, 1500, 90_000] {
            let value = Duration::from_millis(value);
            assert_eq!(duration(&format_duration(value)), Ok(value));
        }
    }

    #[test]
    fn short_durations() {
        let cases = [
            (250, "250ms"),
            (42_000, "42s"),
            (185_000, "3min 5s"),
            (7_800_000, "2h 10min"),
            (363_600_000, "4d 5h"),
        ];
        for (ms, shown) in cases {
            assert_eq!(short_duration(Duration::from_millis(ms)), shown);
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(size("4096"), Ok(4096));
        assert_eq!(size("512k"), Ok(512 << 10));
        assert_eq!(size("10MiB"), Ok(10 << 20));
        assert_eq!(size("1G"), Ok(1 << 30));
        assert!(size("ten").unwrap_err().contains("\"ten\""));
        assert!(size("5T").is_err());
        assert!(size("99999999999999G").is_err());
        for value in [0, 1000, 1 << 10, 3 << 20, 5 << 30] {
            assert_eq!(size(&format_size(value)), Ok(value));
        }
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
}
