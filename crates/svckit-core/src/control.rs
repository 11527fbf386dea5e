use std::{fmt, str::FromStr};

use crate::ModelError;

/// A control request sent to a service, with the numeric values of the SCM's
/// `SERVICE_CONTROL_*` constants (the `dwControl` argument of [`HandlerEx`]).
///
/// On Unix the same controls arrive as signals or supervisor requests (SIGTERM → [`Control::Stop`],
/// SIGHUP → [`Control::ParamChange`], SIGTSTP → [`Control::Pause`], SIGCONT → [`Control::Continue`]).
///
/// [`HandlerEx`]: https://learn.microsoft.com/en-us/windows/win32/api/winsvc/nc-winsvc-lphandler_function_ex
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Control {
    /// `SERVICE_CONTROL_STOP` (0x01).
    Stop,
    /// `SERVICE_CONTROL_PAUSE` (0x02).
    Pause,
    /// `SERVICE_CONTROL_CONTINUE` (0x03).
    Continue,
    /// `SERVICE_CONTROL_INTERROGATE` (0x04): report the current status again.
    Interrogate,
    /// `SERVICE_CONTROL_SHUTDOWN` (0x05): the system is shutting down.
    Shutdown,
    /// `SERVICE_CONTROL_PARAMCHANGE` (0x06): re-read the configuration.
    ParamChange,
    /// `SERVICE_CONTROL_NETBINDADD` (0x07).
    NetBindAdd,
    /// `SERVICE_CONTROL_NETBINDREMOVE` (0x08).
    NetBindRemove,
    /// `SERVICE_CONTROL_NETBINDENABLE` (0x09).
    NetBindEnable,
    /// `SERVICE_CONTROL_NETBINDDISABLE` (0x0A).
    NetBindDisable,
    /// `SERVICE_CONTROL_DEVICEEVENT` (0x0B).
    DeviceEvent,
    /// `SERVICE_CONTROL_HARDWAREPROFILECHANGE` (0x0C).
    HardwareProfileChange,
    /// `SERVICE_CONTROL_POWEREVENT` (0x0D).
    PowerEvent,
    /// `SERVICE_CONTROL_SESSIONCHANGE` (0x0E).
    SessionChange,
    /// `SERVICE_CONTROL_PRESHUTDOWN` (0x0F).
    Preshutdown,
    /// `SERVICE_CONTROL_TIMECHANGE` (0x10).
    TimeChange,
    /// `SERVICE_CONTROL_TRIGGEREVENT` (0x20).
    TriggerEvent,
    /// A user-defined control, 128 to 255.
    User(u8),
}

/// The named controls with their numbers and CLI names, in numeric order.
const NAMED: [(Control, u32, &str); 17] = [
    (Control::Stop, 0x01, "stop"),
    (Control::Pause, 0x02, "pause"),
    (Control::Continue, 0x03, "continue"),
    (Control::Interrogate, 0x04, "interrogate"),
    (Control::Shutdown, 0x05, "shutdown"),
    (Control::ParamChange, 0x06, "paramchange"),
    (Control::NetBindAdd, 0x07, "netbindadd"),
    (Control::NetBindRemove, 0x08, "netbindremove"),
    (Control::NetBindEnable, 0x09, "netbindenable"),
    (Control::NetBindDisable, 0x0A, "netbinddisable"),
    (Control::DeviceEvent, 0x0B, "deviceevent"),
    (
        Control::HardwareProfileChange,
        0x0C,
        "hardwareprofilechange",
    ),
    (Control::PowerEvent, 0x0D, "powerevent"),
    (Control::SessionChange, 0x0E, "sessionchange"),
    (Control::Preshutdown, 0x0F, "preshutdown"),
    (Control::TimeChange, 0x10, "timechange"),
    (Control::TriggerEvent, 0x20, "triggerevent"),
];

impl Control {
    /// The lowest user-defined control code.
    pub const USER_MIN: u8 = 128;

