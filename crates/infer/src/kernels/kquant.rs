//! Q4_K and Q6_K weight matrices multiplied on the CPU against activations quantized to
//! i8 per 256 values, for prefill (more than one activation row).
//!
//! Qwen2.5-0.5B's `q4_k_m` file stores `ffn_down` as Q4_K and Q6_K. candle 0.11.1 runs
//! them through its repacked tiles (AMX for Q4_K) after quantizing the activations to
//! Q8_K with a scalar loop, which is about a quarter of its time at m = 512.
//!
//! Formats (see candle-core's `k_quants.rs`, `to_float`), super-blocks of 256 values:
//! - Q4_K, 144 bytes: f16 `d`, f16 `dmin`, 12 bytes of 6-bit scales and mins for eight
//!   sub-blocks of 32 (`get_scale_min_k4`), 128 bytes of nibbles (each 32 bytes hold
//!   two sub-blocks: low nibbles first, then high nibbles). Value `d*sc*q - dmin*m`,
//!   `q` in `0..16`, `sc` in `0..64`.
//! - Q6_K, 210 bytes: 128 bytes `ql` (low 4 bits), 64 bytes `qh` (high 2 bits), 16 i8
//!   scales (one per 16 values), f16 `d`. Value `d*sc*(q - 32)`, `q` in `0..64`.
//!
//! Both are `d * (integer scale) * q - offset` with one float `d` per 256 values, so
//! the activations are quantized per 256 as well (symmetric, `amax / 127`, f32 scale,
//! round half to even: the same integers as candle's Q8_K in practice), which lets
//! the integer work run over whole sub-blocks. Offsets are applied once per 16 values as
//! `o[h] * c_a[h]`, `o` being `dmin*m` (Q4_K) or `32*d*sc` (Q6_K) and `c_a = d_a *
//! sum(q_a)` over the same 16 activations. (A first version kept `super::q5_0`'s scheme,
//! Q8_0 activations per 32 and a float `fmadd` per block of 32: it was 2x slower than
//! candle's AMX Q4_K kernel, 83 against 176 GFLOP/s on one core.)
//!
//! Prefill (`m > 1`): each rayon task takes 16 weight rows and widens them once to
//! bytes `q` (unsigned, as stored), i16 scale lane vectors per block of 32 (see below),
//! `d` per super-block and offsets per 16. Then, per SIMD level:
//! - `Avx512Vnni`: the 16 rows are transposed so that one 512-bit vector holds four
//!   consecutive values of each row (candle's tile layout), and `vpdpbusd` against
//!   four activation bytes broadcast from memory adds 64 products into one i32 lane
//!   per weight row. Per 16 (Q6_K) or 32 (Q4_K) values the lanes are converted and
//!   scaled by a vector of the 16 rows' `d*sc`; the activation's `d` is applied once
//!   per super-block. Register tile: 16 weight rows x 8 activation rows.
//! - `Avx2`: row-major 2 x 2 tiles; `maddubs` (u8 weight x i8 activation, pairs summed
//!   to i16, no saturation as `63 * 127 * 2 < 32768`) then `madd` with a lane vector of
//!   i16 sub-block scales `[s_lo x8, s_hi x8]` (i16 lanes 0–7 cover values 0–15 of a
//!   block of 32, lanes 8–15 values 16–31, so one format serves Q6_K's scales per 16
//!   and Q4_K's per 32): a super-block is exact integer arithmetic, then one float
//!   `fmadd` with `d_w * d_a`.
//! - `Scalar`: the same integer arithmetic, portable; the reference in the tests.
//!
//! Each output element is computed by one task in a fixed order, so results do not
//! depend on the number of threads.
//!
//! Decoding one token (`generator::qwen2`'s `forward_one`) does not come here: it reads the
//! same bands of rows through `super::matvec`'s own Q4_K / Q6_K row kernels. For a few rows
//! widening the weights costs more than it saves: below `Kind::min_rows` rows (256 for
//! Q4_K, 64 for Q6_K) `forward` hands the product to candle's `QMatMul` on the same bytes,
//! cut into bands of rows (`super::row_split`) that the prefill kernels also read from.

use super::cpu_tensor::linear_forward;
use super::options::KernelOptions;
use super::row_split::RowSplit;
use super::simd::{Kernel, OutBlock, OutPtr};
use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::{DType, Device, Result, Tensor};
use half::f16;
use rayon::prelude::*;
use std::borrow::Cow;
use std::sync::Arc;

/// Values per k-quant super-block.
const QK_K: usize = 256;
/// Values per block of 32 (one i16 lane vector of weight scales).
const QK: usize = 32;
/// Bytes per Q4_K super-block.
const Q4K_BYTES: usize = 144;
/// Bytes per Q6_K super-block.
const Q6K_BYTES: usize = 210;
/// Weight rows per rayon task for `m > 1`.
const PREFILL_ROWS: usize = 16;

/// Which k-quant the weights are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Q4K,
    Q6K,
}

impl Kind {
    /// Fewest activation rows for which `forward` uses this module's kernels: below,
    /// widening the weights (about 1 ms for a 896 x 4864 matrix on one core) costs more
    /// than the kernels save over candle's. Measured with `examples/kq_bench.rs` on one
    /// and two Sapphire Rapids cores (candle's Q4_K kernel uses AMX, its Q6_K does not).
    fn min_rows(self) -> usize {
        match self {
            Kind::Q4K => 256,
            Kind::Q6K => 64,
        }
    }

    fn block_bytes(self) -> usize {
        match self {
            Kind::Q4K => Q4K_BYTES,
            Kind::Q6K => Q6K_BYTES,
        }
    }
}

/// A Q4_K or Q6_K weight matrix of shape `(n_out, k)`, used as `xs @ W^T`.
#[derive(Debug, Clone)]
pub struct KLinear {
    /// The weights, cut into bands of rows: candle's matmul on them serves decoding (few
    /// rows), and the prefill kernels read their rows' bytes from them (one copy in memory).
    bands: RowSplit,
    kind: Kind,
    n_out: usize,
    k: usize,
    /// The prefill kernel, resolved at load from the options and the CPU.
    kernel: Kernel,
}

