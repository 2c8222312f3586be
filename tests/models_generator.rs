//! The generator: a GGUF chat model + tokenizer.json, greedy decoding.
//! Tiny models are written by the tests themselves (candle's GGUF writer, random weights);
//! the real default generator is provisioned through `ModelStore::ensure` (cached in
//! $TOWNSHIP_DIGEST_MODELS or the user's cache folder).

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use township_digest::models::generator::{ChatMessage, ChatTemplate, GenerateOptions, Generator};
use township_digest::models::StoreOptions;
use township_digest::models::{
    load_generator, GeneratorOptions, ModelFiles, ModelRole, ModelStore,
};

const HIDDEN: usize = 32;
const FFN: usize = 64;
const HEADS: u32 = 4;
const KV_HEADS: u32 = 2;
const LAYERS: usize = 2;

const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/// Words of the tiny vocabulary; the special tokens follow.
fn words() -> Vec<String> {
    let mut w: Vec<String> = [
        "hello",
        "[UNK]",
        "user",
        "assistant",
        "system",
        "world",
        "法治",
        "政府",
        "建设",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for i in w.len()..(VOCAB - 3) {
        w.push(format!("w{i}"));
    }
    w
}
const VOCAB: usize = 40;
const SPECIALS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// All token strings, id order.
fn vocab(n_words: usize) -> Vec<String> {
    let mut v: Vec<String> = words().into_iter().take(n_words).collect();
    let mut i = v.len();
    while v.len() < n_words {
        v.push(format!("x{i}"));
        i += 1;
    }
    v.extend(SPECIALS.iter().map(|s| s.to_string()));
    v
}

/// A WordLevel tokenizer.json over `vocab(n_words)`.
fn write_tokenizer(path: &Path, n_words: usize) {
    let v = vocab(n_words);
    let vocab_map: serde_json::Map<String, serde_json::Value> = v
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), serde_json::json!(i)))
        .collect();
    let added: Vec<serde_json::Value> = SPECIALS
        .iter()
        .enumerate()
        .map(|(k, t)| {
            serde_json::json!({"id": n_words + k, "content": t, "single_word": false,
                "lstrip": false, "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let tok = serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": null,
        "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab_map, "unk_token": "[UNK]"}
    });
    std::fs::write(path, serde_json::to_vec(&tok).unwrap()).unwrap();
}

fn rand_tensor(shape: &[usize], seed: u64) -> Tensor {
    // small deterministic pseudo-random values (xorshift)
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let data: Vec<f32> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s % 2001) as f32 / 1000.0 - 1.0) * 0.5
        })
        .collect();
    Tensor::from_vec(data, shape, &Device::Cpu).unwrap()
}

struct TinyOpts {
    arch: &'static str,
    template: Option<&'static str>,
    /// zero the final norm: all logits 0, so greedy picks id 0 ("hello") every step
    zero_output_norm: bool,
}

