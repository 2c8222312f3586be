//! Generator: a chat model read from a GGUF file and run by candle on the CPU.
//! OWNER: generator.
//!
//! - architecture from the GGUF metadata `general.architecture`: `qwen2` (our fork,
//!   [`qwen2`]), `qwen3`, `gemma3` (candle's);
//! - tokenizer from `tokenizer.json` (the `tokenizers` crate), checked against the model
//!   ([`gguf`]);
//! - chat template from `tokenizer.chat_template` ([`chat`]);
//! - deterministic greedy decoding, stop tokens looked up by name, a token budget,
//!   UTF-8-safe streaming decode, the KV cache cleared before every prompt.
//!
//! Loaders take file paths and [`GeneratorOptions`]; nothing here reads the environment.

pub mod attention;
pub mod chat;
pub mod copy;
pub mod gguf;
pub mod qwen2;

pub use chat::{ChatMessage, ChatTemplate};
pub use gguf::{inspect_gguf, GgufInfo};

use crate::kernels::KernelOptions;
use anyhow::{anyhow, bail, Context, Result};
use candle_core::{Device, Tensor};
#[cfg(feature = "compare")]
use candle_transformers::models::quantized_qwen2;
use candle_transformers::models::{quantized_gemma3, quantized_qwen3};
use gguf::{check_tokenizer, gguf_info, read_gguf_header, SUPPORTED_ARCHS};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tokenizers::Tokenizer;

/// Which implementation runs `qwen2` models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Qwen2Impl {
    /// Our fork ([`qwen2`]), with our kernels as [`KernelOptions`] choose.
    #[default]
    Ours,
    /// candle's own `quantized_qwen2`, for comparison: one instance only (no
    /// [`Generator::try_clone`]).
    #[cfg(feature = "compare")]
    CandleUpstream,
}

/// The choices of a generator load. The default is the fastest this CPU allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GeneratorOptions {
    /// The kernels of our Qwen2 fork.
    pub kernels: KernelOptions,
    pub qwen2: Qwen2Impl,
}

/// Default prefill chunk (tokens per forward pass).
pub const DEFAULT_PREFILL_CHUNK: usize = 512;

/// How to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Token budget for the answer (the stop token is not counted).
    pub max_new_tokens: usize,
    /// Prompt tokens fed to the model per forward pass during prefill (0 = all at once).
    /// Default 512: at 1,500 prompt tokens chunks of 512 prefilled ~1.5x faster than one
    /// pass and with ~0.3 GB less peak memory (smaller attention matrices and masks).
    pub prefill_chunk: usize,
    /// Text the answer starts with, given to the model as the opening of its turn (not
    /// generated, and not part of [`Generation::text`]). Small models follow a started
    /// sentence ("某乡2024年") far more reliably than an instruction to write prose.
    pub answer_prefix: String,
    /// Characters that end the answer once generated (kept in the text): `"。"` stops at
    /// the first complete sentence. Empty: only stop tokens and the budget end it.
    pub stop_after: String,
    /// Never generate a line break: the answer stays one paragraph instead of becoming
    /// the numbered list small models fall into.
    pub single_line: bool,
    /// When not empty, the answer is copied from these passages, joined by these joiners
    /// (see [`copy`]): the model picks its most likely token among those the constraint
    /// allows.
    pub copy: copy::CopyConstraint,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            max_new_tokens: 256,
            prefill_chunk: DEFAULT_PREFILL_CHUNK,
            answer_prefix: String::new(),
            stop_after: String::new(),
            single_line: false,
            copy: copy::CopyConstraint::default(),
        }
    }
}

/// The logits of one position as floats, every `banned` token's set to minus infinity.
fn masked_logits(logits: &Tensor, banned: &[u32]) -> Result<Vec<f32>> {
    let mut logits: Vec<f32> = logits
        .squeeze(0)?
        .to_dtype(candle_core::DType::F32)?
        .to_vec1()?;
    for &id in banned {
        if let Some(v) = logits.get_mut(id as usize) {
            *v = f32::NEG_INFINITY;
        }
    }
    Ok(logits)
}

/// Which tokens an answer may not, or may only, be made of.
#[derive(Debug, Clone, Copy, Default)]
struct TokenRules<'a> {
    /// Never generated (e.g. line breaks).
    banned: &'a [u32],
    /// When set, only tokens this constraint allows.
    copy: Option<&'a copy::CopyConstraint>,
}