/// A chunk of weight rows widened for the prefill kernels (see module docs).
struct Widened {
    rows: usize,
    /// `rows * k` unsigned values.
    q: Vec<u8>,
    /// `rows * nb * 16` integer scales: per block of 32, eight lanes for values 0..16
    /// and eight for values 16..32.
    s: Vec<i16>,
    /// `rows * nsb` super-block scales `d`.
    d: Vec<f32>,
    /// `rows * nh` offsets, one per 16 values.
    o: Vec<f32>,
}

/// Activation rows quantized per 256 values to i8.
struct KActs {
    m: usize,
    /// `m * k` quantized values.
    qs: Vec<i8>,
    /// `m * nsb` scales.
    d: Vec<f32>,
    /// `m * nh` values `d * sum(qs)` over each 16 values.
    c: Vec<f32>,
}

/// Sizes shared by the weight and activation panels.
#[derive(Clone, Copy)]
struct Dims {
    k: usize,
    /// Blocks of 32 per row.
    nb: usize,
    /// Super-blocks of 256 per row.
    nsb: usize,
    /// Groups of 16 per row (a multiple of 16 as `k % 256 == 0`).
    nh: usize,
}

impl Dims {
    fn new(k: usize) -> Dims {
        Dims {
            k,
            nb: k / QK,
            nsb: k / QK_K,
            nh: k / 16,
        }
    }
}

impl KLinear {
    /// Copies a 2-D Q4_K or Q6_K CPU tensor of shape `(n_out, k)`, to be run at the tier
    /// `opts` allow on this CPU.
    pub fn from_qtensor(t: &QTensor, opts: &KernelOptions) -> Result<KLinear> {
        Self::check(t)?;
        let data = t.data()?;
        let storage = QStorage::from_data(Cow::Borrowed(&data), &Device::Cpu, t.dtype())?;
        Self::from_arc(Arc::new(QTensor::new(storage, t.shape().clone())?), opts)
    }

    /// Like `from_qtensor`, taking the tensor (its bytes are cut into `RowSplit` bands).
    pub fn from_arc(t: Arc<QTensor>, opts: &KernelOptions) -> Result<KLinear> {
        let (kind, n_out, k) = Self::check(&t)?;
        let bands = RowSplit::new(&t)?;
        if !bands.rows_per_band().is_multiple_of(PREFILL_ROWS) {
            candle_core::bail!("KLinear: bands of {} rows", bands.rows_per_band())
        }
        Ok(KLinear {
            bands,
            kind,
            n_out,
            k,
            kernel: opts.kernel(),
        })
    }

    fn check(t: &QTensor) -> Result<(Kind, usize, usize)> {
        let kind = match t.dtype() {
            GgmlDType::Q4K => Kind::Q4K,
            GgmlDType::Q6K => Kind::Q6K,
            other => candle_core::bail!("KLinear needs a Q4K or Q6K tensor, got {other:?}"),
        };
        if !t.device().is_cpu() {
            candle_core::bail!("KLinear runs on the CPU only")
        }
        let (n_out, k) = match t.shape().dims() {
            &[n_out, k] => (n_out, k),
            dims => candle_core::bail!("KLinear needs a 2-D tensor, got shape {dims:?}"),
        };
        if !k.is_multiple_of(QK_K) {
            candle_core::bail!("KLinear: row length {k} is not a multiple of {QK_K}")
        }
        let expected = n_out * (k / QK_K) * kind.block_bytes();
        let got = t.data()?.len();
        if got != expected {
            candle_core::bail!("KLinear: {got} bytes for shape ({n_out}, {k}), expected {expected}")
        }
        Ok((kind, n_out, k))
    }

    /// Number of output features (rows of W).
    pub fn n_out(&self) -> usize {
        self.n_out
    }

    /// Number of input features (columns of W).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Bytes of k-quant weight data.
    pub fn weight_bytes(&self) -> usize {
        self.bands.size_in_bytes()
    }

    /// The weights' rows in bands (what decoding reads).
    pub fn bands(&self) -> &RowSplit {
        &self.bands
    }

    /// `xs @ W^T` for `xs` of shape `(..., k)`; the result has shape `(..., n_out)`, f32.
    /// Fewer activation rows than `Kind::min_rows` (decoding, short prompts) go to
    /// candle's `QMatMul`.
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        self.forward_with(xs, None)
    }

    /// `kernel = None`: candle for few rows, the load-time kernel otherwise.
    fn forward_with(&self, xs: &Tensor, kernel: Option<Kernel>) -> Result<Tensor> {
        let dims = xs.dims();
        match dims.last() {
            Some(&k) if k == self.k => {}
            _ => candle_core::bail!(
                "KLinear: input shape {dims:?} does not end in k = {}",
                self.k
            ),
        }
        let m: usize = dims[..dims.len() - 1].iter().product();
        if m < self.kind.min_rows() && kernel.is_none() {
            let xs = if xs.dtype() == DType::F32 {
                xs.clone()
            } else {
                xs.to_dtype(DType::F32)?
            };
            return self.bands.forward(&xs);
        }
        let kernel = kernel.unwrap_or(self.kernel);
        linear_forward(xs, self.k, self.n_out, "KLinear", |x, m| {
            self.matmul(x, m, kernel)
        })
    }

    /// `x` is `m` rows of `k`; returns `m` rows of `n_out`.
    fn matmul(&self, x: &[f32], m: usize, kernel: Kernel) -> Result<Vec<f32>> {
        let (n, k) = (self.n_out, self.k);
        if m == 0 || n == 0 || k == 0 {
            return Ok(vec![0f32; m * n]);
        }
        let bands = self.bands.band_bytes()?;
        let per = self.bands.rows_per_band();
        let dims = Dims::new(k);
        let acts = quantize_acts(x, m, dims, kernel);
        let row_bytes = k / QK_K * self.kind.block_bytes();
        let mut out: Vec<f32> = Vec::with_capacity(m * n);
        let dst = OutPtr::spare(&mut out, m * n);
        (0..n.div_ceil(PREFILL_ROWS)).into_par_iter().for_each(|c| {
            let r0 = c * PREFILL_ROWS;
            let rows = PREFILL_ROWS.min(n - r0);
            // Bands hold a multiple of PREFILL_ROWS rows (checked when built), so the
            // chunk lies in one band.
            let (band, b0) = (r0 / per, r0 % per);
            let raw = &bands[band][b0 * row_bytes..(b0 + rows) * row_bytes];
            // SAFETY: the buffer holds m * n floats; this task writes only columns
            // r0..r0 + rows of each of the m rows, and no other task writes them.
            let out = unsafe { OutBlock::new(dst, m, n, r0, rows) };
            prefill_chunk(kernel, self.kind, raw, &acts, dims, out);
        });
        // SAFETY: the chunks cover columns 0..n and each prefill_chunk writes all m rows
        // of its columns (every (activation row, weight row) pair is one tile cell), so
        // all m * n floats are initialized; a panic in a task propagates before this line.
        unsafe { out.set_len(m * n) };
        Ok(out)
    }
}

