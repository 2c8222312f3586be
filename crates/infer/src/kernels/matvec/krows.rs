//! Q4_K and Q6_K weight rows dotted with one activation vector, for decoding
//! (`super::Rows::dot_rows`). OWNER: generator.
//!
//! The formats are those of `kernels::kquant` (read its module docs): super-blocks of 256
//! values, Q4_K `d*sc*q - dmin*m` per sub-block of 32, Q6_K `d*sc*(q - 32)` per 16.
//!
//! The activations are quantized once per input vector exactly as candle's `BlockQ8K`
//! (`-127 / max` per 256 values, the signed value of largest magnitude, round half away
//! from zero, and the sums of each 16 quantized values), so a row's integer sums are
//! candle's and our products differ from candle's `vec_dot` only in the order of the float
//! additions. Per super-block the weights' offsets come from those sums (`dmin * m * sum`
//! for Q4_K, `32 * sc * sum` for Q6_K), the rest is exact integer arithmetic scaled once
//! by `d_w * d_a`, as in llama.cpp's `ggml_vec_dot_q4_K_q8_K` / `ggml_vec_dot_q6_K_q8_K`:
//! - `Avx512Vnni`: 64 values per 512-bit step. Q4_K: the 32 bytes of nibbles of two
//!   sub-blocks broadcast to both halves and shifted right by 0 / 4 per half (`vpsrlvq`),
//!   masked: 64 weights in the order of the 64 activations. Q6_K: 64 bytes `ql` give the
//!   low nibbles of values 0..64 and the high ones of 64..128 of each half super-block;
//!   their two high bits come from the 32 bytes `qh` broadcast and shifted per half.
//!   `vpmaddubsw` (u8 weight x i8 activation, pairs summed to i16: `63 * 127 * 2 <
//!   32768`, no saturation) then `vpdpwssd` with the i16 scales (one per 32 or 16
//!   values, spread over their lanes by `vpermw`) accumulates into i32 lanes.
//! - `Avx2`: the same on 256-bit vectors, `vpmaddwd` and an add in place of `vpdpwssd`
//!   (llama.cpp's AVX2 code).
//! - `Scalar`: the same integer sums, portable; the reference in the tests.
//!
//! Rows are read ahead with software prefetches, as for the other formats, but as a stream:
//! the SIMD kernels prefetch the bytes `PREFETCH_BYTES` past each super-block as they read
//! it, across the ends of rows and of the range (the next rows are usually the same thread's
//! next chunk; a prefetch is only a hint and never faults). Prefetching each next row
//! whole, as `q5_0` does, issues one burst of 80 to 115 prefetches per row of `ffn_down`
//! (k = 8,960) and streamed only 7-9 GB/s from memory on one core, against 12-14 GB/s this
//! way (`speed::kq_rows_speed`, ~400 MB of rows, noisy shared machine).

use crate::kernels::q5_0::{prefetch, PREFETCH_BYTES};
use crate::kernels::simd::Kernel;
use candle_core::Result;
use half::f16;

/// Values per super-block.
pub(super) const QK_K: usize = 256;
/// Bytes per Q4_K super-block: f16 `d`, f16 `dmin`, 12 bytes of scales, 128 of nibbles.
pub(super) const Q4K_BYTES: usize = 144;
/// Bytes per Q6_K super-block: 128 `ql`, 64 `qh`, 16 i8 scales, f16 `d`.
pub(super) const Q6K_BYTES: usize = 210;

/// One activation vector quantized as candle's `BlockQ8K`, in three arrays.
#[derive(Debug, Default)]
pub(crate) struct Q8KActs {
    /// `k` values in -127..=127.
    qs: Vec<i8>,
    /// One scale per 256 values.
    d: Vec<f32>,
    /// The sum of each 16 values of `qs`.
    bsums: Vec<i16>,
}

impl Q8KActs {
    /// Quantizes `x` (a whole number of super-blocks), reusing the buffers.
    pub(super) fn quantize(&mut self, kernel: Kernel, x: &[f32]) -> Result<()> {
        if !x.len().is_multiple_of(QK_K) {
            candle_core::bail!("decode: {} values are not whole Q8K blocks", x.len())
        }
        let nsb = x.len() / QK_K;
        self.qs.clear();
        self.qs.resize(x.len(), 0);
        self.d.clear();
        self.d.resize(nsb, 0.0);
        self.bsums.clear();
        self.bsums.resize(nsb * 16, 0);
        let blocks = x
            .chunks_exact(QK_K)
            .zip(self.qs.chunks_exact_mut(QK_K))
            .zip(self.d.iter_mut().zip(self.bsums.chunks_exact_mut(16)));
        for ((xb, qb), (d, bs)) in blocks {
            *d = match kernel {
                Kernel::Scalar => quantize_block_scalar(xb, qb),
                #[cfg(target_arch = "x86_64")]
                // SAFETY: these kernels are only chosen when avx2, fma and f16c were detected.
                Kernel::Avx2 | Kernel::Avx512Vnni => unsafe { x86::quantize_block(xb, qb) },
            };
            for (s, q) in bs.iter_mut().zip(qb.chunks_exact(16)) {
                *s = q.iter().map(|&v| v as i16).sum();
            }
        }
        Ok(())
    }

    /// Super-blocks quantized.
    fn nsb(&self) -> usize {
        self.d.len()
    }
}

/// candle's `BlockQ8K::from_float` for one block: returns `d`.
fn quantize_block_scalar(x: &[f32], q: &mut [i8]) -> f32 {
    let (mut max, mut amax) = (0f32, 0f32);
    for &v in x {
        if amax < v.abs() {
            amax = v.abs();
            max = v;
        }
    }
    if amax == 0.0 {
        q.fill(0);
        return 0.0;
    }
    let iscale = -127f32 / max;
    for (q, &v) in q.iter_mut().zip(x) {
        *q = (iscale * v).round().clamp(-128.0, 127.0) as i8;
    }
    1.0 / iscale
}

