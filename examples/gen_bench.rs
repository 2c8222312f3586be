//! Generator benchmark on explicit files (experiments; the `bench` command uses
//! `township_digest::models::generator::benchmark`).
//! usage: gen_bench MODEL.gguf tokenizer.json TEXT.txt [prompt sizes,..] [decode] [chunk]
use std::collections::BTreeMap;
use std::path::PathBuf;
use township_digest::models::generator::{benchmark, ChatMessage, GenerateOptions, Generator};
use township_digest::models::{ModelFiles, ModelRole};

fn main() -> anyhow::Result<()> {
    if std::env::var_os("TOWNSHIP_DIGEST_DEFAULT_MALLOC").is_none() {
        township_digest::models::alloc::keep_freed_memory_for_reuse();
    }
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 4 {
        anyhow::bail!(
            "usage: gen_bench MODEL.gguf tokenizer.json TEXT.txt [sizes] [decode] [chunk]"
        );
    }
    let mut files = BTreeMap::new();
    files.insert("weights".to_string(), PathBuf::from(&a[1]));
    files.insert("tokenizer".to_string(), PathBuf::from(&a[2]));
    let mf = ModelFiles {
        name: "bench".into(),
        role: ModelRole::Generator,
        format: "gguf".into(),
        files,
        sha256: BTreeMap::new(),
    };
    let text = std::fs::read_to_string(&a[3])?;
    let sizes: Vec<usize> = a
        .get(4)
        .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![512, 1500]);
    let decode: usize = a.get(5).and_then(|s| s.parse().ok()).unwrap_or(128);
    let chunk: usize = a.get(6).and_then(|s| s.parse().ok()).unwrap_or(0);
    if sizes.is_empty() {
        let mut g = Generator::load(&mf)?;
        let out = g.chat(
            &[ChatMessage::user(text.trim())],
            &GenerateOptions {
                max_new_tokens: decode,
                prefill_chunk: chunk,
            },
        )?;
        println!("{out:?}");
        return Ok(());
    }
    for r in benchmark(&mf, &text, &sizes, decode, chunk)? {
        println!("{}", serde_json::to_string(&r)?);
    }
    Ok(())
}
