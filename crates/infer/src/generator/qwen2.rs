//! Qwen2 with quantized weights: a fork of candle-transformers 0.11.1 `quantized_qwen2`
//! (Apache-2.0/MIT) with five changes for CPU speed and memory. OWNER: generator.
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
//! 5. Decoding (one token) is one parallel region on slices (`ModelWeights::forward_one`,
//!    `kernels::region`, `kernels::matvec`) instead of ~200 candle ops and ~120 rayon
//!    fork-joins per token: on two threads the old path barely beat one thread.

use super::attention::{self, Heads, KvCache, Rope};
use crate::kernels::cpu_tensor::with_f32_slice;
use crate::kernels::kquant::KLinear;
use crate::kernels::matvec::{Acts, Rows};
use crate::kernels::q5_0::Q5Linear;
use crate::kernels::region::{self, Region};
use crate::kernels::row_split::RowSplit;
use crate::kernels::simd::Kernel;
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
    span_attn: tracing::Span,
    span_mlp: tracing::Span,
}

impl LayerWeights {
    fn forward_attn(&self, x: &Tensor, index_pos: usize, cache: &mut KvCache) -> Result<Tensor> {
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
        let y = attention::attend(self.heads, &self.rope, cache, q, k, &v, index_pos)?;
        let y = Tensor::from_vec(y, (b_sz, seq_len, n_embd), x.device())?;
        self.attention_wo.forward(&y)
    }
}

/// Cloning shares every weight (they sit behind `Arc`s); only the KV cache (and the
/// decoding step's buffers) are per clone.
#[derive(Clone)]
pub struct ModelWeights {
    tok_embeddings: std::sync::Arc<QTensor>,
    layers: Vec<LayerWeights>,
    /// One per layer.
    kv_caches: Vec<KvCache>,
    norm: RmsNorm,
    output: Linear,
    /// The norms' weights as slices, for the decoding step.
    norm_weights: std::sync::Arc<NormWeights>,
    /// Whether every weight has a row kernel (`kernels::matvec`): then one token runs
    /// through [`ModelWeights::forward_one`].
    fused_decode: bool,
    kernel: Kernel,
    heads: Heads,
    /// Boxed: it is large and only the decoding step touches it.
    decode: Box<DecodeBuffers>,
    span: tracing::Span,
    span_output: tracing::Span,
}

