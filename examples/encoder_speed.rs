//! Encoder throughput on real report sentences.
//!
//! `RAYON_NUM_THREADS=N CANDLE_NUM_THREADS=N cargo run --example encoder_speed [N_SENTENCES]`
//! (the default encoder is provisioned through the model store, like `run` does).

use std::time::Instant;
use township_digest::cli::Globals;
use township_digest::models::{EmbedKind, Encoder, ModelRole, ModelStore};

fn main() -> anyhow::Result<()> {
    let want: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let mut sentences = Vec::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/reports");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    for p in paths {
        let text = std::fs::read_to_string(&p)?;
        for s in text.split(['。', '！', '？', '\n']) {
            let s = s.trim();
            if s.chars().count() >= 6 && sentences.len() < want {
                sentences.push(s.to_string());
            }
        }
    }
    let store = ModelStore::open(&Globals {
        quiet: true,
        models_dir: None,
        manifest: None,
    })?;
    let files = store.ensure(&store.default_model(ModelRole::Encoder)?, false)?;
    let t0 = Instant::now();
    let enc = Encoder::load(&files)?; // f32 weights; TOWNSHIP_DIGEST_ENCODER_Q4=1 keeps Q4_0
    let load = t0.elapsed().as_secs_f64();
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let tokens: usize = refs
        .iter()
        .map(|s| enc.token_count(s, EmbedKind::Passage).unwrap_or(0))
        .sum();
    enc.embed(&refs[..refs.len().min(8)], EmbedKind::Passage)?; // warm-up
    let t1 = Instant::now();
    let v = enc.embed(&refs, EmbedKind::Passage)?;
    let secs = t1.elapsed().as_secs_f64();
    println!(
        "q4={} threads={} sentences={} tokens={} load={load:.2}s embed={secs:.2}s -> {:.1} sentences/s, {:.0} tokens/s (dim {})",
        std::env::var("TOWNSHIP_DIGEST_ENCODER_Q4").unwrap_or_else(|_| "0".into()),
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into()),
        v.len(),
        tokens,
        v.len() as f64 / secs,
        tokens as f64 / secs,
        enc.dim()
    );
    Ok(())
}
