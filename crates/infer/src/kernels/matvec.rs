//! Matrix-vector products for decoding one token, by ranges of weight rows, for every
//! weight format the generator holds. OWNER: generator.
//!
//! The decoding step (`generator::qwen2`, through `super::region`) splits the rows of each
//! product between threads itself, so these functions compute a given range of rows on the
//! calling thread, against activations quantized once per input vector ([`Acts`]) instead of
//! once per product or per band of rows:
//! - Q5_0: `super::q5_0`'s row kernel (AVX-512 VNNI / AVX2 / scalar);
//! - Q8_0 (the 151,936-row output layer, half of the `attn_v` matrices): the kernel below,
//!   straight on candle's 34-byte blocks (VNNI `vpdpbusd`, two accumulators; candle's own
//!   is AVX2 with one);
//! - Q4_K and Q6_K (all of the 1.5B file, `ffn_down` of the 0.5B): `krows`'s row kernels
//!   (AVX-512 VNNI / AVX2 / scalar) against activations quantized as candle's Q8_K;
//! - everything else (f32 in the test models, other k-quants, …): candle's
//!   `GgmlType::vec_dot` per row, the same dot product candle's `QMatMul` runs per row, on
//!   the same bytes.
//!
//! Rows are read ahead with software prefetches, as `q5_0` does (the hardware prefetcher
//! stops at each 4 KiB page): decoding on one thread went from 15.9 to 18.4 tok/s with them
//! (medians of three alternating runs, BENCHMARKS.md 2026-12-03).
//!
//! Each output row is one dot product computed by one thread in a fixed order, so results
//! do not depend on how the rows are split.

mod krows;

use super::q5_0::{self, prefetch, Q5Linear, QActs, PREFETCH_BYTES};
use super::row_split::RowSplit;
use super::simd::Kernel;
use candle_core::quantized::k_quants::{self as kq, GgmlType};
use candle_core::quantized::GgmlDType;
use candle_core::Result;
use half::f16;

/// Values per Q8_0 block, and its bytes (f16 scale, 32 i8).
const QK8_0: usize = 32;
const Q8_0_BYTES: usize = 34;

/// The weight rows of one product, as the decoding step reads them.
#[derive(Debug, Clone, Copy)]
pub enum Rows<'a> {
    /// Our Q5_0 layout.
    Q5(&'a Q5Linear),
    /// candle's blocks in bands of rows (`RowSplit`), Q8_0, Q4_K and Q6_K through our
    /// kernels, other formats through candle's dot product.
    Bands(&'a RowSplit),
}

impl Rows<'_> {
    /// Output rows.
    pub fn n(&self) -> usize {
        match self {
            Rows::Q5(l) => l.n_out(),
            Rows::Bands(b) => b.n(),
        }
    }

    /// Values per row.
    pub fn k(&self) -> usize {
        match self {
            Rows::Q5(l) => l.k(),
            Rows::Bands(b) => b.k(),
        }
    }

    /// Whether the decoding step can run this weight (else the model decodes through the
    /// general forward pass).
    pub fn supported(&self) -> bool {
        match self {
            Rows::Q5(_) => true,
            Rows::Bands(b) => vec_dot_dtype(b.dtype()).is_some(),
        }
    }

    /// The activation format this weight reads.
    fn acts_format(&self, kernel: Kernel) -> Option<ActsFormat> {
        match self {
            Rows::Q5(_) => Some(ActsFormat::Q8_0),
            Rows::Bands(b) => match b.dtype() {
                GgmlDType::Q8_0 if kernel != Kernel::Scalar => Some(ActsFormat::Q8_0),
                GgmlDType::Q4K | GgmlDType::Q6K => Some(ActsFormat::Q8K),
                other => vec_dot_dtype(other).map(ActsFormat::Candle),
            },
        }
    }

    /// `out[i] = row (r0 + i) · x` for `i < out.len()`, with `acts` made by
    /// [`Acts::quantize`] for this weight.
    pub(crate) fn dot_rows(
        &self,
        kernel: Kernel,
        acts: &Acts,
        r0: usize,
        out: &mut [f32],
    ) -> Result<()> {
        match self {
            Rows::Q5(l) => {
                l.decode_rows(&acts.q8, r0, out, kernel);
                Ok(())
            }
            Rows::Bands(b) => {
                let per = b.rows_per_band();
                let row_bytes = b.row_bytes();
                let mut done = 0;
                // A range may straddle bands: cut it at their edges.
                while done < out.len() {
                    let r = r0 + done;
                    let (band, local) = (r / per, r % per);
                    let take = (per - local).min(out.len() - done);
                    let bytes = b.band(band)?;
                    let w = &bytes[local * row_bytes..(local + take) * row_bytes];
                    let dst = &mut out[done..done + take];
                    match (self.acts_format(kernel), b.dtype()) {
                        (Some(ActsFormat::Q8_0), _) => {
                            q8_0_rows(kernel, w, row_bytes, &acts.q8, dst)
                        }
                        (Some(ActsFormat::Q8K), GgmlDType::Q4K) => krows::kq_rows(
                            kernel,
                            krows::KFormat::Q4K,
                            w,
                            row_bytes,
                            &acts.k8,
                            dst,
                        )?,
                        (Some(ActsFormat::Q8K), GgmlDType::Q6K) => krows::kq_rows(
                            kernel,
                            krows::KFormat::Q6K,
                            w,
                            row_bytes,
                            &acts.k8,
                            dst,
                        )?,
                        _ => generic_rows(b.dtype(), w, row_bytes, b.k(), acts, dst)?,
                    }
                    done += take;
                }
                Ok(())
            }
        }
    }
}

