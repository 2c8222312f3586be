//! `township-digest bench`: the benchmark suite.
use crate::cli::{BenchArgs, Globals};
use crate::exit::Outcome;

pub fn command(_globals: &Globals, _args: BenchArgs) -> Outcome {
    todo!("bench")
}
