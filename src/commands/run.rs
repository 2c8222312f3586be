//! `township-digest run`.

use crate::cli::{Globals, Mode, RunArgs};
use township_digest::exit::Outcome;
use township_digest::run::{self, RunConfig};
use township_digest::settings::Settings;

pub fn config(globals: &Globals, args: RunArgs) -> RunConfig {
    RunConfig {
        inputs: args.inputs,
        out: args.out,
        mode: mode(args.mode),
        themes: args.themes,
        prompts: super::prompt_source(args.prompts.as_deref()),
        jobs: args.jobs,
        encoder: args.encoder,
        generator: args.generator,
        no_cache: args.no_cache,
        store: globals.store(),
        previous: args.previous,
    }
}

pub fn mode(m: Mode) -> run::Mode {
    match m {
        Mode::Fast => run::Mode::Fast,
        Mode::Full => run::Mode::Full,
    }
}

pub fn command(globals: &Globals, settings: &Settings, args: RunArgs) -> Outcome {
    match run::run(settings, &config(globals, args), globals.quiet) {
        Ok(result) => {
            if result.done == 0 && result.failed == 0 {
                eprintln!(
                    "error: no report files (.txt .md .html .htm .docx .pdf) found in the inputs"
                );
            }
            result.outcome()
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Outcome::Fatal
        }
    }
}
