//! Before any report is read: the prompt files (already checked by `PromptFiles`) and the
//! models, loaded once, and the fingerprint of everything that decides a report's result. `run`
//! and `merge` both start here, so a merge loads exactly what its shards ran with.

use super::Mode;
use crate::compare::figures::Indicators;
use crate::models::generator::Generator;
use crate::models::{
    load_encoder, load_generator, ModelFiles, ModelRole, ModelStore, StoreOptions,
};
use crate::previous::PreviousRun;
use crate::prompt_files::{PromptFiles, PromptSource};
use crate::settings::Settings;
use crate::summarise::Resources;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Bump when a change to the code alters results, so cached reports are recomputed.
pub(super) const CACHE_VERSION: &str = "4";

/// One model of a run, as recorded in run.json and in shard records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRecord {
    pub role: String,
    pub name: String,
    pub sha256: BTreeMap<String, String>,
}

/// Everything that decides what a run writes, apart from the inputs: two runs (or two shards)
/// with equal fingerprints give the same result for the same report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFingerprint {
    pub version: String,
    pub cache_version: String,
    pub mode: Mode,
    pub models: Vec<ModelRecord>,
    pub themes_sha256: String,
    pub prompts_fingerprint: String,
    pub problem_sentences_sha256: String,
    /// The files only the digest uses (emerging-label template, indicators).
    pub digest_files_sha256: String,
}

impl RunFingerprint {
    /// The part of the fingerprint a cached report depends on (the digest files are not part
    /// of it: editing the indicators does not recompute every report).
    pub(super) fn report_key(&self) -> String {
        format!(
            "{}|{}|{:?}|{}|{}|{}|{}",
            self.cache_version,
            self.version,
            self.mode,
            serde_json::to_string(&self.models).unwrap_or_default(),
            self.prompts_fingerprint,
            self.themes_sha256,
            self.problem_sentences_sha256
        )
    }

    /// The first field in which `other` differs, as "field: ours vs theirs", if any.
    pub fn difference(&self, other: &RunFingerprint) -> Option<String> {
        let fields: [(&str, String, String); 7] = [
            (
                "program version",
                self.version.clone(),
                other.version.clone(),
            ),
            (
                "result format",
                self.cache_version.clone(),
                other.cache_version.clone(),
            ),
            (
                "mode",
                format!("{:?}", self.mode).to_lowercase(),
                format!("{:?}", other.mode).to_lowercase(),
            ),
            (
                "models",
                describe_models(&self.models),
                describe_models(&other.models),
            ),
            (
                "themes file (sha256)",
                self.themes_sha256.clone(),
                other.themes_sha256.clone(),
            ),
            (
                "prompt templates (fingerprint)",
                self.prompts_fingerprint.clone(),
                other.prompts_fingerprint.clone(),
            ),
            (
                "problem sentences (sha256)",
                self.problem_sentences_sha256.clone(),
                other.problem_sentences_sha256.clone(),
            ),
        ];
        for (what, a, b) in fields {
            if a != b {
                return Some(format!("{what}: {a} vs {b}"));
            }
        }
        if self.digest_files_sha256 != other.digest_files_sha256 {
            return Some(format!(
                "emerging-label template or indicators (sha256): {} vs {}",
                self.digest_files_sha256, other.digest_files_sha256
            ));
        }
        None
    }
}

fn describe_models(models: &[ModelRecord]) -> String {
    models
        .iter()
        .map(|m| {
            let shas: Vec<String> = m
                .sha256
                .iter()
                .map(|(f, s)| format!("{f}={}", &s[..s.len().min(12)]))
                .collect();
            format!("{} {} ({})", m.role, m.name, shas.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Which models to load.
pub(crate) struct ModelChoice<'a> {
    pub mode: Mode,
    pub store: &'a StoreOptions,
    /// Manifest names; `None`: the manifest's default.
    pub encoder: Option<&'a str>,
    pub generator: Option<&'a str>,
}

/// The prompt files and the models of a run, loaded and checked.
pub(crate) struct Loaded {
    pub prompt_source: PromptSource,
    pub themes_origin: String,
    pub label_template: String,
    pub indicators: Indicators,
    pub resources: Resources,
    pub generator_files: Option<ModelFiles>,
    pub generator: Option<Generator>,
    pub fingerprint: RunFingerprint,
}

/// Loads the models (fetching a missing default on first use) and trains or loads the
/// classifiers. Any error here is fatal: a missing or corrupt model stops the run before work.
pub(crate) fn load(
    settings: &Settings,
    files: PromptFiles,
    choice: &ModelChoice,
    quiet: bool,
) -> Result<Loaded> {
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
        digest_files_sha: digest_files_sha256,
    } = files;
    tracing::debug!("prompt files: {}", source.describe());
    let store = ModelStore::open(choice.store)?;
    let encoder_name = match choice.encoder {
        Some(n) => n.to_string(),
        None => store.default_model(ModelRole::Encoder)?,
    };
    let encoder_files = provision(&store, &encoder_name, !quiet)?;
    let encoder = load_encoder(&encoder_files, &settings.encoder)
        .with_context(|| format!("cannot load encoder model {encoder_name}"))?;
    let generator_files: Option<ModelFiles> = match choice.mode {
        Mode::Fast => None,
        Mode::Full => {
            let name = match choice.generator {
                Some(n) => n.to_string(),
                None => store.default_model(ModelRole::Generator)?,
            };
            Some(provision(&store, &name, !quiet)?)
        }
    };
    let generator = match &generator_files {
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
    let mut models = vec![ModelRecord {
        role: "encoder".to_string(),
        name: encoder_files.name.clone(),
        sha256: encoder_files.sha256.clone(),
    }];
    if let Some(g) = &generator_files {
        models.push(ModelRecord {
            role: "generator".to_string(),
            name: g.name.clone(),
            sha256: g.sha256.clone(),
        });
    }
    let fingerprint = RunFingerprint {
        version: env!("CARGO_PKG_VERSION").to_string(),
        cache_version: CACHE_VERSION.to_string(),
        mode: choice.mode,
        models,
        themes_sha256: themes_sha,
        prompts_fingerprint: prompts.fingerprint(),
        problem_sentences_sha256: problem_sentences_sha,
        digest_files_sha256,
    };

    let encoder_id = format!("{}:{:?}", encoder_files.name, encoder_files.sha256);
    let classifiers_dir = store.dir().join("classifiers");
    let t_classifier = Instant::now();
    let resources = Resources::load(
        encoder,
        &encoder_id,
        themes,
        prompts,
        &problem_sentences,
        Some(&classifiers_dir),
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
            classifiers_dir.display()
        );
    }
    Ok(Loaded {
        prompt_source: source,
        themes_origin,
        label_template,
        indicators,
        resources,
        generator_files,
        generator,
        fingerprint,
    })
}

/// Earlier output folders (`--previous`), read and checked before the models load, like the
/// prompt files: one that is not an output of this program stops the run or merge (exit 2)
/// naming the folder and the reason, before any report is summarised.
pub(crate) fn load_previous(dirs: &[PathBuf], out: &Path) -> Result<Vec<PreviousRun>> {
    let previous = crate::previous::load_all(dirs, out)?;
    for p in &previous {
        for w in &p.warnings {
            tracing::warn!("{w}");
        }
    }
    Ok(previous)
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
