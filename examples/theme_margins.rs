//! How sure the theme classifier is of each shortcoming: best theme, runner-up, the best
//! theme's probability and its margin over the runner-up. A tool for checking a themes file.
//! usage: theme_margins REPORT... (models from $TOWNSHIP_DIGEST_MODELS or the user cache)
use std::path::PathBuf;
use township_digest::models::StoreOptions;
use township_digest::models::{load_encoder, ModelRole, ModelStore};
use township_digest::prompt_files::{PromptFiles, PromptSource};
use township_digest::summarise::{summarise_shortcomings, Resources};

fn main() -> anyhow::Result<()> {
    let store = ModelStore::open(&StoreOptions {
        quiet: true,
        dir: std::env::var_os("TOWNSHIP_DIGEST_MODELS").map(Into::into),
        manifest: None,
    })?;
    let files = store.ensure(&store.default_model(ModelRole::Encoder)?, false)?;
    let encoder = load_encoder(&files, &Default::default())?;
    let prompt_files = PromptFiles::load(PromptSource::Folder(PathBuf::from("prompts")), None)?;
    let r = Resources::load(
        encoder,
        &format!("{}:{:?}", files.name, files.sha256),
        prompt_files.themes,
        prompt_files.templates,
        &prompt_files.problem_sentences,
        Some(&store.dir().join("classifiers")),
    )?;
    let id = |i: Option<usize>| {
        i.and_then(|i| r.themes.themes.get(i))
            .map_or("other", |t| t.id.as_str())
    };
    let mut n = 0;
    for path in std::env::args().skip(1) {
        let doc = township_digest::read::read_document(path.as_ref())?;
        let structure = township_digest::structure::parse(&doc);
        let (items, matches) = summarise_shortcomings(&doc, &structure, &r.ctx())?;
        for (s, m) in items.iter().zip(&matches) {
            n += 1;
            let quote: String = s.evidence[0].quote.chars().take(30).collect();
            println!(
                "{path}\t{}\t{}\t{:.3}\t{:.3}\t{quote}",
                id(m.theme),
                id(m.runner_up),
                m.score,
                m.margin
            );
        }
    }
    println!("{n} shortcomings");
    Ok(())
}