/// The answer and its cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub text: String,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub prefill_secs: f64,
    pub decode_secs: f64,
    /// True when the model emitted a stop token or one of the `stop_after` characters,
    /// false when the token budget ran out.
    pub stopped: bool,
}

enum Model {
    /// This project's fork (our kernels, quantized embeddings, fused attention).
    Qwen2(qwen2::ModelWeights),
    /// candle's own, for comparison (`Qwen2Impl::CandleUpstream`).
    #[cfg(feature = "compare")]
    Qwen2Upstream(quantized_qwen2::ModelWeights),
    Qwen3(quantized_qwen3::ModelWeights),
    Gemma3(quantized_gemma3::ModelWeights),
}

impl Model {
    fn forward(&mut self, input: &Tensor, index_pos: usize) -> candle_core::Result<Tensor> {
        match self {
            Model::Qwen2(m) => m.forward(input, index_pos),
            #[cfg(feature = "compare")]
            Model::Qwen2Upstream(m) => m.forward(input, index_pos),
            Model::Qwen3(m) => m.forward(input, index_pos),
            Model::Gemma3(m) => m.forward(input, index_pos),
        }
    }

    /// A second instance sharing the weights, with its own KV cache (None: this
    /// architecture's candle model cannot be cloned; load it again instead).
    fn try_clone(&self) -> Option<Model> {
        let mut m = match self {
            Model::Qwen2(m) => Model::Qwen2(m.clone()),
            Model::Qwen3(m) => Model::Qwen3(m.clone()),
            Model::Gemma3(m) => Model::Gemma3(m.clone()),
            #[cfg(feature = "compare")]
            Model::Qwen2Upstream(_) => return None,
        };
        m.clear_kv_cache();
        Some(m)
    }

    fn clear_kv_cache(&mut self) {
        match self {
            Model::Qwen2(m) => m.clear_kv_cache(),
            #[cfg(feature = "compare")]
            Model::Qwen2Upstream(m) => m.clear_kv_cache(),
            Model::Qwen3(m) => m.clear_kv_cache(),
            // gemma3 has no clear_kv_cache in candle 0.11.1; a forward pass at index_pos 0
            // replaces the cache (every prompt starts at 0).
            Model::Gemma3(_) => {}
        }
    }
}

/// A loaded chat model.
pub struct Generator {
    name: String,
    arch: String,
    model: Model,
    tokenizer: Arc<Tokenizer>,
    template: ChatTemplate,
    stop_ids: Vec<u32>,
    context_length: usize,
    vocab_rows: usize,
    device: Device,
    /// Token ids whose text holds a line break (for `single_line`), built on first use.
    line_break_ids: Arc<std::sync::OnceLock<Vec<u32>>>,
    /// Every token's text, for copy-constrained decoding (decoded once, on first use).
    token_texts: Arc<std::sync::OnceLock<Vec<String>>>,
}

impl Generator {
    /// Another instance of the same model for a second thread: the weights and tokenizer are
    /// shared, not loaded again; the KV cache is its own. `None` when the architecture's model
    /// type cannot be cloned (then call [`Generator::load`] again).
    pub fn try_clone(&self) -> Option<Generator> {
        Some(Generator {
            name: self.name.clone(),
            arch: self.arch.clone(),
            model: self.model.try_clone()?,
            tokenizer: Arc::clone(&self.tokenizer),
            template: self.template,
            stop_ids: self.stop_ids.clone(),
            context_length: self.context_length,
            vocab_rows: self.vocab_rows,
            device: self.device.clone(),
            line_break_ids: Arc::clone(&self.line_break_ids),
            token_texts: Arc::clone(&self.token_texts),
        })
    }

