//! Encoder throughput on real report sentences.
//!
//! usage: RAYON_NUM_THREADS=N CANDLE_NUM_THREADS=N encoder_speed MODEL.e5s1 TEXT_DIR [N] [--q4]
//!
//! MODEL.e5s1: the default encoder's file (`township-digest models list` shows the folder);
//! TEXT_DIR: a folder of UTF-8 texts (the project's `fixtures/reports`), cut into sentences,
//! the first N (default 200) of at least six characters embedded. `--q4` keeps the weights in
//! Q4_0 (`EncoderWeights::Q4_0`, needs `--features compare`).

use std::time::Instant;
use township_infer::encoder::{EmbedKind, Encoder, EncoderOptions};

fn main() -> anyhow::Result<()> {
    #[cfg_attr(not(feature = "compare"), allow(unused_mut))]
    let mut opts = EncoderOptions::default();
    let mut a = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            #[cfg(feature = "compare")]
            "--q4" => opts.weights = township_infer::encoder::EncoderWeights::Q4_0,
            flag if flag.starts_with("--") => {
                anyhow::bail!("unknown option {flag} (--q4 needs --features compare)")
            }
            _ => a.push(arg),
        }
    }
    if a.len() < 2 {
        anyhow::bail!("usage: encoder_speed MODEL.e5s1 TEXT_DIR [N] [--q4]");
    }
    let want: usize = a.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    let mut sentences = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(&a[1])?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    for p in paths {
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        for s in text.split(['。', '！', '？', '\n']) {
            let s = s.trim();
            if s.chars().count() >= 6 && sentences.len() < want {
                sentences.push(s.to_string());
            }
        }
    }
    let t0 = Instant::now();
    let enc = Encoder::load_e5s1(std::path::Path::new(&a[0]), &opts)?;
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
        "weights={:?} rayon threads={} sentences={} tokens={} load={load:.2}s embed={secs:.2}s -> {:.1} sentences/s, {:.0} tokens/s (dim {})",
        opts.weights,
        rayon::current_num_threads(),
        v.len(),
        tokens,
        v.len() as f64 / secs,
        tokens as f64 / secs,
        enc.dim()
    );
    Ok(())
}
