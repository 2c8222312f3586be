//! Causal self-attention for the generator on plain f32 slices: rotary embedding, a KV cache
//! that grows in place, and scores, softmax and weighted sum fused per (query block, head).
//! OWNER: generator.
//!
//! Why not candle's ops (what `quantized_qwen2` does): for a 512-token prefill chunk after
//! 1,000 cached tokens, candle materialises the full 14 x 512 x 1,512 score tensor (43 MB),
//! a mask of the same shape, a `where_cond` copy of it, a softmax copy with scalar `expf`,
//! and appends to the KV cache with `Tensor::cat`, copying the whole cache for every chunk
//! and every decoded token. A profile of a 1,500-token prefill put ~25% of the time there,
//! against ~15% for llama.cpp's tiled flash attention. Here:
//! - the scores of one block of query rows for one head live in a small buffer;
//! - keys after the block's last position are never scored (causal: half the work of a
//!   full square when the prompt starts at position 0);
//! - `exp` is a polynomial the compiler vectorises (`exp_in_place`);
//! - the KV cache is one buffer per layer, grown by doubling, appended to in place.
//!
//! Layouts (all row-major f32):
//! - queries and the attention output: `[seq][n_head * head_dim]`, token-major, exactly the
//!   projection's output and the output projection's input, so no transposes;
//! - cache: `[n_kv_head][capacity][head_dim]` for K and for V, positions `0..len` valid.
//!
//! Invariants: query head `h` reads KV head `h / (n_head / n_kv_head)` (grouped-query
//! attention, as `repeat_kv` would); query row `t` of a call at `index_pos` sees keys
//! `0..=index_pos + t`. Each (block, head) result is computed by one task in a fixed order,
//! so results do not depend on the number of threads.

use rayon::prelude::*;

/// Query rows per task: small enough for the scores of one block (64 x context) to stay
/// in L2, large enough for the matmuls to run at full speed.
const QUERY_BLOCK: usize = 64;

/// Rotary position embedding tables, `[position][head_dim / 2]`.
#[derive(Debug)]
pub struct Rope {
    half: usize,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl Rope {
    /// Qwen2's rotary embedding ("neox" layout: dimension `i` pairs with `i + head_dim/2`).
    pub fn new(head_dim: usize, freq_base: f32, context_length: usize) -> Rope {
        let half = head_dim / 2;
        let theta: Vec<f32> = (0..half)
            .map(|i| 1f32 / freq_base.powf((2 * i) as f32 / head_dim as f32))
            .collect();
        let mut cos = Vec::with_capacity(context_length * half);
        let mut sin = Vec::with_capacity(context_length * half);
        for p in 0..context_length {
            for &t in &theta {
                // Same arithmetic as candle's table (f32 position times f32 frequency).
                let a = p as f32 * t;
                cos.push(a.cos());
                sin.push(a.sin());
            }
        }
        Rope { half, cos, sin }
    }

    pub fn context_length(&self) -> usize {
        self.cos.len() / self.half.max(1)
    }

    /// Rotates every head of every token in `x` (`[seq][n_heads * head_dim]`), token `t`
    /// being at position `index_pos + t`.
    fn apply(&self, x: &mut [f32], row_len: usize, index_pos: usize) {
        let half = self.half;
        for (t, row) in x.chunks_exact_mut(row_len).enumerate() {
            let p = (index_pos + t) * half;
            let (cos, sin) = (&self.cos[p..p + half], &self.sin[p..p + half]);
            for head in row.chunks_exact_mut(2 * half) {
                let (x1, x2) = head.split_at_mut(half);
                for i in 0..half {
                    let (a, b) = (x1[i], x2[i]);
                    x1[i] = a * cos[i] - b * sin[i];
                    x2[i] = a * sin[i] + b * cos[i];
                }
            }
        }
    }
}

/// Keys and values of the positions seen so far, for one layer.
#[derive(Debug, Clone)]
pub struct KvCache {
    n_kv_head: usize,
    head_dim: usize,
    len: usize,
    capacity: usize,
    k: Vec<f32>,
    v: Vec<f32>,
}

impl KvCache {
    pub fn new(n_kv_head: usize, head_dim: usize) -> KvCache {
        KvCache {
            n_kv_head,
            head_dim,
            len: 0,
            capacity: 0,
            k: Vec::new(),
            v: Vec::new(),
        }
    }

