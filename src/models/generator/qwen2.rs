//! Qwen2 with quantized weights: a fork of candle-transformers 0.11.1 `quantized_qwen2`
//! (Apache-2.0/MIT) with three changes for CPU speed and memory. OWNER: generator.
//!
//! 1. Q5_0 matrices run through our own SIMD kernel (`super::q5_0`, AVX2 / AVX-512 VNNI, a
//!    port of llama.cpp's approach). candle 0.11.1 has only a scalar Q5_0 x Q8_0 dot product on
//!    x86, and Qwen2.5-0.5B Q4_K_M stores most of its matrices as Q5_0 (hidden size 896 is not
//!    a multiple of 256, so llama.cpp's quantizer falls back from Q4_K/Q6_K to Q5_0). The
//!    earlier fix, an exact conversion to Q8_0 at load (`q5_0_to_q8_0`), is kept for
//!    comparison (`TOWNSHIP_DIGEST_Q5_0=q8_0`): same results, 1.5x the bytes, slower.
//! 2. The token-embedding table stays quantized; rows are gathered and dequantized per token
//!    (candle's version dequantizes all 151,936 x 896 values to f32: ~0.55 GB).
//! 3. Grouped-query attention folds the query heads of each KV head into one matmul instead
//!    of copying K and V once per query head (`repeat_kv`): decoding slowed by ~40% between an
//!    empty and a 1,500-token context mostly because of those copies.

use super::q5_0::Q5Linear;
use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::Module;
use candle_core::{
    quantized::{gguf_file, QMatMul},
    DType, Device, IndexOp, Result, Tensor,
};
use candle_transformers::quantized_nn::RmsNorm;
use std::collections::HashMap;

#[derive(Debug, Clone)]
struct Mlp {
    feed_forward_w1: Linear,
    feed_forward_w2: Linear,
    feed_forward_w3: Linear,
}

impl Module for Mlp {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let w1 = self.feed_forward_w1.forward(xs)?;
        let w3 = self.feed_forward_w3.forward(xs)?;
        self.feed_forward_w2
            .forward(&(candle_nn::ops::silu(&w1)? * w3)?)
    }
}

#[derive(Debug, Clone)]
struct LayerWeights {
    attention_wq: Linear,
    attention_wk: Linear,
    attention_wv: Linear,
    attention_bq: Tensor,
    attention_bk: Tensor,
    attention_bv: Tensor,
    attention_wo: Linear,
    attention_norm: RmsNorm,
    mlp: Mlp,
    ffn_norm: RmsNorm,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
    cos: Tensor,
    sin: Tensor,
    neg_inf: Tensor,
    kv_cache: Option<(Tensor, Tensor)>,
    span_attn: tracing::Span,
    span_rot: tracing::Span,
    span_mlp: tracing::Span,
}

fn masked_fill(on_false: &Tensor, mask: &Tensor, on_true: &Tensor) -> Result<Tensor> {
    let shape = mask.shape();
    let m = mask.where_cond(&on_true.broadcast_as(shape.dims())?, on_false)?;
    Ok(m)
}

impl LayerWeights {
    fn apply_rotary_emb(&self, x: &Tensor, index_pos: usize) -> Result<Tensor> {
        let _enter = self.span_rot.enter();
        let (_b_sz, _n_head, seq_len, _n_embd) = x.dims4()?;
        let cos = self.cos.narrow(0, index_pos, seq_len)?;
        let sin = self.sin.narrow(0, index_pos, seq_len)?;
        candle_nn::rotary_emb::rope(&x.contiguous()?, &cos, &sin)
    }

