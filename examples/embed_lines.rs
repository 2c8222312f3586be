//! Embeds the text after the last TAB of each input line with the default encoder and prints
//! one JSON array per line: [line, embedding]. A tool for experiments with classifiers.
//! usage: embed_lines FILE [query|passage]
use township_digest::models::encoder::EmbedKind;
use township_digest::models::StoreOptions;
use township_digest::models::{load_encoder, ModelRole, ModelStore};

fn main() -> anyhow::Result<()> {
    let store = ModelStore::open(&StoreOptions {
        quiet: true,
        dir: std::env::var_os("TOWNSHIP_DIGEST_MODELS").map(Into::into),
        manifest: None,
    })?;
    let files = store.ensure(&store.default_model(ModelRole::Encoder)?, false)?;
    let encoder = load_encoder(&files, &Default::default())?;
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&args[1])?;
    let kind = if args.get(2).map(String::as_str) == Some("passage") {
        EmbedKind::Passage
    } else {
        EmbedKind::Query
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let texts: Vec<&str> = lines
        .iter()
        .map(|l| l.rsplit('\t').next().unwrap_or(l))
        .collect();
    let t = std::time::Instant::now();
    let embs = encoder.embed(&texts, kind)?;
    eprintln!(
        "{} texts in {:.2} s",
        texts.len(),
        t.elapsed().as_secs_f64()
    );
    for (l, e) in lines.iter().zip(embs) {
        println!("{}", serde_json::to_string(&(l, e))?);
    }
    Ok(())
}