/// Q4_K's 6-bit scale and min of sub-block `j` (candle's `get_scale_min_k4`).
fn scale_min_k4(j: usize, s: &[u8]) -> (u8, u8) {
    if j < 4 {
        (s[j] & 63, s[j + 4] & 63)
    } else {
        (
            (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4),
            (s[j + 4] >> 4) | ((s[j] >> 6) << 4),
        )
    }
}

fn f16_at(b: &[u8], i: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([b[i], b[i + 1]])).to_f32()
}

/// Widens `raw` (whole rows of super-blocks) as described in the module docs.
fn widen(kind: Kind, raw: &[u8], dims: Dims) -> Widened {
    let Dims { k, nb, nsb, nh } = dims;
    let bb = kind.block_bytes();
    let row_bytes = nsb * bb;
    let rows = raw.len() / row_bytes;
    let mut w = Widened {
        rows,
        q: vec![0u8; rows * k],
        s: vec![0i16; rows * nb * 16],
        d: vec![0f32; rows * nsb],
        o: vec![0f32; rows * nh],
    };
    let blocks = raw
        .chunks_exact(bb)
        .zip(w.q.chunks_exact_mut(QK_K))
        .zip(w.s.chunks_exact_mut(8 * 16))
        .zip(w.d.iter_mut().zip(w.o.chunks_exact_mut(16)));
    let mut s16 = [0i16; 16];
    for (((blk, q), s), (d, o)) in blocks {
        *d = match kind {
            Kind::Q4K => widen_q4k(blk, q, &mut s16, o),
            Kind::Q6K => widen_q6k(blk, q, &mut s16, o),
        };
        // Scale t of 16 values is half t % 2 of block t / 2: lanes 8 * t..8 * t + 8.
        for (lanes, &sc) in s.chunks_exact_mut(8).zip(&s16) {
            lanes.fill(sc);
        }
    }
    w
}

/// One Q4_K super-block: 256 values, 16 integer scales and 16 offsets (one per 16
/// values); returns `d`.
fn widen_q4k(blk: &[u8], q: &mut [u8], s: &mut [i16], o: &mut [f32]) -> f32 {
    let d = f16_at(blk, 0);
    let dmin = f16_at(blk, 2);
    let scales = &blk[4..16];
    let qs = &blk[16..144];
    for (j, (src, dst)) in qs.chunks_exact(32).zip(q.chunks_exact_mut(64)).enumerate() {
        let (lo, hi) = dst.split_at_mut(32);
        for ((l, h), &b) in lo.iter_mut().zip(hi.iter_mut()).zip(src) {
            *l = b & 0x0F;
            *h = b >> 4;
        }
        for t in 0..2 {
            let (sc, mn) = scale_min_k4(2 * j + t, scales);
            s[4 * j + 2 * t] = sc as i16;
            s[4 * j + 2 * t + 1] = sc as i16;
            let off = dmin * mn as f32;
            o[4 * j + 2 * t] = off;
            o[4 * j + 2 * t + 1] = off;
        }
    }
    d
}

/// One Q6_K super-block: 256 values, 16 integer scales and 16 offsets (one per 16
/// values); returns `d`.
fn widen_q6k(blk: &[u8], q: &mut [u8], s: &mut [i16], o: &mut [f32]) -> f32 {
    let (ql, rest) = blk.split_at(128);
    let (qh, rest) = rest.split_at(64);
    let (scales, d) = rest.split_at(16);
    let d = f16_at(d, 0);
    for half in 0..2 {
        let ql = &ql[64 * half..64 * half + 64];
        let qh = &qh[32 * half..32 * half + 32];
        let q = &mut q[128 * half..128 * half + 128];
        let (q12, q34) = q.split_at_mut(64);
        let (q1, q2) = q12.split_at_mut(32);
        let (q3, q4) = q34.split_at_mut(32);
        for l in 0..32 {
            let (a, b, h) = (ql[l], ql[l + 32], qh[l]);
            q1[l] = (a & 0x0F) | ((h & 3) << 4);
            q2[l] = (b & 0x0F) | (((h >> 2) & 3) << 4);
            q3[l] = (a >> 4) | (((h >> 4) & 3) << 4);
            q4[l] = (b >> 4) | (((h >> 6) & 3) << 4);
        }
    }
    for (t, &sc) in scales.iter().enumerate() {
        let sc = sc as i8;
        s[t] = sc as i16;
        o[t] = 32.0 * (d * sc as f32);
    }
    d
}