/// How a weight wants its activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ActsFormat {
    /// Q8_0 per 32 with f32 scales (`QActs`): Q5_0, and Q8_0 above the scalar tier.
    Q8_0,
    /// candle's Q8_K as three arrays (`krows::Q8KActs`): Q4_K and Q6_K.
    Q8K,
    /// candle's blocks of this vector dot type, for candle's `vec_dot`.
    Candle(GgmlDType),
}

/// One activation vector, quantized for the weights that read it.
#[derive(Default)]
pub struct Acts {
    /// Q8_0 per 32 (Q5_0 and Q8_0 weights).
    q8: QActs,
    /// Q8_K (Q4_K and Q6_K weights).
    k8: krows::Q8KActs,
    /// candle's vector dot type (`dtype`), as raw blocks (u64 for alignment).
    other: Vec<u64>,
    other_dtype: Option<GgmlDType>,
}

impl Acts {
    /// Quantizes `x` for every weight in `rows` (all of length `x.len()`).
    pub(crate) fn quantize(&mut self, kernel: Kernel, x: &[f32], rows: &[Rows]) -> Result<()> {
        let (mut q8, mut k8) = (false, false);
        self.other_dtype = None;
        for r in rows {
            if r.k() != x.len() {
                candle_core::bail!("decode: input of {} for rows of {}", x.len(), r.k())
            }
            match r.acts_format(kernel) {
                None => candle_core::bail!("decode: no row kernel for this weight format"),
                Some(ActsFormat::Q8_0) => q8 = true,
                Some(ActsFormat::Q8K) => k8 = true,
                Some(ActsFormat::Candle(d)) => match self.other_dtype {
                    Some(have) if have != d => candle_core::bail!(
                        "decode: one input read as {have:?} and as {d:?} is not supported"
                    ),
                    _ => self.other_dtype = Some(d),
                },
            }
        }
        if q8 {
            q5_0::quantize_acts_into(x, kernel, &mut self.q8)?;
        }
        if k8 {
            self.k8.quantize(kernel, x)?;
        }
        if let Some(d) = self.other_dtype {
            quantize_generic(d, x, &mut self.other)?;
        }
        Ok(())
    }
}

