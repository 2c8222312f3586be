//! `township-digest run`.

use crate::cli::{Globals, Mode, RunArgs};
use township_digest::exit::Outcome;
use township_digest::run::{self, RunConfig};
use township_digest::settings::Settings;
use township_digest::shard::Shard;

/// `--shard K/N`, or `--shard N` with K from the cluster's task index (`settings.task_index`).
pub fn shard(spec: &str, task_index: Option<usize>) -> anyhow::Result<Shard> {
    if spec.contains('/') {
        return spec.parse();
    }
    let count: usize = spec.trim().parse().map_err(|_| {
        anyhow::anyhow!("`--shard {spec}`: expected K/N (e.g. 0/4) or N with JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID set")
    })?;
    let Some(index) = task_index else {
        anyhow::bail!(
            "`--shard {spec}` without K: neither JOB_COMPLETION_INDEX (Kubernetes Indexed Job) nor SLURM_ARRAY_TASK_ID (Slurm array) is set; give --shard K/{spec}"
        );
    };
    Shard::new(index, count)
}

pub fn config(globals: &Globals, args: RunArgs, shard: Option<Shard>) -> RunConfig {
    RunConfig {
        shard,
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
    let shard = match args.shard.as_deref().map(|s| shard(s, settings.task_index)) {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => {
            eprintln!("error: {e:#}");
            return Outcome::Fatal;
        }
    };
    match run::run(settings, &config(globals, args, shard), globals.quiet) {
        Ok(result) => {
            if result.done == 0 && result.failed == 0 && !result.empty_shard {
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
