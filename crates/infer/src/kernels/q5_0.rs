//! Q5_0 weight matrices kept at 22 bytes per block of 32 and multiplied on the CPU
//! against activations quantized to Q8_0.
//!
//! candle 0.11.1 only has a scalar Q5_0·Q8_0 dot product on x86, so the generator used to
//! widen Q5_0 to Q8_0 (34 bytes per block) at load. Decoding one token is a
//! matrix-vector product bound by memory bandwidth, so keeping 22-byte blocks reads
//! 1.5x fewer bytes.
//!
//! Layout: each weight row keeps exactly its Q5_0 bytes, but regrouped at load as
//! `[qs of all blocks (16 B each)][qh of all blocks (4 B each)][d of all blocks (f16)]`,
//! so that eight f16 scales convert with one instruction.
//!
//! Kernels, chosen once at run time:
//! - `Avx2` (avx2 + fma + f16c): ggml's `ggml_vec_dot_q5_0_q8_0` AVX2 scheme
//!   (`bytes_from_nibbles_32`, `bytes_from_bits_32`, `maddubs` + `madd`, `fmadd` with the
//!   product of the two scales), except that the weight stays unsigned (`q` in `0..32`)
//!   so no `sign` instructions are needed: the `-16` offset is applied once per row as
//!   `sum_b d_w[b] * 16 * d_a[b] * sum(q_a[b])`, eight blocks per `fmadd`.
//! - `Avx512Vnni` (adds avx512f/bw/vl/vnni): the same on 256-bit vectors, with the `qh`
//!   bits applied through a mask register and `vpdpbusd` for the byte dot product.
//! - `Scalar`: portable fallback, also the reference in the tests.
//!
//! Work split (rayon global pool):
//! - `m == 1` (decoding): chunks of weight rows, each row dotted straight from its blocks
//!   (first pass: the eight-at-a-time scale products and the `-16` correction; second
//!   pass: the byte dot products), with a software prefetch 4 KiB ahead because a row is
//!   read as three short streams.
//! - `m > 1` (prefill): each task widens a chunk of weight rows to bytes once, then runs
//!   a register-tiled kernel (4 weight rows x 2 activation rows) over all activation rows,
//!   so a weight row is read once per call.
//!
//! Activations are quantized to Q8_0 exactly as candle's `BlockQ8_0::from_float` does
//! (`amax / 127`, `round` half away from zero, scale stored as f16), so results match
//! `QMatMul::forward` on the same Q5_0 tensor up to the order of the float sums.

use super::cpu_tensor::linear_forward;
use super::options::KernelOptions;
use super::simd::{Kernel, OutBlock, OutPtr};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Result, Tensor};
use half::f16;
use rayon::prelude::*;

/// Values per Q5_0 / Q8_0 block.
const QK: usize = 32;
/// Bytes per Q5_0 block: f16 `d`, u32 `qh`, 16 bytes of nibbles.
const Q5_0_BYTES: usize = 22;
/// Weight rows per rayon task when decoding (`m == 1`).
const DECODE_ROWS: usize = 32;
/// Weight matrices smaller than this are decoded on the calling thread.
const SERIAL_BYTES: usize = 128 * 1024;
/// How far ahead (in bytes of weights) decoding prefetches.
pub(crate) const PREFETCH_BYTES: usize = 4096;
/// Weight rows per rayon task for `m > 1`.
const PREFILL_ROWS: usize = 32;

/// A Q5_0 weight matrix of shape `(n_out, k)`, used as `xs @ W^T`.
#[derive(Debug, Clone)]
pub struct Q5Linear {
    /// `n_out` rows of `nb * 22` bytes, each regrouped as qs | qh | d (see module docs).
    data: Vec<u8>,
    n_out: usize,
    k: usize,
    /// The kernel `forward` runs, resolved at load from the options and the CPU.
    kernel: Kernel,
    /// AMX tiles for prefill (options allow it, the CPU has it, the kernel is AVX-512 VNNI).
    amx: bool,
}