/// Quantizes `m` rows of `k` values to i8 per 256 (`amax / 127`), with per-16 sums.
fn quantize_acts(x: &[f32], m: usize, dims: Dims, kernel: Kernel) -> KActs {
    let Dims { k, nsb, nh, .. } = dims;
    let mut acts = KActs {
        m,
        qs: vec![0i8; m * k],
        d: vec![0f32; m * nsb],
        c: vec![0f32; m * nh],
    };
    type Row<'a> = ((&'a [f32], &'a mut [i8]), (&'a mut [f32], &'a mut [f32]));
    let quantize = |((xr, qr), (dr, cr)): Row| {
        let blocks = xr
            .chunks_exact(QK_K)
            .zip(qr.chunks_exact_mut(QK_K))
            .zip(dr.iter_mut().zip(cr.chunks_exact_mut(16)));
        for ((xb, qb), (d, cb)) in blocks {
            *d = match kernel {
                Kernel::Scalar => quantize_super_block(xb, qb),
                #[cfg(target_arch = "x86_64")]
                // SAFETY: these kernels are only chosen when avx2, fma and f16c were
                // detected.
                Kernel::Avx2 | Kernel::Avx512Vnni => unsafe { avx2::quantize_super_block(xb, qb) },
            };
            for (c, qs) in cb.iter_mut().zip(qb.chunks_exact(16)) {
                *c = *d * qs.iter().map(|&v| v as i32).sum::<i32>() as f32;
            }
        }
    };
    if m * k >= 1 << 16 {
        x.par_chunks(k)
            .zip(acts.qs.par_chunks_mut(k))
            .zip(acts.d.par_chunks_mut(nsb).zip(acts.c.par_chunks_mut(nh)))
            .for_each(quantize);
    } else {
        x.chunks(k)
            .zip(acts.qs.chunks_mut(k))
            .zip(acts.d.chunks_mut(nsb).zip(acts.c.chunks_mut(nh)))
            .for_each(quantize);
    }
    acts
}

