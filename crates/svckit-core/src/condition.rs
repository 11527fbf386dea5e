//! What a service waits for in one of its dependencies before it starts (`[conditions]`), in
//! the words of process-compose and Compose: `started`, `ready` (the default), `healthy`,
//! `completed_successfully`, or `log_ready:TEXT`, a line of its output containing TEXT. And
//! the decision, from what the dependency is doing, whether the wait is over: pure, the same
//! for every executor.

use std::fmt;

use crate::machine::UnitState;

/// The longest text a `log_ready` condition looks for.
pub const MAX_LOG_READY_BYTES: usize = 1024;

/// What a dependency must have done before its dependent starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Condition {
    /// Its process was started (it need not be ready yet).
    Started,
    /// It is ready: running (past its readiness probe, READY=1 or its pid file), or a oneshot
    /// that completed successfully. What every dependency without a condition waits for.
    #[default]
    Ready,
    /// Ready, and its liveness probe passed at least once and does not find it unhealthy (a
    /// service without a liveness probe is healthy once ready).
    Healthy,
    /// It ran to its end, and that end counts as a success (a migration before the server).
    CompletedSuccessfully,
    /// A line of its output (stdout or stderr) since this wait began contains the text.
    LogReady(String),
}

impl Condition {
    /// Its name, as definitions and flags give it (`log_ready` without its text).
    pub fn name(&self) -> &'static str {
        match self {
            Condition::Started => "started",
            Condition::Ready => "ready",
            Condition::Healthy => "healthy",
            Condition::CompletedSuccessfully => "completed_successfully",
            Condition::LogReady(_) => "log_ready",
        }
    }

    /// What a dependent waiting on it says it waits for: "NAME to be healthy".
    pub fn waiting_for(&self, dependency: &str) -> String {
        match self {
            Condition::Started => format!("{dependency} to start"),
            Condition::Ready => format!("{dependency} to be ready"),
            Condition::Healthy => format!("{dependency} to be healthy"),
            Condition::CompletedSuccessfully => {
                format!("{dependency} to complete successfully")
            }
            Condition::LogReady(text) => format!("{dependency} to print {text:?}"),
        }
    }

    /// Whether the wait for `dependency`, as it is now, is over, goes on, or can no longer
    /// end well.
    pub fn verdict(&self, dependency: &Dependency) -> Verdict {
        let Dependency {
            state,
            ended_since_wait,
            started_with,
            has_process,
            succeeded,
            healthy,
            log_seen,
        } = *dependency;
        let up = matches!(
            state,
            UnitState::Running | UnitState::Reloading | UnitState::Paused | UnitState::Listening
        );
        let ended = matches!(
            state,
            UnitState::Exited | UnitState::Failed | UnitState::Stopped
        );
        if ended && !ended_since_wait {
            // An end from before the wait: one this start starts is about to start again;
            // another will not run on this start's account.
            return match started_with {
                true => Verdict::Waiting,
                false => Verdict::Failed(format!("is {state} and not started with it")),
            };
        }
        let completed = state == UnitState::Exited && succeeded;
        let ended_badly = || Verdict::Failed(format!("did not start (now {state})"));
        match self {
            Condition::Started if up || has_process || state == UnitState::Exited => Verdict::Met,
            Condition::Ready if up || completed => Verdict::Met,
            Condition::Healthy if completed || (up && healthy) => Verdict::Met,
            Condition::CompletedSuccessfully if completed => Verdict::Met,
            // Seen in the run it has, or had since the wait began (not a run before).
            Condition::LogReady(_) if log_seen && (has_process || ended) => Verdict::Met,
            Condition::CompletedSuccessfully if state == UnitState::Exited => {
                Verdict::Failed("ended unsuccessfully".to_owned())
            }
            Condition::LogReady(_) if ended => Verdict::Failed(format!(
                "ended ({state}) before printing what was waited for"
            )),
            _ if ended => ended_badly(),
            _ => Verdict::Waiting,
        }
    }
}

