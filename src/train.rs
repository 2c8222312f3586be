//! `township-digest themes train`: fit the theme classifier from a themes file and report its
//! cross-validated accuracy per theme (the classifier `run` uses; see
//! `summarise::theme_classifier`).

use crate::models::{load_encoder, ModelRole, ModelStore, StoreOptions};
use crate::prompt_files::{PromptFiles, PromptSource};
use crate::settings::Settings;
use crate::summarise::theme_classifier::training_set;
use crate::summarise::ThemeClassifier;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// Fit (or load the kept) theme classifier for the themes of `prompts` (or the file `themes`)
/// and print its cross-validated accuracy per theme, as a table or as JSON.
pub fn train(
    store_options: &StoreOptions,
    settings: &Settings,
    prompts: PromptSource,
    themes: Option<PathBuf>,
    retrain: bool,
    json: bool,
) -> Result<()> {
    let files = PromptFiles::load(prompts, themes.as_deref())?;
    let (set, path) = (files.themes, files.themes_origin);
    let store = ModelStore::open(store_options)?;
    let name = store.default_model(ModelRole::Encoder)?;
    let files = crate::run::provision(&store, &name, !store_options.quiet)?;
    let encoder = load_encoder(&files, &settings.encoder)
        .with_context(|| format!("cannot load encoder {name}"))?;
    let encoder_id = format!("{}:{:?}", files.name, files.sha256);
    let cache = store.dir().join("classifiers");
    if retrain {
        let key_file = |c: &ThemeClassifier| {
            crate::summarise::sentence_classifier::cache_path(&cache, "theme", c.key())
        };
        // Drop the kept copy so load_or_train fits again.
        if let Ok((c, _)) = ThemeClassifier::load_or_train(&set, &encoder, &encoder_id, None) {
            let _ = std::fs::remove_file(key_file(&c));
        }
    }
    let t = std::time::Instant::now();
    let (classifier, trained) =
        ThemeClassifier::load_or_train(&set, &encoder, &encoder_id, Some(&cache))?;
    let cv = classifier.cross_validation();
    let examples = training_set(&set);
    let mut ids: Vec<String> = set.themes.iter().map(|t| t.id.clone()).collect();
    ids.push(crate::report::OTHER_THEME.to_string());
    let rows: Vec<serde_json::Value> = ids
        .iter()
        .enumerate()
        .map(|(k, id)| {
            let (n, hit) = cv.per_class.get(k).copied().unwrap_or((0, 0));
            serde_json::json!({
                "theme": id,
                "examples": examples.iter().filter(|(_, c)| *c == k).count(),
                "cross_validated_accuracy": if n > 0 { Some(hit as f64 / n as f64) } else { None },
            })
        })
        .collect();
    if json {
        let out = serde_json::json!({
            "themes_file": path,
            "key": classifier.key(),
            "trained_now": trained,
            "seconds": t.elapsed().as_secs_f64(),
            "folds": cv.folds,
            "accuracy_by_c": cv.accuracy_by_c,
            "chosen_c": cv.chosen_c,
            "themes": rows,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{} classifier for {} ({} examples, {}-fold cross-validation, {:.1} s)",
        if trained { "trained" } else { "kept" },
        path,
        examples.len(),
        cv.folds,
        t.elapsed().as_secs_f64()
    );
    for (c, a) in &cv.accuracy_by_c {
        let mark = if *c == cv.chosen_c { "  <- chosen" } else { "" };
        println!("  C = {c:<6} accuracy {a:.3}{mark}");
    }
    println!("{:<24} {:>8}  accuracy", "theme", "examples");
    for r in rows {
        println!(
            "{:<24} {:>8}  {}",
            r["theme"].as_str().unwrap_or(""),
            r["examples"],
            r["cross_validated_accuracy"]
                .as_f64()
                .map_or("n/a".to_string(), |a| format!("{a:.3}"))
        );
    }
    Ok(())
}