/// 256 values to i8 with one scale `amax / 127` (returned), rounding half to even.
fn quantize_super_block(x: &[f32], q: &mut [i8]) -> f32 {
    let amax = x.iter().fold(0f32, |a, &v| a.max(v.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    for (q, &v) in q.iter_mut().zip(x) {
        *q = (v * id).round_ties_even() as i8;
    }
    d
}

/// All rows of `w` against all activation rows, into the (m, rows) `dst`.
/// The rows of `raw` (whole super-blocks) against all activation rows, into the
/// (m, rows) `dst`.
fn prefill_chunk(kernel: Kernel, kind: Kind, raw: &[u8], acts: &KActs, dims: Dims, dst: OutBlock) {
    match kernel {
        Kernel::Scalar => prefill_scalar(&widen(kind, raw, dims), acts, dims, dst),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: Kernel::Avx2 is only chosen when avx2, fma and f16c were detected.
        Kernel::Avx2 => unsafe { avx2::prefill_chunk(&widen(kind, raw, dims), acts, dims, dst) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: Kernel::Avx512Vnni is only chosen when its features were detected.
        Kernel::Avx512Vnni => unsafe { vnni::prefill_chunk(kind, raw, acts, dims, dst) },
    }
}

/// Portable kernel, also the reference in the tests.
fn prefill_scalar(w: &Widened, acts: &KActs, dims: Dims, mut dst: OutBlock) {
    let Dims { k, nb, nsb, nh } = dims;
    for a in 0..acts.m {
        let qa = &acts.qs[a * k..(a + 1) * k];
        let ca = &acts.c[a * nh..(a + 1) * nh];
        for r in 0..w.rows {
            let qw = &w.q[r * k..(r + 1) * k];
            let sw = &w.s[r * nb * 16..(r + 1) * nb * 16];
            let mut sum = 0f32;
            for sb in 0..nsb {
                let mut isum = 0i32;
                for h in 16 * sb..16 * sb + 16 {
                    let dot: i32 = qw[16 * h..16 * h + 16]
                        .iter()
                        .zip(&qa[16 * h..16 * h + 16])
                        .map(|(&x, &y)| x as i32 * y as i32)
                        .sum();
                    isum += sw[8 * h] as i32 * dot;
                }
                sum += isum as f32 * (w.d[r * nsb + sb] * acts.d[a * nsb + sb]);
            }
            let ow = &w.o[r * nh..(r + 1) * nh];
            let corr: f32 = ow.iter().zip(ca).map(|(o, c)| o * c).sum();
            dst.set(a, r, sum - corr);
        }
    }
}

/// The tile driver, generated for each SIMD module: `$mr` x `$nr` tiles of weight x
/// activation rows, the module's `tile::<R, A>` doing one.
#[cfg(target_arch = "x86_64")]
macro_rules! prefill_driver {
    ($features:literal, $mr:literal, $nr:literal) => {
        use super::{Dims, KActs, OutBlock, Widened, QK, QK_K};
        use crate::kernels::simd::{for_each_tile, hsum_f32x8, Tiles};
        use std::arch::x86_64::*;

        /// Rows of values `q` (k apart), weight lane scales `s` (nb * 16 apart) or
        /// nothing for activations, super-block scales `d` (nsb apart), per-16 offsets
        /// or sums `o` (nh apart).
        #[derive(Clone, Copy)]
        struct Panel {
            q: *const i8,
            s: *const i16,
            d: *const f32,
            o: *const f32,
        }

        /// All rows of `w` against all activation rows, into the (m, rows) `dst`.
        ///
        /// # Safety
        /// The CPU must support the features of this module.
        #[target_feature(enable = $features)]
        pub(crate) unsafe fn prefill_chunk(
            w: &Widened,
            acts: &KActs,
            dims: Dims,
            mut dst: OutBlock,
        ) {
            const MR: usize = $mr;
            const NR: usize = $nr;
            let Dims { k, nb, nsb, nh } = dims;
            let (rows, m) = (w.rows, acts.m);
            assert!(dst.m() == m && dst.cols() == rows);
            assert!(nb * QK == k && nsb * QK_K == k && nh * 16 == k);
            assert!(w.q.len() == rows * k && w.s.len() == rows * nb * 16);
            assert!(w.d.len() == rows * nsb && w.o.len() == rows * nh);
            assert!(acts.qs.len() == m * k && acts.d.len() == m * nsb && acts.c.len() == m * nh);
            let tiles = KTiles {
                w,
                acts,
                dims,
                // SAFETY: (0, 0) is inside the block.
                out: unsafe { dst.at(0, 0) },
                stride: dst.stride(),
            };
            // SAFETY: the walk stays inside rows x m, which the panels and dst hold (asserts
            // above); the CPU features are this function's contract.
            unsafe { for_each_tile::<_, MR, NR>(&tiles, rows, m) };
        }

        /// The widened weights, activations and output of one prefill task, for the tile
        /// walk.
        struct KTiles<'a> {
            w: &'a Widened,
            acts: &'a KActs,
            dims: Dims,
            out: *mut f32,
            stride: usize,
        }

        impl Tiles for KTiles<'_> {
            #[inline]
            unsafe fn tile<const R: usize, const A: usize>(&self, r: usize, a: usize) {
                let Dims { k, nb, nsb, nh } = self.dims;
                let (w, acts) = (self.w, self.acts);
                // SAFETY: weight rows r..r + R and activation rows a..a + A exist, and so do
                // the (a.., r..) cells of the output; the CPU has this module's features
                // (the caller's contract).
                unsafe {
                    let wp = Panel {
                        q: w.q.as_ptr().add(r * k) as *const i8,
                        s: w.s.as_ptr().add(r * nb * 16),
                        d: w.d.as_ptr().add(r * nsb),
                        o: w.o.as_ptr().add(r * nh),
                    };
                    let ap = Panel {
                        q: acts.qs.as_ptr().add(a * k),
                        s: std::ptr::null(),
                        d: acts.d.as_ptr().add(a * nsb),
                        o: acts.c.as_ptr().add(a * nh),
                    };
                    tile::<R, A>(
                        wp,
                        ap,
                        self.dims,
                        self.out.add(a * self.stride + r),
                        self.stride,
                    )
                }
            }
        }

        /// `sum_h o_w[h] * c_a[h]` for the R x A tile, as eight-lane partial sums.
        ///
        /// # Safety
        /// As for `tile`.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn corrections<const R: usize, const A: usize>(
            w: Panel,
            a: Panel,
            nh: usize,
        ) -> [[__m256; A]; R] {
            let mut corr = [[_mm256_setzero_ps(); A]; R];
            // SAFETY: h + 8 <= nh (nh is a multiple of 16); rows per the caller.
            unsafe {
                for h in (0..nh).step_by(8) {
                    let mut ac = [_mm256_setzero_ps(); A];
                    for j in 0..A {
                        ac[j] = _mm256_loadu_ps(a.o.add(j * nh + h));
                    }
                    for i in 0..R {
                        let wo = _mm256_loadu_ps(w.o.add(i * nh + h));
                        for j in 0..A {
                            corr[i][j] = _mm256_fmadd_ps(wo, ac[j], corr[i][j]);
                        }
                    }
                }
            }
            corr
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    prefill_driver!("avx2,fma,f16c", 2, 2);

    /// `super::quantize_super_block`, bit-identical (`cvtps` rounds half to even under
    /// the default MXCSR, and `|x / d| <= 127` so the packs do not saturate).
    ///
    /// # Safety
    /// The CPU must support avx2.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(crate) unsafe fn quantize_super_block(x: &[f32], q: &mut [i8]) -> f32 {
        assert!(x.len() == QK_K && q.len() == QK_K);
        let sign = _mm256_set1_ps(-0.0);
        let mut m = _mm256_setzero_ps();
        // SAFETY: x holds 256 floats and q 256 bytes per the assert.
        unsafe {
            for i in (0..QK_K).step_by(8) {
                let v = _mm256_loadu_ps(x.as_ptr().add(i));
                m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v));
            }
            let m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps::<1>(m));
            let m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
            let m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
            let d = _mm_cvtss_f32(m4) / 127.0;
            let id = _mm256_set1_ps(if d != 0.0 { 1.0 / d } else { 0.0 });
            let perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
            for i in (0..QK_K).step_by(32) {
                let p = x.as_ptr().add(i);
                let v = [
                    _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(p), id)),
                    _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(p.add(8)), id)),
                    _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(p.add(16)), id)),
                    _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(p.add(24)), id)),
                ];
                let i16s = [
                    _mm256_packs_epi32(v[0], v[1]),
                    _mm256_packs_epi32(v[2], v[3]),
                ];
                let i8s = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(i16s[0], i16s[1]), perm);
                _mm256_storeu_si256(q.as_mut_ptr().add(i) as *mut __m256i, i8s);
            }
            d
        }
    }

    /// Weight rows `w[0..R]` times activation rows `a[0..A]` on 256-bit vectors (one
    /// block of 32 per step); writes `out[j * out_stride + i]`.
    ///
    /// # Safety
    /// Panels hold R / A rows; `out` is writable at every `j * out_stride + i`; the CPU
    /// supports avx2 and fma.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    #[allow(clippy::needless_range_loop)] // i and j index several arrays at once
    unsafe fn tile<const R: usize, const A: usize>(
        w: Panel,
        a: Panel,
        dims: Dims,
        out: *mut f32,
        out_stride: usize,
    ) {
        let Dims { k, nb, nsb, nh } = dims;
        let mut acc = [[_mm256_setzero_ps(); A]; R];
        // SAFETY: offsets stay below k bytes, nb * 16 lanes, nsb and nh floats per row,
        // per the caller's contract.
        unsafe {
            for sb in 0..nsb {
                let mut iacc = [[_mm256_setzero_si256(); A]; R];
                for b in 8 * sb..8 * sb + 8 {
                    let mut av = [_mm256_setzero_si256(); A];
                    for j in 0..A {
                        av[j] = _mm256_loadu_si256(a.q.add(j * k + b * QK) as *const __m256i);
                    }
                    for i in 0..R {
                        let wv = _mm256_loadu_si256(w.q.add(i * k + b * QK) as *const __m256i);
                        let sc = _mm256_loadu_si256(w.s.add((i * nb + b) * 16) as *const __m256i);
                        for j in 0..A {
                            let p = _mm256_madd_epi16(_mm256_maddubs_epi16(wv, av[j]), sc);
                            iacc[i][j] = _mm256_add_epi32(iacc[i][j], p);
                        }
                    }
                }
                for i in 0..R {
                    let wd = *w.d.add(i * nsb + sb);
                    for j in 0..A {
                        let s = _mm256_set1_ps(wd * *a.d.add(j * nsb + sb));
                        acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(iacc[i][j]), s, acc[i][j]);
                    }
                }
            }
            let corr = corrections::<R, A>(w, a, nh);
            for i in 0..R {
                for j in 0..A {
                    *out.add(j * out_stride + i) = hsum_f32x8(_mm256_sub_ps(acc[i][j], corr[i][j]));
                }
            }
        }
    }
}

