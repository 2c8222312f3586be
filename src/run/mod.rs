//! `township-digest run`: the pipeline's conductor. It owns scheduling (rayon across reports,
//! one single-threaded generator instance per core), the result cache that makes re-runs
//! idempotent and resumable, the output-folder lock, `run.json` and the exit status. It does no
//! text work itself. With a shard (`RunConfig::shard`) it summarises only its part of the
//! inputs into `OUT/shard-K-of-N/` and leaves the digest to `merge`.

mod cache;
pub(crate) mod setup;
mod shard_record;
mod stages;

pub(crate) use setup::provision;
pub use setup::{ModelRecord, RunFingerprint};

use crate::exit::Outcome;
use crate::models::StoreOptions;
use crate::output::write_json_atomic;
use crate::prompt_files::{PromptFiles, PromptSource};
use crate::settings::Settings;
use crate::shard::{Shard, SHARD_FORMAT, SHARD_RECORD};
use anyhow::{bail, Context, Result};
use cache::OutputLock;
use serde::{Deserialize, Serialize};
pub use shard_record::{shard_dirs, ShardInput, ShardRecord};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use stages::assign_ids;
pub(crate) use stages::{settings_record, write_digest, DigestInput};

/// An exclusive lock on an output folder (held until dropped).
pub(crate) fn lock_output(out: &Path) -> Result<cache::OutputLock> {
    OutputLock::acquire(out)
}

/// Fast: encoder only (extractive items, themes by the trained classifier). Full: encoder and
/// generator (generated item texts and summary, each checked against its evidence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Fast,
    Full,
}

/// What to run: the `run` command's arguments as plain settings (made once, at the edge).
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Report files or folders (searched recursively).
    pub inputs: Vec<PathBuf>,
    /// Output folder.
    pub out: PathBuf,
    pub mode: Mode,
    /// Themes file; `None`: the prompt files' own.
    pub themes: Option<PathBuf>,
    /// Where the prompt files come from.
    pub prompts: PromptSource,
    /// Cap on parallel jobs; `None`: number of cores.
    pub jobs: Option<usize>,
    /// Model names from the manifest; `None`: its defaults.
    pub encoder: Option<String>,
    pub generator: Option<String>,
    /// Recompute every report even when a cached result matches.
    pub no_cache: bool,
    /// Where the models are.
    pub store: StoreOptions,
    /// Only this shard of the inputs, written into `out/shard-K-of-N/`, no digest.
    pub shard: Option<Shard>,
    /// Earlier output folders of this program to compare with (year over year); may be empty.
    /// Not with a shard: the comparison is part of the digest, which is the merge's.
    pub previous: Vec<PathBuf>,
}

impl RunConfig {
    /// Where this run writes: the output folder, or its shard's folder under it.
    pub fn output_dir(&self) -> PathBuf {
        match &self.shard {
            Some(s) => self.out.join(s.dir_name()),
            None => self.out.clone(),
        }
    }
}

/// What a finished run (or merge) did (also in run.json).
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Reports summarised (fresh or from the cache).
    pub done: usize,
    /// Inputs that failed (or, for a merge, are missing), each with its reason in run.json and
    /// on stderr.
    pub failed: usize,
    /// Why the digest could not be written, if it could not.
    pub digest_error: Option<String>,
    /// A shard that owns none of the run's report files: nothing to do, not an error (a job
    /// split into more shards than it has reports).
    pub empty_shard: bool,
}

impl RunResult {
    /// 0 every report done; 1 some failed (or the digest), the rest written; 2 nothing done.
    pub fn outcome(&self) -> Outcome {
        if self.empty_shard {
            Outcome::Success
        } else if self.done == 0 {
            Outcome::Fatal
        } else if self.failed > 0 || self.digest_error.is_some() {
            Outcome::Partial
        } else {
            Outcome::Success
        }
    }
}

/// What happened to one input, as recorded in run.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputStatus {
    pub source: String,
    pub id: Option<String>,
    /// `done`, `cached` or `failed` (`missing`: a merge found no result for it).
    pub status: String,
    pub error: Option<String>,
    pub warnings: usize,
}

impl InputStatus {
    pub(crate) fn failed(path: &Path, id: Option<String>, reason: String) -> InputStatus {
        InputStatus {
            source: path.display().to_string(),
            id,
            status: "failed".to_string(),
            error: Some(reason),
            warnings: 0,
        }
    }

