//! `township-digest merge`: the shards of a cluster job (`run --shard K/N`) joined into the
//! digest a single machine would have written over the same inputs, byte for byte. The shards'
//! records are checked first: shards made with different models, themes, prompts or settings
//! are refused (fatal), and so is a merge whose own prompt files or models differ from theirs.
//! Reports of a shard that never finished are named as missing; the digest covers the rest.

use crate::models::StoreOptions;
use crate::output::{commit_staged, stage_copy, write_json_atomic, Staged};
use crate::prompt_files::{PromptFiles, PromptSource};
use crate::report::ReportSummary;
use crate::run::setup::{self, ModelChoice};
use crate::run::{shard_dirs, ShardRecord};
use crate::run::{InputStatus, RunRecord, RunResult};
use crate::settings::Settings;
use crate::shard::{COMPARABLE_DIR, EMERGING_DIR};
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to merge: the `merge` command's arguments as plain settings.
#[derive(Debug, Clone)]
pub struct MergeConfig {
    /// Shard output folders, or folders holding `shard-*` folders.
    pub shards: Vec<PathBuf>,
    pub out: PathBuf,
    /// Themes file; `None`: the prompt files' own (must be the shards' themes).
    pub themes: Option<PathBuf>,
    pub prompts: PromptSource,
    pub store: StoreOptions,
    /// Earlier output folders to compare with (year over year), as `run --previous`.
    pub previous: Vec<PathBuf>,
}

/// Shard records, checked to belong to one run.
struct ShardSet {
    /// By shard index.
    records: BTreeMap<usize, (PathBuf, ShardRecord)>,
    count: usize,
}

fn read_shards(paths: &[PathBuf]) -> Result<ShardSet> {
    let dirs = shard_dirs(paths)?;
    let mut records: BTreeMap<usize, (PathBuf, ShardRecord)> = BTreeMap::new();
    for dir in dirs {
        let record = ShardRecord::read(&dir)?;
        if let Some((first_dir, first)) = records.values().next() {
            let other = || format!("{} and {}", first_dir.display(), dir.display());
            if first.shard.count != record.shard.count {
                bail!(
                    "shards {} come from different splits: {} vs {} shards",
                    other(),
                    first.shard.count,
                    record.shard.count
                );
            }
            if let Some(d) = first.fingerprint.difference(&record.fingerprint) {
                bail!("shards {} were made with different settings: {d}", other());
            }
            if first.inputs != record.inputs {
                bail!(
                    "shards {} were given different inputs ({} vs {} report files, or other names)",
                    other(),
                    first.inputs.len(),
                    record.inputs.len()
                );
            }
        }
        if let Some((seen, _)) = records.get(&record.shard.index) {
            bail!(
                "shard {} appears twice: {} and {}",
                record.shard,
                seen.display(),
                dir.display()
            );
        }
        records.insert(record.shard.index, (dir, record));
    }
    let count = match records.values().next() {
        Some((_, r)) => r.shard.count,
        None => bail!("no shard output among the given folders"),
    };
    Ok(ShardSet { records, count })
}

