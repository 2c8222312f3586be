//! `township-digest run`: the pipeline's conductor. It owns scheduling (rayon across reports,
//! one single-threaded generator instance per core), the result cache that makes re-runs idempotent and resumable,
//! the output-folder lock, `run.json` and the exit status. It does no text work itself.

use crate::compare::{self, CompareInput};
use crate::document::SourceDocument;
use crate::exit::Outcome;
use crate::models::generator::Generator;
use crate::models::{
    load_encoder, load_generator, ModelFiles, ModelRole, ModelStore, StoreOptions,
};
use crate::normalize::NormalizedText;
use crate::output::{write_atomic, write_json_atomic};
use crate::previous::PreviousRun;
use crate::prompt_files::{PromptFiles, PromptSource};
use crate::read;
use crate::report::ReportSummary;
use crate::settings::Settings;
use crate::structure::{self, ReportStructure};
use crate::summarise::{self, Resources};
use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Bump when a change to the code alters results, so cached reports are recomputed.
const CACHE_VERSION: &str = "3";

/// Fast: encoder only (extractive items, themes by the trained classifier). Full: encoder and
/// generator (generated item texts and summary, each checked against its evidence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
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
    /// Earlier output folders of this program to compare with (year over year); may be empty.
    pub previous: Vec<PathBuf>,
}

/// What a finished run did (also in run.json).
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Reports summarised (fresh or from the cache).
    pub done: usize,
    /// Inputs that failed, each with its reason in run.json and on stderr.
    pub failed: usize,
    /// Why the digest could not be written, if it could not.
    pub digest_error: Option<String>,
}

impl RunResult {
    /// 0 every report done; 1 some failed (or the digest), the rest written; 2 nothing done.
    pub fn outcome(&self) -> Outcome {
        if self.done == 0 {
            Outcome::Fatal
        } else if self.failed > 0 || self.digest_error.is_some() {
            Outcome::Partial
        } else {
            Outcome::Success
        }
    }
}

/// What happened to one input, as recorded in run.json.
#[derive(Debug, Clone, Serialize)]
pub struct InputStatus {
    pub source: String,
    pub id: Option<String>,
    /// `done`, `cached` or `failed`.
    pub status: &'static str,
    pub error: Option<String>,
    pub warnings: usize,
}