/// candle's vector dot type for a weight format, for the formats this module runs.
fn vec_dot_dtype(dtype: GgmlDType) -> Option<GgmlDType> {
    use GgmlDType as D;
    Some(match dtype {
        D::F32 => D::F32,
        D::F16 => D::F16,
        D::Q4_0 | D::Q5_0 | D::Q8_0 => D::Q8_0,
        D::Q4_1 | D::Q5_1 | D::Q8_1 => D::Q8_1,
        D::Q2K | D::Q3K | D::Q4K | D::Q5K | D::Q6K | D::Q8K => D::Q8K,
        D::BF16 => return None,
    })
}

/// Runs `$body` with `$t` bound to candle's block type of `$dtype` (the formats of
/// `vec_dot_dtype`).
macro_rules! with_block_type {
    ($dtype:expr, $t:ident => $body:expr) => {{
        use GgmlDType as D;
        match $dtype {
            D::F32 => {
                type $t = f32;
                $body
            }
            D::F16 => {
                type $t = f16;
                $body
            }
            D::Q4_0 => {
                type $t = kq::BlockQ4_0;
                $body
            }
            D::Q4_1 => {
                type $t = kq::BlockQ4_1;
                $body
            }
            D::Q5_0 => {
                type $t = kq::BlockQ5_0;
                $body
            }
            D::Q5_1 => {
                type $t = kq::BlockQ5_1;
                $body
            }
            D::Q8_0 => {
                type $t = kq::BlockQ8_0;
                $body
            }
            D::Q8_1 => {
                type $t = kq::BlockQ8_1;
                $body
            }
            D::Q2K => {
                type $t = kq::BlockQ2K;
                $body
            }
            D::Q3K => {
                type $t = kq::BlockQ3K;
                $body
            }
            D::Q4K => {
                type $t = kq::BlockQ4K;
                $body
            }
            D::Q5K => {
                type $t = kq::BlockQ5K;
                $body
            }
            D::Q6K => {
                type $t = kq::BlockQ6K;
                $body
            }
            D::Q8K => {
                type $t = kq::BlockQ8K;
                $body
            }
            D::BF16 => candle_core::bail!("decode: no row kernel for {:?}", $dtype),
        }
    }};
}

/// `x` as blocks of the vector dot type `dtype`, into `buf`.
fn quantize_generic(dtype: GgmlDType, x: &[f32], buf: &mut Vec<u64>) -> Result<()> {
    with_block_type!(dtype, T => {
        if !x.len().is_multiple_of(T::BLCK_SIZE) {
            candle_core::bail!("decode: {} values are not whole {dtype:?} blocks", x.len())
        }
        let nb = x.len() / T::BLCK_SIZE;
        let words = (nb * std::mem::size_of::<T>()).div_ceil(8);
        buf.clear();
        buf.resize(words, 0);
        // SAFETY: `buf` holds at least nb * size_of::<T>() bytes, aligned to 8 (u64), at
        // least T's alignment; candle's block types are plain data for which all-zero bytes
        // are a valid value, and `from_float` overwrites every block.
        let blocks = unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr() as *mut T, nb) };
        T::from_float(x, blocks);
        Ok(())
    })
}