/// What a dependency is doing, as a condition on it is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dependency {
    /// Its state.
    pub state: UnitState,
    /// Whether it came to that state (an end) since the wait began.
    pub ended_since_wait: bool,
    /// Whether the dependent's start starts it (`requires`, `dependencies`), rather than
    /// only waiting for it if it starts anyway (`after`).
    pub started_with: bool,
    /// Whether it has a process now.
    pub has_process: bool,
    /// Whether its last end counts as a success.
    pub succeeded: bool,
    /// Whether its liveness probe passed at least once this run and does not find it
    /// unhealthy (true without a liveness probe).
    pub healthy: bool,
    /// Whether the text of a `log_ready` condition was seen since the wait began.
    pub log_seen: bool,
}

/// Whether a wait is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The condition holds.
    Met,
    /// Not yet.
    Waiting,
    /// It cannot hold any more this start: why, of the dependency ("ended unsuccessfully").
    Failed(String),
}

impl std::str::FromStr for Condition {
    type Err = String;

    fn from_str(text: &str) -> Result<Condition, String> {
        Ok(match text {
            "started" => Condition::Started,
            "ready" => Condition::Ready,
            "healthy" => Condition::Healthy,
            "completed_successfully" => Condition::CompletedSuccessfully,
            _ => match text.strip_prefix("log_ready:") {
                Some("") => return Err("log_ready: wants a text to look for".to_owned()),
                Some(wanted) if wanted.len() > MAX_LOG_READY_BYTES => {
                    return Err(format!(
                        "log_ready: the text is {} bytes; at most {MAX_LOG_READY_BYTES}",
                        wanted.len()
                    ));
                }
                Some(wanted) if wanted.contains(['\n', '\r']) => {
                    return Err("log_ready: the text is one line: no line break".to_owned());
                }
                Some(wanted) => Condition::LogReady(wanted.to_owned()),
                None => {
                    return Err(format!(
                        "{text:?} is not a condition: started, ready, healthy, \
                         completed_successfully or log_ready:TEXT"
                    ));
                }
            },
        })
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::LogReady(text) => write!(f, "log_ready:{text}"),
            other => f.write_str(other.name()),
        }
    }
}

/// Finds `wanted` texts in output as it comes, across the chunks it comes in: the part of a
/// `log_ready` wait that reads, the same for every executor.
#[derive(Debug, Clone, Default)]
pub struct LineWatch {
    /// The texts looked for, each with whether it was seen.
    wanted: Vec<(String, bool)>,
    /// The line under way (its last bytes, up to the longest text's length).
    partial: Vec<u8>,
}

impl LineWatch {
    /// Whether it looks for anything still unseen.
    pub fn active(&self) -> bool {
        self.wanted.iter().any(|(_, seen)| !seen)
    }

    /// Looks for `text` from now on (once: a text looked for already keeps its state).
    pub fn look_for(&mut self, text: &str) {
        if !self.wanted.iter().any(|(wanted, _)| wanted == text) {
            self.wanted.push((text.to_owned(), false));
        }
    }

    /// Whether it looks for `text` (seen or not).
    pub fn watches(&self, text: &str) -> bool {
        self.wanted.iter().any(|(wanted, _)| wanted == text)
    }

    /// Whether it looks for nothing at all.
    pub fn is_empty(&self) -> bool {
        self.wanted.is_empty()
    }