/// Merges the shards into `cfg.out`. Errors returned are fatal (exit 2); missing or failed
/// reports are in the result and run.json.
pub fn merge(settings: &Settings, cfg: &MergeConfig, quiet: bool) -> Result<RunResult> {
    let started = Instant::now();
    let files = PromptFiles::load(cfg.prompts.clone(), cfg.themes.as_deref())?;
    let set = read_shards(&cfg.shards)?;
    let (_, reference) = set
        .records
        .values()
        .next()
        .context("no shard output among the given folders")?;
    let reference = reference.clone();
    let previous = setup::load_previous(&cfg.previous, &cfg.out)?;

    std::fs::create_dir_all(cfg.out.join("reports"))
        .with_context(|| format!("cannot create output folder {}", cfg.out.display()))?;
    let _lock = crate::run::lock_output(&cfg.out)?;

    let t = Instant::now();
    let model_name = |role: &str| {
        reference
            .fingerprint
            .models
            .iter()
            .find(|m| m.role == role)
            .map(|m| m.name.as_str())
    };
    let choice = ModelChoice {
        mode: reference.fingerprint.mode,
        store: &cfg.store,
        encoder: model_name("encoder"),
        generator: model_name("generator"),
    };
    let mut loaded = setup::load(settings, files, &choice, quiet)?;
    if let Some(d) = loaded.fingerprint.difference(&reference.fingerprint) {
        bail!(
            "the shards were made with other settings than this merge has: {d} (give merge the \
             shards' --themes/--prompts and models)"
        );
    }
    let mut timings: BTreeMap<String, f64> = BTreeMap::new();
    timings.insert("load_models_s".into(), t.elapsed().as_secs_f64());

    // Every input in run order: its result from the shard that owns it, or why there is none.
    let t = Instant::now();
    let mut statuses: Vec<InputStatus> = set
        .records
        .get(&0)
        .map(|(_, r)| r.discover_errors.clone())
        .unwrap_or_default();
    let mut done = Vec::new();
    let mut copies = Vec::new();
    let mut ids = BTreeSet::new();
    // Each shard's statuses by report id (the first one of an id, as a search would find).
    let by_id: BTreeMap<usize, HashMap<&str, &InputStatus>> = set
        .records
        .iter()
        .map(|(&k, (_, record))| {
            let mut m = HashMap::new();
            for s in &record.statuses {
                if let Some(id) = s.id.as_deref() {
                    m.entry(id).or_insert(s);
                }
            }
            (k, m)
        })
        .collect();
    // The reports to load (those their shard finished), read and copied in parallel: file
    // reading and JSON parsing are most of a large merge's time before compare.
    type Loaded = (crate::run::DigestInput, Option<Staged>);
    let mut loaded_reports: HashMap<&str, Result<Loaded>> = {
        use rayon::prelude::*;
        let wanted: Vec<(&Path, &str)> = reference
            .inputs
            .iter()
            .filter_map(|input| {
                let (dir, _) = set.records.get(&input.shard)?;
                let s = by_id.get(&input.shard)?.get(input.id.as_str())?;
                s.is_ok().then_some((dir.as_path(), input.id.as_str()))
            })
            .collect();
        wanted
            .par_iter()
            .map(|&(dir, id)| (id, load_report(dir, id, &cfg.out)))
            .collect::<Vec<_>>()
            .into_iter()
            .collect()
    };
    for input in &reference.inputs {
        let source = Path::new(&input.source);
        let Some((dir, _)) = set.records.get(&input.shard) else {
            statuses.push(missing(
                source,
                &input.id,
                format!(
                    "shard {}/{} has no record among the given folders (not run, still running, \
                     or stopped before it finished)",
                    input.shard, set.count
                ),
            ));
            continue;
        };
        let status = by_id
            .get(&input.shard)
            .and_then(|m| m.get(input.id.as_str()).copied());
        match status {
            Some(s) if s.is_ok() => match loaded_reports
                .remove(input.id.as_str())
                .unwrap_or_else(|| load_report(dir, &input.id, &cfg.out))
            {
                Ok((d, copy)) => {
                    statuses.push(s.clone());
                    ids.insert(input.id.clone());
                    done.push(d);
                    copies.extend(copy);
                }
                Err(e) => {
                    tracing::error!("{}: {e:#}", input.source);
                    statuses.push(InputStatus::failed(
                        source,
                        Some(input.id.clone()),
                        format!("{e:#}"),
                    ));
                }
            },
            Some(s) => statuses.push(s.clone()),
            None => statuses.push(missing(
                source,
                &input.id,
                format!("shard {} recorded no result for it", dir.display()),
            )),
        }
    }
    commit_staged(copies)?;
    // Reports of an earlier merge over other inputs would otherwise sit beside this one's.
    let keep: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    crate::output::remove_files_not_in(&cfg.out.join("reports"), &keep);
    timings.insert("read_shards_s".into(), t.elapsed().as_secs_f64());

    let t = Instant::now();
    let digest_error = crate::run::write_digest(&cfg.out, &done, &mut loaded, &previous);
    timings.insert("compare_render_s".into(), t.elapsed().as_secs_f64());
    timings.insert("total_s".into(), started.elapsed().as_secs_f64());

    statuses.sort_by(|a, b| a.source.cmp(&b.source));
    for s in statuses.iter().filter(|s| s.status == "missing") {
        tracing::error!("{}: {}", s.source, s.error.as_deref().unwrap_or("missing"));
    }
    let n_failed = statuses.iter().filter(|s| !s.is_ok()).count();
    let n_ok = statuses.len() - n_failed;
    let mut record_settings = crate::run::settings_record(&loaded);
    record_settings.insert(
        "shards",
        serde_json::json!(set
            .records
            .values()
            .map(|(d, _)| d.display().to_string())
            .collect::<Vec<_>>()),
    );
    record_settings.insert("shard_count", serde_json::json!(set.count));
    if !cfg.previous.is_empty() {
        record_settings.insert("previous", serde_json::json!(cfg.previous));
    }
    let record = RunRecord {
        version: env!("CARGO_PKG_VERSION"),
        mode: reference.fingerprint.mode,
        models: &loaded.fingerprint.models,
        settings: record_settings,
        timings,
        inputs: statuses,
        digest: digest_error.clone(),
    };
    write_json_atomic(&cfg.out.join("run.json"), &record)?;
    tracing::info!(
        "merged {n_ok} report(s) of {} shard(s), {n_failed} failed or missing; output in {}",
        set.records.len(),
        cfg.out.display()
    );
    Ok(RunResult {
        done: n_ok,
        failed: n_failed,
        digest_error,
        empty_shard: false,
    })
}

fn missing(source: &Path, id: &str, reason: String) -> InputStatus {
    InputStatus {
        status: "missing".to_string(),
        ..InputStatus::failed(source, Some(id.to_string()), reason)
    }
}

/// A shard's report and comparable text; the report is copied into the merge's output as is
/// (a hard link on the same filesystem; moved into place with the others by `commit_staged`).
fn load_report(
    dir: &Path,
    id: &str,
    out: &Path,
) -> Result<(crate::run::DigestInput, Option<Staged>)> {
    let path = dir.join("reports").join(format!("{id}.json"));
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let summary: ReportSummary = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a report of this program", path.display()))?;
    let cpath = dir.join(COMPARABLE_DIR).join(format!("{id}.txt"));
    let comparable = std::fs::read_to_string(&cpath)
        .with_context(|| format!("cannot read {}", cpath.display()))?;
    // Only a report with shortcomings that fit no theme has vectors kept for them.
    let other_vectors = if crate::compare::emerging::other_quotes(&summary).is_empty() {
        Vec::new()
    } else {
        let vpath = dir.join(EMERGING_DIR).join(format!("{id}.json"));
        let bytes =
            std::fs::read(&vpath).with_context(|| format!("cannot read {}", vpath.display()))?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a list of vectors", vpath.display()))?
    };
    let copy = stage_copy(
        &path,
        &bytes,
        &out.join("reports").join(format!("{id}.json")),
    )?;
    Ok((
        crate::run::DigestInput {
            summary,
            comparable,
            other_vectors,
        },
        copy,
    ))
}
