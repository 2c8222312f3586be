//! Qwen2 with quantized weights: a fork of candle-transformers 0.11.1 `quantized_qwen2`
//! (Apache-2.0/MIT) with four changes for CPU speed and memory. OWNER: generator.
//!
//! 1. Q5_0 matrices run through our own SIMD kernel (`kernels::q5_0`, AVX2 / AVX-512 VNNI,
//!    AMX for prefill, a port of llama.cpp's approach), Q4_K / Q6_K prefill through
//!    `kernels::kquant`, as [`KernelOptions`] choose. candle 0.11.1 has only a scalar Q5_0 x
//!    Q8_0 dot product on x86, and Qwen2.5-0.5B Q4_K_M stores most of its matrices as Q5_0
//!    (hidden size 896 is not a multiple of 256, so llama.cpp's quantizer falls back from
//!    Q4_K/Q6_K to Q5_0). The earlier fix, an exact conversion to Q8_0 at load
//!    (`kernels::q5_0::q5_0_to_q8_0`), is kept for comparison (feature `compare`,
//!    `Q5_0Kernel::Q8_0`): same results, 1.5x the bytes, slower.
//! 2. The token-embedding table stays quantized; rows are gathered and dequantized per token
//!    (candle's version dequantizes all 151,936 x 896 values to f32: ~0.55 GB).
//! 3. Attention runs on plain slices (`super::attention`): rotary embedding and biases in
//!    place, a KV cache appended to in place instead of `Tensor::cat` of the whole cache,
//!    grouped-query heads reading their KV head without `repeat_kv` copies, and scores,
//!    causal mask, softmax and weighted sum fused per block of query rows and head, never
//!    scoring the keys a causal mask would hide.
//! 4. The MLP's `silu(gate) * up` is one vectorised pass (`attention::silu_mul`).

use super::attention::{self, Heads, KvCache, Rope};
use crate::kernels::cpu_tensor::with_f32_slice;
use crate::kernels::kquant::KLinear;
use crate::kernels::q5_0::Q5Linear;
use crate::kernels::row_split::RowSplit;
use crate::kernels::{KQuantKernel, KernelOptions, Q5_0Kernel};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::Module;
use candle_core::{quantized::gguf_file, Device, IndexOp, Result, Tensor};
use candle_transformers::quantized_nn::RmsNorm;

#[derive(Debug, Clone)]
struct Mlp {
    feed_forward_w1: Linear,
    feed_forward_w2: Linear,
    feed_forward_w3: Linear,
}

impl Module for Mlp {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let gate = self.feed_forward_w1.forward(xs)?;
        let up = self.feed_forward_w3.forward(xs)?;
        let act = with_f32_slice(&gate, |g| {
            with_f32_slice(&up, |u| attention::silu_mul(g, u))
        })??;
        self.feed_forward_w2
            .forward(&Tensor::from_vec(act, gate.shape(), xs.device())?)
    }
}

/// The values of a tensor, row-major.
fn to_vec(t: &Tensor) -> Result<Vec<f32>> {
    t.flatten_all()?.to_vec1::<f32>()
}

#[derive(Debug, Clone)]
struct LayerWeights {
    attention_wq: Linear,
    attention_wk: Linear,
    attention_wv: Linear,
    attention_bq: std::sync::Arc<Vec<f32>>,
    attention_bk: std::sync::Arc<Vec<f32>>,
    attention_bv: std::sync::Arc<Vec<f32>>,
    attention_wo: Linear,
    attention_norm: RmsNorm,
    mlp: Mlp,
    ffn_norm: RmsNorm,
    heads: Heads,
    rope: std::sync::Arc<Rope>,
    kv_cache: KvCache,
    span_attn: tracing::Span,
    span_mlp: tracing::Span,
}

impl LayerWeights {
    fn forward_attn(&mut self, x: &Tensor, index_pos: usize) -> Result<Tensor> {
        let _enter = self.span_attn.enter();
        let (b_sz, seq_len, n_embd) = x.dims3()?;
        if b_sz != 1 {
            candle_core::bail!("qwen2: batches of {b_sz} sequences are not supported")
        }
        let with_bias = |w: &Linear, b: &[f32]| -> Result<Vec<f32>> {
            with_f32_slice(&w.forward(x)?, |y| {
                y.chunks_exact(b.len())
                    .flat_map(|row| row.iter().zip(b).map(|(v, b)| v + b))
                    .collect()
            })
        };
        let q = with_bias(&self.attention_wq, &self.attention_bq)?;
        let k = with_bias(&self.attention_wk, &self.attention_bk)?;
        let v = with_bias(&self.attention_wv, &self.attention_bv)?;
        let y = attention::attend(
            self.heads,
            &self.rope,
            &mut self.kv_cache,
            q,
            k,
            &v,
            index_pos,
        )?;
        let y = Tensor::from_vec(y, (b_sz, seq_len, n_embd), x.device())?;
        self.attention_wo.forward(&y)
    }
}