#[derive(Debug, Serialize)]
struct ModelRecord {
    role: &'static str,
    name: String,
    sha256: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
struct RunRecord {
    version: &'static str,
    mode: Mode,
    models: Vec<ModelRecord>,
    settings: BTreeMap<&'static str, serde_json::Value>,
    timings: BTreeMap<&'static str, f64>,
    inputs: Vec<InputStatus>,
    digest: Option<String>,
}

/// Stage 1's result for one report: a summary read from the cache, a fresh fast-mode result,
/// or why it failed.
enum FastResult {
    Cached(ReportSummary),
    Fresh(ReportSummary),
    Failed(String),
}

/// One report that was read and parsed.
struct Parsed {
    id: String,
    doc: SourceDocument,
    normalized: NormalizedText,
    structure: ReportStructure,
}

/// Summarise the inputs and write the digest. Errors returned from here are fatal (nothing could
/// be done: exit 2); per-report failures are recorded in the result and run.json, and the run
/// goes on. `quiet`: no progress bars.
pub fn run(settings: &Settings, args: &RunConfig, quiet: bool) -> Result<RunResult> {
    let started = Instant::now();
    let mut timings = BTreeMap::new();
    // Every user data file is read and checked before the models load.
    let source = args.prompts.clone();
    let PromptFiles {
        source,
        themes,
        themes_origin,
        themes_sha,
        templates: prompts,
        label_template,
        problem_sentences,
        problem_sentences_sha,
        indicators,
    } = PromptFiles::load(source, args.themes.as_deref())?;
    tracing::debug!("prompt files: {}", source.describe());
    let previous = load_previous(args)?;

    std::fs::create_dir_all(args.out.join("reports"))
        .with_context(|| format!("cannot create output folder {}", args.out.display()))?;
    let _lock = OutputLock::acquire(&args.out)?;

    if let Some(jobs) = args.jobs {
        // The global pool is only configurable once; a second call (tests in one process) is harmless.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build_global();
    }

    let n_generators = generator_instances(args, settings.generators);
    tracing::debug!("full mode: {n_generators} generator instance(s)");

    // Models first: a missing or corrupt model is a fatal error before any work is done.
    let t = Instant::now();
    let store = ModelStore::open(&args.store)?;
    let encoder_name = match &args.encoder {
        Some(n) => n.clone(),
        None => store.default_model(ModelRole::Encoder)?,
    };
    let encoder_files = provision(&store, &encoder_name, !quiet)?;
    let encoder = load_encoder(&encoder_files, &settings.encoder)
        .with_context(|| format!("cannot load encoder model {encoder_name}"))?;
    let generator_files: Option<ModelFiles> = match args.mode {
        Mode::Fast => None,
        Mode::Full => {
            let name = match &args.generator {
                Some(n) => n.clone(),
                None => store.default_model(ModelRole::Generator)?,
            };
            Some(provision(&store, &name, !quiet)?)
        }
    };
    let mut generator = match &generator_files {
        Some(files) => Some(load_generator(files, &settings.generator).with_context(|| {
            format!(
                "cannot load generator model {name} (its files are the ones the manifest \
                     pins, so the manifest pairs files that do not belong together: give the \
                     model a tokenizer.json made for its GGUF, or run `township-digest models \
                     fetch` for the default generator and drop --generator)",
                name = files.name
            )
        })?),
        None => None,
    };
    let encoder_id = format!("{}:{:?}", encoder_files.name, encoder_files.sha256);
    let t_classifier = Instant::now();
    let resources = Resources::load(
        encoder,
        &encoder_id,
        themes,
        prompts,
        &problem_sentences,
        Some(&store.dir().join("classifiers")),
    )
    .with_context(|| {
        format!(
            "from {themes_origin} and the problem sentences of {}",
            source.describe()
        )
    })?;
    if !resources.trained.is_empty() {
        tracing::info!(
            "trained the {} in {:.1} s (kept in {} for the next runs)",
            resources.trained.join(" and the "),
            t_classifier.elapsed().as_secs_f64(),
            store.dir().join("classifiers").display()
        );
    }
    let ctx = resources.ctx();
    let (themes, encoder, prompts) = (&resources.themes, &resources.encoder, &resources.prompts);
    timings.insert("load_models_s", t.elapsed().as_secs_f64());

    // Read and parse every input in parallel; failures are recorded per file.
    let t = Instant::now();
    let (files, discover_errors) = read::discover(&args.inputs);
    let mut statuses: Vec<InputStatus> = discover_errors
        .iter()
        .map(|e| failed(&e.path, None, e.reason.clone()))
        .collect();
    for e in &discover_errors {
        tracing::error!("{e}");
    }
    let ids = assign_ids(&files);
    let read_results: Vec<(PathBuf, String, std::result::Result<Parsed, String>)> = files
        .par_iter()
        .zip(ids.par_iter())
        .map(|(path, id)| {
            let r = read::read_document(path)
                .map_err(|e| e.reason)
                .and_then(|doc| {
                    let structure = structure::parse(&doc);
                    // A menu or a poem would otherwise come out as a report with empty sections.
                    if let Some(reason) = &structure.not_a_report {
                        return Err(reason.clone());
                    }
                    let normalized = NormalizedText::new(&doc.text);
                    Ok(Parsed {
                        id: id.clone(),
                        doc,
                        normalized,
                        structure,
                    })
                });
            (path.clone(), id.clone(), r)
        })
        .collect();
    let mut parsed = Vec::new();
    for (path, id, r) in read_results {
        match r {
            Ok(p) => parsed.push(p),
            Err(reason) => {
                tracing::error!("{}: {reason}", path.display());
                statuses.push(failed(&path, Some(id), reason));
            }
        }
    }
    timings.insert("read_parse_s", t.elapsed().as_secs_f64());

    // Cache keys: input bytes + models + prompts + themes + settings.
    let mut model_records = vec![ModelRecord {
        role: "encoder",
        name: encoder_files.name.clone(),
        sha256: encoder_files.sha256.clone(),
    }];
    if let Some(g) = &generator_files {
        model_records.push(ModelRecord {
            role: "generator",
            name: g.name.clone(),
            sha256: g.sha256.clone(),
        });
    }
    let settings_key = format!(
        "{CACHE_VERSION}|{}|{:?}|{}|{}|{themes_sha}|{problem_sentences_sha}",
        env!("CARGO_PKG_VERSION"),
        args.mode,
        serde_json::to_string(&model_records)?,
        prompts.fingerprint(),
    );
    let cache = ResultCache::new(&args.out);
    let progress = Progress::new(quiet, parsed.len() as u64);

    // Stage 1 (all modes): extractive summary, encoder only, rayon across reports.
    let t = Instant::now();
    let fast_results: Vec<(usize, FastResult)> = parsed
        .par_iter()
        .enumerate()
        .map(|(i, p)| {
            let key = cache_key(&settings_key, &p.doc.sha256, &p.id);
            if !args.no_cache {
                if let Some(s) = cache.load(&p.id, &key) {
                    progress.tick(&p.id, "cached");
                    return (i, FastResult::Cached(s));
                }
            }
            let r = summarise::summarise_fast(&p.id, &p.doc, &p.structure, &ctx)
                .map_err(|e| format!("{e:#}"));
            let fast = match r {
                Ok(fast) => fast,
                Err(reason) => return (i, FastResult::Failed(reason)),
            };
            if args.mode == Mode::Fast {
                if let Err(e) = cache.store(&p.id, &key, &fast) {
                    return (i, FastResult::Failed(format!("{e:#}")));
                }
                progress.tick(&p.id, "done");
            }
            (i, FastResult::Fresh(fast))
        })
        .collect();
    timings.insert("summarise_fast_s", t.elapsed().as_secs_f64());

    // Stage 2 (full mode): the generator. With N instances (see `generator_instances`) each
    // runs single-threaded in its own thread and takes the next report from a shared counter;
    // with one it uses every core. Results are placed by report index, so the outputs do not
    // depend on which instance did which report.
    let t = Instant::now();
    let mut summaries: Vec<Option<ReportSummary>> = vec![None; parsed.len()];
    let mut jobs: Vec<(usize, ReportSummary)> = Vec::new();
    let mut outcomes: Vec<Option<std::result::Result<(ReportSummary, &'static str), String>>> =
        vec![None; parsed.len()];
    for (i, r) in fast_results {
        match r {
            FastResult::Cached(s) => outcomes[i] = Some(Ok((s, "cached"))),
            FastResult::Fresh(fast) if generator.is_some() => jobs.push((i, fast)),
            FastResult::Fresh(fast) => outcomes[i] = Some(Ok((fast, "done"))),
            FastResult::Failed(reason) => outcomes[i] = Some(Err(reason)),
        }
    }
    if let (Some(first), Some(files)) = (generator.as_mut(), generator_files.as_ref()) {
        let mut extra: Vec<Generator> = Vec::new();
        for _ in 1..n_generators.min(jobs.len()) {
            // Shares the weights with the first instance when the model type allows it.
            let instance = match first.try_clone() {
                Some(g) => g,
                None => load_generator(files, &settings.generator)
                    .with_context(|| format!("cannot load generator model {}", files.name))?,
            };
            extra.push(instance);
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let done = std::sync::Mutex::new(Vec::new());
        let refine = |gen: &mut Generator| loop {
            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some((i, fast)) = jobs.get(k) else { break };
            let p = &parsed[*i];
            let key = cache_key(&settings_key, &p.doc.sha256, &p.id);
            let full = summarise::refine_full(
                fast.clone(),
                &p.doc,
                &p.structure,
                themes,
                encoder,
                gen,
                prompts,
            )
            .map_err(|e| format!("{e:#}"))
            .and_then(|s| {
                cache
                    .store(&p.id, &key, &s)
                    .map(|_| s)
                    .map_err(|e| format!("{e:#}"))
            });
            if full.is_ok() {
                progress.tick(&p.id, "done");
            }
            if let Ok(mut d) = done.lock() {
                d.push((*i, full));
            }
        };
        if extra.is_empty() {
            refine(first);
        } else {
            std::thread::scope(|scope| {
                for gen in std::iter::once(first).chain(extra.iter_mut()) {
                    let refine = &refine;
                    scope.spawn(move || {
                        match rayon::ThreadPoolBuilder::new().num_threads(1).build() {
                            // Our kernels use the current rayon pool: one thread per instance.
                            Ok(pool) => pool.install(|| refine(gen)),
                            Err(_) => refine(gen),
                        }
                    });
                }
            });
        }
        for (i, full) in done.into_inner().unwrap_or_default() {
            outcomes[i] = Some(full.map(|s| (s, "done")));
        }
    }
    for (i, outcome) in outcomes.into_iter().enumerate() {
        let p = &parsed[i];
        match outcome {
            Some(Ok((s, status))) => {
                statuses.push(ok_status(p, status, &s));
                summaries[i] = Some(s);
            }
            Some(Err(reason)) => {
                tracing::error!("{}: {reason}", p.doc.source.display());
                statuses.push(failed(&p.doc.source, Some(p.id.clone()), reason));
            }
            None => statuses.push(failed(
                &p.doc.source,
                Some(p.id.clone()),
                "internal error: the report was lost between stages".to_string(),
            )),
        }
    }
    progress.finish();
    timings.insert("summarise_full_s", t.elapsed().as_secs_f64());

    // Reports from earlier runs over other inputs would otherwise sit beside this run's.
    let current: BTreeSet<&str> = parsed.iter().map(|p| p.id.as_str()).collect();
    cache.remove_stale(&current);

    // Compare and render over every report that succeeded.
    let t = Instant::now();
    let done: Vec<(&Parsed, &ReportSummary)> = parsed
        .iter()
        .zip(summaries.iter())
        .filter_map(|(p, s)| s.as_ref().map(|s| (p, s)))
        .collect();
    let mut digest_error = None;
    if !done.is_empty() {
        let inputs: Vec<CompareInput> = done
            .iter()
            .map(|(p, s)| CompareInput {
                summary: s,
                text: &p.normalized.text,
            })
            .collect();
        let reports: Vec<ReportSummary> = done.iter().map(|(_, s)| (*s).clone()).collect();
        let result = compare::compare(
            &inputs,
            themes,
            encoder,
            generator.as_mut(),
            &label_template,
            &indicators,
        )
        .and_then(|digest| add_years(digest, &reports, themes, &previous, encoder))
        .and_then(|digest| crate::render::write_digest(&args.out, &digest, &reports, themes));
        if let Err(e) = result {
            tracing::error!("digest: {e:#}");
            digest_error = Some(format!("{e:#}"));
        }
    }
    timings.insert("compare_render_s", t.elapsed().as_secs_f64());
    timings.insert("total_s", started.elapsed().as_secs_f64());

    statuses.sort_by(|a, b| a.source.cmp(&b.source));
    let n_failed = statuses.iter().filter(|s| s.status == "failed").count();
    let n_ok = statuses.len() - n_failed;
    let mut settings = BTreeMap::new();
    settings.insert("inputs", serde_json::json!(args.inputs));
    settings.insert("themes", serde_json::json!(themes_origin));
    settings.insert("themes_sha256", serde_json::json!(themes_sha));
    record_years_settings(&mut settings, themes, args);
    settings.insert(
        "theme_classifier",
        serde_json::json!(resources.theme_classifier.key()),
    );
    settings.insert(
        "problem_detector",
        serde_json::json!(resources.problem_detector.key()),
    );
    settings.insert("prompts", serde_json::json!(source.describe()));
    settings.insert(
        "prompts_fingerprint",
        serde_json::json!(prompts.fingerprint()),
    );
    settings.insert(
        "jobs",
        serde_json::json!(args.jobs.unwrap_or_else(rayon::current_num_threads)),
    );
    settings.insert("cache", serde_json::json!(!args.no_cache));
    let record = RunRecord {
        version: env!("CARGO_PKG_VERSION"),
        mode: args.mode,
        models: model_records,
        settings,
        timings,
        inputs: statuses,
        digest: digest_error.clone(),
    };
    write_json_atomic(&args.out.join("run.json"), &record)?;
    tracing::info!(
        "{n_ok} report(s) done, {n_failed} failed; output in {}",
        args.out.display()
    );
    Ok(RunResult {
        done: n_ok,
        failed: n_failed,
        digest_error,
    })
}

/// Last years' output folders (`--previous`), read and checked before the models load: one that
/// is not an output of this program stops the run (exit 2) naming the folder and the reason.
fn load_previous(args: &RunConfig) -> Result<Vec<PreviousRun>> {
    let previous = crate::previous::load_all(&args.previous, &args.out)?;
    for p in &previous {
        for w in &p.warnings {
            tracing::warn!("{w}");
        }
    }
    Ok(previous)
}

/// The year-over-year part of the digest, when there are earlier outputs to compare with.
fn add_years(
    mut digest: compare::Digest,
    reports: &[ReportSummary],
    themes: &crate::themes::ThemeSet,
    previous: &[PreviousRun],
    encoder: &crate::models::encoder::Encoder,
) -> Result<compare::Digest> {
    if previous.is_empty() {
        return Ok(digest);
    }
    let current: Vec<&ReportSummary> = reports.iter().collect();
    let years = compare::years::compare_years(&current, &themes.ids(), previous, encoder)?;
    for c in &years.comparisons {
        for w in &c.warnings {
            tracing::warn!("{w}");
        }
    }
    digest.years = Some(years);
    Ok(digest)
}

/// run.json records the themes file's ids, so that next year's run can tell which themes it
/// shares with this one, and the earlier outputs compared with.
fn record_years_settings(
    settings: &mut BTreeMap<&'static str, serde_json::Value>,
    themes: &crate::themes::ThemeSet,
    args: &RunConfig,
) {
    settings.insert(
        crate::previous::THEME_IDS_KEY,
        serde_json::json!(themes.ids()),
    );
    if !args.previous.is_empty() {
        settings.insert("previous", serde_json::json!(args.previous));
    }
}

/// A model absent from the models folder is fetched (first use); one that is present but fails
/// its checks is a fatal error, never silently replaced: a tampered or truncated file is
/// something the operator must see.
pub(crate) fn provision(store: &ModelStore, name: &str, progress: bool) -> Result<ModelFiles> {
    let dir = store.model_dir(name);
    let present = std::fs::read_dir(&dir)
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false);
    if present {
        store.locate(name).with_context(|| {
            format!(
                "model `{name}` in {} is damaged or incomplete; run `township-digest models fetch {name}` to fetch it again",
                dir.display()
            )
        })
    } else {
        tracing::info!(
            "model `{name}` is not in {} yet: fetching it",
            store.dir().display()
        );
        store.ensure(name, progress)
    }
}

/// How many generator instances full mode runs side by side: one single-threaded instance per
/// core (capped by --jobs). Measured on 2 cores (BENCHMARKS.md): 2 x 1 thread gives 32% more
/// reports per hour than 1 x 2 threads, at twice the generator's memory.
/// `overridden` (`TOWNSHIP_DIGEST_GENERATORS`) overrides (e.g. 1 on a machine short of memory).
fn generator_instances(args: &RunConfig, overridden: Option<usize>) -> usize {
    if args.mode != Mode::Full {
        return 1;
    }
    if let Some(n) = overridden {
        return n.max(1);
    }
    // The global pool's size: the cores, or RAYON_NUM_THREADS / --jobs when set.
    let cores = rayon::current_num_threads().max(1);
    args.jobs.unwrap_or(cores).min(cores).max(1)
}

fn failed(path: &Path, id: Option<String>, reason: String) -> InputStatus {
    InputStatus {
        source: path.display().to_string(),
        id,
        status: "failed",
        error: Some(reason),
        warnings: 0,
    }
}

fn ok_status(p: &Parsed, status: &'static str, s: &ReportSummary) -> InputStatus {
    InputStatus {
        source: p.doc.source.display().to_string(),
        id: Some(p.id.clone()),
        status,
        error: None,
        warnings: s.warnings.len(),
    }
}

/// Stable, unique ids: the file stem (characters safe in file names), with a short hash of the
/// path appended when two inputs share a stem.
pub fn assign_ids(files: &[PathBuf]) -> Vec<String> {
    let stems: Vec<String> = files
        .iter()
        .map(|p| {
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let clean: String = stem
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            if clean.is_empty() {
                "report".to_string()
            } else {
                clean
            }
        })
        .collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &stems {
        *counts.entry(s.as_str()).or_default() += 1;
    }
    stems
        .iter()
        .zip(files)
        .map(|(s, p)| {
            if counts[s.as_str()] > 1 {
                let h = hex::encode(Sha256::digest(p.to_string_lossy().as_bytes()));
                format!("{s}-{}", &h[..8])
            } else {
                s.clone()
            }
        })
        .collect()
}

fn cache_key(settings_key: &str, input_sha: &str, id: &str) -> String {
    hex::encode(Sha256::digest(
        format!("{settings_key}|{input_sha}|{id}").as_bytes(),
    ))
}

/// `reports/<id>.json` doubles as the cache: `.cache/<id>.key` holds the key it was computed
/// under, written after the report itself, so a kill between the two only costs a recompute.
struct ResultCache {
    reports: PathBuf,
    keys: PathBuf,
}

impl ResultCache {
    fn new(out: &Path) -> Self {
        ResultCache {
            reports: out.join("reports"),
            keys: out.join(".cache"),
        }
    }

    fn load(&self, id: &str, key: &str) -> Option<ReportSummary> {
        let stored = std::fs::read_to_string(self.keys.join(format!("{id}.key"))).ok()?;
        if stored.trim() != key {
            return None;
        }
        let bytes = std::fs::read(self.reports.join(format!("{id}.json"))).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn store(&self, id: &str, key: &str, summary: &ReportSummary) -> Result<()> {
        write_json_atomic(&self.reports.join(format!("{id}.json")), summary)?;
        write_atomic(&self.keys.join(format!("{id}.key")), key.as_bytes())
    }

    fn remove_stale(&self, current: &BTreeSet<&str>) {
        for dir in [&self.reports, &self.keys] {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for e in entries.flatten() {
                let path = e.path();
                let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                if let Some(stem) = stem {
                    if !current.contains(stem.as_str()) {
                        tracing::info!("removing {} (not among this run's inputs)", path.display());
                        let _ = std::fs::remove_file(&path);
                    }
                }
            }
        }
    }
}

/// An exclusive lock on the output folder for the whole run: a second run into the same folder
/// refuses instead of interleaving writes. The OS releases it if we are killed.
struct OutputLock {
    _file: std::fs::File,
}

impl OutputLock {
    fn acquire(out: &Path) -> Result<OutputLock> {
        let path = out.join(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot create lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(OutputLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "another township-digest run is writing into {} (lock {} is held); wait for it to finish",
                out.display(),
                path.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
    }
}

/// Progress: a bar on a terminal, log lines otherwise, nothing with --quiet.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
}

impl Progress {
    fn new(quiet: bool, total: u64) -> Progress {
        use std::io::IsTerminal;
        let bar = if !quiet && std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} summarising [{bar:30}] {pos}/{len} reports, ETA {eta} {msg}",
            ) {
                bar.set_style(style);
            }
            Some(bar)
        } else {
            None
        };
        Progress { bar, quiet }
    }

    fn tick(&self, id: &str, what: &str) {
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(id.to_string());
            }
            None if !self.quiet => tracing::info!("{id}: {what}"),
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