/// RMS norm weights (per layer: before attention, before the MLP; and the final one).
#[derive(Debug)]
struct NormWeights {
    attn: Vec<Vec<f32>>,
    ffn: Vec<Vec<f32>>,
    output: Vec<f32>,
    eps: f32,
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
        let norm_vec = |t: &QTensor| -> Result<Vec<f32>> { to_vec(&t.dequantize(device)?) };
        let mut norm_weights = NormWeights {
            attn: Vec::with_capacity(block_count),
            ffn: Vec::with_capacity(block_count),
            output: norm_vec(&ct.tensor(reader, "output_norm.weight", device)?)?,
            eps: rms_norm_eps as f32,
        };

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
            norm_weights.attn.push(norm_vec(&attention_norm)?);
            norm_weights.ffn.push(norm_vec(&ffn_norm)?);

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
                span_attn,
                span_mlp,
            });
        }

        let span = tracing::span!(tracing::Level::TRACE, "model");
        let span_output = tracing::span!(tracing::Level::TRACE, "output");
        let fused_decode = decode_supported(
            &layers,
            &norm_weights,
            &output,
            embedding_length,
            heads,
            tok_embeddings.shape().dims(),
        );

        Ok(Self {
            tok_embeddings: std::sync::Arc::new(tok_embeddings),
            kv_caches: vec![KvCache::new(head_count_kv, head_dim); block_count],
            layers,
            norm,
            output,
            norm_weights: std::sync::Arc::new(norm_weights),
            fused_decode,
            kernel: kernels.kernel(),
            heads,
            decode: Box::default(),
            span,
            span_output,
        })
    }

    /// Clear the KV cache across all layers.
    ///
    /// Call this between independent conversations to free cached attention
    /// state without recreating the model.
    pub fn clear_kv_cache(&mut self) {
        for cache in self.kv_caches.iter_mut() {
            cache.clear();
        }
    }

    /// The logits of the token after `x` (`(1, seq_len)` token ids at positions
    /// `index_pos..`), shape `(1, vocab)`. One token goes through the decoding step
    /// ([`ModelWeights::forward_one`]) when every weight has a row kernel.
    pub fn forward(&mut self, x: &Tensor, index_pos: usize) -> Result<Tensor> {
        let (b_sz, seq_len) = x.dims2()?;
        if (b_sz, seq_len) == (1, 1) && self.fused_decode {
            let token = x.flatten_all()?.to_vec1::<u32>()?[0];
            let logits = self.forward_one(token, index_pos)?;
            return Tensor::from_slice(logits, (1, logits.len()), x.device());
        }
        self.forward_general(x, index_pos)
    }

    /// Every token through candle tensors and our batched kernels (prefill).
    fn forward_general(&mut self, x: &Tensor, index_pos: usize) -> Result<Tensor> {
        let (_b_sz, seq_len) = x.dims2()?;
        let _enter = self.span.enter();
        let mut layer_in = embed(&self.tok_embeddings, x)?;
        for (layer, cache) in self.layers.iter().zip(self.kv_caches.iter_mut()) {
            let x = layer_in;
            let residual = &x;
            let x = layer.attention_norm.forward(&x)?;
            let attn = layer.forward_attn(&x, index_pos, cache)?;
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

/// Whether the decoding step can run this model: every weight has a row kernel and every
/// shape fits the step's buffers (a malformed file goes the general way, whose candle ops
/// report shape errors, instead of tripping an assertion inside the region).
fn decode_supported(
    layers: &[LayerWeights],
    norms: &NormWeights,
    output: &Linear,
    hidden: usize,
    heads: Heads,
    embeddings: &[usize],
) -> bool {
    let (q_len, kv_len) = (
        heads.n_head * heads.head_dim,
        heads.n_kv_head * heads.head_dim,
    );
    let ffn = layers
        .first()
        .map_or(0, |l| l.mlp.feed_forward_w1.rows().n());
    let shape = |w: &Linear, n: usize, k: usize| {
        let r = w.rows();
        r.supported() && r.n() == n && r.k() == k
    };
    embeddings.last() == Some(&hidden)
        && norms.output.len() == hidden
        && shape(output, output.rows().n(), hidden)
        && layers.iter().enumerate().all(|(i, l)| {
            shape(&l.attention_wq, q_len, hidden)
                && shape(&l.attention_wk, kv_len, hidden)
                && shape(&l.attention_wv, kv_len, hidden)
                && shape(&l.attention_wo, hidden, q_len)
                && shape(&l.mlp.feed_forward_w1, ffn, hidden)
                && shape(&l.mlp.feed_forward_w3, ffn, hidden)
                && shape(&l.mlp.feed_forward_w2, hidden, ffn)
                && l.attention_bq.len() == q_len
                && l.attention_bk.len() == kv_len
                && l.attention_bv.len() == kv_len
                && norms.attn.get(i).map(Vec::len) == Some(hidden)
                && norms.ffn.get(i).map(Vec::len) == Some(hidden)
        })
}

/// Rows per chunk of a product in the decoding step: about eight chunks per thread (so a
/// thread slowed by the OS leaves its rows to the others), at least 16 rows (so a chunk
/// amortises taking it), at most 1,024 (the 151,936-row output layer).
fn chunk_rows(n: usize, threads: usize) -> usize {
    (n / (8 * threads)).clamp(16, 1024).div_ceil(16) * 16
}

/// The buffers of the decoding step, kept from token to token (no allocation per token
/// once they have their sizes).
#[derive(Default)]
struct DecodeBuffers {
    /// The residual stream.
    x: Vec<f32>,
    /// `x` after an RMS norm.
    xn: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    /// The attention output (all heads), the output projection's input.
    att: Vec<f32>,
    /// The output projection's or the MLP's result, added to `x`.
    y: Vec<f32>,
    /// `silu(gate) * up`.
    act: Vec<f32>,
    logits: Vec<f32>,
    /// `xn`, `att` and `act` quantized for the weights that read them.
    acts_xn: Acts,
    acts_att: Acts,
    acts_act: Acts,
}

impl Clone for DecodeBuffers {
    /// A clone starts with empty buffers (they are scratch, sized on first use).
    fn clone(&self) -> Self {
        DecodeBuffers::default()
    }
}

/// A buffer written by several threads of the decoding region, each to its own part, the
/// parts separated in time by the region's steps.
struct Shared<T> {
    ptr: *mut T,
    len: usize,
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Shared<T> {}

// SAFETY: `Shared` is only used inside `ModelWeights::forward_one`, whose steps give every
// element one writer at a time and read only in a later step than the write.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    fn new(v: &mut [T]) -> Shared<T> {
        Shared {
            ptr: v.as_mut_ptr(),
            len: v.len(),
        }
    }

    /// # Safety
    /// No other thread reads or writes `a..b` until the region's next step.
    #[allow(clippy::mut_from_ref)]
    unsafe fn part_mut(&self, a: usize, b: usize) -> &mut [T] {
        assert!(a <= b && b <= self.len);
        // SAFETY: in bounds (asserted); exclusive for now (the caller's contract).
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(a), b - a) }
    }

    /// The first element (a `Shared` made by [`Shared::of`]).
    ///
    /// # Safety
    /// As [`Shared::all`].
    unsafe fn one(&self) -> &T {
        // SAFETY: forwarded to the caller.
        unsafe { &self.all()[0] }
    }

    /// # Safety
    /// No other thread reads or writes it until the region's next step.
    #[allow(clippy::mut_from_ref)]
    unsafe fn one_mut(&self) -> &mut T {
        // SAFETY: forwarded to the caller.
        unsafe { &mut self.all_mut()[0] }
    }

    fn of(v: &mut T) -> Shared<T> {
        Shared::new(std::slice::from_mut(v))
    }

    /// # Safety
    /// No thread writes any element until the region's next step.
    unsafe fn all(&self) -> &[T] {
        // SAFETY: the buffer is live for the whole region; no writer (the caller's contract).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// # Safety
    /// No other thread reads or writes any element until the region's next step.
    #[allow(clippy::mut_from_ref)]
    unsafe fn all_mut(&self) -> &mut [T] {
        // SAFETY: as `part_mut`.
        unsafe { self.part_mut(0, self.len) }
    }
}