    /// Load a GGUF chat model (`weights`) and its `tokenizer.json` (`tok_path`), checking
    /// that they belong together; `name` is what [`Generator::name`] reports.
    pub fn load(
        name: &str,
        weights: &Path,
        tok_path: &Path,
        opts: &GeneratorOptions,
    ) -> Result<Generator> {
        let (ct, mut file) = read_gguf_header(weights)?;
        let info = gguf_info(&ct, weights)?;
        if !SUPPORTED_ARCHS.contains(&info.architecture.as_str()) {
            bail!(
                "model file {}: unsupported architecture `{}` (supported: {})",
                weights.display(),
                info.architecture,
                SUPPORTED_ARCHS.join(", ")
            );
        }
        let template_src = info.chat_template.as_deref().ok_or_else(|| {
            anyhow!(
                "model file {}: no `tokenizer.chat_template` in the GGUF metadata (a base model, not a chat model?)",
                weights.display()
            )
        })?;
        let template = ChatTemplate::recognise(template_src)
            .with_context(|| format!("model file {}", weights.display()))?;
        if !tok_path.is_file() {
            bail!("tokenizer file {} is missing", tok_path.display());
        }
        let tokenizer = Tokenizer::from_file(tok_path)
            .map_err(|e| anyhow!("cannot read tokenizer {}: {e}", tok_path.display()))?;
        check_tokenizer(&tokenizer, &info, &template, tok_path)?;
        let stop_ids: Vec<u32> = template
            .stop_token_names()
            .iter()
            .filter_map(|n| tokenizer.token_to_id(n))
            .collect();
        if stop_ids.is_empty() {
            bail!(
                "tokenizer does not match model: {} has none of the stop tokens {:?}",
                tok_path.display(),
                template.stop_token_names()
            );
        }

        let device = Device::Cpu;
        let load_err = |e: candle_core::Error| {
            anyhow!(
                "cannot load the weights of {} ({} model; corrupt or truncated file?): {e}",
                weights.display(),
                info.architecture
            )
        };
        // Tensors are read at their recorded offsets: check they all fit in the file first
        // so a truncated file is an error and not a short read deep inside candle.
        let file_len = file
            .metadata()
            .with_context(|| format!("cannot stat {}", weights.display()))?
            .len();
        for (tname, ti) in ct.tensor_infos.iter() {
            let elems = ti.shape.elem_count();
            let bs = ti.ggml_dtype.block_size();
            let bytes = elems / bs * ti.ggml_dtype.type_size();
            let end = ct.tensor_data_offset + ti.offset + bytes as u64;
            if end > file_len {
                bail!(
                    "model file {} is truncated: tensor `{tname}` ends at byte {end}, the file has {file_len} bytes",
                    weights.display()
                );
            }
        }
        let model = match info.architecture.as_str() {
            #[cfg(feature = "compare")]
            "qwen2" if opts.qwen2 == Qwen2Impl::CandleUpstream => Model::Qwen2Upstream(
                quantized_qwen2::ModelWeights::from_gguf(ct, &mut file, &device)
                    .map_err(load_err)?,
            ),
            "qwen2" => Model::Qwen2(
                qwen2::ModelWeights::from_gguf(ct, &mut file, &device, &opts.kernels)
                    .map_err(load_err)?,
            ),
            "qwen3" => Model::Qwen3(
                quantized_qwen3::ModelWeights::from_gguf(ct, &mut file, &device)
                    .map_err(load_err)?,
            ),
            "gemma3" => Model::Gemma3(
                quantized_gemma3::ModelWeights::from_gguf(ct, &mut file, &device)
                    .map_err(load_err)?,
            ),
            other => bail!("unsupported architecture `{other}`"),
        };
        Ok(Generator {
            name: name.to_string(),
            arch: info.architecture.clone(),
            model,
            tokenizer: Arc::new(tokenizer),
            template,
            stop_ids,
            context_length: info.context_length.unwrap_or(4096),
            vocab_rows: info.vocab_rows,
            device,
            line_break_ids: Arc::new(std::sync::OnceLock::new()),
            token_texts: Arc::new(std::sync::OnceLock::new()),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The GGUF architecture (`qwen2`, `qwen3`, `gemma3`).
    pub fn architecture(&self) -> &str {
        &self.arch
    }

    pub fn template(&self) -> ChatTemplate {
        self.template
    }

    pub fn context_length(&self) -> usize {
        self.context_length
    }

    /// Number of tokens of a plain text (no template, no special tokens added).
    pub fn count_tokens(&self, text: &str) -> Result<usize> {
        Ok(self.encode(text)?.len())
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self
            .tokenizer
            .encode(text, false)
            .map_err(|e| anyhow!("tokenizer failed: {e}"))?
            .get_ids()
            .to_vec())
    }

    /// The prompt as the model sees it.
    pub fn render_prompt(&self, messages: &[ChatMessage]) -> Result<String> {
        self.template.render(messages)
    }

    /// Answer a conversation (greedy, deterministic).
    pub fn chat(&mut self, messages: &[ChatMessage], opts: &GenerateOptions) -> Result<Generation> {
        self.chat_streaming(messages, opts, |_| {})
    }

    /// Like [`Generator::chat`], calling `on_text` with each complete piece of text as it is
    /// generated (never a split UTF-8 character).
    pub fn chat_streaming(
        &mut self,
        messages: &[ChatMessage],
        opts: &GenerateOptions,
        mut on_text: impl FnMut(&str),
    ) -> Result<Generation> {
        let mut prompt = self.template.render(messages)?;
        prompt.push_str(&opts.answer_prefix);
        let ids = self.encode(&prompt)?;
        if ids.is_empty() {
            bail!("empty prompt");
        }
        if ids.len() + opts.max_new_tokens > self.context_length {
            bail!(
                "prompt of {} tokens plus a budget of {} exceeds the model's context of {} tokens",
                ids.len(),
                opts.max_new_tokens,
                self.context_length
            );
        }
        let banned: &[u32] = if opts.single_line {
            self.line_break_ids()
        } else {
            &[]
        };
        let banned = banned.to_vec();
        let tokenizer = Arc::clone(&self.tokenizer);
        let mut stream = TokenStream::new(&tokenizer);
        let stop_after: Vec<char> = opts.stop_after.chars().collect();
        let mut text_stop = false;
        let (out_ids, stopped, prefill_secs, decode_secs) = self.generate_ids(
            &ids,
            opts.max_new_tokens,
            opts.prefill_chunk,
            true,
            TokenRules {
                banned: &banned,
                copy: (!opts.copy.is_empty()).then_some(&opts.copy),
            },
            |tok| {
                if let Some(piece) = stream.push(tok) {
                    on_text(&piece);
                    if piece.contains(stop_after.as_slice()) {
                        text_stop = true;
                        return false;
                    }
                }
                true
            },
        )?;
        if let Some(rest) = stream.finish() {
            on_text(&rest);
        }
        let mut text = self.decode(&out_ids)?;
        if text_stop {
            // The piece that held the stop character may go on past it ("。\n"): the
            // answer ends at the character.
            if let Some((at, c)) = text.char_indices().find(|(_, c)| stop_after.contains(c)) {
                text.truncate(at + c.len_utf8());
            }
        }
        Ok(Generation {
            text,
            prompt_tokens: ids.len(),
            generated_tokens: out_ids.len(),
            prefill_secs,
            decode_secs,
            stopped: stopped || text_stop,
        })
    }

    /// The ids of every token whose text contains a line break.
    fn line_break_ids(&self) -> &[u32] {
        self.line_break_ids.get_or_init(|| {
            (0..self.tokenizer.get_vocab_size(true) as u32)
                .filter(|&id| {
                    self.tokenizer
                        .decode(&[id], false)
                        .is_ok_and(|t| t.contains(['\n', '\r']))
                })
                .collect()
        })
    }

    /// Every token's text (a byte-level piece of a character decodes to U+FFFD).
    fn token_texts(&self) -> &[String] {
        self.token_texts.get_or_init(|| {
            (0..self.tokenizer.get_vocab_size(true) as u32)
                .map(|id| self.tokenizer.decode(&[id], false).unwrap_or_default())
                .collect()
        })
    }

    /// The most likely token that is not `banned` and that `copy` allows (a stop token only
    /// where the answer may end), or `None` when no token does: the answer is then left
    /// unfinished. Candidates are tried from the most likely down, the first few hundred
    /// sorted first: a constrained step rarely looks further.
    fn pick_copied(
        &self,
        logits: &Tensor,
        banned: &[u32],
        copy: &copy::CopyState,
    ) -> Result<Option<u32>> {
        let logits = masked_logits(logits, banned)?;
        let texts = self.token_texts();
        let mut order: Vec<u32> = (0..logits.len() as u32)
            .filter(|id| logits[*id as usize].is_finite())
            .collect();
        // Most likely first; ties by id, so the choice is deterministic.
        let by_logit = |a: &u32, b: &u32| {
            logits[*b as usize]
                .total_cmp(&logits[*a as usize])
                .then(a.cmp(b))
        };
        const FIRST: usize = 512;
        let (head, tail) = if order.len() > FIRST {
            order.select_nth_unstable_by(FIRST, by_logit);
            let tail = order.split_off(FIRST);
            (order, tail)
        } else {
            (order, Vec::new())
        };
        let may_end = copy.may_end();
        for part in [head, tail] {
            let mut part = part;
            part.sort_unstable_by(by_logit);
            for id in part {
                let allowed = if self.stop_ids.contains(&id) {
                    may_end
                } else {
                    texts.get(id as usize).is_some_and(|t| copy.allows(t))
                };
                if allowed {
                    return Ok(Some(id));
                }
            }
        }
        Ok(None)
    }

    fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| anyhow!("tokenizer failed to decode: {e}"))
    }

