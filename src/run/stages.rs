//! The stages `run` conducts, each a function from typed data to typed data: find the inputs
//! (and this shard's part of them), read and parse them, summarise them (encoder stage, then
//! the generator stage in full mode), compare and render.

use super::cache::{cache_key, Progress, ResultCache};
use super::setup::Loaded;
use super::{InputStatus, Mode, RunConfig};
use crate::compare::{self, CompareInput};
use crate::document::SourceDocument;
use crate::models::encoder::Encoder;
use crate::models::generator::Generator;
use crate::models::load_generator;
use crate::normalize::NormalizedText;
use crate::previous::PreviousRun;
use crate::read;
use crate::report::ReportSummary;
use crate::settings::Settings;
use crate::shard::{input_key, Shard};
use crate::structure::{self, ReportStructure};
use crate::summarise;
use crate::themes::ThemeSet;
use anyhow::{Context, Result};
use rayon::prelude::*;
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The run's inputs.
pub(crate) struct Inputs {
    /// Every report file of the run, in run order: path, id, the shard that owns it (0 when
    /// the run is not sharded). Ids are assigned over all of them, so a shard's ids are the
    /// ones a single-machine run would give.
    pub all: Vec<(PathBuf, String, usize)>,
    /// Indices into `all` of the files this run summarises.
    pub mine: Vec<usize>,
    /// Inputs that are not report files or cannot be searched (reported by shard 0 only).
    pub discover_errors: Vec<InputStatus>,
}

/// Finds the report files among `inputs` and, with a shard, the part that is this shard's.
pub(crate) fn discover(inputs: &[PathBuf], shard: Option<Shard>) -> Inputs {
    let (files, errors) = read::discover(inputs);
    let discover_errors: Vec<InputStatus> = if shard.is_none_or(|s| s.index == 0) {
        errors
            .iter()
            .map(|e| {
                tracing::error!("{e}");
                InputStatus::failed(&e.path, None, e.reason.clone())
            })
            .collect()
    } else {
        Vec::new()
    };
    let ids = assign_ids(&files);
    let owners: Vec<usize> = match shard {
        Some(s) => files
            .par_iter()
            .map(|p| Shard::owner(&input_key(p), s.count))
            .collect(),
        None => vec![0; files.len()],
    };
    let all: Vec<(PathBuf, String, usize)> = files
        .into_iter()
        .zip(ids)
        .zip(owners)
        .map(|((p, id), o)| (p, id, o))
        .collect();
    let mine = (0..all.len())
        .filter(|&i| shard.is_none_or(|s| all[i].2 == s.index))
        .collect();
    Inputs {
        all,
        mine,
        discover_errors,
    }
}

/// One report that was read and parsed.
pub(crate) struct Parsed {
    pub id: String,
    pub doc: SourceDocument,
    pub normalized: NormalizedText,
    pub structure: ReportStructure,
}

/// Reads and parses this run's inputs in parallel; a file that fails is a status, not an error.
/// Returns the parsed reports in run order and the statuses of the discovery errors and the
/// files that failed.
pub(crate) fn read_and_parse(inputs: &Inputs) -> (Vec<Parsed>, Vec<InputStatus>) {
    let results: Vec<(&Path, &str, std::result::Result<Parsed, String>)> = inputs
        .mine
        .par_iter()
        .map(|&i| {
            let (path, id, _) = &inputs.all[i];
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
            (path.as_path(), id.as_str(), r)
        })
        .collect();
    let mut parsed = Vec::new();
    let mut statuses = inputs.discover_errors.clone();
    for (path, id, r) in results {
        match r {
            Ok(p) => parsed.push(p),
            Err(reason) => {
                tracing::error!("{}: {reason}", path.display());
                statuses.push(InputStatus::failed(path, Some(id.to_string()), reason));
            }
        }
    }
    (parsed, statuses)
}

/// Stage 1's result for one report: a summary read from the cache, a fresh fast-mode result,
/// or why it failed.
enum FastResult {
    Cached(ReportSummary),
    Fresh(ReportSummary),
    Failed(String),
}

