//! `township-digest eval`: score a finished run against gold labels, write eval.json, print
//! the table and the JSON.

use crate::cli::EvalArgs;
use township_digest::eval;
use township_digest::exit::Outcome;

pub fn command(args: EvalArgs) -> Outcome {
    let report = match eval::evaluate(&args.gold, &args.out) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: eval: {e:#}");
            return Outcome::Fatal;
        }
    };
    let path = args.out.join("eval.json");
    if let Err(e) = township_digest::output::write_json_atomic(&path, &report) {
        eprintln!("error: eval: {e:#}");
        return Outcome::Fatal;
    }
    let json = match serde_json::to_string_pretty(&report) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: eval: cannot serialise the result: {e}");
            return Outcome::Fatal;
        }
    };
    if !args.json {
        println!("{}", eval::render_table(&report));
    }
    println!("{json}");
    Outcome::Success
}
