use std::fmt;

/// How a service ended, as the SCM records it: a Win32 error code (`dwWin32ExitCode`), or a
/// service-specific code (`dwServiceSpecificExitCode`, reported with `dwWin32ExitCode` set to
/// `ERROR_SERVICE_SPECIFIC_ERROR`).
///
/// On Unix the same value becomes the process's exit status: see [`ExitCode::unix_status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitCode {
    /// A Win32 error code; `Win32(0)` (`NO_ERROR`) is success.
    Win32(u32),
    /// A code of the service's own; always a failure on Windows, even 0.
    ServiceSpecific(u32),
}

impl ExitCode {
    /// `NO_ERROR`: the service stopped cleanly.
    pub const SUCCESS: ExitCode = ExitCode::Win32(0);
    /// `ERROR_SERVICE_SPECIFIC_ERROR` (1066): the value of `dwWin32ExitCode` when the service
    /// reports a service-specific code.
    pub const ERROR_SERVICE_SPECIFIC_ERROR: u32 = 1066;

    /// Whether this is `NO_ERROR`.
    pub const fn is_success(self) -> bool {
        matches!(self, ExitCode::Win32(0))
    }

    /// The pair the SCM stores: (`dwWin32ExitCode`, `dwServiceSpecificExitCode`).
    pub const fn to_scm(self) -> (u32, u32) {
        match self {
            ExitCode::Win32(code) => (code, 0),
            ExitCode::ServiceSpecific(code) => (Self::ERROR_SERVICE_SPECIFIC_ERROR, code),
        }
    }

    /// The pair the SCM stores, read back (the inverse of [`ExitCode::to_scm`]).
    pub const fn from_scm(win32: u32, service_specific: u32) -> ExitCode {
        if win32 == Self::ERROR_SERVICE_SPECIFIC_ERROR {
            ExitCode::ServiceSpecific(service_specific)
        } else {
            ExitCode::Win32(win32)
        }
    }

    /// The exit status of a Unix process for this code: 0 for success, a service-specific
    /// code of 1 to 255 as itself, and 1 for anything else (a status is only 8 bits, and a
    /// failure must never wrap around to 0).
    pub const fn unix_status(self) -> u8 {
        match self {
            ExitCode::Win32(0) => 0,
            ExitCode::ServiceSpecific(code @ 1..=255) => code as u8,
            _ => 1,
        }
    }
}

impl fmt::Display for ExitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitCode::Win32(code) => write!(f, "win32 {code}"),
            ExitCode::ServiceSpecific(code) => write!(f, "service-specific {code}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scm_pair_round_trips() {
        for code in [
            ExitCode::SUCCESS,
            ExitCode::Win32(5),
            ExitCode::ServiceSpecific(0),
            ExitCode::ServiceSpecific(42),
        ] {
            let (win32, specific) = code.to_scm();
            assert_eq!(ExitCode::from_scm(win32, specific), code);
        }
        assert_eq!(ExitCode::ServiceSpecific(7).to_scm(), (1066, 7));
    }

    #[test]
    fn unix_status_never_wraps_a_failure_to_zero() {
        assert_eq!(ExitCode::SUCCESS.unix_status(), 0);
        assert_eq!(ExitCode::ServiceSpecific(3).unix_status(), 3);
        assert_eq!(ExitCode::ServiceSpecific(256).unix_status(), 1);
        assert_eq!(ExitCode::ServiceSpecific(0).unix_status(), 1);
        assert_eq!(ExitCode::Win32(1066).unix_status(), 1);
    }
}