/// Write a tiny qwen2-shaped GGUF with random weights.
fn write_gguf(path: &Path, o: &TinyOpts) {
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    let mut seed = 1u64;
    let mut add = |name: String, shape: &[usize], tensors: &mut Vec<(String, QTensor)>| {
        seed += 1;
        let t = rand_tensor(shape, seed);
        tensors.push((name, QTensor::quantize(&t, GgmlDType::F32).unwrap()));
    };
    let head_dim = HIDDEN / HEADS as usize;
    let kv = head_dim * KV_HEADS as usize;
    add("token_embd.weight".into(), &[VOCAB, HIDDEN], &mut tensors);
    add("output.weight".into(), &[VOCAB, HIDDEN], &mut tensors);
    let norm = if o.zero_output_norm {
        Tensor::zeros(HIDDEN, candle_core::DType::F32, &Device::Cpu).unwrap()
    } else {
        Tensor::ones(HIDDEN, candle_core::DType::F32, &Device::Cpu).unwrap()
    };
    tensors.push((
        "output_norm.weight".into(),
        QTensor::quantize(&norm, GgmlDType::F32).unwrap(),
    ));
    for l in 0..LAYERS {
        let p = format!("blk.{l}");
        add(
            format!("{p}.attn_q.weight"),
            &[HIDDEN, HIDDEN],
            &mut tensors,
        );
        add(format!("{p}.attn_k.weight"), &[kv, HIDDEN], &mut tensors);
        add(format!("{p}.attn_v.weight"), &[kv, HIDDEN], &mut tensors);
        add(format!("{p}.attn_q.bias"), &[HIDDEN], &mut tensors);
        add(format!("{p}.attn_k.bias"), &[kv], &mut tensors);
        add(format!("{p}.attn_v.bias"), &[kv], &mut tensors);
        add(
            format!("{p}.attn_output.weight"),
            &[HIDDEN, HIDDEN],
            &mut tensors,
        );
        add(format!("{p}.ffn_gate.weight"), &[FFN, HIDDEN], &mut tensors);
        add(format!("{p}.ffn_up.weight"), &[FFN, HIDDEN], &mut tensors);
        add(format!("{p}.ffn_down.weight"), &[HIDDEN, FFN], &mut tensors);
        add(format!("{p}.attn_norm.weight"), &[HIDDEN], &mut tensors);
        add(format!("{p}.ffn_norm.weight"), &[HIDDEN], &mut tensors);
    }
    let a = o.arch;
    let mut md: Vec<(String, Value)> = vec![
        ("general.architecture".into(), Value::String(a.into())),
        (
            "general.name".into(),
            Value::String("tiny test model".into()),
        ),
        (format!("{a}.attention.head_count"), Value::U32(HEADS)),
        (format!("{a}.attention.head_count_kv"), Value::U32(KV_HEADS)),
        (format!("{a}.embedding_length"), Value::U32(HIDDEN as u32)),
        (format!("{a}.feed_forward_length"), Value::U32(FFN as u32)),
        (format!("{a}.context_length"), Value::U32(256)),
        (format!("{a}.block_count"), Value::U32(LAYERS as u32)),
        (
            format!("{a}.attention.layer_norm_rms_epsilon"),
            Value::F32(1e-6),
        ),
        (format!("{a}.rope.freq_base"), Value::F32(10000.0)),
        (
            "tokenizer.ggml.tokens".into(),
            Value::Array(vocab(VOCAB - 3).into_iter().map(Value::String).collect()),
        ),
    ];
    if let Some(t) = o.template {
        md.push(("tokenizer.chat_template".into(), Value::String(t.into())));
    }
    let md_refs: Vec<(&str, &Value)> = md.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let t_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut f = std::fs::File::create(path).unwrap();
    gguf_file::write(&mut f, &md_refs, &t_refs).unwrap();
}

fn files(weights: PathBuf, tokenizer: PathBuf) -> ModelFiles {
    let mut f = BTreeMap::new();
    f.insert("weights".to_string(), weights);
    f.insert("tokenizer".to_string(), tokenizer);
    ModelFiles {
        name: "tiny".into(),
        role: ModelRole::Generator,
        format: "gguf".into(),
        files: f,
        sha256: BTreeMap::new(),
    }
}

fn tiny(dir: &Path, o: &TinyOpts, tokenizer_words: usize) -> ModelFiles {
    let w = dir.join("tiny.gguf");
    let t = dir.join("tokenizer.json");
    write_gguf(&w, o);
    write_tokenizer(&t, tokenizer_words);
    files(w, t)
}

fn qwen2_opts(zero_output_norm: bool) -> TinyOpts {
    TinyOpts {
        arch: "qwen2",
        template: Some(CHATML),
        zero_output_norm,
    }
}

fn ask(text: &str) -> Vec<ChatMessage> {
    vec![ChatMessage::user(text)]
}

