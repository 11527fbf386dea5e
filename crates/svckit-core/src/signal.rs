//! The signals a definition may name (a stop signal today, a reload signal next): the POSIX
//! names every backend can send — the supervisor, systemd's `KillSignal=`, an init script's
//! `svckit kill --signal`. A name is checked when the definition is read; after that the type
//! says it is one of these, so no backend needs a fallback for a name it cannot parse.

use std::{fmt, str::FromStr};

macro_rules! signals {
    ($($variant:ident = $name:literal),* $(,)?) => {
        /// A signal by its POSIX name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Signal {
            $(
                #[doc = concat!("`SIG", $name, "`.")]
                $variant,
            )*
        }

        impl Signal {
            /// Every signal, in the order of their Linux numbers.
            pub const ALL: &'static [Signal] = &[$(Signal::$variant),*];

            /// The signal of Linux number `number` (`SIGSTKFLT`, 16, is not one of these).
            pub fn from_number(number: i32) -> Option<Signal> {
                Signal::ALL.iter().copied().find(|signal| signal.number() == number)
            }

            /// The name without `SIG` (`TERM`).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Signal::$variant => $name,)*
                }
            }
        }
    };
}

signals! {
    Hup = "HUP", Int = "INT", Quit = "QUIT", Ill = "ILL", Trap = "TRAP", Abrt = "ABRT",
    Bus = "BUS", Fpe = "FPE", Kill = "KILL", Usr1 = "USR1", Segv = "SEGV", Usr2 = "USR2",
    Pipe = "PIPE", Alrm = "ALRM", Term = "TERM", Chld = "CHLD", Cont = "CONT", Stop = "STOP",
    Tstp = "TSTP", Ttin = "TTIN", Ttou = "TTOU", Urg = "URG", Xcpu = "XCPU", Xfsz = "XFSZ",
    Vtalrm = "VTALRM", Prof = "PROF", Winch = "WINCH", Io = "IO", Pwr = "PWR", Sys = "SYS",
}

impl Signal {
    /// Its number on Linux (the numbers every backend svckit drives on Unix uses).
    pub const fn number(self) -> i32 {
        let index = self as i32 + 1;
        // SIGSTKFLT (16) is not in the list: every signal after TERM is one further on.
        if index >= 16 { index + 1 } else { index }
    }
}

impl FromStr for Signal {
    type Err = String;

    /// `TERM`, `SIGTERM` or `term`.
    fn from_str(text: &str) -> Result<Signal, String> {
        let upper = text.to_ascii_uppercase();
        let name = upper.strip_prefix("SIG").unwrap_or(&upper);
        Signal::ALL
            .iter()
            .copied()
            .find(|signal| signal.name() == name)
            .ok_or_else(|| format!("{text:?} is not a signal name (like TERM, INT, HUP)"))
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_linux_numbers() {
        assert_eq!(Signal::Hup.number(), 1);
        assert_eq!(Signal::Term.number(), 15);
        assert_eq!(Signal::Chld.number(), 17);
        assert_eq!(Signal::Sys.number(), 31);
        for signal in Signal::ALL {
            assert_eq!(Signal::from_number(signal.number()), Some(*signal));
        }
        assert_eq!(Signal::from_number(16), None);
    }

    #[test]
    fn names_read_back_and_unknown_ones_are_refused() {
        for signal in Signal::ALL {
            assert_eq!(signal.name().parse::<Signal>(), Ok(*signal));
            assert_eq!(format!("SIG{signal}").parse::<Signal>(), Ok(*signal));
        }
        assert_eq!("term".parse::<Signal>(), Ok(Signal::Term));
        for bad in ["", "SIG", "NOPE", "15", "TERM "] {
            assert!(
                bad.parse::<Signal>().unwrap_err().contains("not a signal"),
                "{bad}"
            );
        }
    }
}