    /// The most likely token that is not `banned`.
    fn argmax(&self, logits: &Tensor, banned: &[u32]) -> Result<u32> {
        let logits = masked_logits(logits, banned)?;
        let mut best = 0usize;
        let mut best_v = f32::NEG_INFINITY;
        for (i, &v) in logits.iter().enumerate() {
            // first maximum wins: deterministic
            if v > best_v {
                best_v = v;
                best = i;
            }
        }
        if !best_v.is_finite() {
            bail!("the model produced non-finite logits");
        }
        Ok(best as u32)
    }

    /// Clears the KV cache and runs `ids` through the model in chunks of `chunk` tokens (0:
    /// one chunk); returns the logits for the token after them.
    fn prefill(&mut self, ids: &[u32], chunk: usize) -> Result<Tensor> {
        self.model.clear_kv_cache();
        let chunk = if chunk == 0 { ids.len() } else { chunk };
        let mut pos = 0usize;
        let mut logits = None;
        for part in ids.chunks(chunk) {
            let input = Tensor::new(part, &self.device)?.unsqueeze(0)?;
            let model = &mut self.model;
            logits = Some(on_rayon_worker(|| model.forward(&input, pos))?);
            pos += part.len();
        }
        logits.ok_or_else(|| anyhow!("empty prompt"))
    }

