use std::{fmt, ops, str::FromStr};

use crate::ModelError;

/// The controls a service accepts, as the SCM's `SERVICE_ACCEPT_*` bits
/// (`dwControlsAccepted` of [`SERVICE_STATUS`]). A control whose bit is not set is refused.
///
/// [`SERVICE_STATUS`]: https://learn.microsoft.com/en-us/windows/win32/api/winsvc/ns-winsvc-service_status
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Accept(u32);

impl Accept {
    /// No control accepted (a service that is starting or stopping).
    pub const NONE: Accept = Accept(0);
    /// `SERVICE_ACCEPT_STOP` (0x01).
    pub const STOP: Accept = Accept(0x01);
    /// `SERVICE_ACCEPT_PAUSE_CONTINUE` (0x02).
    pub const PAUSE_CONTINUE: Accept = Accept(0x02);
    /// `SERVICE_ACCEPT_SHUTDOWN` (0x04).
    pub const SHUTDOWN: Accept = Accept(0x04);
    /// `SERVICE_ACCEPT_PARAMCHANGE` (0x08).
    pub const PARAMCHANGE: Accept = Accept(0x08);
    /// `SERVICE_ACCEPT_NETBINDCHANGE` (0x10).
    pub const NETBINDCHANGE: Accept = Accept(0x10);
    /// `SERVICE_ACCEPT_HARDWAREPROFILECHANGE` (0x20).
    pub const HARDWAREPROFILECHANGE: Accept = Accept(0x20);
    /// `SERVICE_ACCEPT_POWEREVENT` (0x40).
    pub const POWEREVENT: Accept = Accept(0x40);
    /// `SERVICE_ACCEPT_SESSIONCHANGE` (0x80).
    pub const SESSIONCHANGE: Accept = Accept(0x80);
    /// `SERVICE_ACCEPT_PRESHUTDOWN` (0x100).
    pub const PRESHUTDOWN: Accept = Accept(0x100);
    /// `SERVICE_ACCEPT_TIMECHANGE` (0x200).
    pub const TIMECHANGE: Accept = Accept(0x200);
    /// `SERVICE_ACCEPT_TRIGGEREVENT` (0x400).
    pub const TRIGGEREVENT: Accept = Accept(0x400);

    const NAMES: [(Accept, &'static str); 11] = [
        (Accept::STOP, "STOP"),
        (Accept::PAUSE_CONTINUE, "PAUSE_CONTINUE"),
        (Accept::SHUTDOWN, "SHUTDOWN"),
        (Accept::PARAMCHANGE, "PARAMCHANGE"),
        (Accept::NETBINDCHANGE, "NETBINDCHANGE"),
        (Accept::HARDWAREPROFILECHANGE, "HARDWAREPROFILECHANGE"),
        (Accept::POWEREVENT, "POWEREVENT"),
        (Accept::SESSIONCHANGE, "SESSIONCHANGE"),
        (Accept::PRESHUTDOWN, "PRESHUTDOWN"),
        (Accept::TIMECHANGE, "TIMECHANGE"),
        (Accept::TRIGGEREVENT, "TRIGGEREVENT"),
    ];

    /// The raw `SERVICE_ACCEPT_*` bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The set for raw bits; bits the SCM does not define are dropped.
    pub const fn from_bits_truncate(bits: u32) -> Accept {
        Accept(bits & 0x7FF)
    }

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: Accept) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl ops::BitOr for Accept {
    type Output = Accept;
    fn bitor(self, rhs: Accept) -> Accept {
        Accept(self.0 | rhs.0)
    }
}

impl ops::BitOrAssign for Accept {
    fn bitor_assign(&mut self, rhs: Accept) {
        self.0 |= rhs.0;
    }
}

impl ops::BitAnd for Accept {
    type Output = Accept;
    fn bitand(self, rhs: Accept) -> Accept {
        Accept(self.0 & rhs.0)
    }
}

impl fmt::Debug for Accept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Accept({self})")
    }
}

impl fmt::Display for Accept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Accept::NAMES
            .iter()
            .filter(|(bit, _)| self.contains(*bit))
            .map(|(_, name)| *name)
            .collect();
        if names.is_empty() {
            f.write_str("NONE")
        } else {
            f.write_str(&names.join("|"))
        }
    }
}

impl FromStr for Accept {
    type Err = ModelError;

    /// Parses the [`Display`](fmt::Display) form: names joined by `|` or `,`, in any case
    /// (`"STOP|PAUSE_CONTINUE"`, `"stop,pause_continue"`), or `NONE`.
    fn from_str(text: &str) -> Result<Accept, ModelError> {
        let mut accept = Accept::NONE;
        for name in text.split(['|', ',']).map(str::trim) {
            if name.eq_ignore_ascii_case("NONE") {
                continue;
            }
            let (bit, _) = Accept::NAMES
                .iter()
                .find(|(_, known)| known.eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    ModelError::invalid(
                        "accept",
                        format!("{name:?} is not a control to accept (like STOP, PAUSE_CONTINUE)"),
                    )
                })?;
            accept |= *bit;
        }
        Ok(accept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_the_scms() {
        let expected = [
            (Accept::STOP, 0x01),
            (Accept::PAUSE_CONTINUE, 0x02),
            (Accept::SHUTDOWN, 0x04),
            (Accept::PARAMCHANGE, 0x08),
            (Accept::NETBINDCHANGE, 0x10),
            (Accept::HARDWAREPROFILECHANGE, 0x20),
            (Accept::POWEREVENT, 0x40),
            (Accept::SESSIONCHANGE, 0x80),
            (Accept::PRESHUTDOWN, 0x100),
            (Accept::TIMECHANGE, 0x200),
            (Accept::TRIGGEREVENT, 0x400),
        ];
        for (accept, bits) in expected {
            assert_eq!(accept.bits(), bits, "{accept}");
        }
    }

    #[test]
    fn sets_combine_and_print() {
        let set = Accept::STOP | Accept::PAUSE_CONTINUE | Accept::SESSIONCHANGE;
        assert_eq!(set.bits(), 0x83);
        assert!(set.contains(Accept::STOP));
        assert!(!set.contains(Accept::SHUTDOWN));
        assert_eq!(set.to_string(), "STOP|PAUSE_CONTINUE|SESSIONCHANGE");
        assert_eq!(Accept::NONE.to_string(), "NONE");
        assert_eq!(Accept::from_bits_truncate(0xFFFF_FFFF).bits(), 0x7FF);
    }

    #[test]
    fn parses_what_it_prints() {
        let set = Accept::STOP | Accept::PAUSE_CONTINUE | Accept::PRESHUTDOWN;
        assert_eq!(set.to_string().parse(), Ok(set));
        assert_eq!(
            "stop, paramchange".parse(),
            Ok(Accept::STOP | Accept::PARAMCHANGE)
        );
        assert_eq!("NONE".parse(), Ok(Accept::NONE));
        let err = "stop|pause".parse::<Accept>().unwrap_err().to_string();
        assert!(err.contains("\"pause\""), "{err}");
    }
}