    pub fn is_ok(&self) -> bool {
        self.status == "done" || self.status == "cached"
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct RunRecord<'a> {
    pub version: &'static str,
    pub mode: Mode,
    pub models: &'a [ModelRecord],
    pub settings: BTreeMap<&'static str, serde_json::Value>,
    pub timings: BTreeMap<String, f64>,
    pub inputs: Vec<InputStatus>,
    pub digest: Option<String>,
}

/// Summarise the inputs and write the digest. Errors returned from here are fatal (nothing could
/// be done: exit 2); per-report failures are recorded in the result and run.json, and the run
/// goes on. `quiet`: no progress bars.
pub fn run(settings: &Settings, args: &RunConfig, quiet: bool) -> Result<RunResult> {
    let started = Instant::now();
    let mut timings: BTreeMap<String, f64> = BTreeMap::new();
    // Every user data file is read and checked before the models load.
    let files = PromptFiles::load(args.prompts.clone(), args.themes.as_deref())?;
    if args.shard.is_some() && !args.previous.is_empty() {
        bail!(
            "--previous goes with `merge`, not with `run --shard`: the year-over-year comparison \
             is part of the digest, which the merge writes"
        );
    }
    // So are last years' outputs: a folder that cannot be compared stops the run here.
    let previous = setup::load_previous(&args.previous, &args.out)?;

    let out = args.output_dir();
    std::fs::create_dir_all(out.join("reports"))
        .with_context(|| format!("cannot create output folder {}", out.display()))?;
    let _lock = OutputLock::acquire(&out)?;
    if let Some(jobs) = args.jobs {
        // The global pool is only configurable once; a second call (tests in one process) is harmless.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build_global();
    }

    // Models first: a missing or corrupt model is a fatal error before any work is done.
    let t = Instant::now();
    let choice = setup::ModelChoice {
        mode: args.mode,
        store: &args.store,
        encoder: args.encoder.as_deref(),
        generator: args.generator.as_deref(),
    };
    let mut loaded = setup::load(settings, files, &choice, quiet)?;
    timings.insert("load_models_s".into(), t.elapsed().as_secs_f64());

    let t = Instant::now();
    let inputs = stages::discover(&args.inputs, args.shard);
    let (parsed, mut statuses) = stages::read_and_parse(&inputs);
    timings.insert("read_parse_s".into(), t.elapsed().as_secs_f64());

    let (summaries, report_statuses) = stages::summarise_reports(
        settings,
        args,
        &out,
        &mut loaded,
        &parsed,
        quiet,
        &mut timings,
    )?;
    statuses.extend(report_statuses);

    let t = Instant::now();
    let done: Vec<stages::DigestInput> = parsed
        .iter()
        .zip(summaries.iter())
        .filter_map(|(p, s)| s.as_ref().map(|s| (p, s)))
        .map(|(p, s)| {
            Ok(stages::DigestInput {
                summary: s.clone(),
                comparable: crate::compare::duplicates::comparable_text(&p.normalized.text),
                other_vectors: crate::compare::emerging::embed_other_quotes(
                    &loaded.resources.encoder,
                    s,
                )?,
            })
        })
        .collect::<Result<_>>()?;
    let digest_error = match args.shard {
        None => stages::write_digest(&out, &done, &mut loaded, &previous),
        // The digest is the merge's; what it needs of each report is kept here.
        Some(_) => {
            stages::write_comparable_texts(&out, &done)?;
            stages::write_other_vectors(&out, &done)?;
            None
        }
    };
    timings.insert("compare_render_s".into(), t.elapsed().as_secs_f64());
    timings.insert("total_s".into(), started.elapsed().as_secs_f64());

    statuses.sort_by(|a, b| a.source.cmp(&b.source));
    let n_failed = statuses.iter().filter(|s| !s.is_ok()).count();
    let n_ok = statuses.len() - n_failed;
    let mut record_settings = stages::settings_record(&loaded);
    record_settings.insert("inputs", serde_json::json!(args.inputs));
    record_settings.insert(
        "jobs",
        serde_json::json!(args.jobs.unwrap_or_else(rayon::current_num_threads)),
    );
    record_settings.insert("cache", serde_json::json!(!args.no_cache));
    if !args.previous.is_empty() {
        record_settings.insert("previous", serde_json::json!(args.previous));
    }
    if let Some(shard) = &args.shard {
        record_settings.insert("shard", serde_json::json!(shard.to_string()));
        write_shard_record(
            &out,
            *shard,
            &loaded.fingerprint,
            &inputs,
            &statuses,
            &timings,
        )?;
    }
    let record = RunRecord {
        version: env!("CARGO_PKG_VERSION"),
        mode: args.mode,
        models: &loaded.fingerprint.models,
        settings: record_settings,
        timings,
        inputs: statuses,
        digest: digest_error.clone(),
    };
    write_json_atomic(&out.join("run.json"), &record)?;
    tracing::info!(
        "{n_ok} report(s) done, {n_failed} failed; output in {}",
        out.display()
    );
    Ok(RunResult {
        done: n_ok,
        failed: n_failed,
        digest_error,
        empty_shard: args.shard.is_some() && inputs.mine.is_empty() && !inputs.all.is_empty(),
    })
}

/// `shard.json`, written last: a shard folder with a record is a finished shard.
fn write_shard_record(
    out: &Path,
    shard: Shard,
    fingerprint: &RunFingerprint,
    inputs: &stages::Inputs,
    statuses: &[InputStatus],
    timings: &BTreeMap<String, f64>,
) -> Result<()> {
    let discover_errors = inputs.discover_errors.clone();
    let statuses: Vec<InputStatus> = statuses
        .iter()
        .filter(|s| !discover_errors.contains(s))
        .cloned()
        .collect();
    let record = ShardRecord {
        format: SHARD_FORMAT,
        shard,
        fingerprint: fingerprint.clone(),
        inputs: inputs
            .all
            .iter()
            .enumerate()
            .map(|(index, (path, id, owner))| ShardInput {
                index,
                source: path.display().to_string(),
                id: id.clone(),
                shard: *owner,
            })
            .collect(),
        discover_errors,
        statuses,
        timings: timings.clone(),
    };
    write_json_atomic(&out.join(SHARD_RECORD), &record)
}