/// Which k-quant a row kernel reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KFormat {
    Q4K,
    Q6K,
}

impl KFormat {
    fn block_bytes(self) -> usize {
        match self {
            KFormat::Q4K => Q4K_BYTES,
            KFormat::Q6K => Q6K_BYTES,
        }
    }
}

/// `out[i] = row i of w · x`, `w` being `out.len()` rows of `row_bytes` bytes of `format`
/// and `acts` the quantized `x`.
pub(super) fn kq_rows(
    kernel: Kernel,
    format: KFormat,
    w: &[u8],
    row_bytes: usize,
    acts: &Q8KActs,
    out: &mut [f32],
) -> Result<()> {
    if row_bytes != acts.nsb() * format.block_bytes() || w.len() != out.len() * row_bytes {
        candle_core::bail!(
            "decode: {format:?} rows of {row_bytes} bytes for {} activations",
            acts.qs.len()
        )
    }
    let ahead = PREFETCH_BYTES.div_ceil(row_bytes.max(1));
    for (i, (o, row)) in out.iter_mut().zip(w.chunks_exact(row_bytes)).enumerate() {
        // The SIMD kernels prefetch as they go (see `x86::prefetch_ahead`).
        if kernel == Kernel::Scalar {
            if let Some(next) = w.get((i + ahead) * row_bytes..(i + ahead + 1) * row_bytes) {
                prefetch(next);
            }
        }
        *o = match (kernel, format) {
            (Kernel::Scalar, KFormat::Q4K) => q4k_dot_scalar(row, acts),
            (Kernel::Scalar, KFormat::Q6K) => q6k_dot_scalar(row, acts),
            #[cfg(target_arch = "x86_64")]
            // SAFETY (all four): the tier is only chosen when its features were detected;
            // the row is `acts.nsb()` super-blocks (checked above).
            (Kernel::Avx2, KFormat::Q4K) => unsafe { x86::q4k_dot_avx2(row, acts) },
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx2, KFormat::Q6K) => unsafe { x86::q6k_dot_avx2(row, acts) },
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx512Vnni, KFormat::Q4K) => unsafe { x86::q4k_dot_vnni(row, acts) },
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx512Vnni, KFormat::Q6K) => unsafe { x86::q6k_dot_vnni(row, acts) },
        };
    }
    Ok(())
}

fn f16_at(b: &[u8], i: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([b[i], b[i + 1]])).to_f32()
}

/// A Q4_K super-block's 12 bytes of 6-bit scales and mins as four little-endian words:
/// bytes 0..8 the scales of the eight sub-blocks, 8..16 their mins (llama.cpp's
/// `kmask` code, the same values as `kquant::scale_min_k4`).
fn q4k_scales(s: &[u8]) -> [u32; 4] {
    const KMASK1: u32 = 0x3f3f_3f3f;
    const KMASK2: u32 = 0x0f0f_0f0f;
    const KMASK3: u32 = 0x0303_0303;
    let word = |i: usize| u32::from_le_bytes([s[4 * i], s[4 * i + 1], s[4 * i + 2], s[4 * i + 3]]);
    let (u0, u1, u2) = (word(0), word(1), word(2));
    [
        u0 & KMASK1,
        (u2 & KMASK2) | (((u0 >> 6) & KMASK3) << 4),
        u1 & KMASK1,
        ((u2 >> 4) & KMASK2) | (((u1 >> 6) & KMASK3) << 4),
    ]
}

/// The scales (`[..8]`) and mins (`[8..]`) of [`q4k_scales`] as bytes.
fn q4k_scale_bytes(s: &[u8]) -> [u8; 16] {
    let mut b = [0u8; 16];
    for (dst, w) in b.chunks_exact_mut(4).zip(q4k_scales(s)) {
        dst.copy_from_slice(&w.to_le_bytes());
    }
    b
}

/// Portable Q4_K row · Q8K activations: the reference of the SIMD kernels.
fn q4k_dot_scalar(row: &[u8], a: &Q8KActs) -> f32 {
    let mut sum = 0f32;
    for (sb, blk) in row.chunks_exact(Q4K_BYTES).enumerate() {
        let sm = q4k_scale_bytes(&blk[4..16]);
        let qa = &a.qs[sb * QK_K..(sb + 1) * QK_K];
        let bs = &a.bsums[sb * 16..(sb + 1) * 16];
        let mut sumi = 0i32;
        for (j, (qs, qa)) in blk[16..]
            .chunks_exact(32)
            .zip(qa.chunks_exact(64))
            .enumerate()
        {
            let (mut lo, mut hi) = (0i32, 0i32);
            for (l, &q) in qs.iter().enumerate() {
                lo += (q & 0x0F) as i32 * qa[l] as i32;
                hi += (q >> 4) as i32 * qa[32 + l] as i32;
            }
            sumi += sm[2 * j] as i32 * lo + sm[2 * j + 1] as i32 * hi;
        }
        let summ: i32 = (0..8)
            .map(|j| sm[8 + j] as i32 * (bs[2 * j] as i32 + bs[2 * j + 1] as i32))
            .sum();
        let da = a.d[sb];
        sum += (f16_at(blk, 0) * da) * sumi as f32 - (f16_at(blk, 2) * da) * summ as f32;
    }
    sum
}

/// 16 Q6_K values (low bits `lo >> L`, high bits `hi >> H`) · 16 activations.
#[inline(always)]
fn q6k_dot16<const L: u32, const H: u32>(lo: &[u8], hi: &[u8], ya: &[i8]) -> i32 {
    lo.iter()
        .zip(hi)
        .zip(ya)
        .map(|((&x, &h), &y)| (((x >> L) & 0x0F) | (((h >> H) & 3) << 4)) as i32 * y as i32)
        .sum()
}