    fn forward_attn(
        &mut self,
        x: &Tensor,
        mask: Option<&Tensor>,
        index_pos: usize,
    ) -> Result<Tensor> {
        let _enter = self.span_attn.enter();
        let (b_sz, seq_len, n_embd) = x.dims3()?;

        let q = self.attention_wq.forward(x)?;
        let k = self.attention_wk.forward(x)?;
        let v = self.attention_wv.forward(x)?;

        let q = q.broadcast_add(&self.attention_bq)?;
        let k = k.broadcast_add(&self.attention_bk)?;
        let v = v.broadcast_add(&self.attention_bv)?;

        let q = q
            .reshape((b_sz, seq_len, self.n_head, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()?;
        let k = k
            .reshape((b_sz, seq_len, self.n_kv_head, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()?;
        let v = v
            .reshape((b_sz, seq_len, self.n_kv_head, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()?;

        // let (q, k) = self
        //     .rotary_embedding
        //     .apply_rotary_emb_qkv(&q, &k, index_pos)?;
        let q = self.apply_rotary_emb(&q, index_pos)?;
        let k = self.apply_rotary_emb(&k, index_pos)?;

        let (k, v) = match &self.kv_cache {
            None => (k, v),
            Some((k_cache, v_cache)) => {
                if index_pos == 0 {
                    (k, v)
                } else {
                    let k = Tensor::cat(&[k_cache, &k], 2)?;
                    let v = Tensor::cat(&[v_cache, &v], 2)?;
                    (k, v)
                }
            }
        };
        self.kv_cache = Some((k.clone(), v.clone()));

        // Grouped-query attention without `repeat_kv`: query heads that share a KV head are
        // adjacent (head h uses KV head h / n_rep), so folding them into the row dimension
        // lets one matmul per KV head serve all of them. Same arithmetic as repeating K and V
        // n_rep times (7x for Qwen2.5-0.5B), without copying the whole cache every token.
        let n_rep = self.n_head / self.n_kv_head;
        let kv_len = k.dim(2)?;
        let q = q.reshape((b_sz, self.n_kv_head, n_rep * seq_len, self.head_dim))?;
        let att = (q.matmul(&k.t()?)? / (self.head_dim as f64).sqrt())?;
        let att = att.reshape((b_sz, self.n_head, seq_len, kv_len))?;
        let att = match mask {
            None => att,
            Some(mask) => {
                let mask = mask.broadcast_as(att.shape())?;
                masked_fill(&att, &mask, &self.neg_inf)?
            }
        };
        let att = candle_nn::ops::softmax_last_dim(&att)?;
        let att = att.reshape((b_sz, self.n_kv_head, n_rep * seq_len, kv_len))?;
        // Convert to contiguous as matmul doesn't support strided vs for now.
        let y = att.matmul(&v.contiguous()?)?;
        let y = y.reshape((b_sz, self.n_head, seq_len, self.head_dim))?;
        let y = y.transpose(1, 2)?.reshape(&[b_sz, seq_len, n_embd])?;
        let y = self.attention_wo.forward(&y)?;
        Ok(y)
    }
}

/// Cloning shares every weight (they sit behind `Arc`s); only the KV cache is per clone.
#[derive(Clone)]
pub struct ModelWeights {
    tok_embeddings: std::sync::Arc<QTensor>,
    layers: Vec<LayerWeights>,
    norm: RmsNorm,
    output: Linear,
    masks: HashMap<(usize, usize), Tensor>,
    span: tracing::Span,
    span_output: tracing::Span,
}

fn precomput_freqs_cis(
    head_dim: usize,
    freq_base: f32,
    context_length: usize,
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let theta: Vec<_> = (0..head_dim)
        .step_by(2)
        .map(|i| 1f32 / freq_base.powf(i as f32 / head_dim as f32))
        .collect();
    let theta = Tensor::new(theta.as_slice(), device)?;
    let idx_theta = Tensor::arange(0, context_length as u32, device)?
        .to_dtype(DType::F32)?
        .reshape((context_length, 1))?
        .matmul(&theta.reshape((1, theta.elem_count()))?)?;
    let cos = idx_theta.cos()?;
    let sin = idx_theta.sin()?;
    Ok((cos, sin))
}

impl ModelWeights {
    pub fn from_gguf<R: std::io::Seek + std::io::Read>(
        ct: gguf_file::Content,
        reader: &mut R,
        device: &Device,
    ) -> Result<Self> {
        let md_get = |s: &str| match ct.metadata.get(s) {
            None => candle_core::bail!("cannot find {s} in metadata"),
            Some(v) => Ok(v),
        };

        let head_count = md_get("qwen2.attention.head_count")?.to_u32()? as usize;
        let head_count_kv = md_get("qwen2.attention.head_count_kv")?.to_u32()? as usize;
        let embedding_length = md_get("qwen2.embedding_length")?.to_u32()? as usize;
        let context_length = md_get("qwen2.context_length")?.to_u32()? as usize;
        let block_count = md_get("qwen2.block_count")?.to_u32()? as usize;
        let rms_norm_eps = md_get("qwen2.attention.layer_norm_rms_epsilon")?.to_f32()? as f64;
        let rope_freq_base = md_get("qwen2.rope.freq_base")
            .and_then(|m| m.to_f32())
            .unwrap_or(10000f32);

        let head_dim = embedding_length / head_count;

        let neg_inf = Tensor::new(f32::NEG_INFINITY, device)?;

        let tok_embeddings = ct.tensor(reader, "token_embd.weight", device)?;
        let norm = RmsNorm::from_qtensor(
            ct.tensor(reader, "output_norm.weight", device)?,
            rms_norm_eps,
        )?;
        let output = match ct.tensor(reader, "output.weight", device) {
            Ok(v) => qmatmul(v)?,
            _ => {
                // use tie_word_embeddings
                qmatmul(ct.tensor(reader, "token_embd.weight", device)?)?
            }
        };

        let (cos, sin) = precomput_freqs_cis(head_dim, rope_freq_base, context_length, device)?;

        let mut layers = Vec::with_capacity(block_count);

        for layer_idx in 0..block_count {
            let prefix = format!("blk.{layer_idx}");
            let attention_wq = ct.tensor(reader, &format!("{prefix}.attn_q.weight"), device)?;
            let attention_wk = ct.tensor(reader, &format!("{prefix}.attn_k.weight"), device)?;
            let attention_wv = ct.tensor(reader, &format!("{prefix}.attn_v.weight"), device)?;

            let attention_bq = ct.tensor(reader, &format!("{prefix}.attn_q.bias"), device)?;
            let attention_bk = ct.tensor(reader, &format!("{prefix}.attn_k.bias"), device)?;
            let attention_bv = ct.tensor(reader, &format!("{prefix}.attn_v.bias"), device)?;

            let attention_wo =
                ct.tensor(reader, &format!("{prefix}.attn_output.weight"), device)?;

            let mlp = {
                let feed_forward_w1 =
                    ct.tensor(reader, &format!("{prefix}.ffn_gate.weight"), device)?;
                let feed_forward_w2 =
                    ct.tensor(reader, &format!("{prefix}.ffn_down.weight"), device)?;
                let feed_forward_w3 =
                    ct.tensor(reader, &format!("{prefix}.ffn_up.weight"), device)?;
                Mlp {
                    feed_forward_w1: qmatmul(feed_forward_w1)?,
                    feed_forward_w2: qmatmul(feed_forward_w2)?,
                    feed_forward_w3: qmatmul(feed_forward_w3)?,
                }
            };

            let attention_norm =
                ct.tensor(reader, &format!("{prefix}.attn_norm.weight"), device)?;
            let ffn_norm = ct.tensor(reader, &format!("{prefix}.ffn_norm.weight"), device)?;

            let span_attn = tracing::span!(tracing::Level::TRACE, "attn");
            let span_rot = tracing::span!(tracing::Level::TRACE, "attn-rot");
            let span_mlp = tracing::span!(tracing::Level::TRACE, "attn-mlp");

            layers.push(LayerWeights {
                attention_wq: qmatmul(attention_wq)?,
                attention_wk: qmatmul(attention_wk)?,
                attention_wv: qmatmul(attention_wv)?,
                attention_bq: attention_bq.dequantize(device)?,
                attention_bk: attention_bk.dequantize(device)?,
                attention_bv: attention_bv.dequantize(device)?,
                attention_wo: qmatmul(attention_wo)?,
                attention_norm: RmsNorm::from_qtensor(attention_norm, rms_norm_eps)?,
                cos: cos.clone(),
                sin: sin.clone(),
                mlp,
                ffn_norm: RmsNorm::from_qtensor(ffn_norm, rms_norm_eps)?,
                n_head: head_count,
                n_kv_head: head_count_kv,
                head_dim,
                neg_inf: neg_inf.clone(),
                kv_cache: None,
                span_attn,
                span_rot,
                span_mlp,
            });
        }

        let span = tracing::span!(tracing::Level::TRACE, "model");
        let span_output = tracing::span!(tracing::Level::TRACE, "output");

        Ok(Self {
            tok_embeddings: std::sync::Arc::new(tok_embeddings),
            layers,
            norm,
            output,
            masks: HashMap::new(),
            span,
            span_output,
        })
    }

    fn mask(&mut self, seq_len: usize, index_pos: usize, device: &Device) -> Result<Tensor> {
        let kv_len = index_pos + seq_len;
        if let Some(mask) = self.masks.get(&(seq_len, kv_len)) {
            Ok(mask.clone())
        } else {
            let mask = candle_transformers::utils::build_causal_mask(seq_len, index_pos, device)?;
            self.masks.insert((seq_len, kv_len), mask.clone());
            Ok(mask)
        }
    }

    /// Clear the KV cache across all layers.
    ///
    /// Call this between independent conversations to free cached attention
    /// state without recreating the model.
    pub fn clear_kv_cache(&mut self) {
        for layer in self.layers.iter_mut() {
            layer.kv_cache = None;
        }
    }

    pub fn forward(&mut self, x: &Tensor, index_pos: usize) -> Result<Tensor> {
        let (_b_sz, seq_len) = x.dims2()?;
        let mask = if seq_len == 1 {
            None
        } else {
            Some(self.mask(seq_len, index_pos, x.device())?)
        };
        let _enter = self.span.enter();
        let mut layer_in = embed(&self.tok_embeddings, x)?;
        for layer in self.layers.iter_mut() {
            let x = layer_in;
            let residual = &x;
            let x = layer.attention_norm.forward(&x)?;
            let attn = layer.forward_attn(&x, mask.as_ref(), index_pos)?;
            let x = (attn + residual)?;

            // MLP
            let _enter = layer.span_mlp.enter();
            let residual = &x;
            let x = layer.ffn_norm.forward(&x)?;
            let x = layer.mlp.forward(&x)?;
            let x = (x + residual)?;
            layer_in = x
        }
        let x = self.norm.forward(&layer_in)?;
        let x = x.i((.., seq_len - 1, ..))?;
        let _enter = self.span_output.enter();
        self.output.forward(&x)
    }
}

/// Token embeddings gathered from the quantized table.
fn embed(table: &QTensor, ids: &Tensor) -> Result<Tensor> {
    table.embedding(ids)
}

/// A matmul weight: Q5_0 through our SIMD kernel (`super::q5_0`), everything else through
/// candle's `QMatMul`.
#[derive(Debug, Clone)]
enum Linear {
    Q5(std::sync::Arc<Q5Linear>),
    Candle(QMatMul),
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Linear::Q5(l) => l.forward(xs),
            Linear::Candle(m) => m.forward(xs),
        }
    }
}

/// How Q5_0 weights are run; `TOWNSHIP_DIGEST_Q5_0` = `kernel` (default), `q8_0` (exact
/// conversion to Q8_0, candle's kernels) or `candle` (candle's scalar Q5_0): the last two
/// exist for benchmarks and comparisons.
fn qmatmul(t: QTensor) -> Result<Linear> {
    if t.dtype() == GgmlDType::Q5_0 {
        match std::env::var("TOWNSHIP_DIGEST_Q5_0").as_deref() {
            Ok("candle") => {}
            Ok("q8_0") => {
                return Ok(Linear::Candle(QMatMul::from_qtensor(q5_0_to_q8_0(&t)?)?));
            }
            _ => return Ok(Linear::Q5(std::sync::Arc::new(Q5Linear::from_qtensor(&t)?))),
        }
    }
    Ok(Linear::Candle(QMatMul::from_qtensor(t)?))
}

const Q5_0_BYTES: usize = 22; // f16 d, u32 qh, 16 bytes of nibbles
const Q8_0_BYTES: usize = 34; // f16 d, 32 i8

/// Exact conversion of a Q5_0 tensor to Q8_0 (same block size 32, same scale).
pub fn q5_0_to_q8_0(t: &QTensor) -> Result<QTensor> {
    let data = t.data()?;
    if !data.len().is_multiple_of(Q5_0_BYTES) {
        candle_core::bail!("Q5_0 tensor of {} bytes is not whole blocks", data.len())
    }
    let mut out = Vec::with_capacity(data.len() / Q5_0_BYTES * Q8_0_BYTES);
    for b in data.chunks_exact(Q5_0_BYTES) {
        out.extend_from_slice(&b[0..2]);
        let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
        let qs = &b[6..22];
        let mut q = [0u8; 32];
        for j in 0..16 {
            let h0 = (((qh >> j) & 1) << 4) as u8;
            let h1 = (((qh >> (j + 16)) & 1) << 4) as u8;
            q[j] = ((qs[j] & 0x0F) | h0).wrapping_sub(16);
            q[j + 16] = ((qs[j] >> 4) | h1).wrapping_sub(16);
        }
        out.extend_from_slice(&q);
    }
    let device = t.device();
    let storage = QStorage::from_data(std::borrow::Cow::Owned(out), &device, GgmlDType::Q8_0)?;
    QTensor::new(storage, t.shape().clone())
}