/// AVX-512 VNNI: the chunk's 16 weight rows are transposed so that one 512-bit vector
/// holds four consecutive values of each of the 16 rows, and `vpdpbusd` against four
/// activation bytes broadcast to all lanes adds 64 products into one i32 lane per row
/// (candle's own layout for its k-quant tiles). Scales then apply per 16 (Q6_K) or 32
/// (Q4_K) values in float, one vector for 16 rows, with the super-block's activation
/// scale applied once per 256 values.
#[cfg(target_arch = "x86_64")]
mod vnni {
    use super::{widen_q4k, widen_q6k, Dims, KActs, Kind, OutBlock, QK_K};
    use std::arch::x86_64::*;

    /// Weight rows per transposed tile (lanes of a 512-bit vector of i32 / f32).
    const TN: usize = 16;
    /// Activation rows per register tile.
    const MT: usize = 8;

    /// 16 weight rows, transposed (rows past the chunk's are zero).
    #[derive(Default)]
    struct Transposed {
        /// `[k / 4][16 rows]` groups of four values (little-endian u32).
        q: Vec<u32>,
        /// `[k / step][16 rows]` float scales (`d * sc`).
        s: Vec<f32>,
        /// `[k / step][16 rows]` offsets.
        o: Vec<f32>,
    }

    std::thread_local! {
        /// Per-thread buffers, reused across calls (no allocation or page faults per
        /// chunk).
        static SCRATCH: std::cell::RefCell<Transposed> = Default::default();
    }