/// Rows of candle blocks of `dtype` (`row_bytes` each) dotted with the activations of
/// [`Acts::quantize`] through candle's `vec_dot`.
fn generic_rows(
    dtype: GgmlDType,
    w: &[u8],
    row_bytes: usize,
    k: usize,
    acts: &Acts,
    out: &mut [f32],
) -> Result<()> {
    with_block_type!(dtype, T => {
        type A = <T as GgmlType>::VecDotType;
        if acts.other_dtype != Some(<A as GgmlType>::DTYPE) {
            candle_core::bail!("decode: activations not quantized for {dtype:?}")
        }
        let nb = k / T::BLCK_SIZE;
        if nb * std::mem::size_of::<T>() != row_bytes
            || acts.other.len() * 8 < nb * std::mem::size_of::<A>()
        {
            candle_core::bail!("decode: {dtype:?} rows of {row_bytes} bytes for k = {k}")
        }
        if !(w.as_ptr() as usize).is_multiple_of(std::mem::align_of::<T>()) {
            candle_core::bail!("decode: misaligned {dtype:?} weights")
        }
        // SAFETY: `acts.other` was filled with nb blocks of A by `quantize_generic` (dtype
        // checked above, length checked above), u64-aligned.
        let a = unsafe { std::slice::from_raw_parts(acts.other.as_ptr() as *const A, nb) };
        let ahead = PREFETCH_BYTES.div_ceil(row_bytes);
        for (i, (o, row)) in out.iter_mut().zip(w.chunks_exact(row_bytes)).enumerate() {
            if let Some(next) = w.get((i + ahead) * row_bytes..(i + ahead + 1) * row_bytes) {
                prefetch(next);
            }
            // SAFETY: `row` is nb blocks of T (row_bytes = nb * size_of::<T>()), aligned:
            // the band's start is (checked above) and row_bytes is a multiple of the size.
            let blocks = unsafe { std::slice::from_raw_parts(row.as_ptr() as *const T, nb) };
            *o = T::vec_dot(k, blocks, a);
        }
        Ok(())
    })
}