/// Exact conversion of a Q5_0 tensor to Q8_0 (same block size 32, same scale): comparison
/// only.
#[cfg(feature = "compare")]
pub fn q5_0_to_q8_0(t: &QTensor) -> Result<QTensor> {
    use candle_core::quantized::QStorage;
    const Q8_0_BYTES: usize = 34; // f16 d, 32 i8
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

/// Activation rows quantized to Q8_0, with the scales widened to f32.
#[derive(Debug, Default)]
pub(crate) struct QActs {
    /// `m * k` quantized values.
    qs: Vec<i8>,
    /// `m * nbp` scales (the f16-rounded `d` of each block), zero padded.
    d: Vec<f32>,
    /// `m * nbp` values `16 * d * sum(qs of the block)`, zero padded.
    c: Vec<f32>,
    /// Blocks per row padded to a multiple of 8.
    nbp: usize,
}

impl Q5Linear {
    /// Takes the blocks of a 2-D Q5_0 tensor of shape `(n_out, k)`, to be run at the tier
    /// `opts` allow on this CPU.
    pub fn from_qtensor(t: &QTensor, opts: &KernelOptions) -> Result<Q5Linear> {
        if t.dtype() != GgmlDType::Q5_0 {
            candle_core::bail!("Q5Linear needs a Q5_0 tensor, got {:?}", t.dtype())
        }
        let (n_out, k) = match t.shape().dims() {
            &[n_out, k] => (n_out, k),
            dims => candle_core::bail!("Q5Linear needs a 2-D tensor, got shape {dims:?}"),
        };
        if !k.is_multiple_of(QK) {
            candle_core::bail!("Q5Linear: row length {k} is not a multiple of {QK}")
        }
        let raw = t.data()?;
        let nb = k / QK;
        let expected = n_out * nb * Q5_0_BYTES;
        if raw.len() != expected {
            candle_core::bail!(
                "Q5Linear: {} bytes for shape ({n_out}, {k}), expected {expected}",
                raw.len()
            )
        }
        let mut data = vec![0u8; expected];
        for (src, dst) in raw
            .chunks_exact(nb * Q5_0_BYTES)
            .zip(data.chunks_exact_mut(nb * Q5_0_BYTES))
        {
            let (qs, rest) = dst.split_at_mut(nb * 16);
            let (qh, d) = rest.split_at_mut(nb * 4);
            for (b, blk) in src.chunks_exact(Q5_0_BYTES).enumerate() {
                d[2 * b..2 * b + 2].copy_from_slice(&blk[0..2]);
                qh[4 * b..4 * b + 4].copy_from_slice(&blk[2..6]);
                qs[16 * b..16 * b + 16].copy_from_slice(&blk[6..22]);
            }
        }
        Ok(Q5Linear {
            data,
            n_out,
            k,
            kernel: opts.kernel(),
            amx: opts.uses_amx(),
        })
    }

    /// Number of output features (rows of W).
    pub fn n_out(&self) -> usize {
        self.n_out
    }

    /// Number of input features (columns of W).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Bytes of Q5_0 weight data (22 per block of 32).
    pub fn weight_bytes(&self) -> usize {
        self.data.len()
    }

    /// `xs @ W^T` for f32 `xs` of shape `(..., k)`; the result has shape `(..., n_out)`.
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        self.forward_with(xs, self.kernel)
    }

    fn forward_with(&self, xs: &Tensor, kernel: Kernel) -> Result<Tensor> {
        linear_forward(xs, self.k, self.n_out, "Q5Linear", |x, m| {
            Ok(self.matmul(x, m, kernel))
        })
    }

    /// `x` is `m` rows of `k`; returns `m` rows of `n_out`.
    fn matmul(&self, x: &[f32], m: usize, kernel: Kernel) -> Vec<f32> {
        let (n, k) = (self.n_out, self.k);
        if m == 0 || n == 0 || k == 0 {
            return vec![0f32; m * n];
        }
        let acts = quantize_acts(x, m, k, kernel);
        let row_bytes = k / QK * Q5_0_BYTES;
        if m == 1 {
            let mut out = vec![0f32; n];
            let decode = |(c, dst): (usize, &mut [f32])| {
                self.decode_rows(&acts, c * DECODE_ROWS, dst, kernel)
            };
            // Small matrices (k/v projections) are not worth waking the pool for.
            if self.data.len() < SERIAL_BYTES {
                out.chunks_mut(DECODE_ROWS).enumerate().for_each(decode);
            } else {
                out.par_chunks_mut(DECODE_ROWS).enumerate().for_each(decode);
            }
            return out;
        }
        // Each task owns PREFILL_ROWS weight rows, i.e. PREFILL_ROWS columns of the
        // row-major (m, n) output, and writes them for all m activation rows.
        let mut out: Vec<f32> = Vec::with_capacity(m * n);
        let dst = OutPtr::spare(&mut out, m * n);
        // AMX tiles (see `super::amx`) when allowed and there is at least one full tile of
        // activation rows; the activations are packed once for all tasks.
        #[cfg(target_arch = "x86_64")]
        let amx_acts = (self.amx
            && kernel == Kernel::Avx512Vnni
            && m >= super::amx::TILE
            && n % super::amx::TILE == 0)
            .then(|| super::amx::pack_acts(&acts.qs, &acts.d, &acts.c, acts.nbp, m, k));
        (0..n.div_ceil(PREFILL_ROWS)).into_par_iter().for_each(|c| {
            let r0 = c * PREFILL_ROWS;
            let rows = PREFILL_ROWS.min(n - r0);
            let w = &self.data[r0 * row_bytes..(r0 + rows) * row_bytes];
            // SAFETY: the buffer holds m * n floats; this task writes only columns
            // r0..r0 + rows of each of the m rows, and no other task writes them.
            let mut out = unsafe { OutBlock::new(dst, m, n, r0, rows) };
            #[cfg(target_arch = "x86_64")]
            if let Some(packed) = &amx_acts {
                // SAFETY: AMX was found supported when `self.amx` was set; the block is m
                // rows of `rows` columns at stride n, all of which gemm_q5_0 writes (rows is
                // a multiple of 16 because PREFILL_ROWS and n are).
                unsafe { amx_prefill::gemm_q5_0(w, rows, k, packed, out.at(0, 0), n) };
                return;
            }
            prefill_chunk(kernel, w, rows, k, &acts, m, out);
        });
        // SAFETY: the chunks cover columns 0..n and each prefill_chunk writes all m rows of
        // its columns (every (activation row, weight row) pair is one tile cell), so all
        // m * n floats are initialized; a panic in a task propagates before this line.
        unsafe { out.set_len(m * n) };
        out
    }
}

impl Q5Linear {
    /// Rows `r0..r0 + out.len()` of `W x` for the one activation row of `acts`, on the
    /// calling thread (decoding).
    pub(crate) fn decode_rows(&self, acts: &QActs, r0: usize, out: &mut [f32], kernel: Kernel) {
        let row_bytes = self.k / QK * Q5_0_BYTES;
        let w = &self.data[r0 * row_bytes..(r0 + out.len()) * row_bytes];
        // The scale products of one row: on the stack for rows of up to 8,192 values.
        let mut stack = [0f32; 256];
        let mut heap = Vec::new();
        let scratch: &mut [f32] = if acts.nbp <= stack.len() {
            &mut stack[..acts.nbp]
        } else {
            heap.resize(acts.nbp, 0f32);
            &mut heap
        };
        // Each row is read as three short streams (qs, qh, d), too short for the hardware
        // prefetcher to lock on: prefetch rows PREFETCH_BYTES ahead, all of the range's rows
        // being contiguous.
        let ahead = PREFETCH_BYTES.div_ceil(row_bytes);
        for (i, (o, wr)) in out.iter_mut().zip(w.chunks_exact(row_bytes)).enumerate() {
            if let Some(next) = w.get((i + ahead) * row_bytes..(i + ahead + 1) * row_bytes) {
                prefetch(next);
            }
            *o = dot_row(kernel, wr, acts, scratch);
        }
    }
}

