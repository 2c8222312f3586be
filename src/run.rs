//! `township-digest run`: orchestration of the pipeline, cache, lock, run.json, exit status.
use crate::cli::{Globals, RunArgs};
use crate::exit::Outcome;

pub fn command(_globals: &Globals, _args: RunArgs) -> Outcome {
    todo!("run")
}
