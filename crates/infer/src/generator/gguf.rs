//! What a GGUF file's header says (architecture, chat template, context length, vocabulary),
//! read without the weights, and the check that a `tokenizer.json` belongs to the model.
//! OWNER: generator.

use super::chat::ChatTemplate;
use anyhow::{anyhow, Context, Result};
use candle_core::quantized::gguf_file;
use std::path::Path;
use tokenizers::Tokenizer;

/// What the GGUF header says, read without loading the weights.
#[derive(Debug, Clone)]
pub struct GgufInfo {
    pub architecture: String,
    pub name: Option<String>,
    pub chat_template: Option<String>,
    pub context_length: Option<usize>,
    /// Rows of `token_embd.weight`.
    pub vocab_rows: usize,
    /// `tokenizer.ggml.tokens`, when present.
    pub tokens: Vec<String>,
}

pub(crate) const SUPPORTED_ARCHS: &[&str] = &["qwen2", "qwen3", "gemma3"];

pub(crate) fn read_gguf_header(path: &Path) -> Result<(gguf_file::Content, std::fs::File)> {
    let mut file = std::fs::File::open(path)
        .with_context(|| format!("cannot open model file {}", path.display()))?;
    let ct = gguf_file::Content::read(&mut file).map_err(|e| {
        anyhow!(
            "model file {} is not a readable GGUF file (corrupt or truncated?): {e}",
            path.display()
        )
    })?;
    Ok((ct, file))
}

pub(crate) fn gguf_info(ct: &gguf_file::Content, path: &Path) -> Result<GgufInfo> {
    let md_str = |k: &str| ct.metadata.get(k).and_then(|v| v.to_string().ok()).cloned();
    let architecture = md_str("general.architecture").ok_or_else(|| {
        anyhow!(
            "model file {}: GGUF metadata has no `general.architecture`",
            path.display()
        )
    })?;
    let context_length = ct
        .metadata
        .get(&format!("{architecture}.context_length"))
        .and_then(|v| v.to_u64().ok().or_else(|| v.to_u32().ok().map(u64::from)))
        .map(|v| v as usize);
    let emb = ct.tensor_infos.get("token_embd.weight").ok_or_else(|| {
        anyhow!(
            "model file {}: no `token_embd.weight` tensor",
            path.display()
        )
    })?;
    let vocab_rows = emb.shape.dims().first().copied().unwrap_or(0);
    let tokens = match ct.metadata.get("tokenizer.ggml.tokens") {
        Some(gguf_file::Value::Array(vs)) => vs
            .iter()
            .map(|v| v.to_string().cloned().unwrap_or_default())
            .collect(),
        _ => Vec::new(),
    };
    Ok(GgufInfo {
        architecture,
        name: md_str("general.name"),
        chat_template: md_str("tokenizer.chat_template"),
        context_length,
        vocab_rows,
        tokens,
    })
}

/// Read the GGUF header of a file (no weights).
pub fn inspect_gguf(path: &Path) -> Result<GgufInfo> {
    let (ct, _) = read_gguf_header(path)?;
    gguf_info(&ct, path)
}

/// Check that a tokenizer belongs to a model: every token id fits in the embedding, the
/// template's special tokens exist, and token strings agree with the GGUF vocabulary.
pub(crate) fn check_tokenizer(
    tokenizer: &Tokenizer,
    info: &GgufInfo,
    template: &ChatTemplate,
    tok_path: &Path,
) -> Result<()> {
    let mismatch = |why: String| {
        anyhow!(
            "tokenizer does not match model: {} vs the model's {} token rows: {why}",
            tok_path.display(),
            info.vocab_rows
        )
    };
    let tok_vocab = tokenizer.get_vocab_size(true);
    if tok_vocab > info.vocab_rows {
        return Err(mismatch(format!(
            "the tokenizer has {tok_vocab} tokens, more than the model's embedding rows"
        )));
    }
    // Embedding tables are padded (Qwen2.5: 151,665 real tokens, 151,936 rows), but a
    // tokenizer covering less than 90% of them belongs to another model.
    if tok_vocab * 10 < info.vocab_rows * 9 {
        return Err(mismatch(format!(
            "the tokenizer has only {tok_vocab} tokens"
        )));
    }
    for name in template.required_tokens() {
        if tokenizer.token_to_id(name).is_none() {
            return Err(mismatch(format!(
                "special token {name} required by the chat template is missing"
            )));
        }
    }
    if !info.tokens.is_empty() {
        // Compare token strings on a spread of ids and on every special token.
        let n = info.tokens.len().min(tok_vocab);
        let step = (n / 997).max(1);
        let mut checked = 0usize;
        let mut differ = Vec::new();
        let mut ids: Vec<usize> = (0..n).step_by(step).collect();
        for name in template.required_tokens() {
            if let Some(id) = tokenizer.token_to_id(name) {
                ids.push(id as usize);
            }
        }
        for id in ids {
            let Some(gguf_tok) = info.tokens.get(id) else {
                differ.push(format!("id {id} is beyond the GGUF vocabulary"));
                continue;
            };
            let Some(tok) = tokenizer.id_to_token(id as u32) else {
                continue;
            };
            checked += 1;
            if &tok != gguf_tok {
                differ.push(format!("id {id}: {tok:?} vs {gguf_tok:?}"));
            }
        }
        if differ.len() * 50 > checked.max(1) {
            let examples: Vec<_> = differ.iter().take(3).cloned().collect();
            return Err(mismatch(format!(
                "{} of {checked} sampled token strings differ from the GGUF vocabulary, e.g. {}",
                differ.len(),
                examples.join("; ")
            )));
        }
    }
    Ok(())
}