impl QActs {
    /// The quantized values, `m * k`.
    pub(crate) fn qs(&self) -> &[i8] {
        &self.qs
    }

    /// The f16-rounded scale of each block (rows `nbp` apart).
    pub(crate) fn d(&self) -> &[f32] {
        &self.d
    }
}

/// Quantizes one row `x` into `acts` (its buffers reused), as [`quantize_acts`] does.
pub(crate) fn quantize_acts_into(x: &[f32], kernel: Kernel, acts: &mut QActs) -> Result<()> {
    let k = x.len();
    if !k.is_multiple_of(QK) {
        candle_core::bail!("Q5Linear: row length {k} is not a multiple of {QK}")
    }
    let nb = k / QK;
    acts.nbp = nb.div_ceil(8) * 8;
    acts.qs.clear();
    acts.qs.resize(k, 0);
    acts.d.clear();
    acts.d.resize(acts.nbp, 0.0);
    acts.c.clear();
    acts.c.resize(acts.nbp, 0.0);
    for (b, (xb, qb)) in x
        .chunks_exact(QK)
        .zip(acts.qs.chunks_exact_mut(QK))
        .enumerate()
    {
        let (d, sum) = quantize_block(kernel, xb, qb);
        acts.d[b] = d;
        acts.c[b] = 16.0 * d * sum as f32;
    }
    Ok(())
}

/// Quantizes `m` rows of `k` values to Q8_0 as candle's `BlockQ8_0::from_float` does.
fn quantize_acts(x: &[f32], m: usize, k: usize, kernel: Kernel) -> QActs {
    let nb = k / QK;
    let nbp = nb.div_ceil(8) * 8;
    let mut acts = QActs {
        qs: vec![0i8; m * k],
        d: vec![0f32; m * nbp],
        c: vec![0f32; m * nbp],
        nbp,
    };
    type Row<'a> = ((&'a [f32], &'a mut [i8]), (&'a mut [f32], &'a mut [f32]));
    let quantize = |((xr, qr), (dr, cr)): Row| {
        for (b, (xb, qb)) in xr.chunks_exact(QK).zip(qr.chunks_exact_mut(QK)).enumerate() {
            let (d, sum) = quantize_block(kernel, xb, qb);
            dr[b] = d;
            cr[b] = 16.0 * d * sum as f32;
        }
    };
    if m * k >= 1 << 16 {
        x.par_chunks(k)
            .zip(acts.qs.par_chunks_mut(k))
            .zip(acts.d.par_chunks_mut(nbp).zip(acts.c.par_chunks_mut(nbp)))
            .for_each(quantize);
    } else {
        x.chunks(k)
            .zip(acts.qs.chunks_mut(k))
            .zip(acts.d.chunks_mut(nbp).zip(acts.c.chunks_mut(nbp)))
            .for_each(quantize);
    }
    acts
}

/// One Q8_0 block; returns the f16-rounded scale and the sum of the quantized values.
pub(crate) fn quantize_block(kernel: Kernel, x: &[f32], q: &mut [i8]) -> (f32, i32) {
    match kernel {
        Kernel::Scalar => quantize_block_scalar(x, q),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: these kernels are only chosen when avx2, fma and f16c were detected.
        Kernel::Avx2 | Kernel::Avx512Vnni => unsafe { avx2::quantize_block(x, q) },
    }
}

