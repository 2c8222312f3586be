//! Try prompts on a generator with the model loaded once: reads JSON lines
//! `{"prompt": "...", "prefix": "...", "stop": "。", "single_line": true, "max": 80}` (and
//! optionally `"copy_from": [...], "joiners": [...], "max_chars": 60, "closers": [...]` for copy-constrained decoding) from
//! stdin and prints each answer as a JSON line with its timings. For prompt work, not `run`.
//!
//! usage: chat_trial MODEL.gguf tokenizer.json < trials.jsonl
use std::io::BufRead;
use township_infer::generator::{ChatMessage, GenerateOptions, Generator, GeneratorOptions};

fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [model, tok] = a.as_slice() else {
        anyhow::bail!("usage: chat_trial MODEL.gguf tokenizer.json < trials.jsonl");
    };
    let mut g = Generator::load(
        "trial",
        model.as_ref(),
        tok.as_ref(),
        &GeneratorOptions::default(),
    )?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line)?;
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let strings = |k: &str| -> Vec<String> {
            v[k].as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let opts = GenerateOptions {
            max_new_tokens: v["max"].as_u64().unwrap_or(96) as usize,
            answer_prefix: s("prefix"),
            stop_after: s("stop"),
            single_line: v["single_line"].as_bool().unwrap_or(false),
            copy: township_infer::generator::copy::CopyConstraint {
                passages: strings("copy_from"),
                joiners: strings("joiners"),
                max_chars: v["max_chars"].as_u64().unwrap_or(0) as usize,
                closers: strings("closers"),
            },
            ..Default::default()
        };
        let gen = g.chat(&[ChatMessage::user(s("prompt"))], &opts)?;
        println!(
            "{}",
            serde_json::json!({
                "id": v["id"], "text": format!("{}{}", opts.answer_prefix, gen.text),
                "stopped": gen.stopped, "prompt_tokens": gen.prompt_tokens,
                "secs": gen.prefill_secs + gen.decode_secs,
            })
        );
    }
    Ok(())
}
