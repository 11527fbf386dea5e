//! A process id that is one: positive, and within a Unix `pid_t` (Windows' ids are `u32` and
//! in practice far below it). 0 (the caller's group, or "no process" in the SCM's status) and
//! negative numbers (process groups to kill(2)) cannot be one, so no `kill(pid)` built from a
//! `Pid` ever signals a group or every process by accident.

use std::{fmt, num::NonZeroU32, str::FromStr};

use serde::{Deserialize, Serialize};

/// A process id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Pid(NonZeroU32);

impl Pid {
    /// The largest pid: `i32::MAX`, the top of a `pid_t`.
    pub const MAX: u32 = i32::MAX as u32;

    /// `raw` as a pid; `None` for 0 and for numbers above [`Pid::MAX`].
    pub const fn new(raw: u32) -> Option<Pid> {
        match NonZeroU32::new(raw) {
            Some(raw) if raw.get() <= Pid::MAX => Some(Pid(raw)),
            _ => None,
        }
    }

    /// A `pid_t` as a pid; `None` for 0 and negative numbers.
    pub const fn from_i32(raw: i32) -> Option<Pid> {
        if raw > 0 { Pid::new(raw as u32) } else { None }
    }

    /// This process's own pid.
    pub fn this_process() -> Pid {
        Pid::new(std::process::id()).expect("the kernel gives a process a valid pid")
    }

    /// The number.
    pub const fn get(self) -> u32 {
        self.0.get()
    }

    /// The number as a `pid_t` (always positive).
    pub const fn as_i32(self) -> i32 {
        self.0.get() as i32
    }
}

impl TryFrom<u32> for Pid {
    type Error = String;

    fn try_from(raw: u32) -> Result<Pid, String> {
        Pid::new(raw).ok_or_else(|| format!("{raw} is not a process id"))
    }
}

impl From<Pid> for u32 {
    fn from(pid: Pid) -> u32 {
        pid.get()
    }
}

impl FromStr for Pid {
    type Err = String;

    /// Decimal digits only (no sign, no space): `1234`.
    fn from_str(text: &str) -> Result<Pid, String> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{text:?} is not a process id"));
        }
        text.parse::<u32>()
            .ok()
            .and_then(Pid::new)
            .ok_or_else(|| format!("{text:?} is not a process id"))
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_positive_pid_t_values_are_pids() {
        assert_eq!(Pid::new(0), None);
        assert_eq!(Pid::from_i32(-1), None);
        assert_eq!(Pid::from_i32(0), None);
        assert_eq!(Pid::new(Pid::MAX + 1), None);
        assert_eq!(Pid::new(1).map(Pid::as_i32), Some(1));
        assert_eq!(Pid::new(Pid::MAX).map(Pid::as_i32), Some(i32::MAX));
        for bad in ["", "-1", "+1", " 1", "1 ", "0", "2147483648", "x"] {
            assert!(bad.parse::<Pid>().is_err(), "{bad:?}");
        }
        assert_eq!("42".parse::<Pid>().map(Pid::get), Ok(42));
        assert_eq!(Pid::this_process().get(), std::process::id());
    }

    #[test]
    fn it_is_a_plain_number_in_json_and_toml() {
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        struct Holder {
            pid: Pid,
        }
        let holder = Holder {
            pid: Pid::new(42).unwrap(),
        };
        let text = toml::to_string(&holder).unwrap();
        assert_eq!(text.trim(), "pid = 42");
        assert_eq!(toml::from_str::<Holder>(&text).unwrap(), holder);
        assert!(toml::from_str::<Holder>("pid = 0").is_err());
    }
}

/// One process of a service, as status lists it: its pid and its command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceProcess {
    /// Its pid.
    pub pid: Pid,
    /// Its command line, arguments joined by spaces (a process that has none, a kernel thread
    /// or one exiting, shows `[its name]`).
    pub command: String,
}