/// Portable Q6_K row · Q8K activations: the reference of the SIMD kernels.
fn q6k_dot_scalar(row: &[u8], a: &Q8KActs) -> f32 {
    let mut sum = 0f32;
    for (sb, blk) in row.chunks_exact(Q6K_BYTES).enumerate() {
        let (ql, rest) = blk.split_at(128);
        let (qh, rest) = rest.split_at(64);
        let (scales, d) = rest.split_at(16);
        let qa = &a.qs[sb * QK_K..(sb + 1) * QK_K];
        let bs = &a.bsums[sb * 16..(sb + 1) * 16];
        // Sums of q * a per 16 values: value 128 * half + 32 * t + l has its low four bits
        // in `ql[64 * half + 32 * (t % 2) + l]` (low nibble for t < 2, else high) and its
        // high two in bits 2t..2t + 2 of `qh[32 * half + l]`.
        let mut sums = [0i32; 16];
        for (g, sum) in sums.iter_mut().enumerate() {
            let (half, t, l0) = (g / 8, g / 2 % 4, 16 * (g % 2));
            let lo = &ql[64 * half + 32 * (t % 2) + l0..][..16];
            let hi = &qh[32 * half + l0..][..16];
            let ya = &qa[16 * g..16 * g + 16];
            *sum = match t {
                0 => q6k_dot16::<0, 0>(lo, hi, ya),
                1 => q6k_dot16::<0, 2>(lo, hi, ya),
                2 => q6k_dot16::<4, 4>(lo, hi, ya),
                _ => q6k_dot16::<4, 6>(lo, hi, ya),
            };
        }
        let sumi: i32 = (0..16)
            .map(|g| scales[g] as i8 as i32 * (sums[g] - 32 * bs[g] as i32))
            .sum();
        sum += (f16_at(d, 0) * a.d[sb]) * sumi as f32;
    }
    sum
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Q8KActs, Q4K_BYTES, Q6K_BYTES, QK_K};
    use crate::kernels::q5_0::PREFETCH_BYTES;
    use crate::kernels::simd::hsum_f32x8;
    use std::arch::x86_64::*;

    /// Asks for the cache lines of the `bytes` bytes `PREFETCH_BYTES` past `p` (a
    /// super-block being read). The address may lie past the weights: it is computed
    /// with `wrapping_add` and only prefetched, which never faults.
    #[inline(always)]
    fn prefetch_ahead(p: *const u8, bytes: usize) {
        let q = p.wrapping_add(PREFETCH_BYTES);
        for off in (0..bytes).step_by(64) {
            // SAFETY: a prefetch is a hint; it reads nothing and cannot fault.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(q.wrapping_add(off) as *const i8) };
        }
    }

    /// `quantize_block_scalar`, bit-identical for finite inputs: the same maximum (the
    /// first value of largest magnitude), the same products, rounding half away from zero
    /// done exactly (truncate, then step by the sign where the exact fraction is >= 0.5).
    ///
    /// # Safety
    /// The CPU must support avx2.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn quantize_block(x: &[f32], q: &mut [i8]) -> f32 {
        assert!(x.len() == QK_K && q.len() == QK_K);
        let sign = _mm256_set1_ps(-0.0);
        let p = x.as_ptr();
        // SAFETY: x holds 256 floats and q 256 bytes per the assert.
        unsafe {
            let mut m = _mm256_setzero_ps();
            for i in (0..QK_K).step_by(8) {
                // NaN lanes keep the running maximum (the second operand), as candle's
                // `<` skips them.
                m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(p.add(i))), m);
            }
            let m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps::<1>(m));
            let m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
            let m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
            let amax = _mm_cvtss_f32(m4);
            if amax == 0.0 {
                q.fill(0);
                return 0.0;
            }
            let target = _mm256_set1_ps(amax);
            let mut max = amax;
            for i in (0..QK_K).step_by(8) {
                let v = _mm256_andnot_ps(sign, _mm256_loadu_ps(p.add(i)));
                let eq = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(v, target));
                if eq != 0 {
                    max = x[i + eq.trailing_zeros() as usize];
                    break;
                }
            }
            let iscale = -127f32 / max;
            let id = _mm256_set1_ps(iscale);
            let (half, one) = (_mm256_set1_ps(0.5), _mm256_set1_ps(1.0));
            let (lo, hi) = (_mm256_set1_ps(-128.0), _mm256_set1_ps(127.0));
            let perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
            for i in (0..QK_K).step_by(32) {
                let mut ints = [_mm256_setzero_si256(); 4];
                for (j, int) in ints.iter_mut().enumerate() {
                    let v = _mm256_mul_ps(id, _mm256_loadu_ps(p.add(i + 8 * j)));
                    let t = _mm256_round_ps::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(v);
                    let frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
                    let up = _mm256_cmp_ps::<_CMP_GE_OQ>(frac, half);
                    let step = _mm256_and_ps(up, _mm256_or_ps(_mm256_and_ps(v, sign), one));
                    let r = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(t, step), lo), hi);
                    *int = _mm256_cvttps_epi32(r);
                }
                let i16s = [
                    _mm256_packs_epi32(ints[0], ints[1]),
                    _mm256_packs_epi32(ints[2], ints[3]),
                ];
                let i8s = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(i16s[0], i16s[1]), perm);
                _mm256_storeu_si256(q.as_mut_ptr().add(i) as *mut __m256i, i8s);
            }
            1.0 / iscale
        }
    }

    /// The f16 at `p`, as f32.
    ///
    /// # Safety
    /// Two bytes readable at `p`; the CPU has f16c.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn f16_at(p: *const u8) -> f32 {
        // SAFETY: forwarded to the caller.
        let bits = unsafe { std::ptr::read_unaligned(p as *const u16) };
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32)))
    }

    /// Sum of four f32 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    fn hsum_f32x4(v: __m128) -> f32 {
        let v = _mm_add_ps(v, _mm_movehl_ps(v, v));
        _mm_cvtss_f32(_mm_add_ss(v, _mm_movehdup_ps(v)))
    }

    /// `sum_j dmin_j * sum(mins * bsums)` of one Q4_K super-block, added to `acc_m`:
    /// eight mins (i16 lanes 8..16 of `ms`) times the sums per 32 activations.
    ///
    /// # Safety
    /// 16 i16 readable at `bsums`; the CPU has avx2.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn q4k_mins(ms: __m256i, bsums: *const i16, dmin: f32, acc_m: __m128) -> __m128 {
        // SAFETY: forwarded to the caller.
        let q8sums = unsafe { _mm256_loadu_si256(bsums as *const __m256i) };
        let q8s = _mm_hadd_epi16(
            _mm256_castsi256_si128(q8sums),
            _mm256_extracti128_si256::<1>(q8sums),
        );
        let prod = _mm_madd_epi16(_mm256_extracti128_si256::<1>(ms), q8s);
        _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_m)
    }

    /// The i16 scales (lanes 0..8) and mins (lanes 8..16) of a Q4_K super-block:
    /// `super::q4k_scales` on the four words at once (a scalar version that goes
    /// through memory costs a store-forwarding stall per super-block: 4 GB/s instead of
    /// 8 on one core).
    ///
    /// # Safety
    /// 16 bytes readable at `s` (the 12 bytes of scales and 4 more); the CPU has avx2.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn q4k_scales_mins(s: *const u8) -> __m256i {
        // SAFETY: forwarded to the caller.
        let v = unsafe { _mm_loadu_si128(s as *const __m128i) };
        // Words [u0, u2, u1, u2] and [u0, u0, u1, u1].
        let a = _mm_shuffle_epi32::<0b10_01_10_00>(v);
        let b = _mm_shuffle_epi32::<0b01_01_00_00>(v);
        // [u0 & K1, u2 & K2, u1 & K1, (u2 >> 4) & K2]
        let lo = _mm_and_si128(
            _mm_srlv_epi32(a, _mm_setr_epi32(0, 0, 0, 4)),
            _mm_setr_epi32(0x3f3f_3f3f, 0x0f0f_0f0f, 0x3f3f_3f3f, 0x0f0f_0f0f),
        );
        // [0, ((u0 >> 6) & K3) << 4, 0, ((u1 >> 6) & K3) << 4]
        let hi = _mm_and_si128(
            _mm_srli_epi32::<2>(b),
            _mm_setr_epi32(0, 0x3030_3030, 0, 0x3030_3030),
        );
        _mm256_cvtepu8_epi16(_mm_or_si128(lo, hi))
    }

    /// Q4_K row · Q8K activations on 256-bit vectors.
    ///
    /// # Safety
    /// `row` is at most `a.nsb()` super-blocks; the CPU has avx2, fma and f16c.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn q4k_dot_avx2(row: &[u8], a: &Q8KActs) -> f32 {
        let nsb = row.len() / Q4K_BYTES;
        assert!(nsb <= a.nsb());
        let m4 = _mm256_set1_epi8(0x0F);
        let mut acc = _mm256_setzero_ps();
        let mut acc_m = _mm_setzero_ps();
        // SAFETY: super-block sb's bytes lie in `row`, its activations in `a` (assert).
        unsafe {
            for sb in 0..nsb {
                let blk = row.as_ptr().add(sb * Q4K_BYTES);
                prefetch_ahead(blk, Q4K_BYTES);
                let da = *a.d.get_unchecked(sb);
                let ms = q4k_scales_mins(blk.add(4));
                acc_m = q4k_mins(
                    ms,
                    a.bsums.as_ptr().add(16 * sb),
                    -f16_at(blk.add(2)) * da,
                    acc_m,
                );
                let sc = _mm256_permute2x128_si256::<0>(ms, ms);
                let qa = a.qs.as_ptr().add(sb * QK_K);
                let mut sumi = _mm256_setzero_si256();
                for j in 0..4 {
                    // i16 lane 2j (2j + 1) of each half broadcast: the scale of sub-block 2j.
                    let sl =
                        _mm256_shuffle_epi8(sc, _mm256_set1_epi16(0x0100 + 0x0202 * 2 * j as i16));
                    let sh =
                        _mm256_shuffle_epi8(sc, _mm256_set1_epi16(0x0302 + 0x0202 * 2 * j as i16));
                    let bits = _mm256_loadu_si256(blk.add(16 + 32 * j) as *const __m256i);
                    let ql = _mm256_and_si256(bits, m4);
                    let qh = _mm256_and_si256(_mm256_srli_epi16::<4>(bits), m4);
                    let yl = _mm256_loadu_si256(qa.add(64 * j) as *const __m256i);
                    let yh = _mm256_loadu_si256(qa.add(64 * j + 32) as *const __m256i);
                    let pl = _mm256_madd_epi16(sl, _mm256_maddubs_epi16(ql, yl));
                    let ph = _mm256_madd_epi16(sh, _mm256_maddubs_epi16(qh, yh));
                    sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl, ph));
                }
                let d = _mm256_set1_ps(f16_at(blk) * da);
                acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), acc);
            }
        }
        hsum_f32x8(acc) + hsum_f32x4(acc_m)
    }

    /// Q6_K row · Q8K activations on 256-bit vectors.
    ///
    /// # Safety
    /// `row` is at most `a.nsb()` super-blocks; the CPU has avx2, fma and f16c.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn q6k_dot_avx2(row: &[u8], a: &Q8KActs) -> f32 {
        let nsb = row.len() / Q6K_BYTES;
        assert!(nsb <= a.nsb());
        let m4 = _mm256_set1_epi8(0x0F);
        let m2 = _mm256_set1_epi8(0x30);
        let mut acc = _mm256_setzero_ps();
        // SAFETY: super-block sb's bytes lie in `row`, its activations in `a` (assert).
        unsafe {
            for sb in 0..nsb {
                let blk = row.as_ptr().add(sb * Q6K_BYTES);
                prefetch_ahead(blk, Q6K_BYTES);
                let qa = a.qs.as_ptr().add(sb * QK_K);
                let scales = _mm_loadu_si128(blk.add(192) as *const __m128i);
                let q8sums = _mm256_loadu_si256(a.bsums.as_ptr().add(16 * sb) as *const __m256i);
                let corr =
                    _mm256_slli_epi32::<5>(_mm256_madd_epi16(q8sums, _mm256_cvtepi8_epi16(scales)));
                let mut sumi = _mm256_sub_epi32(_mm256_setzero_si256(), corr);
                for half in 0..2 {
                    let b1 = _mm256_loadu_si256(blk.add(64 * half) as *const __m256i);
                    let b2 = _mm256_loadu_si256(blk.add(64 * half + 32) as *const __m256i);
                    let bh = _mm256_loadu_si256(blk.add(128 + 32 * half) as *const __m256i);
                    let q = [
                        _mm256_or_si256(
                            _mm256_and_si256(b1, m4),
                            _mm256_and_si256(_mm256_slli_epi16::<4>(bh), m2),
                        ),
                        _mm256_or_si256(
                            _mm256_and_si256(b2, m4),
                            _mm256_and_si256(_mm256_slli_epi16::<2>(bh), m2),
                        ),
                        _mm256_or_si256(
                            _mm256_and_si256(_mm256_srli_epi16::<4>(b1), m4),
                            _mm256_and_si256(bh, m2),
                        ),
                        _mm256_or_si256(
                            _mm256_and_si256(_mm256_srli_epi16::<4>(b2), m4),
                            _mm256_and_si256(_mm256_srli_epi16::<2>(bh), m2),
                        ),
                    ];
                    for (t, &q) in q.iter().enumerate() {
                        let g = 8 * half + 2 * t;
                        // Scales g (values 0..16 of the 32) and g + 1 as i16 lanes.
                        let ctrl = _mm_set_epi64x(
                            (0x0101_0101_0101_0101u64 * (g as u64 + 1)) as i64,
                            (0x0101_0101_0101_0101u64 * g as u64) as i64,
                        );
                        let s = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, ctrl));
                        let y = _mm256_loadu_si256(qa.add(128 * half + 32 * t) as *const __m256i);
                        let p = _mm256_madd_epi16(s, _mm256_maddubs_epi16(q, y));
                        sumi = _mm256_add_epi32(sumi, p);
                    }
                }
                let d = _mm256_set1_ps(f16_at(blk.add(208)) * *a.d.get_unchecked(sb));
                acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), acc);
            }
        }
        hsum_f32x8(acc)
    }

    /// Sum of the 16 lanes of `v`.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c,avx512f")]
    fn hsum_f32x16(v: __m512) -> f32 {
        let lo = _mm512_castps512_ps256(v);
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
        hsum_f32x8(_mm256_add_ps(lo, hi))
    }

    /// `vpermw` indices spreading i16 scales over the 32 i16 lanes of 64 values: for Q4_K
    /// step j (values 64j..64j+64), lanes 0..16 take scale 2j and 16..32 scale 2j + 1; for
    /// Q6_K step j, lanes 8t..8t + 8 take scale 4j + t (one per 16 values).
    const fn scale_index(per: usize) -> [[i16; 32]; 4] {
        let mut idx = [[0i16; 32]; 4];
        let mut j = 0;
        while j < 4 {
            let mut lane = 0;
            while lane < 32 {
                idx[j][lane] = ((64 / per) * j + lane / (per / 2)) as i16;
                lane += 1;
            }
            j += 1;
        }
        idx
    }
    static Q4K_SCALE_INDEX: [[i16; 32]; 4] = scale_index(32);
    static Q6K_SCALE_INDEX: [[i16; 32]; 4] = scale_index(16);

    /// Q4_K row · Q8K activations, 64 values per 512-bit step (see module docs).
    ///
    /// # Safety
    /// `row` is at most `a.nsb()` super-blocks; the CPU has this function's features.
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    pub(super) unsafe fn q4k_dot_vnni(row: &[u8], a: &Q8KActs) -> f32 {
        let nsb = row.len() / Q4K_BYTES;
        assert!(nsb <= a.nsb());
        let m4 = _mm512_set1_epi8(0x0F);
        let shift = _mm512_setr_epi64(0, 0, 0, 0, 4, 4, 4, 4);
        let mut acc = _mm512_setzero_ps();
        let mut acc_m = _mm_setzero_ps();
        // SAFETY: super-block sb's bytes lie in `row`, its activations in `a` (assert);
        // the index tables hold 32 i16 each.
        unsafe {
            let idx =
                [0, 1, 2, 3].map(|j| _mm512_loadu_si512(Q4K_SCALE_INDEX[j].as_ptr() as *const _));
            for sb in 0..nsb {
                let blk = row.as_ptr().add(sb * Q4K_BYTES);
                prefetch_ahead(blk, Q4K_BYTES);
                let da = *a.d.get_unchecked(sb);
                let ms = q4k_scales_mins(blk.add(4));
                acc_m = q4k_mins(
                    ms,
                    a.bsums.as_ptr().add(16 * sb),
                    -f16_at(blk.add(2)) * da,
                    acc_m,
                );
                let sc = _mm512_zextsi256_si512(ms);
                let qa = a.qs.as_ptr().add(sb * QK_K);
                let mut sumi = _mm512_setzero_si512();
                for (j, &ix) in idx.iter().enumerate() {
                    let bits = _mm256_loadu_si256(blk.add(16 + 32 * j) as *const __m256i);
                    let q = _mm512_and_si512(
                        _mm512_srlv_epi64(_mm512_broadcast_i64x4(bits), shift),
                        m4,
                    );
                    let y = _mm512_loadu_si512(qa.add(64 * j) as *const _);
                    let s = _mm512_permutexvar_epi16(ix, sc);
                    sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(q, y), s);
                }
                let d = _mm512_set1_ps(f16_at(blk) * da);
                acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(sumi), acc);
            }
        }
        hsum_f32x16(acc) + hsum_f32x4(acc_m)
    }

    /// Q6_K row · Q8K activations, 64 values per 512-bit step (see module docs).
    ///
    /// # Safety
    /// `row` is at most `a.nsb()` super-blocks; the CPU has this function's features.
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    pub(super) unsafe fn q6k_dot_vnni(row: &[u8], a: &Q8KActs) -> f32 {
        let nsb = row.len() / Q6K_BYTES;
        assert!(nsb <= a.nsb());
        let m4 = _mm512_set1_epi8(0x0F);
        let m2 = _mm512_set1_epi8(0x30);
        // Per 64-bit lane: the high bits of values 0..32 are bits 0-1 of qh (<< 4), of
        // 32..64 bits 2-3 (<< 2); of 64..96 bits 4-5 (>> 0), of 96..128 bits 6-7 (>> 2).
        let shl = _mm512_setr_epi64(4, 4, 4, 4, 2, 2, 2, 2);
        let shr = _mm512_setr_epi64(0, 0, 0, 0, 2, 2, 2, 2);
        let mut acc = _mm512_setzero_ps();
        // SAFETY: super-block sb's bytes lie in `row`, its activations in `a` (assert);
        // the index tables hold 32 i16 each.
        unsafe {
            let idx =
                [0, 1, 2, 3].map(|j| _mm512_loadu_si512(Q6K_SCALE_INDEX[j].as_ptr() as *const _));
            for sb in 0..nsb {
                let blk = row.as_ptr().add(sb * Q6K_BYTES);
                prefetch_ahead(blk, Q6K_BYTES);
                let qa = a.qs.as_ptr().add(sb * QK_K);
                let sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(blk.add(192) as *const __m128i));
                let q8sums = _mm256_loadu_si256(a.bsums.as_ptr().add(16 * sb) as *const __m256i);
                let corr = _mm256_slli_epi32::<5>(_mm256_madd_epi16(q8sums, sc16));
                let mut sumi =
                    _mm512_zextsi256_si512(_mm256_sub_epi32(_mm256_setzero_si256(), corr));
                let sc = _mm512_zextsi256_si512(sc16);
                for half in 0..2 {
                    let l = _mm512_loadu_si512(blk.add(64 * half) as *const _);
                    let h = _mm512_broadcast_i64x4(_mm256_loadu_si256(
                        blk.add(128 + 32 * half) as *const __m256i
                    ));
                    let q0 = _mm512_or_si512(
                        _mm512_and_si512(l, m4),
                        _mm512_and_si512(_mm512_sllv_epi64(h, shl), m2),
                    );
                    let q1 = _mm512_or_si512(
                        _mm512_and_si512(_mm512_srli_epi16::<4>(l), m4),
                        _mm512_and_si512(_mm512_srlv_epi64(h, shr), m2),
                    );
                    let y0 = _mm512_loadu_si512(qa.add(128 * half) as *const _);
                    let y1 = _mm512_loadu_si512(qa.add(128 * half + 64) as *const _);
                    let s0 = _mm512_permutexvar_epi16(idx[2 * half], sc);
                    let s1 = _mm512_permutexvar_epi16(idx[2 * half + 1], sc);
                    sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(q0, y0), s0);
                    sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(q1, y1), s1);
                }
                let d = _mm512_set1_ps(f16_at(blk.add(208)) * *a.d.get_unchecked(sb));
                acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(sumi), acc);
            }
        }
        hsum_f32x16(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::test_values::lcg_values;
    use candle_core::quantized::k_quants::{BlockQ4K, BlockQ6K, BlockQ8K, GgmlType};
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};

    /// Test activations: random, with outliers, a block of zeros, one whose largest
    /// magnitude is negative and appears twice with both signs, and one full of ties
    /// (values that scale to k + 0.5).
    fn awkward_acts(k: usize, seed: u64) -> Vec<f32> {
        let mut x = lcg_values(k, seed);
        x.iter_mut().step_by(61).for_each(|v| *v *= 25.0);
        if k >= 4 * QK_K {
            x[..QK_K].fill(0.0);
            x[QK_K + 7] = -40.0;
            x[QK_K + 100] = 40.0;
            for (i, v) in x[2 * QK_K..3 * QK_K].iter_mut().enumerate() {
                *v = (i as f32 - 127.5) * 0.5;
            }
            x[2 * QK_K + 3] = -127.0;
        }
        x
    }

    /// candle's `BlockQ8K::from_float` of `x`, as (qs, d, bsums).
    fn candle_q8k(x: &[f32]) -> (Vec<i8>, Vec<f32>, Vec<i16>) {
        let nb = x.len() / QK_K;
        let mut blocks = vec![BlockQ8K::zeros(); nb];
        BlockQ8K::from_float(x, &mut blocks);
        let (mut qs, mut d, mut bsums) = (Vec::new(), Vec::new(), Vec::new());
        for b in &blocks {
            // SAFETY: BlockQ8K is repr(C) plain data, f32 d, 256 i8, 16 i16 (candle
            // asserts its size).
            let bytes = unsafe {
                std::slice::from_raw_parts(b as *const BlockQ8K as *const u8, 4 + QK_K + 32)
            };
            d.push(f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
            qs.extend(bytes[4..4 + QK_K].iter().map(|&v| v as i8));
            bsums.extend(
                bytes[4 + QK_K..]
                    .chunks_exact(2)
                    .map(|c| i16::from_le_bytes([c[0], c[1]])),
            );
        }
        (qs, d, bsums)
    }

    #[test]
    fn activations_are_candles_q8k() -> Result<()> {
        let x = awkward_acts(6 * QK_K, 3);
        let (qs, d, bsums) = candle_q8k(&x);
        for kernel in Kernel::runnable() {
            let mut a = Q8KActs::default();
            a.quantize(kernel, &x)?;
            assert_eq!(a.qs, qs, "{kernel:?}");
            assert_eq!(a.d, d, "{kernel:?}");
            assert_eq!(a.bsums, bsums, "{kernel:?}");
        }
        assert!(Q8KActs::default()
            .quantize(Kernel::Scalar, &x[..100])
            .is_err());
        Ok(())
    }

    /// `n` rows of `k` of `dtype`, their raw bytes and candle's `vec_dot` of each row with
    /// `x` quantized by candle's `BlockQ8K::from_float` (what decoding ran before these
    /// kernels).
    fn rows_and_product(
        dtype: GgmlDType,
        n: usize,
        k: usize,
        x: &[f32],
    ) -> Result<(Vec<u8>, Vec<f32>)> {
        let w = Tensor::from_vec(lcg_values(n * k, 11 + n as u64), (n, k), &Device::Cpu)?;
        let bytes = QTensor::quantize(&w, dtype)?.data()?.to_vec();
        let mut acts = vec![BlockQ8K::zeros(); k / QK_K];
        BlockQ8K::from_float(x, &mut acts);
        fn dots<T: GgmlType<VecDotType = BlockQ8K>>(
            bytes: &[u8],
            k: usize,
            a: &[BlockQ8K],
        ) -> Vec<f32> {
            let nb = k / QK_K;
            let row_bytes = nb * std::mem::size_of::<T>();
            bytes
                .chunks_exact(row_bytes)
                .map(|row| {
                    let mut blocks = vec![T::zeros(); nb];
                    // SAFETY: T is one of candle's plain-data blocks, `row` holds nb of them.
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            row.as_ptr(),
                            blocks.as_mut_ptr() as *mut u8,
                            row_bytes,
                        )
                    };
                    T::vec_dot(k, &blocks, a)
                })
                .collect()
        }
        let want = match dtype {
            GgmlDType::Q4K => dots::<BlockQ4K>(&bytes, k, &acts),
            _ => dots::<BlockQ6K>(&bytes, k, &acts),
        };
        Ok((bytes, want))
    }

    /// Every tier gives candle's `vec_dot` (the same integer sums, float additions in
    /// another order), for odd row counts and the 1.5B model's row lengths.
    #[test]
    fn every_tier_gives_candles_product() -> Result<()> {
        for (format, dtype) in [
            (KFormat::Q4K, GgmlDType::Q4K),
            (KFormat::Q6K, GgmlDType::Q6K),
        ] {
            for (n, k) in [(1, 256), (37, 1536), (9, 8960), (5, 1024)] {
                let x = awkward_acts(k, k as u64);
                let (w, want) = rows_and_product(dtype, n, k, &x)?;
                let row_bytes = w.len() / n;
                // Float rounding of the per-super-block terms, which reach sum |x| (weights
                // and offsets up to about 1) and cancel: a few ulps of that.
                let tol = 1e-6 * x.iter().map(|v| v.abs()).sum::<f32>();
                for kernel in Kernel::runnable() {
                    let mut a = Q8KActs::default();
                    a.quantize(kernel, &x)?;
                    let mut got = vec![0f32; n];
                    kq_rows(kernel, format, &w, row_bytes, &a, &mut got)?;
                    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                        assert!(
                            (g - w).abs() <= tol,
                            "{format:?} {kernel:?} n={n} k={k} row {i}: {g} vs {w} (tol {tol})"
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// The SIMD tiers agree with the scalar one to float rounding.
    #[test]
    fn simd_tiers_match_scalar() -> Result<()> {
        for format in [KFormat::Q4K, KFormat::Q6K] {
            let dtype = match format {
                KFormat::Q4K => GgmlDType::Q4K,
                KFormat::Q6K => GgmlDType::Q6K,
            };
            let (n, k) = (23, 2304);
            let x = awkward_acts(k, 5);
            let (w, _) = rows_and_product(dtype, n, k, &x)?;
            let mut a = Q8KActs::default();
            a.quantize(Kernel::Scalar, &x)?;
            let mut want = vec![0f32; n];
            kq_rows(Kernel::Scalar, format, &w, w.len() / n, &a, &mut want)?;
            for kernel in Kernel::runnable() {
                let mut got = vec![0f32; n];
                kq_rows(kernel, format, &w, w.len() / n, &a, &mut got)?;
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        (g - w).abs() <= 1e-5 * w.abs().max(1.0),
                        "{format:?} {kernel:?}"
                    );
                }
            }
        }
        Ok(())
    }

    /// The same bits whatever the split of the rows between threads.
    #[test]
    fn rows_independent_of_thread_count() -> Result<()> {
        use rayon::prelude::*;
        let (n, k) = (101, 1536);
        let x = awkward_acts(k, 9);
        for (format, dtype) in [
            (KFormat::Q4K, GgmlDType::Q4K),
            (KFormat::Q6K, GgmlDType::Q6K),
        ] {
            let (w, _) = rows_and_product(dtype, n, k, &x)?;
            let row_bytes = w.len() / n;
            let kernel = Kernel::detected();
            let mut a = Q8KActs::default();
            a.quantize(kernel, &x)?;
            let run = |threads: usize, chunk: usize| -> Vec<f32> {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .expect("thread pool");
                let mut out = vec![0f32; n];
                pool.install(|| {
                    out.par_chunks_mut(chunk)
                        .zip(w.par_chunks(chunk * row_bytes))
                        .for_each(|(o, w)| {
                            kq_rows(kernel, format, w, row_bytes, &a, o).expect("rows")
                        })
                });
                out
            };
            let one = run(1, n);
            for (threads, chunk) in [(2, 51), (3, 7), (2, 1)] {
                assert!(
                    run(threads, chunk) == one,
                    "{format:?}: {threads} threads differ"
                );
            }
        }
        Ok(())
    }

    #[test]
    fn mismatched_rows_are_errors() -> Result<()> {
        let x = lcg_values(512, 1);
        let mut a = Q8KActs::default();
        a.quantize(Kernel::Scalar, &x)?;
        let w = vec![0u8; 3 * 2 * Q4K_BYTES];
        let mut out = vec![0f32; 3];
        assert!(kq_rows(
            Kernel::Scalar,
            KFormat::Q4K,
            &w,
            2 * Q4K_BYTES,
            &a,
            &mut out
        )
        .is_ok());
        assert!(kq_rows(
            Kernel::Scalar,
            KFormat::Q6K,
            &w,
            2 * Q4K_BYTES,
            &a,
            &mut out
        )
        .is_err());
        assert!(kq_rows(
            Kernel::Scalar,
            KFormat::Q4K,
            &w[1..],
            2 * Q4K_BYTES,
            &a,
            &mut out
        )
        .is_err());
        Ok(())
    }
}

/// Throughput of the row kernels and of candle's `vec_dot` on ~400 MB of rows (timing
/// only, no assertion):
/// `cargo test --release -p township-infer --lib kq_rows_speed -- --ignored --nocapture`.
#[cfg(test)]
mod speed {
    use super::*;
    use crate::kernels::test_values::lcg_values;
    use candle_core::quantized::k_quants::{BlockQ4K, BlockQ6K, BlockQ8K, GgmlType};
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};

    /// candle's `vec_dot` over the rows of `w`, prefetching as `kq_rows` does.
    fn candle_rows<T: GgmlType<VecDotType = BlockQ8K>>(
        w: &[u64],
        row_bytes: usize,
        k: usize,
        acts: &[BlockQ8K],
        out: &mut [f32],
    ) {
        let nb = k / QK_K;
        assert_eq!(row_bytes, nb * std::mem::size_of::<T>());
        assert!(w.len() * 8 >= out.len() * row_bytes);
        // SAFETY: `w` holds at least out.len() * row_bytes bytes (assert), u64-aligned.
        let bytes = unsafe { std::slice::from_raw_parts(w.as_ptr() as *const u8, w.len() * 8) };
        let ahead = PREFETCH_BYTES.div_ceil(row_bytes);
        for (i, o) in out.iter_mut().enumerate() {
            if let Some(next) = bytes.get((i + ahead) * row_bytes..(i + ahead + 1) * row_bytes) {
                prefetch(next);
            }
            // SAFETY: row i is nb blocks of T inside `bytes`, aligned: the buffer is
            // u64-aligned and row_bytes is a multiple of T's size (T's alignment is at
            // most 4).
            let row = unsafe {
                std::slice::from_raw_parts(bytes.as_ptr().add(i * row_bytes) as *const T, nb)
            };
            *o = T::vec_dot(k, row, acts);
        }
    }

    #[test]
    #[ignore]
    fn kq_rows_speed() -> Result<()> {
        // The 1.5B model's two row lengths.
        for (format, dtype, n, k) in [
            (KFormat::Q4K, GgmlDType::Q4K, 8960, 1536),
            (KFormat::Q6K, GgmlDType::Q6K, 8960, 1536),
            (KFormat::Q4K, GgmlDType::Q4K, 1536, 8960),
            (KFormat::Q6K, GgmlDType::Q6K, 1536, 8960),
        ] {
            // ~400 MB, beyond the caches (the L3 of a shared server may hold 100s of MB).
            let copies = 40;
            let w = Tensor::from_vec(lcg_values(n * k, 1), (n, k), &Device::Cpu)?;
            let one = QTensor::quantize(&w, dtype)?.data()?.to_vec();
            let one: Vec<u64> = one
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect();
            let words: Vec<u64> = (0..copies).flat_map(|_| one.iter().copied()).collect();
            let total = words.len() * 8;
            let row_bytes = total / (n * copies);
            let x = lcg_values(k, 2);
            let mut out = vec![0f32; n * copies];
            let report = |what: &str, t: std::time::Instant| {
                let s = t.elapsed().as_secs_f64() / 3.0;
                eprintln!(
                    "{format:?} k={k} {what}: {:.1} ms, {:.2} GB/s",
                    s * 1e3,
                    total as f64 / s / 1e9
                );
            };
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            for kernel in Kernel::runnable() {
                let mut a = Q8KActs::default();
                a.quantize(kernel, &x)?;
                let t = std::time::Instant::now();
                for _ in 0..3 {
                    kq_rows(kernel, format, &bytes, row_bytes, &a, &mut out)?;
                }
                report(&format!("{kernel:?}"), t);
            }
            let mut acts = vec![BlockQ8K::zeros(); k / QK_K];
            BlockQ8K::from_float(&x, &mut acts);
            let t = std::time::Instant::now();
            for _ in 0..3 {
                match format {
                    KFormat::Q4K => candle_rows::<BlockQ4K>(&words, row_bytes, k, &acts, &mut out),
                    KFormat::Q6K => candle_rows::<BlockQ6K>(&words, row_bytes, k, &acts, &mut out),
                }
            }
            report("candle vec_dot", t);
        }
        Ok(())
    }
}