fn quantize_block_scalar(x: &[f32], q: &mut [i8]) -> (f32, i32) {
    let amax = x.iter().fold(0f32, |a, &v| a.max(v.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let mut sum = 0i32;
    for (q, &v) in q.iter_mut().zip(x) {
        *q = f32::round(v * id) as i8;
        sum += *q as i32;
    }
    (f16::from_f32(d).to_f32(), sum)
}

/// Dot product of one weight row with the single activation row of `acts`.
/// Asks for every cache line of `bytes` to be brought into the caches.
#[inline]
pub(crate) fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for off in (0..bytes.len()).step_by(64) {
        // SAFETY: prefetching is only a hint; the address lies inside `bytes`.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                bytes.as_ptr().add(off) as *const i8,
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// `scratch` holds at least `acts.nbp` floats.
fn dot_row(kernel: Kernel, w: &[u8], acts: &QActs, scratch: &mut [f32]) -> f32 {
    match kernel {
        Kernel::Scalar => dot_row_scalar(w, &acts.qs, &acts.d),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: Kernel::Avx2 is only chosen when avx2, fma and f16c were detected.
        Kernel::Avx2 => unsafe { avx2::dot_row(w, &acts.qs, &acts.d, &acts.c, scratch) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: Kernel::Avx512Vnni is only chosen when its features were detected.
        Kernel::Avx512Vnni => unsafe { vnni::dot_row(w, &acts.qs, &acts.d, &acts.c, scratch) },
    }
}

/// One regrouped weight row (see the module docs) as its three parts: the 16 nibble bytes
/// of every block, the 4 `qh` bytes of every block, and the f16 scales of every block.
pub(crate) fn row_parts(row: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let nb = row.len() / Q5_0_BYTES;
    let (qs, rest) = row.split_at(nb * 16);
    let (qh, d) = rest.split_at(nb * 4);
    (qs, qh, d)
}

/// The f16 scale of block `b` from a row's scale part, as f32.
pub(crate) fn block_scale(d: &[u8], b: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([d[2 * b], d[2 * b + 1]])).to_f32()
}

/// Scalar Q5_0 · Q8_0 over one regrouped weight row (same math as candle's
/// `vec_dot_unopt`).
fn dot_row_scalar(w: &[u8], qa: &[i8], da: &[f32]) -> f32 {
    let nb = w.len() / Q5_0_BYTES;
    let (qs, qh, d) = row_parts(w);
    let mut sumf = 0f32;
    for b in 0..nb {
        let dx = block_scale(d, b);
        let h = u32::from_le_bytes([qh[4 * b], qh[4 * b + 1], qh[4 * b + 2], qh[4 * b + 3]]);
        let nib = &qs[16 * b..16 * b + 16];
        let y = &qa[QK * b..QK * b + QK];
        let mut sumi = 0i32;
        for j in 0..QK / 2 {
            let h0 = (((h >> j) & 1) << 4) as u8;
            let h1 = (((h >> (j + 16)) & 1) << 4) as u8;
            let x0 = ((nib[j] & 0x0F) | h0) as i32 - 16;
            let x1 = ((nib[j] >> 4) | h1) as i32 - 16;
            sumi += x0 * y[j] as i32 + x1 * y[j + QK / 2] as i32;
        }
        sumf += sumi as f32 * dx * da[b];
    }
    sumf
}

/// `rows` weight rows (`w`) against all `m` activation rows, into the (m, rows) `dst`.
fn prefill_chunk(
    kernel: Kernel,
    w: &[u8],
    rows: usize,
    k: usize,
    acts: &QActs,
    m: usize,
    mut dst: OutBlock,
) {
    match kernel {
        Kernel::Scalar => {
            let row_bytes = w.len() / rows;
            for a in 0..m {
                let qa = &acts.qs[a * k..(a + 1) * k];
                let da = &acts.d[a * acts.nbp..(a + 1) * acts.nbp];
                for (r, wr) in w.chunks_exact(row_bytes).enumerate() {
                    dst.set(a, r, dot_row_scalar(wr, qa, da));
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: Kernel::Avx2 is only chosen when avx2, fma and f16c were detected.
        Kernel::Avx2 => unsafe { avx2::prefill_chunk(w, rows, k, acts, m, dst) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: Kernel::Avx512Vnni is only chosen when its features were detected.
        Kernel::Avx512Vnni => unsafe { vnni::prefill_chunk(w, rows, k, acts, m, dst) },
    }
}

/// Q5_0 prefill on AMX tiles (`super::amx`): the weight rows widened to bytes, then the
/// tile product.
#[cfg(target_arch = "x86_64")]
mod amx_prefill {
    use super::super::amx::{gemm, PackedActs, TILE};
    use super::{block_scale, row_parts, Q5_0_BYTES, QK};
    use std::arch::x86_64::*;

    /// Q5_0 weight rows in the regrouped layout (per row: 16-byte `qs` of every block, then
    /// 4-byte `qh` of every block, then f16 `d` of every block) times packed activations;
    /// writes `out[t * out_stride + r]` for `t < acts.m`, `r < rows`.
    ///
    /// # Safety
    /// As `amx::gemm`; `w` holds `rows` regrouped rows of `k / 32` blocks.
    pub(super) unsafe fn gemm_q5_0(
        w: &[u8],
        rows: usize,
        k: usize,
        acts: &PackedActs,
        out: *mut f32,
        out_stride: usize,
    ) {
        let nb = k / QK;
        let nbp = nb.div_ceil(8) * 8;
        let row_bytes = nb * Q5_0_BYTES;
        assert!(w.len() == rows * row_bytes && rows.is_multiple_of(TILE));
        let mut wq = vec![0u8; rows * k];
        let mut wd = vec![0f32; rows * nbp];
        for ((src, q), d) in w
            .chunks_exact(row_bytes)
            .zip(wq.chunks_exact_mut(k))
            .zip(wd.chunks_exact_mut(nbp))
        {
            let (qs, qh, ds) = row_parts(src);
            for b in 0..nb {
                d[b] = block_scale(ds, b);
                let bits =
                    u32::from_le_bytes([qh[4 * b], qh[4 * b + 1], qh[4 * b + 2], qh[4 * b + 3]]);
                // SAFETY: block b's 16 nibble bytes and its 32 output bytes are in bounds;
                // AVX-512 BW/VL are implied by `amx::supported()` (caller's contract).
                unsafe { widen_q5_0(qs.as_ptr().add(16 * b), bits, q.as_mut_ptr().add(QK * b)) };
            }
        }
        // SAFETY: forwarded to the caller; wq / wd have the sizes `gemm` asserts.
        unsafe { gemm(&wq, &wd, nbp, rows, k, acts, out, out_stride) }
    }

    /// One Q5_0 block to 32 unsigned values `q` in `0..32`: value `j < 16` is the low nibble
    /// of byte `j`, value `j + 16` its high nibble, and bit `i` of `qh` adds 16 to value `i`.
    ///
    /// # Safety
    /// 16 bytes readable at `qs`, 32 writable at `out`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn widen_q5_0(qs: *const u8, qh: u32, out: *mut u8) {
        // SAFETY: forwarded to the caller.
        unsafe {
            let b = _mm_loadu_si128(qs as *const __m128i);
            let low = _mm_set1_epi8(0x0F);
            let lo = _mm_and_si128(b, low);
            let hi = _mm_and_si128(_mm_srli_epi16::<4>(b), low);
            let v = _mm256_set_m128i(hi, lo);
            let v = _mm256_mask_add_epi8(v, qh, v, _mm256_set1_epi8(16));
            _mm256_storeu_si256(out as *mut __m256i, v);
        }
    }
}

/// Row-major bytes with per-block f32 values `d` (scales) and `c` (activation
/// corrections, unused for weights), all rows `k` bytes / `nbp` floats apart.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Panel {
    q: *const u8,
    d: *const f32,
    c: *const f32,
}

#[cfg(target_arch = "x86_64")]
impl Panel {
    /// # Safety
    /// Row `row` must exist in the panel.
    unsafe fn at(self, row: usize, k: usize, nbp: usize) -> Panel {
        // SAFETY: forwarded to the caller.
        unsafe {
            Panel {
                q: self.q.add(row * k),
                d: self.d.add(row * nbp),
                c: if self.c.is_null() {
                    self.c
                } else {
                    self.c.add(row * nbp)
                },
            }
        }
    }
}

/// The SIMD kernels, generated twice: `$expand` turns 16 nibble bytes and 4 `qh` bytes
/// into 32 unsigned values `q` in `0..32`, `$dot` is the 32-byte u8 x i8 dot product
/// into eight i32 lanes.
#[cfg(target_arch = "x86_64")]
macro_rules! simd_kernels {
    ($features:literal, $expand:path, $dot:path) => {
        use super::{OutBlock, Panel, QActs, Q5_0_BYTES, QK};
        use crate::kernels::simd::{for_each_tile, hsum_f32x8, Tiles};
        use std::arch::x86_64::*;

        /// Weight row (regrouped Q5_0) · Q8_0 activation row.
        ///
        /// # Safety
        /// The CPU must support the features of this module.
        #[target_feature(enable = $features)]
        pub(crate) unsafe fn dot_row(
            w: &[u8],
            qa: &[i8],
            da: &[f32],
            ca: &[f32],
            s: &mut [f32],
        ) -> f32 {
            let nb = w.len() / Q5_0_BYTES;
            let nbp = nb.div_ceil(8) * 8;
            assert!(qa.len() >= nb * QK && da.len() >= nbp && ca.len() >= nbp);
            assert!(s.len() >= nbp);

            let qs = w.as_ptr();
            let mut acc0 = _mm256_setzero_ps();
            let mut acc1 = _mm256_setzero_ps();
            let mut corr = _mm256_setzero_ps();
            // SAFETY: every block index stays below nb; da, ca and s are read below nbp.
            unsafe {
                let qh = qs.add(nb * 16);
                let d = qs.add(nb * 20);
                // Pass 1: s[b] = d_w[b] * d_a[b], and the -16 correction, 8 at a time.
                let mut b0 = 0;
                while b0 < nb {
                    let left = nb - b0;
                    let dw = if left >= 8 {
                        _mm256_cvtph_ps(_mm_loadu_si128(d.add(2 * b0) as *const __m128i))
                    } else {
                        let mut tmp = [0u16; 8];
                        std::ptr::copy_nonoverlapping(
                            d.add(2 * b0),
                            tmp.as_mut_ptr() as *mut u8,
                            2 * left,
                        );
                        _mm256_cvtph_ps(_mm_loadu_si128(tmp.as_ptr() as *const __m128i))
                    };
                    let da8 = _mm256_loadu_ps(da.as_ptr().add(b0));
                    _mm256_storeu_ps(s.as_mut_ptr().add(b0), _mm256_mul_ps(dw, da8));
                    let ca8 = _mm256_loadu_ps(ca.as_ptr().add(b0));
                    corr = _mm256_fmadd_ps(dw, ca8, corr);
                    b0 += 8;
                }
                // Pass 2: the byte dot products, four blocks per step, two accumulators.
                let mut t = 0;
                macro_rules! block {
                    ($t:expr, $acc:ident) => {{
                        let b = $t;
                        let q = $expand(qs.add(16 * b), qh.add(4 * b));
                        let y = _mm256_loadu_si256(qa.as_ptr().add(QK * b) as *const __m256i);
                        let p = _mm256_cvtepi32_ps($dot(q, y));
                        $acc = _mm256_fmadd_ps(p, _mm256_broadcast_ss(&*s.as_ptr().add($t)), $acc);
                    }};
                }
                while t + 4 <= nb {
                    block!(t, acc0);
                    block!(t + 1, acc1);
                    block!(t + 2, acc0);
                    block!(t + 3, acc1);
                    t += 4;
                }
                while t < nb {
                    block!(t, acc0);
                    t += 1;
                }
            }
            hsum_f32x8(_mm256_sub_ps(_mm256_add_ps(acc0, acc1), corr))
        }

        /// `rows` weight rows against all `m` activation rows, into the (m, rows) `dst`.
        ///
        /// # Safety
        /// The CPU must support the features of this module.
        #[target_feature(enable = $features)]
        pub(crate) unsafe fn prefill_chunk(
            w: &[u8],
            rows: usize,
            k: usize,
            acts: &QActs,
            m: usize,
            mut dst: OutBlock,
        ) {
            const MR: usize = 4;
            const NR: usize = 2;
            let nb = k / QK;
            let nbp = acts.nbp;
            let row_bytes = nb * Q5_0_BYTES;
            assert!(w.len() == rows * row_bytes && dst.m() == m && dst.cols() == rows);
            let stride = dst.stride();
            assert!(acts.qs.len() == m * k && acts.d.len() == m * nbp && acts.c.len() == m * nbp);
            // Widen the chunk once: q in 0..32 as bytes, scales as f32 (zero padded).
            let mut wq = vec![0u8; rows * k];
            let mut wd = vec![0f32; rows * nbp];
            for ((src, qrow), drow) in w
                .chunks_exact(row_bytes)
                .zip(wq.chunks_exact_mut(k))
                .zip(wd.chunks_exact_mut(nbp))
            {
                let (qs, qh, d) = super::row_parts(src);
                for b in 0..nb {
                    drow[b] = super::block_scale(d, b);
                    // SAFETY: block b lies inside qs / qh / qrow.
                    unsafe {
                        let q = $expand(qs.as_ptr().add(16 * b), qh.as_ptr().add(4 * b));
                        _mm256_storeu_si256(qrow.as_mut_ptr().add(QK * b) as *mut __m256i, q);
                    }
                }
            }
            let pw = Panel {
                q: wq.as_ptr(),
                d: wd.as_ptr(),
                c: std::ptr::null(),
            };
            let pa = Panel {
                q: acts.qs.as_ptr() as *const u8,
                d: acts.d.as_ptr(),
                c: acts.c.as_ptr(),
            };
            let tiles = Q5Tiles {
                w: pw,
                a: pa,
                k,
                nbp,
                nb,
                // SAFETY: (0, 0) is inside the block.
                out: unsafe { dst.at(0, 0) },
                stride,
            };
            // SAFETY: the walk stays inside rows x m, which the panels and dst hold (asserts
            // above); the CPU features are this function's contract.
            unsafe { for_each_tile::<_, MR, NR>(&tiles, rows, m) };
        }

        /// The panels and output of one prefill task, for the tile walk.
        struct Q5Tiles {
            w: Panel,
            a: Panel,
            k: usize,
            nbp: usize,
            nb: usize,
            out: *mut f32,
            stride: usize,
        }

        impl Tiles for Q5Tiles {
            #[inline]
            unsafe fn tile<const R: usize, const A: usize>(&self, r: usize, a: usize) {
                // SAFETY: rows r..r + R and a..a + A exist in the panels and the output, and
                // the CPU has this module's features (the caller's contract).
                unsafe {
                    tile::<R, A>(
                        self.w.at(r, self.k, self.nbp),
                        self.a.at(a, self.k, self.nbp),
                        self.k,
                        self.nbp,
                        self.nb,
                        self.out.add(a * self.stride + r),
                        self.stride,
                    )
                }
            }
        }

        /// Weight rows `w[0..R]` (q in 0..32) times activation rows `a[0..A]`;
        /// writes `out[j * out_stride + i]`.
        ///
        /// # Safety
        /// Panels hold R / A rows; `out` is writable at every `j * out_stride + i`; the
        /// CPU supports the features of this module.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn tile<const R: usize, const A: usize>(
            w: Panel,
            a: Panel,
            k: usize,
            nbp: usize,
            nb: usize,
            out: *mut f32,
            out_stride: usize,
        ) {
            let mut acc = [[_mm256_setzero_ps(); A]; R];
            // SAFETY: all offsets are below nb * 32 (bytes) / nbp (floats) per row.
            unsafe {
                for b in 0..nb {
                    let mut av = [_mm256_setzero_si256(); A];
                    let mut ad = [_mm256_setzero_ps(); A];
                    for j in 0..A {
                        av[j] = _mm256_loadu_si256(a.q.add(j * k + b * QK) as *const __m256i);
                        ad[j] = _mm256_set1_ps(*a.d.add(j * nbp + b));
                    }
                    for i in 0..R {
                        let wv = _mm256_loadu_si256(w.q.add(i * k + b * QK) as *const __m256i);
                        let wd = _mm256_set1_ps(*w.d.add(i * nbp + b));
                        for j in 0..A {
                            let p = _mm256_cvtepi32_ps($dot(wv, av[j]));
                            let s = _mm256_mul_ps(wd, ad[j]);
                            acc[i][j] = _mm256_fmadd_ps(p, s, acc[i][j]);
                        }
                    }
                }
                // q was used instead of q - 16: subtract sum_b d_w[b] * c_a[b].
                let mut corr = [[_mm256_setzero_ps(); A]; R];
                for b in (0..nbp).step_by(8) {
                    let mut ac = [_mm256_setzero_ps(); A];
                    for j in 0..A {
                        ac[j] = _mm256_loadu_ps(a.c.add(j * nbp + b));
                    }
                    for i in 0..R {
                        let wd = _mm256_loadu_ps(w.d.add(i * nbp + b));
                        for j in 0..A {
                            corr[i][j] = _mm256_fmadd_ps(wd, ac[j], corr[i][j]);
                        }
                    }
                }
                for i in 0..R {
                    for j in 0..A {
                        *out.add(j * out_stride + i) =
                            hsum_f32x8(_mm256_sub_ps(acc[i][j], corr[i][j]));
                    }
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    simd_kernels!("avx2,fma,f16c", expand, dot_u8_i8);

    /// ggml's `bytes_from_nibbles_32`: low nibbles of 16 bytes in bytes 0..16, high
    /// nibbles in bytes 16..32.
    ///
    /// # Safety
    /// `p` must point to 16 readable bytes.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(crate) unsafe fn bytes_from_nibbles_32(p: *const u8) -> __m256i {
        // SAFETY: forwarded to the caller.
        let tmp = unsafe { _mm_loadu_si128(p as *const __m128i) };
        let both = _mm256_broadcastsi128_si256(tmp);
        let bytes = _mm256_srlv_epi64(both, _mm256_setr_epi64x(0, 0, 4, 4));
        _mm256_and_si256(_mm256_set1_epi8(0x0F), bytes)
    }

    /// `bytes_from_nibbles_32` before the final `& 0x0F`.
    ///
    /// # Safety
    /// `p` must point to 16 readable bytes.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(crate) unsafe fn nibbles_unmasked_32(p: *const u8) -> __m256i {
        // SAFETY: forwarded to the caller.
        let tmp = unsafe { _mm_loadu_si128(p as *const __m128i) };
        _mm256_srlv_epi64(
            _mm256_broadcastsi128_si256(tmp),
            _mm256_setr_epi64x(0, 0, 4, 4),
        )
    }

    /// ggml's `bytes_from_bits_32`: byte j is 0xFF if bit j of the u32 at `p` is set.
    ///
    /// # Safety
    /// `p` must point to 4 readable bytes.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn bytes_from_bits_32(p: *const u8) -> __m256i {
        // SAFETY: forwarded to the caller.
        let x32 = unsafe { std::ptr::read_unaligned(p as *const u32) };
        let shuf = _mm256_set_epi64x(
            0x0303030303030303,
            0x0202020202020202,
            0x0101010101010101,
            0x0000000000000000,
        );
        let bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(x32 as i32), shuf);
        let bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
        _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1))
    }

    /// Unsigned 5-bit values `nibble | qh bit << 4` of one block.
    ///
    /// # Safety
    /// `qs` must point to 16 readable bytes and `qh` to 4.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn expand(qs: *const u8, qh: *const u8) -> __m256i {
        // SAFETY: forwarded to the caller.
        let (lo, hi) = unsafe { (bytes_from_nibbles_32(qs), bytes_from_bits_32(qh)) };
        _mm256_or_si256(lo, _mm256_and_si256(hi, _mm256_set1_epi8(0x10)))
    }

    /// u8 x i8 products summed in groups of four into eight i32 lanes (no overflow: the
    /// u8 side is below 32).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn dot_u8_i8(x: __m256i, y: __m256i) -> __m256i {
        _mm256_madd_epi16(_mm256_maddubs_epi16(x, y), _mm256_set1_epi16(1))
    }

    /// Q8_0 quantization of one block of 32, bit-identical to the scalar version
    /// (`f32::round` is half away from zero, done here as trunc + fix-up).
    ///
    /// # Safety
    /// The CPU must support avx2, fma and f16c.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(crate) unsafe fn quantize_block(x: &[f32], q: &mut [i8]) -> (f32, i32) {
        assert!(x.len() == QK && q.len() == QK);
        let sign = _mm256_set1_ps(-0.0);
        // SAFETY: x holds 32 floats per the assert.
        let v = unsafe {
            [
                _mm256_loadu_ps(x.as_ptr()),
                _mm256_loadu_ps(x.as_ptr().add(8)),
                _mm256_loadu_ps(x.as_ptr().add(16)),
                _mm256_loadu_ps(x.as_ptr().add(24)),
            ]
        };
        let mut amax = _mm256_setzero_ps();
        for &vi in &v {
            amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, vi));
        }
        let m4 = _mm_max_ps(
            _mm256_castps256_ps128(amax),
            _mm256_extractf128_ps::<1>(amax),
        );
        let m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        let m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        let amax = _mm_cvtss_f32(m4);
        let d = amax / 127.0;
        let id = _mm256_set1_ps(if d != 0.0 { 1.0 / d } else { 0.0 });
        let half = _mm256_set1_ps(0.5);
        let one = _mm256_set1_ps(1.0);
        let mut ints = [_mm256_setzero_si256(); 4];
        let mut sum = _mm256_setzero_si256();
        for (int, &vi) in ints.iter_mut().zip(&v) {
            let p = _mm256_mul_ps(vi, id);
            let t = _mm256_round_ps::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(p);
            let frac = _mm256_andnot_ps(sign, _mm256_sub_ps(p, t));
            let up = _mm256_cmp_ps::<_CMP_GE_OQ>(frac, half);
            let step = _mm256_and_ps(up, _mm256_or_ps(_mm256_and_ps(p, sign), one));
            *int = _mm256_cvttps_epi32(_mm256_add_ps(t, step));
            sum = _mm256_add_epi32(sum, *int);
        }
        let i16s = [
            _mm256_packs_epi32(ints[0], ints[1]),
            _mm256_packs_epi32(ints[2], ints[3]),
        ];
        let i8s = _mm256_packs_epi16(i16s[0], i16s[1]);
        let i8s = _mm256_permutevar8x32_epi32(i8s, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        // SAFETY: q holds 32 bytes per the assert.
        unsafe { _mm256_storeu_si256(q.as_mut_ptr() as *mut __m256i, i8s) };
        let s4 = _mm_add_epi32(
            _mm256_castsi256_si128(sum),
            _mm256_extracti128_si256::<1>(sum),
        );
        let s4 = _mm_add_epi32(s4, _mm_shuffle_epi32::<0b01_00_11_10>(s4));
        let s4 = _mm_add_epi32(s4, _mm_shuffle_epi32::<0b10_11_00_01>(s4));
        let d16 = _mm_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm_set_ss(d));
        let d = _mm_cvtss_f32(_mm_cvtph_ps(d16));
        (d, _mm_cvtsi128_si32(s4))
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    simd_kernels!(
        "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni",
        expand,
        dot_u8_i8
    );

    /// Unsigned 5-bit values: the `qh` bits, as a mask register, add 16 to the nibbles.
    ///
    /// # Safety
    /// `qs` must point to 16 readable bytes and `qh` to 4.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    unsafe fn expand(qs: *const u8, qh: *const u8) -> __m256i {
        // SAFETY: forwarded to the caller.
        let (lo, bits) = unsafe {
            (
                super::avx2::nibbles_unmasked_32(qs),
                std::ptr::read_unaligned(qh as *const u32),
            )
        };
        // (nibble bytes & 0x0F) | (0x10 where the qh bit is set), one vpternlogd.
        let h16 = _mm256_maskz_mov_epi8(_cvtu32_mask32(bits), _mm256_set1_epi8(0x10));
        _mm256_ternarylogic_epi32::<0xEC>(lo, h16, _mm256_set1_epi8(0x0F))
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    fn dot_u8_i8(x: __m256i, y: __m256i) -> __m256i {
        _mm256_dpbusd_epi32(_mm256_setzero_si256(), x, y)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_values::lcg_values;
    use super::*;
    use candle_core::quantized::QMatMul;
    use candle_core::{DType, Device, Module};

    fn q5_weight(n: usize, k: usize, seed: u64) -> Result<QTensor> {
        let w = Tensor::from_vec(lcg_values(n * k, seed), (n, k), &Device::Cpu)?;
        QTensor::quantize(&w, GgmlDType::Q5_0)
    }

    fn rel_max_err(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-30);
        let err = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        err / scale
    }

    const SHAPES: [(usize, usize); 2] = [(896, 128), (4864, 96)];
    const MS: [usize; 3] = [1, 7, 64];

    #[test]
    fn q5_0_matches_candle_qmatmul() -> Result<()> {
        for (si, &(k, n)) in SHAPES.iter().enumerate() {
            let qt = q5_weight(n, k, 17 + si as u64)?;
            let lin = Q5Linear::from_qtensor(&qt, &KernelOptions::default())?;
            // candle's own (scalar) Q5_0 path: same Q8_0 activations, same math.
            let reference = QMatMul::from_qtensor(qt)?;
            for &m in &MS {
                let xs =
                    Tensor::from_vec(lcg_values(m * k, 1000 + m as u64), (1, m, k), &Device::Cpu)?;
                let want = reference.forward(&xs)?;
                for kernel in Kernel::runnable() {
                    let got = lin.forward_with(&xs, kernel)?;
                    assert_eq!(got.dims(), want.dims());
                    let err = rel_max_err(
                        &got.flatten_all()?.to_vec1::<f32>()?,
                        &want.flatten_all()?.to_vec1::<f32>()?,
                    );
                    eprintln!("k={k} n={n} m={m} {kernel:?}: rel max err {err:.2e}");
                    assert!(err < 1e-4, "k={k} n={n} m={m} {kernel:?}: rel err {err}");
                }
            }
        }
        Ok(())
    }

    #[cfg(feature = "compare")]
    #[test]
    fn q5_0_close_to_q8_0_conversion() -> Result<()> {
        // The first session's route (Q5_0 widened to Q8_0, `Q5_0Kernel::Q8_0`). For
        // k % 256 == 0 candle may quantize the activations to Q8_K instead of Q8_0, so the
        // bound is looser.
        for (si, &(k, n)) in SHAPES.iter().enumerate() {
            let qt = q5_weight(n, k, 31 + si as u64)?;
            let lin = Q5Linear::from_qtensor(&qt, &KernelOptions::default())?;
            let reference = QMatMul::from_qtensor(q5_0_to_q8_0(&qt)?)?;
            for &m in &MS {
                let xs = Tensor::from_vec(lcg_values(m * k, 7 + m as u64), (m, k), &Device::Cpu)?;
                let want = reference.forward(&xs)?.flatten_all()?.to_vec1::<f32>()?;
                let got = lin.forward(&xs)?.flatten_all()?.to_vec1::<f32>()?;
                let err = rel_max_err(&got, &want);
                eprintln!("vs Q8_0 conversion k={k} n={n} m={m}: rel max err {err:.2e}");
                assert!(err < 2e-2, "k={k} n={n} m={m}: rel err {err}");
            }
        }
        Ok(())
    }

    #[test]
    fn q5_0_simd_matches_scalar() -> Result<()> {
        // Activation quantization is bit-identical, including ties, zeros and blocks of 0.
        let mut x = lcg_values(64 * 32, 5);
        x[..32].iter_mut().for_each(|v| *v = 0.0);
        for (i, v) in x[32..64].iter_mut().enumerate() {
            *v = (i as f32 - 16.0) * 0.5;
        }
        x[64] = -3.0;
        for kernel in Kernel::runnable() {
            for (xb, b) in x.chunks_exact(32).zip(0..) {
                let (mut q1, mut q2) = ([0i8; 32], [0i8; 32]);
                let s1 = quantize_block_scalar(xb, &mut q1);
                let s2 = quantize_block(kernel, xb, &mut q2);
                assert_eq!(q1, q2, "{kernel:?} block {b}");
                assert_eq!(s1.0.to_bits(), s2.0.to_bits(), "{kernel:?} block {b}");
                assert_eq!(s1.1, s2.1, "{kernel:?} block {b}");
            }
            // Odd shapes: m not a multiple of the tile, n not a multiple of the chunk,
            // block counts not a multiple of 8.
            for &(k, n, m) in &[
                (64, 37, 3),
                (96, 5, 1),
                (896, 70, 5),
                (4864, 96, 1),
                (4864, 33, 64),
            ] {
                let qt = q5_weight(n, k, 99)?;
                let lin = Q5Linear::from_qtensor(&qt, &KernelOptions::default())?;
                let xs = Tensor::from_vec(lcg_values(m * k, 3), (m, k), &Device::Cpu)?;
                let a = lin
                    .forward_with(&xs, kernel)?
                    .flatten_all()?
                    .to_vec1::<f32>()?;
                let b = lin
                    .forward_with(&xs, Kernel::Scalar)?
                    .flatten_all()?
                    .to_vec1::<f32>()?;
                let err = rel_max_err(&a, &b);
                eprintln!("{kernel:?} vs scalar k={k} n={n} m={m}: rel max err {err:.2e}");
                assert!(err < 1e-5, "{kernel:?} k={k} n={n} m={m}: rel err {err}");
            }
        }
        Ok(())
    }

    #[test]
    fn q5_0_shapes_and_errors() -> Result<()> {
        let w = Tensor::from_vec(lcg_values(64 * 32, 1), (32, 64), &Device::Cpu)?;
        let q8 = QTensor::quantize(&w, GgmlDType::Q8_0)?;
        assert!(Q5Linear::from_qtensor(&q8, &KernelOptions::default()).is_err());
        let w3 = w.reshape((2, 16, 64))?;
        let q3 = QTensor::quantize(&w3, GgmlDType::Q5_0)?;
        assert!(Q5Linear::from_qtensor(&q3, &KernelOptions::default()).is_err());
        let lin = Q5Linear::from_qtensor(
            &QTensor::quantize(&w, GgmlDType::Q5_0)?,
            &KernelOptions::default(),
        )?;
        assert_eq!((lin.n_out(), lin.k()), (32, 64));
        let xs = Tensor::from_vec(lcg_values(2 * 3 * 64, 2), (2, 3, 64), &Device::Cpu)?;
        assert_eq!(lin.forward(&xs)?.dims(), &[2, 3, 32]);
        let bad = Tensor::zeros((1, 63), DType::F32, &Device::Cpu)?;
        assert!(lin.forward(&bad).is_err());
        Ok(())
    }

    #[cfg(feature = "compare")]
    #[test]
    fn q5_0_weights_convert_exactly_to_q8_0() -> Result<()> {
        let t = Tensor::from_vec(lcg_values(8 * 64, 7), (8, 64), &Device::Cpu)?;
        let q5 = QTensor::quantize(&t, GgmlDType::Q5_0)?;
        let q8 = q5_0_to_q8_0(&q5)?;
        assert_eq!(q8.dtype(), GgmlDType::Q8_0);
        assert_eq!(q8.shape().dims(), &[8, 64]);
        let a: Vec<Vec<f32>> = q5.dequantize(&Device::Cpu)?.to_vec2()?;
        let b: Vec<Vec<f32>> = q8.dequantize(&Device::Cpu)?.to_vec2()?;
        assert_eq!(a, b);
        // and they are real values, not all zero
        assert!(a.iter().flatten().any(|v| v.abs() > 0.1));
        Ok(())
    }
}