#[test]
fn tiny_qwen2_gguf_loads_and_generates_exactly_the_token_budget() {
    let dir = tempfile::tempdir().unwrap();
    let f = tiny(dir.path(), &qwen2_opts(true), VOCAB - 3);
    let mut g = load_generator(&f, &GeneratorOptions::default()).unwrap();
    assert_eq!(g.name(), "tiny");
    assert_eq!(g.architecture(), "qwen2");
    assert!(matches!(g.template(), ChatTemplate::ChatMl { .. }));
    let out = g
        .chat(
            &ask("hello world"),
            &GenerateOptions {
                max_new_tokens: 7,
                ..Default::default()
            },
        )
        .unwrap();
    // all logits are 0 -> greedy takes id 0 ("hello") at every step, never a stop token
    assert_eq!(out.generated_tokens, 7);
    assert!(!out.stopped);
    assert_eq!(
        out.text.split_whitespace().collect::<Vec<_>>(),
        vec!["hello"; 7]
    );
    // <|im_start|> user hello world <|im_end|> <|im_start|> assistant
    assert_eq!(out.prompt_tokens, 7);
    assert_eq!(g.count_tokens("法治 政府 建设").unwrap(), 3);
}

#[test]
fn tiny_model_is_deterministic_and_kv_cache_is_cleared_between_prompts() {
    let dir = tempfile::tempdir().unwrap();
    let f = tiny(dir.path(), &qwen2_opts(false), VOCAB - 3);
    let mut g = load_generator(&f, &GeneratorOptions::default()).unwrap();
    let opts = GenerateOptions {
        max_new_tokens: 12,
        ..Default::default()
    };
    let a = g.chat(&ask("法治 政府"), &opts).unwrap();
    let _other = g.chat(&ask("world world world hello"), &opts).unwrap();
    let b = g.chat(&ask("法治 政府"), &opts).unwrap();
    assert!(a.generated_tokens <= 12);
    assert_eq!(a.text, b.text);
    assert_eq!(a.generated_tokens, b.generated_tokens);
    // a fresh load gives the same answer (no state left from earlier prompts)
    let mut g2 = load_generator(&f, &GeneratorOptions::default()).unwrap();
    assert_eq!(g2.chat(&ask("法治 政府"), &opts).unwrap().text, a.text);
    // chunked prefill gives the same answer as one pass
    let chunked = GenerateOptions {
        max_new_tokens: 12,
        prefill_chunk: 2,
        ..Default::default()
    };
    assert_eq!(g2.chat(&ask("法治 政府"), &chunked).unwrap().text, a.text);
}

#[test]
fn streaming_pieces_add_up_to_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let f = tiny(dir.path(), &qwen2_opts(true), VOCAB - 3);
    let mut g = load_generator(&f, &GeneratorOptions::default()).unwrap();
    let mut pieces = String::new();
    let out = g
        .chat_streaming(
            &ask("hello"),
            &GenerateOptions {
                max_new_tokens: 4,
                ..Default::default()
            },
            |p| pieces.push_str(p),
        )
        .unwrap();
    assert_eq!(
        pieces.split_whitespace().collect::<Vec<_>>(),
        out.text.split_whitespace().collect::<Vec<_>>()
    );
}

#[test]
fn chatml_template_renders_qwen_turns() {
    let t = ChatTemplate::recognise(CHATML).unwrap();
    let p = t
        .render(&[ChatMessage::system("S"), ChatMessage::user("U")])
        .unwrap();
    assert_eq!(
        p,
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
    );
    let g = ChatTemplate::recognise("{{ '<start_of_turn>' + role }}").unwrap();
    assert_eq!(
        g.render(&[ChatMessage::system("S"), ChatMessage::user("U")])
            .unwrap(),
        "<bos><start_of_turn>user\nS\n\nU<end_of_turn>\n<start_of_turn>model\n"
    );
    let err = ChatTemplate::recognise("{{ '### Instruction:' }}").unwrap_err();
    assert!(format!("{err}").contains("unknown chat template"), "{err}");
    let err = t
        .render(&[ChatMessage {
            role: "tool".into(),
            content: "x".into(),
        }])
        .unwrap_err();
    assert!(format!("{err}").contains("tool"), "{err}");
}

#[test]
fn unknown_architecture_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = TinyOpts {
        arch: "mamba",
        template: Some(CHATML),
        zero_output_norm: false,
    };
    let f = tiny(dir.path(), &o, VOCAB - 3);
    let err = format!(
        "{:#}",
        load_generator(&f, &GeneratorOptions::default())
            .err()
            .unwrap()
    );
    assert!(err.contains("unsupported architecture `mamba`"), "{err}");
    assert!(err.contains("tiny.gguf"), "{err}");
}