/// Cloning shares every weight (they sit behind `Arc`s); only the KV cache is per clone.
#[derive(Clone)]
pub struct ModelWeights {
    tok_embeddings: std::sync::Arc<QTensor>,
    layers: Vec<LayerWeights>,
    norm: RmsNorm,
    output: Linear,
    span: tracing::Span,
    span_output: tracing::Span,
}

impl ModelWeights {
    pub fn from_gguf<R: std::io::Seek + std::io::Read>(
        ct: gguf_file::Content,
        reader: &mut R,
        device: &Device,
        kernels: &KernelOptions,
    ) -> Result<Self> {
        let qmatmul = |t: QTensor| qmatmul(t, kernels);
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

        let rope = std::sync::Arc::new(Rope::new(head_dim, rope_freq_base, context_length));
        let heads = Heads {
            n_head: head_count,
            n_kv_head: head_count_kv,
            head_dim,
        };
        let bias = |t: QTensor| -> Result<std::sync::Arc<Vec<f32>>> {
            Ok(std::sync::Arc::new(to_vec(&t.dequantize(device)?)?))
        };

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
            let span_mlp = tracing::span!(tracing::Level::TRACE, "attn-mlp");

            layers.push(LayerWeights {
                attention_wq: qmatmul(attention_wq)?,
                attention_wk: qmatmul(attention_wk)?,
                attention_wv: qmatmul(attention_wv)?,
                attention_bq: bias(attention_bq)?,
                attention_bk: bias(attention_bk)?,
                attention_bv: bias(attention_bv)?,
                attention_wo: qmatmul(attention_wo)?,
                attention_norm: RmsNorm::from_qtensor(attention_norm, rms_norm_eps)?,
                mlp,
                ffn_norm: RmsNorm::from_qtensor(ffn_norm, rms_norm_eps)?,
                heads,
                rope: rope.clone(),
                kv_cache: KvCache::new(head_count_kv, head_dim),
                span_attn,
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
            span,
            span_output,
        })
    }

    /// Clear the KV cache across all layers.
    ///
    /// Call this between independent conversations to free cached attention
    /// state without recreating the model.
    pub fn clear_kv_cache(&mut self) {
        for layer in self.layers.iter_mut() {
            layer.kv_cache.clear();
        }
    }

    pub fn forward(&mut self, x: &Tensor, index_pos: usize) -> Result<Tensor> {
        let (_b_sz, seq_len) = x.dims2()?;
        let _enter = self.span.enter();
        let mut layer_in = embed(&self.tok_embeddings, x)?;
        for layer in self.layers.iter_mut() {
            let x = layer_in;
            let residual = &x;
            let x = layer.attention_norm.forward(&x)?;
            let attn = layer.forward_attn(&x, index_pos)?;
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

/// A matmul weight: Q5_0 through our kernels (`kernels::q5_0`, `kernels::amx`), Q4_K / Q6_K
/// through `kernels::kquant`, everything else through candle's `QMatMul`.
#[derive(Debug, Clone)]
enum Linear {
    Q5(std::sync::Arc<Q5Linear>),
    K(std::sync::Arc<KLinear>),
    Candle(std::sync::Arc<RowSplit>),
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Linear::Q5(l) => l.forward(xs),
            Linear::K(l) => l.forward(xs),
            Linear::Candle(m) => m.forward(xs),
        }
    }
}

/// The linear layer for a weight, as the kernel options choose: Q5_0 through our kernel,
/// Q4_K / Q6_K through `kquant` (our prefill kernels, candle's for decoding), everything else
/// through candle's, split into row bands.
fn qmatmul(t: QTensor, kernels: &KernelOptions) -> Result<Linear> {
    if t.dtype() == GgmlDType::Q5_0 {
        match kernels.q5_0 {
            Q5_0Kernel::Ours => {
                return Ok(Linear::Q5(std::sync::Arc::new(Q5Linear::from_qtensor(
                    &t, kernels,
                )?)))
            }
            #[cfg(feature = "compare")]
            Q5_0Kernel::Candle => {}
            #[cfg(feature = "compare")]
            Q5_0Kernel::Q8_0 => {
                return Ok(Linear::Candle(std::sync::Arc::new(RowSplit::new(
                    &crate::kernels::q5_0::q5_0_to_q8_0(&t)?,
                )?)));
            }
        }
    }
    if matches!(t.dtype(), GgmlDType::Q4K | GgmlDType::Q6K) && kernels.kquant == KQuantKernel::Ours
    {
        let k = KLinear::from_arc(std::sync::Arc::new(t), kernels)?;
        return Ok(Linear::K(std::sync::Arc::new(k)));
    }
    Ok(Linear::Candle(std::sync::Arc::new(RowSplit::new(&t)?)))
}