    /// A user-defined control; `code` must be 128 to 255.
    pub fn user(code: u8) -> Result<Control, ModelError> {
        if code >= Self::USER_MIN {
            Ok(Control::User(code))
        } else {
            Err(ModelError::UnknownControl(code.into()))
        }
    }

    /// The SCM's numeric value of this control.
    pub fn as_u32(self) -> u32 {
        match self {
            Control::User(code) => code.into(),
            named => {
                NAMED
                    .iter()
                    .find(|(control, _, _)| *control == named)
                    .expect("every named control is in the table")
                    .1
            }
        }
    }

    /// The control's lowercase name as the CLI spells it (`"stop"`, `"paramchange"`, `"user-200"`).
    pub fn name(self) -> String {
        match self {
            Control::User(code) => format!("user-{code}"),
            named => NAMED
                .iter()
                .find(|(control, _, _)| *control == named)
                .expect("every named control is in the table")
                .2
                .to_owned(),
        }
    }
}

impl TryFrom<u32> for Control {
    type Error = ModelError;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        if let Some((control, _, _)) = NAMED.iter().find(|(_, number, _)| *number == value) {
            return Ok(*control);
        }
        match u8::try_from(value) {
            Ok(code) if code >= Control::USER_MIN => Ok(Control::User(code)),
            _ => Err(ModelError::UnknownControl(value)),
        }
    }
}

impl FromStr for Control {
    type Err = ModelError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lower = text.to_ascii_lowercase();
        if let Some((control, _, _)) = NAMED.iter().find(|(_, _, name)| *name == lower) {
            return Ok(*control);
        }
        lower
            .strip_prefix("user-")
            .and_then(|code| code.parse::<u8>().ok())
            .and_then(|code| Control::user(code).ok())
            .ok_or_else(|| ModelError::UnknownControlName(text.to_owned()))
    }
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_the_scms() {
        let expected = [
            (Control::Stop, 1),
            (Control::Pause, 2),
            (Control::Continue, 3),
            (Control::Interrogate, 4),
            (Control::Shutdown, 5),
            (Control::ParamChange, 6),
            (Control::NetBindAdd, 7),
            (Control::NetBindRemove, 8),
            (Control::NetBindEnable, 9),
            (Control::NetBindDisable, 0x0A),
            (Control::DeviceEvent, 0x0B),
            (Control::HardwareProfileChange, 0x0C),
            (Control::PowerEvent, 0x0D),
            (Control::SessionChange, 0x0E),
            (Control::Preshutdown, 0x0F),
            (Control::TimeChange, 0x10),
            (Control::TriggerEvent, 0x20),
        ];
        for (control, value) in expected {
            assert_eq!(control.as_u32(), value, "{control}");
            assert_eq!(Control::try_from(value), Ok(control));
        }
    }

    #[test]
    fn user_controls_are_128_to_255() {
        assert_eq!(Control::try_from(128), Ok(Control::User(128)));
        assert_eq!(Control::try_from(255), Ok(Control::User(255)));
        assert_eq!(Control::User(200).as_u32(), 200);
        assert_eq!(Control::try_from(127), Err(ModelError::UnknownControl(127)));
        assert_eq!(Control::try_from(256), Err(ModelError::UnknownControl(256)));
        assert_eq!(
            Control::try_from(0x11),
            Err(ModelError::UnknownControl(0x11))
        );
        assert!(Control::user(12).is_err());
    }

    #[test]
    fn names_round_trip() {
        for value in (1..=0x20).chain(128..=255) {
            if let Ok(control) = Control::try_from(value) {
                assert_eq!(control.name().parse::<Control>(), Ok(control));
            }
        }
        assert_eq!("STOP".parse::<Control>(), Ok(Control::Stop));
        assert_eq!(
            "halt".parse::<Control>(),
            Err(ModelError::UnknownControlName("halt".into()))
        );
        assert!("user-12".parse::<Control>().is_err());
    }
}