type Outcome = std::result::Result<(ReportSummary, &'static str), String>;

/// Summarises every parsed report: the encoder stage for all (rayon across reports), then in
/// full mode the generator stage. Each result is cached (`reports/<id>.json`) as soon as it is
/// done, so a killed run resumes where it stopped. Returns each report's summary (by index;
/// `None`: it failed) and its status; cached reports of inputs no longer given are removed.
pub(crate) fn summarise_reports(
    settings: &Settings,
    args: &RunConfig,
    out: &Path,
    loaded: &mut Loaded,
    parsed: &[Parsed],
    quiet: bool,
    timings: &mut BTreeMap<String, f64>,
) -> Result<(Vec<Option<ReportSummary>>, Vec<InputStatus>)> {
    let report_key = loaded.fingerprint.report_key();
    let cache = ResultCache::new(out);
    let progress = Progress::new(quiet, parsed.len() as u64);

    // Stage 1 (all modes): extractive summary, encoder only, rayon across reports.
    let t = Instant::now();
    let ctx = loaded.resources.ctx();
    let fast_results: Vec<(usize, FastResult)> = parsed
        .par_iter()
        .enumerate()
        .map(|(i, p)| {
            let key = cache_key(&report_key, &p.doc.sha256, &p.id);
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
    timings.insert("summarise_fast_s".into(), t.elapsed().as_secs_f64());

    let t = Instant::now();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; parsed.len()];
    let mut jobs: Vec<(usize, ReportSummary)> = Vec::new();
    for (i, r) in fast_results {
        match r {
            FastResult::Cached(s) => outcomes[i] = Some(Ok((s, "cached"))),
            FastResult::Fresh(fast) if loaded.generator.is_some() => jobs.push((i, fast)),
            FastResult::Fresh(fast) => outcomes[i] = Some(Ok((fast, "done"))),
            FastResult::Failed(reason) => outcomes[i] = Some(Err(reason)),
        }
    }
    let refined = refine_with_generator(settings, args, loaded, parsed, &jobs, |p, s| {
        let key = cache_key(&report_key, &p.doc.sha256, &p.id);
        let stored = cache.store(&p.id, &key, s).map_err(|e| format!("{e:#}"));
        if stored.is_ok() {
            progress.tick(&p.id, "done");
        }
        stored
    })?;
    for (i, full) in refined {
        outcomes[i] = Some(full.map(|s| (s, "done")));
    }

    let mut summaries: Vec<Option<ReportSummary>> = vec![None; parsed.len()];
    let mut statuses = Vec::new();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        let p = &parsed[i];
        match outcome {
            Some(Ok((s, status))) => {
                statuses.push(InputStatus {
                    source: p.doc.source.display().to_string(),
                    id: Some(p.id.clone()),
                    status: status.to_string(),
                    error: None,
                    warnings: s.warnings.len(),
                });
                summaries[i] = Some(s);
            }
            Some(Err(reason)) => {
                tracing::error!("{}: {reason}", p.doc.source.display());
                statuses.push(InputStatus::failed(
                    &p.doc.source,
                    Some(p.id.clone()),
                    reason,
                ));
            }
            None => statuses.push(InputStatus::failed(
                &p.doc.source,
                Some(p.id.clone()),
                "internal error: the report was lost between stages".to_string(),
            )),
        }
    }
    progress.finish();
    timings.insert("summarise_full_s".into(), t.elapsed().as_secs_f64());

    // Reports from earlier runs over other inputs would otherwise sit beside this run's.
    let current: BTreeSet<&str> = parsed.iter().map(|p| p.id.as_str()).collect();
    cache.remove_stale(&current);
    Ok((summaries, statuses))
}

/// Stage 2 (full mode): the generator refines each fast result. With N instances (see
/// `generator_instances`) each runs single-threaded in its own thread and takes the next report
/// from a shared counter; with one it uses every core. Results are returned by report index, so
/// the outputs do not depend on which instance did which report. `store` keeps each result as
/// soon as it is made.
fn refine_with_generator(
    settings: &Settings,
    args: &RunConfig,
    loaded: &mut Loaded,
    parsed: &[Parsed],
    jobs: &[(usize, ReportSummary)],
    store: impl Fn(&Parsed, &ReportSummary) -> std::result::Result<(), String> + Sync,
) -> Result<Vec<(usize, std::result::Result<ReportSummary, String>)>> {
    let Loaded {
        generator,
        generator_files,
        resources,
        ..
    } = loaded;
    let (Some(first), Some(files)) = (generator.as_mut(), generator_files.as_ref()) else {
        return Ok(Vec::new());
    };
    let n_generators = generator_instances(args, settings.generators);
    tracing::debug!("full mode: {n_generators} generator instance(s)");
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
    let (themes, encoder, prompts) = (&resources.themes, &resources.encoder, &resources.prompts);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::new());
    let refine = |gen: &mut Generator| loop {
        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Some((i, fast)) = jobs.get(k) else { break };
        let p = &parsed[*i];
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
        .and_then(|s| store(p, &s).map(|_| s));
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
    Ok(done.into_inner().unwrap_or_default())
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

/// A summarised report as the digest needs it.
pub(crate) struct DigestInput {
    pub summary: ReportSummary,
    /// `compare::duplicates::comparable_text` of the report's normalised text.
    pub comparable: String,
    /// `compare::emerging::embed_other_quotes` of the summary.
    pub other_vectors: Vec<Vec<f32>>,
}

/// Compares the reports and renders the digest into `out`. Returns why the digest could not be
/// written, if it could not (the reports are written already: the run goes on to run.json).
pub(crate) fn write_digest(
    out: &Path,
    done: &[DigestInput],
    loaded: &mut Loaded,
    previous: &[PreviousRun],
) -> Option<String> {
    if done.is_empty() {
        return None;
    }
    let inputs: Vec<CompareInput> = done
        .iter()
        .map(|d| CompareInput {
            summary: &d.summary,
            comparable: &d.comparable,
            other_vectors: &d.other_vectors,
        })
        .collect();
    let reports: Vec<ReportSummary> = done.iter().map(|d| d.summary.clone()).collect();
    let themes = &loaded.resources.themes;
    let result = compare::compare(
        &inputs,
        themes,
        loaded.generator.as_mut(),
        &loaded.label_template,
        &loaded.indicators,
    )
    .and_then(|digest| {
        add_years(
            digest,
            &reports,
            themes,
            previous,
            &loaded.resources.encoder,
        )
    })
    .and_then(|digest| {
        let t = std::time::Instant::now();
        let written = crate::render::write_digest(out, &digest, &reports, themes);
        tracing::debug!(
            "digest rendered and written: {:.2} s",
            t.elapsed().as_secs_f64()
        );
        written
    });
    match result {
        Ok(()) => None,
        Err(e) => {
            tracing::error!("digest: {e:#}");
            Some(format!("{e:#}"))
        }
    }
}

/// The year-over-year part of the digest, when there are earlier outputs to compare with.
fn add_years(
    mut digest: compare::Digest,
    reports: &[ReportSummary],
    themes: &ThemeSet,
    previous: &[PreviousRun],
    encoder: &Encoder,
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

/// A shard keeps each report's comparable text for the merge (`shard::COMPARABLE_DIR`); texts
/// of reports no longer among its inputs are removed.
pub(crate) fn write_comparable_texts(out: &Path, done: &[DigestInput]) -> Result<()> {
    let files = done
        .iter()
        .map(|d| Ok((d.summary.id.as_str(), d.comparable.as_bytes())));
    keep_per_report(&out.join(crate::shard::COMPARABLE_DIR), "txt", files)
}

/// A shard keeps the vectors of each report's shortcomings that fit no theme
/// (`shard::EMERGING_DIR`, one JSON array per report that has any), so that the merge clusters
/// them without embedding anything; files of reports without such shortcomings are removed.
pub(crate) fn write_other_vectors(out: &Path, done: &[DigestInput]) -> Result<()> {
    let files = done
        .iter()
        .filter(|d| !d.other_vectors.is_empty())
        .map(|d| Ok((d.summary.id.as_str(), serde_json::to_vec(&d.other_vectors)?)));
    keep_per_report(&out.join(crate::shard::EMERGING_DIR), "json", files)
}

/// Writes one file `<id>.<ext>` per report into `dir` and removes the files of any other id.
fn keep_per_report<'a, B: AsRef<[u8]>>(
    dir: &Path,
    ext: &str,
    files: impl Iterator<Item = Result<(&'a str, B)>>,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut current = BTreeSet::new();
    for file in files {
        let (id, bytes) = file?;
        crate::output::write_atomic(&dir.join(format!("{id}.{ext}")), bytes.as_ref())?;
        current.insert(id);
    }
    crate::output::remove_files_not_in(dir, &current);
    Ok(())
}

/// The settings part of run.json common to `run` and `merge`.
pub(crate) fn settings_record(loaded: &Loaded) -> BTreeMap<&'static str, serde_json::Value> {
    let mut settings = BTreeMap::new();
    let f = &loaded.fingerprint;
    settings.insert("themes", serde_json::json!(loaded.themes_origin));
    settings.insert("themes_sha256", serde_json::json!(f.themes_sha256));
    // The themes file's ids, so that next year's run can tell which themes it shares with this
    // one (`--previous`).
    settings.insert(
        crate::previous::THEME_IDS_KEY,
        serde_json::json!(loaded.resources.themes.ids()),
    );
    settings.insert(
        "theme_classifier",
        serde_json::json!(loaded.resources.theme_classifier.key()),
    );
    settings.insert(
        "problem_detector",
        serde_json::json!(loaded.resources.problem_detector.key()),
    );
    settings.insert(
        "prompts",
        serde_json::json!(loaded.prompt_source.describe()),
    );
    settings.insert(
        "prompts_fingerprint",
        serde_json::json!(f.prompts_fingerprint),
    );
    settings
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