    /// Widens and transposes up to 16 rows of raw super-blocks into `t`.
    ///
    /// # Safety
    /// The CPU must support avx512f.
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    unsafe fn transpose(kind: Kind, raw: &[u8], dims: Dims, step: usize, t: &mut Transposed) {
        let Dims { k, nsb, .. } = dims;
        let bb = kind.block_bytes();
        let rows = raw.len() / (nsb * bb);
        assert!(rows <= TN && raw.len() == rows * nsb * bb);
        let ns = k / step;
        for (v, len) in [(&mut t.s, ns * TN), (&mut t.o, ns * TN)] {
            v.clear();
            v.resize(len, 0.0);
        }
        t.q.clear();
        t.q.resize(k / 4 * TN, 0);
        // One super-block of each of the 16 rows (zero past `rows`).
        let mut q = [[0u8; QK_K]; TN];
        let (mut s, mut o) = ([0i16; 16], [0f32; 16]);
        let per_sb = QK_K / step;
        let rows_idx = _mm512_mullo_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32(QK_K as i32),
        );
        for sb in 0..nsb {
            for (r, qr) in q.iter_mut().enumerate().take(rows) {
                let blk = &raw[(r * nsb + sb) * bb..(r * nsb + sb + 1) * bb];
                let d = match kind {
                    Kind::Q4K => widen_q4k(blk, qr, &mut s, &mut o),
                    Kind::Q6K => widen_q6k(blk, qr, &mut s, &mut o),
                };
                for hh in 0..per_sb {
                    // First group of 16 values of the step.
                    let h16 = hh * step / 16;
                    let h = sb * per_sb + hh;
                    t.s[h * TN + r] = d * s[h16] as f32;
                    t.o[h * TN + r] = o[h16];
                }
            }
            let dst = &mut t.q[sb * 64 * TN..(sb + 1) * 64 * TN];
            let base = q.as_ptr() as *const i32;
            for (g, out) in dst.chunks_exact_mut(TN).enumerate() {
                let idx = _mm512_add_epi32(rows_idx, _mm512_set1_epi32(4 * g as i32));
                // SAFETY: byte offsets r * 256 + 4 * g (+4) stay inside `q`; `out` holds
                // 16 u32.
                unsafe {
                    let v = _mm512_i32gather_epi32::<1>(idx, base);
                    _mm512_storeu_si512(out.as_mut_ptr() as *mut _, v);
                }
            }
        }
    }

    /// The rows of `raw` against all activation rows, into the (m, rows) `dst`.
    ///
    /// # Safety
    /// The CPU must support avx512f, avx512bw, avx512vl, avx512vnni.
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    pub(crate) unsafe fn prefill_chunk(
        kind: Kind,
        raw: &[u8],
        acts: &KActs,
        dims: Dims,
        mut dst: OutBlock,
    ) {
        let Dims { k, nsb, nh, .. } = dims;
        let row_bytes = nsb * kind.block_bytes();
        let (rows, m) = (raw.len() / row_bytes, acts.m);
        let step = match kind {
            Kind::Q4K => 32,
            Kind::Q6K => 16,
        };
        assert!(raw.len() == rows * row_bytes);
        assert!(dst.m() == m && dst.cols() == rows);
        assert!(nsb * QK_K == k && nh * 16 == k);
        assert!(acts.qs.len() == m * k && acts.d.len() == m * nsb && acts.c.len() == m * nh);
        let stride = dst.stride();
        SCRATCH.with_borrow_mut(|t| {
            for r0 in (0..rows).step_by(TN) {
                let nr = (rows - r0).min(TN);
                // SAFETY: the CPU features are this function's contract.
                unsafe { transpose(kind, &raw[r0 * row_bytes..(r0 + nr) * row_bytes], dims, step, t) };
                let mask: __mmask16 = if nr == TN { 0xFFFF } else { (1u16 << nr) - 1 };
                let mut a = 0;
                while a < m {
                    let na = (m - a).min(MT);
                    // SAFETY: activation rows a..a+na exist (assert above), the tile's
                    // outputs are columns r0.. of those rows, masked to the chunk's rows;
                    // the CPU features are this function's contract.
                    unsafe {
                        let out = dst.at(a, r0);
                        macro_rules! go {
                            ($($n:literal)*) => {
                                match (step, na) {
                                    $((16, $n) => tile::<$n, 16>(t, acts, a, dims, out, stride, mask),)*
                                    $((_, $n) => tile::<$n, 32>(t, acts, a, dims, out, stride, mask),)*
                                    _ => unreachable!(),
                                }
                            };
                        }
                        go!(1 2 3 4 5 6 7 8);
                    }
                    a += na;
                }
            }
        });
    }

    /// 16 transposed weight rows times activation rows `a0..a0 + A`, `STEP` values per
    /// weight scale.
    ///
    /// # Safety
    /// Activation rows `a0..a0 + A` exist; `out` is writable at `j * out_stride + i`
    /// for `j < A` and each lane `i` set in `mask`; the CPU supports the features.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    unsafe fn tile<const A: usize, const STEP: usize>(
        t: &Transposed,
        acts: &KActs,
        a0: usize,
        dims: Dims,
        out: *mut f32,
        out_stride: usize,
        mask: __mmask16,
    ) {
        let Dims { k, nsb, nh, .. } = dims;
        let mut acc = [_mm512_setzero_ps(); A];
        // SAFETY: per row, h * STEP + STEP <= k (values), h < k / STEP (scales and
        // offsets), sb < nsb, c indices < nh; rows per the caller's contract.
        unsafe {
            let mut rows = [acts.qs.as_ptr(); A];
            for (j, r) in rows.iter_mut().enumerate() {
                *r = acts.qs.as_ptr().add((a0 + j) * k);
            }
            for sb in 0..nsb {
                let mut accsb = [_mm512_setzero_ps(); A];
                for h in sb * (QK_K / STEP)..(sb + 1) * (QK_K / STEP) {
                    let mut isum = [_mm512_setzero_si512(); A];
                    let wq = t.q.as_ptr().add(h * STEP / 4 * TN);
                    for g in 0..STEP / 4 {
                        let wv = _mm512_loadu_si512(wq.add(g * TN) as *const _);
                        for j in 0..A {
                            let p = rows[j].add(h * STEP + 4 * g) as *const i32;
                            let x = _mm512_set1_epi32(std::ptr::read_unaligned(p));
                            isum[j] = _mm512_dpbusd_epi32(isum[j], wv, x);
                        }
                    }
                    let sv = _mm512_loadu_ps(t.s.as_ptr().add(h * TN));
                    let ov = _mm512_loadu_ps(t.o.as_ptr().add(h * TN));
                    for j in 0..A {
                        accsb[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[j]), sv, accsb[j]);
                        let c = acts.c.as_ptr().add((a0 + j) * nh + h * STEP / 16);
                        let cs = if STEP == 16 { *c } else { *c + *c.add(1) };
                        acc[j] = _mm512_fnmadd_ps(ov, _mm512_set1_ps(cs), acc[j]);
                    }
                }
                for j in 0..A {
                    let da = _mm512_set1_ps(acts.d[(a0 + j) * nsb + sb]);
                    acc[j] = _mm512_fmadd_ps(accsb[j], da, acc[j]);
                }
            }
            for (j, v) in acc.iter().enumerate() {
                _mm512_mask_storeu_ps(out.add(j * out_stride), mask, *v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_values::lcg_values;
    use super::*;
    use candle_core::quantized::QMatMul;
    use candle_core::Module;

    fn weight(n: usize, k: usize, seed: u64, dtype: GgmlDType) -> Result<QTensor> {
        let w = Tensor::from_vec(lcg_values(n * k, seed), (n, k), &Device::Cpu)?;
        QTensor::quantize(&w, dtype)
    }

    fn rel_max_err(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-30);
        let err = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        err / scale
    }

    /// Like `lcg_values`, with every 61st value 25x larger, like the outlier channels of
    /// real activations (which is where per-32 activation scales pay off).
    fn acts_with_outliers(n: usize, seed: u64) -> Vec<f32> {
        let mut v = lcg_values(n, seed);
        v.iter_mut().step_by(61).for_each(|x| *x *= 25.0);
        v
    }

    /// Root mean square of `a - b` relative to that of `b`.
    fn rel_rms_err(a: &[f32], b: &[f32]) -> f64 {
        assert_eq!(a.len(), b.len());
        let e: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
        let r: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
        (e / r.max(1e-30)).sqrt()
    }

    fn to_vec(t: &Tensor) -> Result<Vec<f32>> {
        t.flatten_all()?.to_vec1::<f32>()
    }

    const DTYPES: [GgmlDType; 2] = [GgmlDType::Q4K, GgmlDType::Q6K];
    /// (k, n): n not a multiple of the task chunk nor of the 4-row tile.
    const SHAPES: [(usize, usize); 2] = [(512, 70), (1280, 37)];
    const MS: [usize; 4] = [1, 3, 17, 130];

    #[test]
    fn widen_matches_candle_dequantize() -> Result<()> {
        for dtype in DTYPES {
            let (n, k) = (5, 512);
            let qt = weight(n, k, 3, dtype)?;
            let lin = KLinear::from_qtensor(&qt, &KernelOptions::default())?;
            let want = to_vec(&qt.dequantize(&Device::Cpu)?)?;
            let dims = Dims::new(k);
            let w = widen(lin.kind, &qt.data()?, dims);
            let (nb, nsb, nh) = (dims.nb, dims.nsb, dims.nh);
            for r in 0..n {
                for i in 0..k {
                    // Lane 8 * (i / 16 % 2) of block i / 32.
                    let sc = w.s[(r * nb + i / QK) * 16 + 8 * (i / 16 % 2)] as f32;
                    let s = w.d[r * nsb + i / QK_K] * sc;
                    let got = s * w.q[r * k + i] as f32 - w.o[r * nh + i / 16];
                    let exp = want[r * k + i];
                    assert!(
                        (got - exp).abs() <= 1e-6 * exp.abs().max(1.0),
                        "{dtype:?} row {r} col {i}: {got} vs {exp}"
                    );
                }
            }
        }
        Ok(())
    }

    #[test]
    fn kquant_matches_candle_and_f32() -> Result<()> {
        for dtype in DTYPES {
            for (si, &(k, n)) in SHAPES.iter().enumerate() {
                let qt = weight(n, k, 17 + si as u64, dtype)?;
                let lin = KLinear::from_qtensor(&qt, &KernelOptions::default())?;
                let wf = qt.dequantize(&Device::Cpu)?;
                let candle = QMatMul::from_qtensor(qt)?;
                for &m in &MS {
                    let xs = Tensor::from_vec(
                        acts_with_outliers(m * k, 1000 + m as u64),
                        (1, m, k),
                        &Device::Cpu,
                    )?;
                    let exact = to_vec(&xs.matmul(&wf.t()?.unsqueeze(0)?)?)?;
                    let want = candle.forward(&xs)?;
                    let want_v = to_vec(&want)?;
                    let candle_err = rel_rms_err(&want_v, &exact);
                    let got = lin.forward(&xs)?;
                    assert_eq!(got.dims(), want.dims());
                    let err = rel_max_err(&to_vec(&got)?, &want_v);
                    assert!(err < 5e-2, "{dtype:?} k={k} n={n} m={m}: vs candle {err}");
                    for kernel in Kernel::runnable() {
                        let got = to_vec(&lin.forward_with(&xs, Some(kernel))?)?;
                        let err = rel_max_err(&got, &want_v);
                        let f32_err = rel_rms_err(&got, &exact);
                        eprintln!(
                            "{dtype:?} k={k} n={n} m={m} {kernel:?}: vs candle {err:.2e}, \
                             rms vs f32 {f32_err:.2e} (candle: {candle_err:.2e})"
                        );
                        assert!(err < 5e-2, "{dtype:?} k={k} n={n} m={m} {kernel:?}: {err}");
                        // Activations per 256 like candle's Q8_K (ours: amax / 127,
                        // candle's: -128 / signed max), so as close to f32 up to noise
                        // (root mean square over all outputs; the max is noisier).
                        assert!(
                            f32_err <= 1.02 * candle_err,
                            "{dtype:?} k={k} n={n} m={m} {kernel:?}: {f32_err} > {candle_err}"
                        );
                    }
                }
            }
        }
        Ok(())
    }

    #[test]
    fn kquant_simd_matches_scalar() -> Result<()> {
        // Activation quantization is bit-identical, including ties and all-zero blocks.
        let mut x = acts_with_outliers(4 * QK_K, 5);
        x[..QK_K].iter_mut().for_each(|v| *v = 0.0);
        for (i, v) in x[QK_K..2 * QK_K].iter_mut().enumerate() {
            *v = (i as f32 - 127.0) * 0.5;
        }
        for kernel in Kernel::runnable() {
            let a = quantize_acts(&x, 2, Dims::new(2 * QK_K), kernel);
            let b = quantize_acts(&x, 2, Dims::new(2 * QK_K), Kernel::Scalar);
            assert_eq!(a.qs, b.qs, "{kernel:?}");
            assert_eq!(a.d, b.d, "{kernel:?}");
            assert_eq!(a.c, b.c, "{kernel:?}");
        }
        for dtype in DTYPES {
            for &(k, n, m) in &[(256, 1, 1), (256, 37, 3), (768, 70, 5), (4864, 33, 18)] {
                let qt = weight(n, k, 99, dtype)?;
                let lin = KLinear::from_qtensor(&qt, &KernelOptions::default())?;
                let xs = Tensor::from_vec(lcg_values(m * k, 3), (m, k), &Device::Cpu)?;
                let b = to_vec(&lin.forward_with(&xs, Some(Kernel::Scalar))?)?;
                for kernel in Kernel::runnable() {
                    let a = to_vec(&lin.forward_with(&xs, Some(kernel))?)?;
                    let err = rel_max_err(&a, &b);
                    eprintln!("{dtype:?} {kernel:?} vs scalar k={k} n={n} m={m}: {err:.2e}");
                    assert!(err < 1e-5, "{dtype:?} {kernel:?} k={k} n={n} m={m}: {err}");
                }
            }
        }
        Ok(())
    }

    #[test]
    fn kquant_independent_of_thread_count() -> Result<()> {
        for dtype in DTYPES {
            let (k, n, m) = (1024, 70, 150);
            let lin = KLinear::from_qtensor(&weight(n, k, 7, dtype)?, &KernelOptions::default())?;
            let xs = Tensor::from_vec(acts_with_outliers(m * k, 8), (m, k), &Device::Cpu)?;
            let run = |threads: usize| -> Result<Vec<f32>> {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .map_err(candle_core::Error::wrap)?;
                pool.install(|| to_vec(&lin.forward_with(&xs, Some(Kernel::detected()))?))
            };
            let one = run(1)?;
            for threads in [2, 3] {
                assert!(run(threads)? == one, "{dtype:?}: {threads} threads differ");
            }
        }
        Ok(())
    }

    #[test]
    fn kquant_shapes_and_errors() -> Result<()> {
        let w = Tensor::from_vec(lcg_values(256 * 32, 1), (32, 256), &Device::Cpu)?;
        let q8 = QTensor::quantize(&w, GgmlDType::Q8_0)?;
        assert!(KLinear::from_qtensor(&q8, &KernelOptions::default()).is_err());
        let q3 = QTensor::quantize(&w.reshape((2, 16, 256))?, GgmlDType::Q4K)?;
        assert!(KLinear::from_qtensor(&q3, &KernelOptions::default()).is_err());
        for dtype in DTYPES {
            let lin =
                KLinear::from_qtensor(&QTensor::quantize(&w, dtype)?, &KernelOptions::default())?;
            assert_eq!((lin.n_out(), lin.k()), (32, 256));
            for lead in [vec![2, 3], vec![1, 1], vec![4]] {
                let m: usize = lead.iter().product();
                let mut shape = lead.clone();
                shape.push(256);
                let xs = Tensor::from_vec(lcg_values(m * 256, 2), shape, &Device::Cpu)?;
                let mut out = lead.clone();
                out.push(32);
                assert_eq!(lin.forward(&xs)?.dims(), &out[..]);
            }
            let bad = Tensor::zeros((1, 255), DType::F32, &Device::Cpu)?;
            assert!(lin.forward(&bad).is_err());
        }
        Ok(())
    }
}