/// `out = x / rms(x) * w`, as candle's `rms_norm` computes it.
fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let sum2: f32 = x.iter().map(|v| v * v).sum();
    let m = (sum2 / x.len() as f32 + eps).sqrt();
    for ((o, &v), &w) in out.iter_mut().zip(x).zip(w) {
        *o = v / m * w;
    }
}

/// The first error of any thread of a region; the others carry on through the steps
/// (a thread that left early would leave the rest waiting at the next one).
#[derive(Default)]
struct FirstError(std::sync::Mutex<Option<candle_core::Error>>);

impl FirstError {
    fn keep(&self, r: Result<()>) {
        if let Err(e) = r {
            if let Ok(mut slot) = self.0.lock() {
                slot.get_or_insert(e);
            }
        }
    }

    fn into_result(self) -> Result<()> {
        match self.0.into_inner() {
            Ok(None) => Ok(()),
            Ok(Some(e)) => Err(e),
            Err(_) => candle_core::bail!("decode: a thread panicked"),
        }
    }
}

/// Computes rows of several products of one region step, `chunk`-row pieces of all of them
/// shared out together (the q, k and v projections: one step, not three).
fn products(
    r: &Region,
    kernel: Kernel,
    parts: &[(Rows, Shared<Acts>, Shared<f32>)],
    errors: &FirstError,
) {
    const MAX_PARTS: usize = 4;
    assert!(parts.len() <= MAX_PARTS);
    let chunk = chunk_rows(parts.iter().map(|p| p.0.n()).sum(), r.threads);
    let mut pieces = [0usize; MAX_PARTS];
    for (n, p) in pieces.iter_mut().zip(parts) {
        *n = p.0.n().div_ceil(chunk);
    }
    let total = pieces.iter().sum();
    r.chunks(total, 1, |c, _| {
        let (mut p, mut c) = (0, c);
        while c >= pieces[p] {
            c -= pieces[p];
            p += 1;
        }
        let (rows, acts, out) = &parts[p];
        let (a, b) = (c * chunk, ((c + 1) * chunk).min(rows.n()));
        // SAFETY: the activations were written in an earlier step and
        // are only read in this one; rows a..b of `out` are this chunk's alone.
        let res = unsafe { rows.dot_rows(kernel, acts.one(), a, out.part_mut(a, b)) };
        errors.keep(res);
    });
}