    /// Keeps looking only for the texts `keep` says.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.wanted.retain(|(wanted, _)| keep(wanted));
        if !self.active() {
            self.partial.clear();
        }
    }

    /// Marks `text` seen (found elsewhere: in what was stored before it was looked for).
    pub fn mark_seen(&mut self, text: &str) {
        for (wanted, seen) in &mut self.wanted {
            *seen |= wanted == text;
        }
    }

    /// A new run of the program: nothing is seen yet.
    pub fn restart(&mut self) {
        for (_, seen) in &mut self.wanted {
            *seen = false;
        }
        self.partial.clear();
    }

    /// Whether `text` was seen since it was looked for.
    pub fn seen(&self, text: &str) -> bool {
        self.wanted
            .iter()
            .any(|(wanted, seen)| *seen && wanted == text)
    }

    /// Reads `chunk`, the next bytes of output; whether a text was seen for the first time.
    pub fn read(&mut self, chunk: &[u8]) -> bool {
        if !self.active() {
            return false;
        }
        let longest = self.wanted.iter().map(|(text, _)| text.len()).max();
        let mut newly = false;
        for line in chunk.split_inclusive(|byte| *byte == b'\n') {
            let ends = line.last() == Some(&b'\n');
            self.partial
                .extend_from_slice(line.strip_suffix(b"\n").unwrap_or(line));
            for (text, seen) in &mut self.wanted {
                if !*seen && contains(&self.partial, text.as_bytes()) {
                    *seen = true;
                    newly = true;
                }
            }
            if ends {
                self.partial.clear();
            } else if let Some(longest) = longest {
                // Only the last bytes can begin a match that the next chunk ends.
                let keep = longest.saturating_sub(1);
                if self.partial.len() > keep {
                    self.partial.drain(..self.partial.len() - keep);
                }
            }
        }
        newly
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dependency(state: UnitState) -> Dependency {
        Dependency {
            state,
            ended_since_wait: true,
            started_with: true,
            has_process: matches!(
                state,
                UnitState::Running | UnitState::Reloading | UnitState::Paused
            ),
            succeeded: false,
            healthy: true,
            log_seen: false,
        }
    }

    #[test]
    fn conditions_read_and_write_as_definitions_give_them() {
        for text in [
            "started",
            "ready",
            "healthy",
            "completed_successfully",
            "log_ready:Ready to accept connections",
        ] {
            let condition: Condition = text.parse().unwrap();
            assert_eq!(condition.to_string(), text);
        }
        assert!("log_ready:".parse::<Condition>().is_err());
        assert!("log_ready:a\nb".parse::<Condition>().is_err());
        assert!(
            format!("log_ready:{}", "x".repeat(MAX_LOG_READY_BYTES + 1))
                .parse::<Condition>()
                .is_err()
        );
        let err = "healthy?".parse::<Condition>().unwrap_err();
        assert!(err.contains("\"healthy?\" is not a condition"), "{err}");
    }

    #[test]
    fn ready_is_running_or_a_successful_oneshot() {
        assert_eq!(
            Condition::Ready.verdict(&dependency(UnitState::Running)),
            Verdict::Met
        );
        assert_eq!(
            Condition::Ready.verdict(&dependency(UnitState::Starting)),
            Verdict::Waiting
        );
        let completed = Dependency {
            succeeded: true,
            ..dependency(UnitState::Exited)
        };
        assert_eq!(Condition::Ready.verdict(&completed), Verdict::Met);
        assert_eq!(
            Condition::Ready.verdict(&dependency(UnitState::Exited)),
            Verdict::Failed("did not start (now exited)".into())
        );
        assert_eq!(
            Condition::Ready.verdict(&dependency(UnitState::Failed)),
            Verdict::Failed("did not start (now failed)".into())
        );
    }

    #[test]
    fn an_end_from_before_the_wait_is_waited_past_only_when_the_start_starts_it() {
        let old = Dependency {
            ended_since_wait: false,
            ..dependency(UnitState::Stopped)
        };
        assert_eq!(Condition::Ready.verdict(&old), Verdict::Waiting);
        let after_only = Dependency {
            started_with: false,
            ..old
        };
        assert_eq!(
            Condition::Ready.verdict(&after_only),
            Verdict::Failed("is stopped and not started with it".into())
        );
    }

    #[test]
    fn started_needs_only_a_process() {
        let spawned = Dependency {
            has_process: true,
            ..dependency(UnitState::Starting)
        };
        assert_eq!(Condition::Started.verdict(&spawned), Verdict::Met);
        assert_eq!(
            Condition::Started.verdict(&dependency(UnitState::Starting)),
            Verdict::Waiting
        );
        assert_eq!(
            Condition::Started.verdict(&dependency(UnitState::Exited)),
            Verdict::Met
        );
    }

    #[test]
    fn healthy_waits_for_a_passing_liveness_check() {
        let unproven = Dependency {
            healthy: false,
            ..dependency(UnitState::Running)
        };
        assert_eq!(Condition::Healthy.verdict(&unproven), Verdict::Waiting);
        assert_eq!(
            Condition::Healthy.verdict(&dependency(UnitState::Running)),
            Verdict::Met
        );
        assert_eq!(
            Condition::Healthy.verdict(&dependency(UnitState::Backoff)),
            Verdict::Waiting
        );
    }

    #[test]
    fn completed_successfully_waits_for_the_end_and_judges_it() {
        assert_eq!(
            Condition::CompletedSuccessfully.verdict(&dependency(UnitState::Running)),
            Verdict::Waiting
        );
        let completed = Dependency {
            succeeded: true,
            ..dependency(UnitState::Exited)
        };
        assert_eq!(
            Condition::CompletedSuccessfully.verdict(&completed),
            Verdict::Met
        );
        assert_eq!(
            Condition::CompletedSuccessfully.verdict(&dependency(UnitState::Exited)),
            Verdict::Failed("ended unsuccessfully".into())
        );
    }

    #[test]
    fn log_ready_is_the_line_seen() {
        let condition = Condition::LogReady("ready".into());
        assert_eq!(
            condition.verdict(&dependency(UnitState::Running)),
            Verdict::Waiting
        );
        let seen = Dependency {
            log_seen: true,
            ..dependency(UnitState::Running)
        };
        assert_eq!(condition.verdict(&seen), Verdict::Met);
        // Seen in a run before this one: it has no process yet, about to start again.
        let stale = Dependency {
            log_seen: true,
            ..dependency(UnitState::Starting)
        };
        assert_eq!(condition.verdict(&stale), Verdict::Waiting);
        assert!(matches!(
            condition.verdict(&dependency(UnitState::Failed)),
            Verdict::Failed(_)
        ));
    }

    #[test]
    fn a_line_watch_finds_text_split_across_chunks_but_not_across_lines() {
        let mut watch = LineWatch::default();
        watch.look_for("Ready to accept connections");
        assert!(!watch.read(b"1:M 06 Dec Server initialized\n1:M Ready to"));
        assert!(watch.read(b" accept connections tcp\n"));
        assert!(watch.seen("Ready to accept connections"));
        assert!(!watch.active());
        let mut watch = LineWatch::default();
        watch.look_for("ab");
        assert!(!watch.read(b"a\nb\n"));
        assert!(!watch.seen("ab"));
        watch.mark_seen("ab");
        assert!(watch.seen("ab"));
        watch.restart();
        assert!(!watch.seen("ab") && watch.watches("ab"));
        watch.retain(|_| false);
        assert!(!watch.active() && !watch.watches("ab"));
    }

    proptest! {
        /// However output is cut into chunks, a text is seen exactly when a line holds it.
        #[test]
        fn a_line_watch_sees_what_a_line_holds_however_it_is_chunked(
            lines in proptest::collection::vec("[ab ]{0,12}", 1..8),
            cuts in proptest::collection::vec(0usize..200, 0..6),
            wanted in "[ab]{1,4}",
        ) {
            let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
            let expected = lines.iter().any(|line| line.contains(&wanted));
            let mut cuts: Vec<usize> = cuts.into_iter().map(|cut| cut % (text.len() + 1)).collect();
            cuts.sort_unstable();
            let mut watch = LineWatch::default();
            watch.look_for(&wanted);
            let mut from = 0;
            for cut in cuts.into_iter().chain([text.len()]) {
                watch.read(&text.as_bytes()[from..cut]);
                from = cut;
            }
            prop_assert_eq!(watch.seen(&wanted), expected);
        }

        /// A dependency that is up meets every condition but completion (and a log line not
        /// seen), whatever else is true of it.
        #[test]
        fn an_up_dependency_is_never_failed(
            has_process: bool, succeeded: bool, healthy: bool, log_seen: bool,
            started_with: bool, ended_since_wait: bool,
        ) {
            for state in [UnitState::Running, UnitState::Reloading, UnitState::Paused] {
                let dependency = Dependency {
                    state, has_process, succeeded, healthy, log_seen, started_with,
                    ended_since_wait,
                };
                for condition in [
                    Condition::Started, Condition::Ready, Condition::Healthy,
                    Condition::CompletedSuccessfully, Condition::LogReady("x".into()),
                ] {
                    prop_assert!(!matches!(condition.verdict(&dependency), Verdict::Failed(_)));
                }
            }
        }
    }
}