#[test]
fn missing_chat_template_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = TinyOpts {
        arch: "qwen2",
        template: None,
        zero_output_norm: false,
    };
    let f = tiny(dir.path(), &o, VOCAB - 3);
    let err = format!(
        "{:#}",
        load_generator(&f, &GeneratorOptions::default())
            .err()
            .unwrap()
    );
    assert!(err.contains("chat_template"), "{err}");
}

#[test]
fn truncated_gguf_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let f = tiny(dir.path(), &qwen2_opts(false), VOCAB - 3);
    let w = f.files["weights"].clone();
    let bytes = std::fs::read(&w).unwrap();
    for keep in [bytes.len() - 100, bytes.len() / 2, 200, 10, 0] {
        std::fs::write(&w, &bytes[..keep]).unwrap();
        let err = format!(
            "{:#}",
            load_generator(&f, &GeneratorOptions::default())
                .err()
                .unwrap()
        );
        assert!(err.contains("tiny.gguf"), "{keep}: {err}");
        assert!(
            err.contains("truncated") || err.contains("not a readable GGUF"),
            "{keep}: {err}"
        );
    }
}

#[test]
fn tokenizer_of_another_vocabulary_does_not_match_the_model() {
    let dir = tempfile::tempdir().unwrap();
    // the tokenizer has more tokens than the model's embedding rows
    let f = tiny(dir.path(), &qwen2_opts(false), VOCAB + 10);
    let err = format!(
        "{:#}",
        load_generator(&f, &GeneratorOptions::default())
            .err()
            .unwrap()
    );
    assert!(err.contains("tokenizer does not match model"), "{err}");
    // same size but different token strings
    let f = tiny(dir.path(), &qwen2_opts(false), VOCAB - 3);
    let t = f.files["tokenizer"].clone();
    let s = std::fs::read_to_string(&t).unwrap();
    std::fs::write(
        &t,
        s.replace("\"w1", "\"v1")
            .replace("\"w2", "\"v2")
            .replace("\"x", "\"y"),
    )
    .unwrap();
    let err = format!(
        "{:#}",
        load_generator(&f, &GeneratorOptions::default())
            .err()
            .unwrap()
    );
    assert!(err.contains("tokenizer does not match model"), "{err}");
}

#[test]
fn missing_tokenizer_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = tiny(dir.path(), &qwen2_opts(false), VOCAB - 3);
    let gone = dir.path().join("no-tokenizer.json");
    f.files.insert("tokenizer".into(), gone);
    let err = format!(
        "{:#}",
        load_generator(&f, &GeneratorOptions::default())
            .err()
            .unwrap()
    );
    assert!(err.contains("no-tokenizer.json"), "{err}");
}

// ---------------------------------------------------------------- the real default generator

fn real_generator() -> Generator {
    let globals = StoreOptions {
        quiet: true,
        dir: None, // $TOWNSHIP_DIGEST_MODELS, else the user's cache folder
        manifest: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/models.toml")),
    };
    let s = ModelStore::open(&globals).unwrap();
    let name = s.default_model(ModelRole::Generator).unwrap();
    let files = s.ensure(&name, false).unwrap();
    assert_eq!(files.format, "gguf");
    load_generator(&files, &GeneratorOptions::default()).unwrap()
}

#[test]
fn real_generator_answers_a_chinese_prompt_in_chinese_identically_twice() {
    let mut g = real_generator();
    let msgs = vec![ChatMessage::user(
        "用一句话概括：普法经费不足，宣传资料短缺。",
    )];
    let opts = GenerateOptions {
        max_new_tokens: 32,
        ..Default::default()
    };
    let a = g.chat(&msgs, &opts).unwrap();
    let b = g.chat(&msgs, &opts).unwrap();
    let cjk = a
        .text
        .chars()
        .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
        .count();
    assert!(cjk >= 4, "answer not in Chinese: {:?}", a.text);
    assert_eq!(a.text, b.text);
    assert!(a.generated_tokens >= 1 && a.generated_tokens <= 32);
    assert!(a.prompt_tokens > 10);
}
