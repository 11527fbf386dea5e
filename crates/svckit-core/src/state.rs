use std::fmt;

use crate::ModelError;

/// The state of a service, with the numeric values of the SCM's `SERVICE_*` state constants
/// (`dwCurrentState` of [`SERVICE_STATUS`]).
///
/// [`SERVICE_STATUS`]: https://learn.microsoft.com/en-us/windows/win32/api/winsvc/ns-winsvc-service_status
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum State {
    /// `SERVICE_STOPPED` (1): the service is not running.
    Stopped = 1,
    /// `SERVICE_START_PENDING` (2): the service is starting.
    StartPending = 2,
    /// `SERVICE_STOP_PENDING` (3): the service is stopping.
    StopPending = 3,
    /// `SERVICE_RUNNING` (4): the service is running and ready.
    Running = 4,
    /// `SERVICE_CONTINUE_PENDING` (5): the service is resuming from pause.
    ContinuePending = 5,
    /// `SERVICE_PAUSE_PENDING` (6): the service is pausing.
    PausePending = 6,
    /// `SERVICE_PAUSED` (7): the service is paused.
    Paused = 7,
}

impl State {
    /// Every state, in numeric order.
    pub const ALL: [State; 7] = [
        State::Stopped,
        State::StartPending,
        State::StopPending,
        State::Running,
        State::ContinuePending,
        State::PausePending,
        State::Paused,
    ];

    /// The SCM's numeric value of this state.
    pub const fn as_u32(self) -> u32 {
        self as u32
    }

    /// Whether this is one of the transitional `*_PENDING` states, during which the SCM expects
    /// checkpoints and a wait hint.
    pub const fn is_pending(self) -> bool {
        matches!(
            self,
            State::StartPending | State::StopPending | State::ContinuePending | State::PausePending
        )
    }

    /// The SCM's constant name, e.g. `SERVICE_RUNNING` → `"RUNNING"`.
    pub const fn name(self) -> &'static str {
        match self {
            State::Stopped => "STOPPED",
            State::StartPending => "START_PENDING",
            State::StopPending => "STOP_PENDING",
            State::Running => "RUNNING",
            State::ContinuePending => "CONTINUE_PENDING",
            State::PausePending => "PAUSE_PENDING",
            State::Paused => "PAUSED",
        }
    }
}

impl TryFrom<u32> for State {
    type Error = ModelError;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        State::ALL
            .into_iter()
            .find(|state| state.as_u32() == value)
            .ok_or(ModelError::UnknownState(value))
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_the_scms() {
        let expected = [
            (State::Stopped, 1),
            (State::StartPending, 2),
            (State::StopPending, 3),
            (State::Running, 4),
            (State::ContinuePending, 5),
            (State::PausePending, 6),
            (State::Paused, 7),
        ];
        for (state, value) in expected {
            assert_eq!(state.as_u32(), value, "{state}");
            assert_eq!(State::try_from(value), Ok(state));
        }
        assert_eq!(State::try_from(0), Err(ModelError::UnknownState(0)));
        assert_eq!(State::try_from(8), Err(ModelError::UnknownState(8)));
    }

    #[test]
    fn only_transitional_states_are_pending() {
        let pending: Vec<_> = State::ALL.into_iter().filter(|s| s.is_pending()).collect();
        assert_eq!(
            pending,
            [
                State::StartPending,
                State::StopPending,
                State::ContinuePending,
                State::PausePending
            ]
        );
    }
}