    /// Forgets every position; keeps the buffers for the next prompt.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn reserve(&mut self, needed: usize) {
        if needed <= self.capacity {
            return;
        }
        let capacity = needed.max(2 * self.capacity).max(256);
        let d = self.head_dim;
        let regrow = |old: &[f32]| {
            let mut new = vec![0f32; self.n_kv_head * capacity * d];
            for g in 0..self.n_kv_head {
                let src = &old[g * self.capacity * d..][..self.len * d];
                new[g * capacity * d..][..self.len * d].copy_from_slice(src);
            }
            new
        };
        self.k = regrow(&self.k);
        self.v = regrow(&self.v);
        self.capacity = capacity;
    }

    /// Appends `seq` tokens of keys and values, each `[seq][n_kv_head * head_dim]`.
    fn append(&mut self, k: &[f32], v: &[f32], seq: usize) {
        self.reserve(self.len + seq);
        let (d, row) = (self.head_dim, self.n_kv_head * self.head_dim);
        for t in 0..seq {
            for g in 0..self.n_kv_head {
                let dst = (g * self.capacity + self.len + t) * d;
                let src = t * row + g * d;
                self.k[dst..dst + d].copy_from_slice(&k[src..src + d]);
                self.v[dst..dst + d].copy_from_slice(&v[src..src + d]);
            }
        }
        self.len += seq;
    }

    fn head(&self, g: usize) -> (&[f32], &[f32]) {
        let span =
            g * self.capacity * self.head_dim..(g * self.capacity + self.len) * self.head_dim;
        (&self.k[span.clone()], &self.v[span])
    }
}

/// Shape of one attention layer.
#[derive(Debug, Clone, Copy)]
pub struct Heads {
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
}