impl ModelWeights {
    /// The logits after one token `token` at position `index_pos` (decoding): the whole
    /// forward pass in one parallel region of the current rayon pool (`kernels::region`),
    /// each product's rows shared out between the threads, the small serial steps (norms,
    /// biases, RoPE, quantizing activations) on one thread between them. The result
    /// does not depend on the number of threads (each output row is one dot product).
    fn forward_one(&mut self, token: u32, index_pos: usize) -> Result<&[f32]> {
        let _enter = self.span.enter();
        let dev = Device::Cpu;
        let x0 = to_vec(&embed(
            &self.tok_embeddings,
            &Tensor::new(&[[token]], &dev)?,
        )?)?;
        let hidden = x0.len();
        let heads = self.heads;
        let (q_len, kv_len) = (
            heads.n_head * heads.head_dim,
            heads.n_kv_head * heads.head_dim,
        );
        for cache in self.kv_caches.iter_mut() {
            if cache.len() != index_pos {
                candle_core::bail!(
                    "decode: cache holds {} positions, token is at {index_pos}",
                    cache.len()
                )
            }
            cache.reserve_for(index_pos + 1);
        }
        let ffn = self
            .layers
            .first()
            .map_or(0, |l| l.mlp.feed_forward_w1.rows().n());
        let vocab = self.output.rows().n();
        let b = &mut self.decode;
        b.x.clear();
        b.x.extend_from_slice(&x0);
        for (v, n) in [
            (&mut b.xn, hidden),
            (&mut b.q, q_len),
            (&mut b.k, kv_len),
            (&mut b.v, kv_len),
            (&mut b.att, q_len),
            (&mut b.y, hidden),
            (&mut b.act, ffn),
            (&mut b.logits, vocab),
        ] {
            v.resize(n, 0.0);
        }
        let x = Shared::new(&mut b.x);
        let xn = Shared::new(&mut b.xn);
        let q = Shared::new(&mut b.q);
        let k = Shared::new(&mut b.k);
        let v = Shared::new(&mut b.v);
        let att = Shared::new(&mut b.att);
        let y = Shared::new(&mut b.y);
        let act = Shared::new(&mut b.act);
        let logits = Shared::new(&mut b.logits);
        let acts_xn = Shared::of(&mut b.acts_xn);
        let acts_att = Shared::of(&mut b.acts_att);
        let acts_act = Shared::of(&mut b.acts_act);
        let caches = Shared::new(&mut self.kv_caches);
        let layers = &self.layers;
        let norms = &*self.norm_weights;
        let output = self.output.rows();
        let kernel = self.kernel;
        let errors = FirstError::default();
        let steps = 10 * layers.len() + 2;
        // SAFETY (every `unsafe` below): each buffer is written either by one thread in a
        // `single` step or in disjoint row ranges in a `chunks` step, and read only in later
        // steps; a step starts on a thread only when every chunk of the one before is done.
        region::run(steps, |r| {
            for (l, layer) in layers.iter().enumerate() {
                let (wq, wk, wv) = (
                    layer.attention_wq.rows(),
                    layer.attention_wk.rows(),
                    layer.attention_wv.rows(),
                );
                r.single(|| unsafe {
                    // The previous layer's MLP output joins the residual stream here.
                    if l > 0 {
                        for (x, y) in x.all_mut().iter_mut().zip(y.all()) {
                            *x += y;
                        }
                    }
                    rms_norm(x.all(), &norms.attn[l], norms.eps, xn.all_mut());
                    errors.keep(acts_xn.one_mut().quantize(kernel, xn.all(), &[wq, wk, wv]));
                });
                products(
                    r,
                    kernel,
                    &[(wq, acts_xn, q), (wk, acts_xn, k), (wv, acts_xn, v)],
                    &errors,
                );
                r.single(|| unsafe {
                    for (out, bias) in [
                        (q.all_mut(), &layer.attention_bq),
                        (k.all_mut(), &layer.attention_bk),
                        (v.all_mut(), &layer.attention_bv),
                    ] {
                        for (o, b) in out.iter_mut().zip(bias.iter()) {
                            *o += b;
                        }
                    }
                    errors.keep(attention::rope_and_append(
                        heads,
                        &layer.rope,
                        &mut caches.part_mut(l, l + 1)[0],
                        q.all_mut(),
                        k.all_mut(),
                        v.all(),
                        index_pos,
                    ));
                });
                let d = heads.head_dim;
                r.chunks(heads.n_head, 1, |h, _| unsafe {
                    let cache = &caches.all()[l];
                    attention::attend_head(
                        heads,
                        cache,
                        q.all(),
                        h,
                        att.part_mut(h * d, (h + 1) * d),
                    );
                });
                let wo = layer.attention_wo.rows();
                r.single(|| unsafe {
                    errors.keep(acts_att.one_mut().quantize(kernel, att.all(), &[wo]));
                });
                products(r, kernel, &[(wo, acts_att, y)], &errors);
                let (wg, wu, wd) = (
                    layer.mlp.feed_forward_w1.rows(),
                    layer.mlp.feed_forward_w3.rows(),
                    layer.mlp.feed_forward_w2.rows(),
                );
                r.single(|| unsafe {
                    for (x, y) in x.all_mut().iter_mut().zip(y.all()) {
                        *x += y;
                    }
                    rms_norm(x.all(), &norms.ffn[l], norms.eps, xn.all_mut());
                    errors.keep(acts_xn.one_mut().quantize(kernel, xn.all(), &[wg, wu]));
                });
                // gate and up together, `silu(gate) * up` of each chunk right away.
                let chunk = chunk_rows(ffn, r.threads);
                r.chunks(ffn.div_ceil(chunk), 1, |c, _| unsafe {
                    let (a, e) = (c * chunk, ((c + 1) * chunk).min(ffn));
                    let out = act.part_mut(a, e);
                    let mut up = [0f32; 1024];
                    let up = &mut up[..e - a];
                    errors.keep(wg.dot_rows(kernel, acts_xn.one(), a, out));
                    errors.keep(wu.dot_rows(kernel, acts_xn.one(), a, up));
                    attention::silu_mul_in_place(out, up);
                });
                r.single(|| unsafe {
                    errors.keep(acts_act.one_mut().quantize(kernel, act.all(), &[wd]));
                });
                products(r, kernel, &[(wd, acts_act, y)], &errors);
            }
            r.single(|| unsafe {
                if !layers.is_empty() {
                    for (x, y) in x.all_mut().iter_mut().zip(y.all()) {
                        *x += y;
                    }
                }
                rms_norm(x.all(), &norms.output, norms.eps, xn.all_mut());
                errors.keep(acts_xn.one_mut().quantize(kernel, xn.all(), &[output]));
            });
            products(r, kernel, &[(output, acts_xn, logits)], &errors);
        });
        errors.into_result()?;
        Ok(&self.decode.logits)
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

impl Linear {
    /// The weight's rows as the decoding step reads them.
    fn rows(&self) -> Rows<'_> {
        match self {
            Linear::Q5(l) => Rows::Q5(l),
            Linear::K(l) => Rows::Bands(l.bands()),
            Linear::Candle(m) => Rows::Bands(m),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::test_values::lcg_values;
    use candle_core::quantized::gguf_file::Value;

    const HIDDEN: usize = 64;
    const FFN: usize = 256;
    const VOCAB: usize = 96;

    /// A two-layer Qwen2 GGUF in memory with every weight format of the real model's file:
    /// Q5_0 projections and embeddings, Q8_0 `attn_v` (layer 0) and output, Q4_K / Q6_K
    /// `ffn_down`.
    fn tiny_model() -> ModelWeights {
        let dev = Device::Cpu;
        let mut seed = 10u64;
        let mut tensors: Vec<(String, QTensor)> = Vec::new();
        let mut add = |name: String, shape: &[usize], dtype: GgmlDType, scale: f32| {
            seed += 1;
            let n: usize = shape.iter().product();
            let v: Vec<f32> = lcg_values(n, seed).iter().map(|x| x * scale).collect();
            let t = Tensor::from_vec(v, shape, &dev).unwrap();
            tensors.push((name, QTensor::quantize(&t, dtype).unwrap()));
        };
        add(
            "token_embd.weight".into(),
            &[VOCAB, HIDDEN],
            GgmlDType::Q5_0,
            1.0,
        );
        add(
            "output.weight".into(),
            &[VOCAB, HIDDEN],
            GgmlDType::Q8_0,
            1.0,
        );
        add("output_norm.weight".into(), &[HIDDEN], GgmlDType::F32, 1.0);
        for l in 0..2 {
            let p = format!("blk.{l}");
            let (v_type, down_type) = if l == 0 {
                (GgmlDType::Q8_0, GgmlDType::Q4K)
            } else {
                (GgmlDType::Q5_0, GgmlDType::Q6K)
            };
            add(
                format!("{p}.attn_q.weight"),
                &[HIDDEN, HIDDEN],
                GgmlDType::Q5_0,
                0.3,
            );
            add(
                format!("{p}.attn_k.weight"),
                &[32, HIDDEN],
                GgmlDType::Q5_0,
                0.3,
            );
            add(format!("{p}.attn_v.weight"), &[32, HIDDEN], v_type, 0.3);
            add(format!("{p}.attn_q.bias"), &[HIDDEN], GgmlDType::F32, 0.1);
            add(format!("{p}.attn_k.bias"), &[32], GgmlDType::F32, 0.1);
            add(format!("{p}.attn_v.bias"), &[32], GgmlDType::F32, 0.1);
            add(
                format!("{p}.attn_output.weight"),
                &[HIDDEN, HIDDEN],
                GgmlDType::Q5_0,
                0.3,
            );
            add(
                format!("{p}.ffn_gate.weight"),
                &[FFN, HIDDEN],
                GgmlDType::Q5_0,
                0.3,
            );
            add(
                format!("{p}.ffn_up.weight"),
                &[FFN, HIDDEN],
                GgmlDType::Q5_0,
                0.3,
            );
            add(
                format!("{p}.ffn_down.weight"),
                &[HIDDEN, FFN],
                down_type,
                0.3,
            );
            add(
                format!("{p}.attn_norm.weight"),
                &[HIDDEN],
                GgmlDType::F32,
                1.0,
            );
            add(
                format!("{p}.ffn_norm.weight"),
                &[HIDDEN],
                GgmlDType::F32,
                1.0,
            );
        }
        let md: Vec<(&str, Value)> = vec![
            ("qwen2.attention.head_count", Value::U32(4)),
            ("qwen2.attention.head_count_kv", Value::U32(2)),
            ("qwen2.embedding_length", Value::U32(HIDDEN as u32)),
            ("qwen2.context_length", Value::U32(64)),
            ("qwen2.block_count", Value::U32(2)),
            ("qwen2.attention.layer_norm_rms_epsilon", Value::F32(1e-6)),
            ("qwen2.rope.freq_base", Value::F32(10000.0)),
        ];
        let md: Vec<(&str, &Value)> = md.iter().map(|(k, v)| (*k, v)).collect();
        let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let mut file = std::io::Cursor::new(Vec::new());
        gguf_file::write(&mut file, &md, &ts).unwrap();
        file.set_position(0);
        let ct = gguf_file::Content::read(&mut file).unwrap();
        let m = ModelWeights::from_gguf(ct, &mut file, &dev, &KernelOptions::default()).unwrap();
        assert!(m.fused_decode);
        m
    }

    fn logits(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1().unwrap()
    }

    /// Decoding one token in the region gives the general forward pass's logits (up to the
    /// order of float sums: candle's Q4_K and Q8_0 products there, ours here).
    #[test]
    fn the_decoding_step_gives_the_general_forward_pass() {
        let mut m = tiny_model();
        let prompt = Tensor::new(&[[3u32, 17, 42, 5, 77, 8]], &Device::Cpu).unwrap();
        m.forward(&prompt, 0).unwrap();
        for (i, token) in [11u32, 95, 0, 64].into_iter().enumerate() {
            let pos = 6 + i;
            let mut general = m.clone();
            let input = Tensor::new(&[[token]], &Device::Cpu).unwrap();
            let want = logits(&general.forward_general(&input, pos).unwrap());
            let got = logits(&m.forward(&input, pos).unwrap());
            let scale = want.iter().fold(0f32, |a, v| a.max(v.abs()));
            let worst = got
                .iter()
                .zip(&want)
                .fold(0f32, |a, (g, w)| a.max((g - w).abs()));
            assert!(
                worst <= 1e-3 * scale,
                "token {i}: worst difference {worst}, logits up to {scale}"
            );
        }
    }

    /// The same logits, bit for bit, on one, two and three threads.
    #[test]
    fn decoding_does_not_depend_on_the_number_of_threads() {
        let m = tiny_model();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut m = m.clone();
            pool.install(|| {
                [3u32, 17, 42, 5, 77, 8, 11, 95]
                    .iter()
                    .enumerate()
                    .map(|(pos, &t)| {
                        let input = Tensor::new(&[[t]], &Device::Cpu).unwrap();
                        logits(&m.forward(&input, pos).unwrap())
                    })
                    .collect::<Vec<_>>()
            })
        };
        let one = run(1);
        assert_eq!(run(2), one);
        assert_eq!(run(3), one);
    }
}