/// Q8_0 rows (candle's blocks: f16 `d`, 32 i8) dotted with Q8_0 activations.
fn q8_0_rows(kernel: Kernel, w: &[u8], row_bytes: usize, acts: &QActs, out: &mut [f32]) {
    let ahead = PREFETCH_BYTES.div_ceil(row_bytes);
    for (i, (o, row)) in out.iter_mut().zip(w.chunks_exact(row_bytes)).enumerate() {
        if let Some(next) = w.get((i + ahead) * row_bytes..(i + ahead + 1) * row_bytes) {
            prefetch(next);
        }
        *o = match kernel {
            Kernel::Scalar => q8_0_dot_scalar(row, acts.qs(), acts.d()),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: Kernel::Avx2 is only chosen when avx2, fma and f16c were detected.
            Kernel::Avx2 => unsafe { x86::q8_0_dot_avx2(row, acts.qs(), acts.d()) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: Kernel::Avx512Vnni is only chosen when its features were detected.
            Kernel::Avx512Vnni => unsafe { x86::q8_0_dot_vnni(row, acts.qs(), acts.d()) },
        };
    }
}

/// Portable Q8_0 · Q8_0 over one row: the reference of the SIMD kernels.
fn q8_0_dot_scalar(row: &[u8], qa: &[i8], da: &[f32]) -> f32 {
    let mut sum = 0f32;
    for (b, blk) in row.chunks_exact(Q8_0_BYTES).enumerate() {
        let d = f16::from_le_bytes([blk[0], blk[1]]).to_f32();
        let sumi: i32 = blk[2..]
            .iter()
            .zip(&qa[b * QK8_0..(b + 1) * QK8_0])
            .map(|(&w, &a)| w as i8 as i32 * a as i32)
            .sum();
        sum += sumi as f32 * (d * da[b]);
    }
    sum
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Q8_0_BYTES, QK8_0};
    use crate::kernels::simd::hsum_f32x8;
    use std::arch::x86_64::*;

    /// The block's scale times the activation's, broadcast.
    ///
    /// # Safety
    /// Two bytes readable at `blk`; the CPU has f16c.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn scale(blk: *const u8, da: f32) -> __m256 {
        // SAFETY: forwarded to the caller.
        let bits = unsafe { std::ptr::read_unaligned(blk as *const u16) };
        let d = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32)));
        _mm256_set1_ps(d * da)
    }

    macro_rules! q8_0_dot {
        ($name:ident, $features:literal, $dot:ident) => {
            /// One Q8_0 row · Q8_0 activations: the signed bytes as |w| (unsigned) times
            /// sign(w)·a, eight i32 lanes per block, two float accumulators.
            ///
            /// # Safety
            /// The CPU supports this function's features.
            #[target_feature(enable = $features)]
            pub(super) unsafe fn $name(row: &[u8], qa: &[i8], da: &[f32]) -> f32 {
                let nb = row.len() / Q8_0_BYTES;
                assert!(qa.len() >= nb * QK8_0 && da.len() >= nb);
                let mut acc = [_mm256_setzero_ps(); 2];
                // SAFETY: block b's 34 bytes lie in `row`, its 32 activations in `qa`.
                unsafe {
                    for b in 0..nb {
                        let blk = row.as_ptr().add(b * Q8_0_BYTES);
                        let w = _mm256_loadu_si256(blk.add(2) as *const __m256i);
                        let a = _mm256_loadu_si256(qa.as_ptr().add(b * QK8_0) as *const __m256i);
                        let p = $dot(_mm256_abs_epi8(w), _mm256_sign_epi8(a, w));
                        let s = scale(blk, *da.get_unchecked(b));
                        acc[b & 1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), s, acc[b & 1]);
                    }
                    hsum_f32x8(_mm256_add_ps(acc[0], acc[1]))
                }
            }
        };
    }

    /// u8 x i8 products of 32 bytes, summed in fours into eight i32 lanes (AVX2).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn dot_avx2(u: __m256i, s: __m256i) -> __m256i {
        // Pairs into i16 cannot saturate: |a| <= 127 (activations are quantized to
        // -127..=127), so 2 * 128 * 127 < 32768.
        _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1))
    }

    /// The same with one VNNI instruction.
    #[inline]
    #[target_feature(enable = "avx2,avx512f,avx512vl,avx512vnni")]
    fn dot_vnni(u: __m256i, s: __m256i) -> __m256i {
        _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s)
    }

    q8_0_dot!(q8_0_dot_avx2, "avx2,fma,f16c", dot_avx2);
    q8_0_dot!(
        q8_0_dot_vnni,
        "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni",
        dot_vnni
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::test_values::lcg_values;
    use crate::kernels::KernelOptions;
    use candle_core::quantized::QTensor;
    use candle_core::{Device, Module, Tensor};

    /// Every format the generator holds, every tier this CPU has: our row ranges give
    /// candle's `QMatMul` product, whatever the ranges.
    #[test]
    fn row_ranges_give_candles_product() -> Result<()> {
        let dev = Device::Cpu;
        for (dtype, n, k) in [
            (GgmlDType::Q8_0, 300, 96),
            (GgmlDType::Q4K, 200, 512),
            (GgmlDType::Q6K, 130, 256),
            (GgmlDType::F32, 40, 24),
            (GgmlDType::Q5_0, 150, 64),
        ] {
            let w = Tensor::from_vec(lcg_values(n * k, 5), (n, k), &dev)?;
            let q = QTensor::quantize(&w, dtype)?;
            let x = lcg_values(k, 6);
            let want: Vec<f32> =
                candle_core::quantized::QMatMul::from_qtensor(QTensor::quantize(&w, dtype)?)?
                    .forward(&Tensor::from_slice(&x, (1, k), &dev)?)?
                    .flatten_all()?
                    .to_vec1()?;
            let band = RowSplit::new(&q)?;
            let q5 = if dtype == GgmlDType::Q5_0 {
                Some(Q5Linear::from_qtensor(&q, &KernelOptions::default())?)
            } else {
                None
            };
            let rows = match &q5 {
                Some(l) => Rows::Q5(l),
                None => Rows::Bands(&band),
            };
            for kernel in Kernel::runnable() {
                let mut acts = Acts::default();
                acts.quantize(kernel, &x, &[rows])?;
                let mut got = vec![0f32; n];
                // Uneven ranges, some straddling bands.
                let mut r = 0;
                for step in [1usize, 7, 130, 3].iter().cycle() {
                    if r >= n {
                        break;
                    }
                    let e = (r + step).min(n);
                    rows.dot_rows(kernel, &acts, r, &mut got[r..e])?;
                    r = e;
                }
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (g - w).abs() <= 1e-4 * w.abs().max(1.0),
                        "{dtype:?} {kernel:?} row {i}: {g} vs {w}"
                    );
                }
            }
        }
        Ok(())
    }
}