/// Attention of `seq` new tokens at positions `index_pos..index_pos + seq`.
///
/// `q` is `[seq][n_head * head_dim]`, `k` and `v` are `[seq][n_kv_head * head_dim]`, all
/// before the rotary embedding (biases already added). Appends the new keys and values to
/// `cache`, which must hold exactly `index_pos` positions, and returns the attention output
/// `[seq][n_head * head_dim]`.
pub fn attend(
    heads: Heads,
    rope: &Rope,
    cache: &mut KvCache,
    mut q: Vec<f32>,
    mut k: Vec<f32>,
    v: &[f32],
    index_pos: usize,
) -> candle_core::Result<Vec<f32>> {
    let Heads {
        n_head,
        n_kv_head,
        head_dim: d,
    } = heads;
    let q_row = n_head * d;
    let kv_row = n_kv_head * d;
    if n_kv_head == 0
        || n_head % n_kv_head != 0
        || d % 2 != 0
        || !q.len().is_multiple_of(q_row.max(1))
    {
        candle_core::bail!("attention: {n_head} heads over {n_kv_head} KV heads of {d}")
    }
    let seq = q.len() / q_row;
    if k.len() != seq * kv_row || v.len() != seq * kv_row {
        candle_core::bail!("attention: q, k, v disagree on the number of tokens")
    }
    if cache.len != index_pos || (cache.n_kv_head, cache.head_dim) != (n_kv_head, d) {
        candle_core::bail!(
            "attention: cache holds {} positions, call is at {index_pos}",
            cache.len
        )
    }
    if index_pos + seq > rope.context_length() {
        candle_core::bail!(
            "prompt of {} tokens exceeds the model's context of {}",
            index_pos + seq,
            rope.context_length()
        )
    }
    rope.apply(&mut q, q_row, index_pos);
    rope.apply(&mut k, kv_row, index_pos);
    cache.append(&k, v, seq);

    let n_rep = n_head / n_kv_head;
    let scale = 1.0 / (d as f32).sqrt();
    let mut out = vec![0f32; seq * q_row];
    let blocks = seq.div_ceil(QUERY_BLOCK);
    let out_ptr = SharedOut(out.as_mut_ptr());
    let cache = &*cache;
    let q = &q;
    let task = |i: usize| {
        let (b, h) = (i / n_head, i % n_head);
        let t0 = b * QUERY_BLOCK;
        let rows = QUERY_BLOCK.min(seq - t0);
        let (keys, values) = cache.head(h / n_rep);
        // Query row r sees keys 0..=index_pos + t0 + r; the block's last row sees kv_end.
        let kv_end = index_pos + t0 + rows;
        if rows == 1 {
            // One query row (decoding): plain dot products beat a matmul call's packing.
            // SAFETY: row t0 of head h lies inside `out`, and only this task writes it.
            let o = unsafe { std::slice::from_raw_parts_mut(out_ptr.at(t0 * q_row + h * d), d) };
            let qh = &q[t0 * q_row + h * d..][..d];
            attend_one(qh, keys, values, d, kv_end, scale, o);
            return;
        }
        let mut scores = vec![0f32; rows * kv_end];
        // SAFETY: all pointers and strides describe slices in bounds: queries rows
        // t0..t0+rows of head h in `q` (row stride q_row), keys/values positions
        // 0..kv_end <= cache.len of one KV head (row stride d), and `scores` rows x kv_end.
        unsafe {
            gemm::gemm(
                rows,
                kv_end,
                d,
                scores.as_mut_ptr(),
                1,
                kv_end as isize,
                false,
                q.as_ptr().add(t0 * q_row + h * d),
                1,
                q_row as isize,
                keys.as_ptr(),
                d as isize,
                1,
                0.0,
                scale,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        for (r, row) in scores.chunks_exact_mut(kv_end).enumerate() {
            let (seen, hidden) = row.split_at_mut(index_pos + t0 + r + 1);
            softmax_in_place(seen);
            hidden.fill(0.0);
        }
        // SAFETY: this task alone writes rows t0..t0+rows, columns h*d..(h+1)*d of `out`
        // (tasks differ in block or head), which lie inside `out` (seq x q_row); the
        // values matrix is kv_end x d inside the cache; `scores` is rows x kv_end.
        unsafe {
            gemm::gemm(
                rows,
                d,
                kv_end,
                out_ptr.at(t0 * q_row + h * d),
                1,
                q_row as isize,
                false,
                scores.as_ptr(),
                1,
                kv_end as isize,
                values.as_ptr(),
                1,
                d as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    };
    let tasks = blocks * n_head;
    // One decoded token over a short context is not worth waking the pool for.
    if seq == 1 && index_pos < 4096 {
        (0..tasks).for_each(task);
    } else {
        (0..tasks).into_par_iter().for_each(task);
    }
    Ok(out)
}

/// Decoding one token, in the steps the decoding region (`super::qwen2`) runs them on
/// different threads: [`KvCache::reserve`] before the region, then [`rope_and_append`] on
/// one thread, then [`attend_head`] for every query head, each head on one thread.
impl KvCache {
    /// Makes room for `needed` positions (call outside the region: it may reallocate).
    pub fn reserve_for(&mut self, needed: usize) {
        self.reserve(needed);
    }
}

/// Rotates one token's query (`[n_head * head_dim]`) and key (`[n_kv_head * head_dim]`)
/// at position `index_pos` and appends its key and value to `cache`, which must hold
/// exactly `index_pos` positions (and room for one more: [`KvCache::reserve_for`]).
pub fn rope_and_append(
    heads: Heads,
    rope: &Rope,
    cache: &mut KvCache,
    q: &mut [f32],
    k: &mut [f32],
    v: &[f32],
    index_pos: usize,
) -> candle_core::Result<()> {
    let Heads {
        n_head,
        n_kv_head,
        head_dim: d,
    } = heads;
    if n_kv_head == 0 || n_head % n_kv_head != 0 || d % 2 != 0 {
        candle_core::bail!("attention: {n_head} heads over {n_kv_head} KV heads of {d}")
    }
    if q.len() != n_head * d || k.len() != n_kv_head * d || v.len() != n_kv_head * d {
        candle_core::bail!("attention: one token's q, k, v have the wrong sizes")
    }
    if cache.len != index_pos || (cache.n_kv_head, cache.head_dim) != (n_kv_head, d) {
        candle_core::bail!(
            "attention: cache holds {} positions, call is at {index_pos}",
            cache.len
        )
    }
    if index_pos >= rope.context_length() {
        candle_core::bail!(
            "prompt of {} tokens exceeds the model's context of {}",
            index_pos + 1,
            rope.context_length()
        )
    }
    rope.apply(q, n_head * d, index_pos);
    rope.apply(k, n_kv_head * d, index_pos);
    cache.append(k, v, 1);
    Ok(())
}

/// Query head `h` of one token (`q`: all heads, rotated) over every position of `cache`
/// (the token's own included), into `out` (`head_dim` values).
pub fn attend_head(heads: Heads, cache: &KvCache, q: &[f32], h: usize, out: &mut [f32]) {
    let d = heads.head_dim;
    let n_rep = heads.n_head / heads.n_kv_head;
    let (keys, values) = cache.head(h / n_rep);
    let scale = 1.0 / (d as f32).sqrt();
    attend_one(
        &q[h * d..(h + 1) * d],
        keys,
        values,
        d,
        cache.len,
        scale,
        out,
    );
}

/// Attention of one query row over the first `kv_end` keys and values, into `out`.
fn attend_one(
    q: &[f32],
    keys: &[f32],
    values: &[f32],
    d: usize,
    kv_end: usize,
    scale: f32,
    out: &mut [f32],
) {
    let mut scores: Vec<f32> = keys[..kv_end * d]
        .chunks_exact(d)
        .map(|k| dot(q, k) * scale)
        .collect();
    softmax_in_place(&mut scores);
    out.fill(0.0);
    for (p, v) in scores.iter().zip(values.chunks_exact(d)) {
        for (o, v) in out.iter_mut().zip(v) {
            *o += p * v;
        }
    }
}

/// Dot product in 16 lanes (see `lanes_fold`).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// The output buffer shared by the attention tasks, each writing its own disjoint region.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
// SAFETY: only used by `attend`, whose tasks write disjoint regions of one live buffer.
unsafe impl Send for SharedOut {}
// SAFETY: as above.
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// # Safety
    /// `offset` must be inside the buffer.
    unsafe fn at(self, offset: usize) -> *mut f32 {
        // SAFETY: forwarded to the caller.
        unsafe { self.0.add(offset) }
    }
}

/// Softmax of one row of scores, in place.
pub fn softmax_in_place(xs: &mut [f32]) {
    let max = lanes_fold(xs, f32::NEG_INFINITY, |a, x| if x > a { x } else { a });
    for x in xs.iter_mut() {
        *x = exp(*x - max);
    }
    let inv = 1.0 / lanes_fold(xs, 0.0, |a, x| a + x);
    for x in xs.iter_mut() {
        *x *= inv;
    }
}

/// Folds `xs` in 16 independent lanes, then the lanes together: a plain `iter().sum()` or
/// `fold(max)` over f32 is one long dependency chain the compiler may not reorder (float
/// addition is not associative), so it runs at one element per add latency; 16 lanes
/// vectorise. The order is fixed, so the result is deterministic.
fn lanes_fold(xs: &[f32], init: f32, f: impl Fn(f32, f32) -> f32) -> f32 {
    const LANES: usize = 16;
    let mut acc = [init; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            acc[i] = f(acc[i], c[i]);
        }
    }
    let mut r = init;
    for a in acc.into_iter().chain(tail.iter().copied()) {
        r = f(r, a);
    }
    r
}

/// `e^x` for every element: Cephes' `expf` (range reduction by ln 2 split in two constants,
/// degree-6 polynomial, exponent built from bits), branch-free so that the loop vectorises.
/// Relative error below 2e-7 over [-87, 88]; inputs outside are clamped.
pub fn exp_in_place(xs: &mut [f32]) {
    for x in xs.iter_mut() {
        *x = exp(*x);
    }
}

#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.3, 88.7);
    let n = (x * LOG2E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// `gate = silu(gate) * up` element-wise, in place (the decoding step).
pub fn silu_mul_in_place(gate: &mut [f32], up: &[f32]) {
    for (g, &u) in gate.iter_mut().zip(up) {
        *g = *g / (1.0 + exp(-*g)) * u;
    }
}

/// `silu(gate) * up` element-wise: Qwen2's gated MLP activation in one pass.
pub fn silu_mul(gate: &[f32], up: &[f32]) -> Vec<f32> {
    gate.iter()
        .zip(up)
        .map(|(&g, &u)| g / (1.0 + exp(-g)) * u)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::test_values::lcg_values;
    use candle_core::{Device, Tensor};

    #[test]
    fn exp_matches_the_standard_library() {
        let mut worst = 0f32;
        let mut x = -87.0f32;
        while x < 88.0 {
            let mut v = [x];
            exp_in_place(&mut v);
            let want = x.exp();
            worst = worst.max(((v[0] - want) / want).abs());
            x += 0.0137;
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
    }

    /// Reference: candle ops on (heads, seq, dim) with an explicit causal mask and the
    /// K/V of every head repeated, as the upstream model computes it.
    fn reference(
        heads: Heads,
        q: &[f32],
        k_all: &[f32],
        v_all: &[f32],
        index_pos: usize,
        seq: usize,
    ) -> Vec<f32> {
        let Heads {
            n_head,
            n_kv_head,
            head_dim: d,
        } = heads;
        let dev = Device::Cpu;
        let kv_len = index_pos + seq;
        let q = Tensor::from_slice(q, (seq, n_head, d), &dev)
            .unwrap()
            .transpose(0, 1)
            .unwrap();
        let k = Tensor::from_slice(k_all, (kv_len, n_kv_head, d), &dev)
            .unwrap()
            .transpose(0, 1)
            .unwrap();
        let v = Tensor::from_slice(v_all, (kv_len, n_kv_head, d), &dev)
            .unwrap()
            .transpose(0, 1)
            .unwrap();
        let n_rep = n_head / n_kv_head;
        let rep = |t: Tensor| {
            Tensor::cat(&vec![t.unsqueeze(1).unwrap(); n_rep], 1)
                .unwrap()
                .reshape((n_head, kv_len, d))
                .unwrap()
                .contiguous()
                .unwrap()
        };
        let (k, v) = (rep(k), rep(v));
        let att =
            (q.contiguous().unwrap().matmul(&k.t().unwrap()).unwrap() / (d as f64).sqrt()).unwrap();
        let mask: Vec<f32> = (0..seq)
            .flat_map(|t| {
                (0..kv_len).map(move |j| {
                    if j > index_pos + t {
                        f32::NEG_INFINITY
                    } else {
                        0.0
                    }
                })
            })
            .collect();
        let mask = Tensor::from_vec(mask, (1, seq, kv_len), &dev).unwrap();
        let att = att.broadcast_add(&mask).unwrap();
        let att = candle_nn::ops::softmax_last_dim(&att).unwrap();
        let y = att.matmul(&v).unwrap(); // (heads, seq, d)
        y.transpose(0, 1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    }

    #[test]
    fn chunked_prefill_and_decoding_match_candle_ops_with_a_causal_mask() {
        let heads = Heads {
            n_head: 6,
            n_kv_head: 2,
            head_dim: 8,
        };
        // Rope with a zero frequency base exponent is identity at position 0 only, so
        // compare on already-rotated inputs: rotate with the same tables for both.
        let rope = Rope::new(8, 10000.0, 512);
        let total = 150; // chunks of 70, 79 and one decoded token; 70 > QUERY_BLOCK
        let q_all = lcg_values(total * 48, 1);
        let k_all = lcg_values(total * 16, 2);
        let v_all = lcg_values(total * 16, 3);
        let mut rq = q_all.clone();
        rope.apply(&mut rq, 48, 0);
        let mut rk = k_all.clone();
        rope.apply(&mut rk, 16, 0);
        let mut cache = KvCache::new(2, 8);
        let mut pos = 0;
        for seq in [70usize, 79, 1] {
            let got = attend(
                heads,
                &rope,
                &mut cache,
                q_all[pos * 48..(pos + seq) * 48].to_vec(),
                k_all[pos * 16..(pos + seq) * 16].to_vec(),
                &v_all[pos * 16..(pos + seq) * 16],
                pos,
            )
            .unwrap();
            let want = reference(
                heads,
                &rq[pos * 48..(pos + seq) * 48],
                &rk[..(pos + seq) * 16],
                &v_all[..(pos + seq) * 16],
                pos,
                seq,
            );
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-5, "chunk at {pos}: worst difference {worst}");
            pos += seq;
        }
        assert_eq!(cache.len(), total);
        cache.clear();
        assert!(cache.is_empty());
    }

    #[test]
    fn rope_matches_candle() {
        let rope = Rope::new(8, 10000.0, 64);
        let x = lcg_values(5 * 2 * 8, 7);
        let mut ours = x.clone();
        rope.apply(&mut ours, 16, 3);
        let dev = Device::Cpu;
        let cos = Tensor::from_slice(&rope.cos[3 * 4..8 * 4], (5, 4), &dev).unwrap();
        let sin = Tensor::from_slice(&rope.sin[3 * 4..8 * 4], (5, 4), &dev).unwrap();
        let t = Tensor::from_slice(&x, (1, 5, 2, 8), &dev)
            .unwrap()
            .transpose(1, 2)
            .unwrap()
            .contiguous()
            .unwrap();
        let want: Vec<f32> = candle_nn::rotary_emb::rope(&t, &cos, &sin)
            .unwrap()
            .transpose(1, 2)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for (a, b) in ours.iter().zip(&want) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn a_prompt_longer_than_the_context_is_an_error() {
        let heads = Heads {
            n_head: 2,
            n_kv_head: 1,
            head_dim: 4,
        };
        let rope = Rope::new(4, 10000.0, 8);
        let mut cache = KvCache::new(1, 4);
        let r = attend(
            heads,
            &rope,
            &mut cache,
            vec![0.0; 9 * 8],
            vec![0.0; 36],
            &[0.0; 36],
            0,
        );
        assert!(r.is_err());
    }

    #[test]
    fn silu_mul_matches_the_definition() {
        let g = lcg_values(100, 9)
            .iter()
            .map(|x| x * 20.0)
            .collect::<Vec<_>>();
        let u = lcg_values(100, 10);
        let got = silu_mul(&g, &u);
        for ((x, u), y) in g.iter().zip(&u).zip(&got) {
            let want = x / (1.0 + (-x).exp()) * u;
            assert!((want - y).abs() <= 1e-6 * want.abs().max(1.0));
        }
    }
}
