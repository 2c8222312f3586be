//! `township-digest parse`: each report's structure as JSON on stdout (no model needed).

use crate::cli::ParseArgs;
use rayon::prelude::*;
use township_digest::exit::Outcome;
use township_digest::structure;

/// `township-digest parse FILE...`: a JSON array, one object per readable file, on stdout;
/// one line per unreadable file on stderr. Exit 0 all parsed, 1 some failed, 2 none readable.
pub fn command(args: ParseArgs) -> Outcome {
    let (files, mut errors) = township_digest::read::discover(&args.files);
    let results: Vec<_> = files
        .par_iter()
        .map(|p| township_digest::read::read_document(p).map(|d| structure::parse(&d)))
        .collect();
    let mut out = Vec::new();
    for r in results {
        match r {
            Ok(s) => out.push(s),
            Err(e) => errors.push(e),
        }
    }
    for e in &errors {
        eprintln!("error: {e}");
    }
    if out.is_empty() {
        if errors.is_empty() {
            eprintln!("error: no report files found under the given inputs");
        }
        let _ = print_stdout("[]\n");
        return Outcome::Fatal;
    }
    let json = match serde_json::to_string_pretty(&out) {
        Ok(s) => s + "\n",
        Err(e) => {
            eprintln!("error: cannot serialise the parse output: {e}");
            return Outcome::Fatal;
        }
    };
    if let Err(e) = print_stdout(&json) {
        // A closed pipe (`parse … | head`) is not an error of ours.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write to standard output: {e}");
            return Outcome::Fatal;
        }
    }
    if errors.is_empty() {
        Outcome::Success
    } else {
        Outcome::Partial
    }
}

fn print_stdout(s: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())?;
    out.flush()
}
