//! `township-digest merge`.

use crate::cli::{Globals, MergeArgs};
use township_digest::exit::Outcome;
use township_digest::merge::{self, MergeConfig};
use township_digest::settings::Settings;

pub fn command(globals: &Globals, settings: &Settings, args: MergeArgs) -> Outcome {
    let config = MergeConfig {
        shards: args.shards,
        out: args.out,
        themes: args.themes,
        prompts: super::prompt_source(args.prompts.as_deref()),
        store: globals.store(),
        previous: args.previous,
    };
    match merge::merge(settings, &config, globals.quiet) {
        Ok(result) => {
            if result.failed > 0 {
                eprintln!(
                    "{} report(s) missing or failed (named above and in run.json); the digest covers the other {}",
                    result.failed, result.done
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