    /// The model's logits for the first token of its answer to `messages`, prefilled in
    /// chunks of `prefill_chunk` tokens: for comparing implementations (tests, benchmarks).
    pub fn answer_logits(
        &mut self,
        messages: &[ChatMessage],
        prefill_chunk: usize,
    ) -> Result<Vec<f32>> {
        let prompt = self.template.render(messages)?;
        let ids = self.encode(&prompt)?;
        let logits = self.prefill(&ids, prefill_chunk)?;
        Ok(logits
            .squeeze(0)?
            .to_dtype(candle_core::DType::F32)?
            .to_vec1()?)
    }

    /// Prefill `ids`, then greedily generate up to `budget` tokens under `rules`; `on_token`
    /// returns false to end the answer after its token. Returns the generated ids (without
    /// the stop token), whether a stop token ended it, prefill and decode secs.
    fn generate_ids(
        &mut self,
        ids: &[u32],
        budget: usize,
        chunk: usize,
        honour_stop: bool,
        rules: TokenRules,
        mut on_token: impl FnMut(u32) -> bool,
    ) -> Result<(Vec<u32>, bool, f64, f64)> {
        let TokenRules { banned, copy } = rules;
        let mut copied = copy.map(copy::CopyState::new);
        let t0 = Instant::now();
        let mut logits = self.prefill(ids, chunk)?;
        let mut pos = ids.len();
        let prefill_secs = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let mut out = Vec::new();
        let mut stopped = false;
        while out.len() < budget {
            let next = match copied.as_mut() {
                None => self.argmax(&logits, banned)?,
                Some(state) => {
                    let Some(next) = self.pick_copied(&logits, banned, state)? else {
                        // Nothing may follow: the answer is unfinished.
                        break;
                    };
                    if let Some(text) = self.token_texts().get(next as usize) {
                        if !self.stop_ids.contains(&next) {
                            state.advance(text);
                        }
                    }
                    next
                }
            };
            if honour_stop && self.stop_ids.contains(&next) {
                stopped = true;
                break;
            }
            if next as usize >= self.vocab_rows {
                bail!("the model produced token id {next} beyond its vocabulary");
            }
            out.push(next);
            if !on_token(next) || out.len() >= budget {
                break;
            }
            let input = Tensor::new(&[next], &self.device)?.unsqueeze(0)?;
            let model = &mut self.model;
            logits = on_rayon_worker(|| model.forward(&input, pos))?;
            pos += 1;
        }
        let decode_secs = t1.elapsed().as_secs_f64();
        Ok((out, stopped, prefill_secs, decode_secs))
    }
}

