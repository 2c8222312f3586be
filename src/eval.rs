//! `township-digest eval`: score a finished run against gold labels.
use crate::cli::{EvalArgs, Globals};
use crate::exit::Outcome;

pub fn command(_globals: &Globals, _args: EvalArgs) -> Outcome {
    todo!("eval helper")
}
