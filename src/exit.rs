//! Exit statuses of the binary (CONTRACT.md): 0 all done, 1 some reports failed, 2 nothing done.

use std::process::ExitCode;

/// How a command ended, as the scheduler running us sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every report done.
    Success,
    /// Some reports failed; every other one was written and the digest covers them.
    Partial,
    /// Nothing could be done: bad arguments, missing or corrupt model, unreadable themes file.
    Fatal,
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> ExitCode {
        match o {
            Outcome::Success => ExitCode::from(0),
            Outcome::Partial => ExitCode::from(1),
            Outcome::Fatal => ExitCode::from(2),
        }
    }
}