/// Runs `f` on a rayon worker thread. From a thread outside every rayon pool (the main
/// thread of `bench`, a test), each parallel kernel call of a forward pass would hand its
/// work to the pool and sleep until it is done: two thread switches per matmul, ~7% of
/// decoding time with one thread. Inside a pool (`run`'s generator instances) this is `f()`.
fn on_rayon_worker<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        f()
    } else {
        rayon::join(f, || ()).0
    }
}

/// Incremental detokenizer: emits text only once it forms complete characters
/// (the idea of candle-examples' `TokenOutputStream`).
pub struct TokenStream<'a> {
    tokenizer: &'a Tokenizer,
    tokens: Vec<u32>,
    prev_index: usize,
    current_index: usize,
}

impl<'a> TokenStream<'a> {
    pub fn new(tokenizer: &'a Tokenizer) -> Self {
        Self {
            tokenizer,
            tokens: Vec::new(),
            prev_index: 0,
            current_index: 0,
        }
    }

    fn decode(&self, ids: &[u32]) -> String {
        self.tokenizer.decode(ids, true).unwrap_or_default()
    }

    /// Add a token; returns newly completed text, if any.
    pub fn push(&mut self, token: u32) -> Option<String> {
        let prev_text = self.decode(&self.tokens[self.prev_index..self.current_index]);
        self.tokens.push(token);
        let text = self.decode(&self.tokens[self.prev_index..]);
        if text.len() > prev_text.len() && !text.ends_with('\u{FFFD}') {
            let new = text.get(prev_text.len()..).map(str::to_string)?;
            self.prev_index = self.current_index;
            self.current_index = self.tokens.len();
            Some(new)
        } else {
            None
        }
    }

    /// Text still held back (e.g. an incomplete character at the end).
    pub fn finish(&self) -> Option<String> {
        let prev_text = self.decode(&self.tokens[self.prev_index..self.current_index]);
        let text = self.decode(&self.tokens[self.prev_index..]);
        if text.len() > prev_text.len() {
            text.get(prev_text.len()..).map(str::to_string)
        } else {
            None
        }
    }
}

/// One benchmark measurement.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GeneratorBench {
    pub threads: usize,
    pub prompt_tokens: usize,
    pub prefill_secs: f64,
    pub prefill_tok_s: f64,
    pub decode_tokens: usize,
    pub decode_secs: f64,
    pub decode_tok_s: f64,
    /// Peak resident set size of the process so far, bytes (0 if unknown).
    pub peak_rss_bytes: u64,
}

/// Peak RSS of this process (VmHWM), bytes.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

impl Generator {
    /// Measure prefill of `prompt_tokens[i]` tokens of `text` (repeated as needed), each
    /// followed by `decode_tokens` greedy tokens (stop tokens ignored). Threads: those of
    /// the current rayon pool.
    pub fn benchmark(
        &mut self,
        text: &str,
        prompt_tokens: &[usize],
        decode_tokens: usize,
        prefill_chunk: usize,
    ) -> Result<Vec<GeneratorBench>> {
        let base = self.encode(text)?;
        if base.is_empty() {
            bail!("benchmark text has no tokens");
        }
        let threads = rayon::current_num_threads();
        // warm-up (first-touch of the weights, repacking caches)
        self.generate_ids(
            &base[..base.len().min(16)],
            2,
            0,
            false,
            TokenRules::default(),
            |_| true,
        )?;
        let mut rows = Vec::new();
        for &n in prompt_tokens {
            let n = n.max(1);
            let ids: Vec<u32> = base.iter().cycle().take(n).copied().collect();
            let (out, _, prefill_secs, decode_secs) = self.generate_ids(
                &ids,
                decode_tokens,
                prefill_chunk,
                false,
                TokenRules::default(),
                |_| true,
            )?;
            // the first generated token comes from the prefill logits
            let decoded = out.len().saturating_sub(1);
            rows.push(GeneratorBench {
                threads,
                prompt_tokens: n,
                prefill_secs,
                prefill_tok_s: n as f64 / prefill_secs.max(1e-9),
                decode_tokens: decoded,
                decode_secs,
                decode_tok_s: decoded as f64 / decode_secs.max(1e-9),
                peak_rss_bytes: peak_rss_bytes(),
            });
        }
        Ok(rows)
    }
}
