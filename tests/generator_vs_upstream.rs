//! This project's Qwen2 (`models::generator::qwen2`: own Q5_0 kernel, fused attention, KV
//! cache in place) against candle's own `quantized_qwen2` on the real default generator:
//! the same greedy answer to a prompt long enough to be prefilled in two chunks.
//! One test in its own binary: it sets `TOWNSHIP_DIGEST_UPSTREAM_QWEN2` for one load.

mod common;

use std::path::PathBuf;
use township_digest::cli::Globals;
use township_digest::models::generator::{ChatMessage, GenerateOptions, Generator};
use township_digest::models::{ModelRole, ModelStore};

#[test]
fn our_qwen2_answers_as_candles_own_model_does() {
    let globals = Globals {
        quiet: true,
        models_dir: None, // $TOWNSHIP_DIGEST_MODELS, else the user's cache folder
        manifest: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/models.toml")),
    };
    let store = ModelStore::open(&globals).unwrap();
    let name = store.default_model(ModelRole::Generator).unwrap();
    let files = store.ensure(&name, false).unwrap();
    let report = std::fs::read_to_string(common::root().join("fixtures/reports/haizigou_2024.txt"))
        .unwrap();
    let excerpt: String = report.chars().take(900).collect();
    let msgs = vec![ChatMessage::user(format!(
        "下面是一份乡镇法治政府建设情况报告的开头。请用两句话概括它的主要成绩。\n\n{excerpt}"
    ))];
    let opts = GenerateOptions {
        max_new_tokens: 40,
        ..Default::default()
    };
    // SAFETY of set_var: this binary has this one test, so no other thread reads the
    // environment while it is changed.
    std::env::set_var("TOWNSHIP_DIGEST_UPSTREAM_QWEN2", "1");
    let mut upstream = Generator::load(&files).unwrap();
    std::env::remove_var("TOWNSHIP_DIGEST_UPSTREAM_QWEN2");
    let want = upstream.chat(&msgs, &opts).unwrap();
    drop(upstream);
    let mut ours = Generator::load(&files).unwrap();
    let got = ours.chat(&msgs, &opts).unwrap();
    assert!(got.prompt_tokens > 512, "prompt of {} tokens", got.prompt_tokens);
    eprintln!("upstream: {}\nours:     {}", want.text, got.text);
    assert_eq!(got.text, want.text);
}
