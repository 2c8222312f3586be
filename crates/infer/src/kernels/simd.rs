//! The SIMD base the kernels share (`q5_0`, `kquant`, `amx` come after it, never before):
//!
//! - [`Tier`] / [`Kernel`]: the SIMD level a kernel runs at, the CPU's detected once and
//!   capped by `KernelOptions::max_tier`;
//! - [`OutPtr`] / [`OutBlock`]: a row-major output buffer shared by the rayon tasks of a
//!   prefill product, each task writing its own columns;
//! - [`Tiles`] / [`for_each_tile`]: the register-tile walk of a prefill task (`MR` weight rows
//!   x `NR` activation rows, one-wide tiles at the edges);
//! - `hsum_f32x8`: the horizontal sum of eight f32 lanes.

use std::sync::OnceLock;

/// A SIMD level of our kernels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// Portable Rust, also the reference in the tests.
    Scalar,
    /// AVX2 + FMA + F16C.
    Avx2,
    /// AVX2 plus AVX-512 F/BW/VL/VNNI (and AMX tiles, where present and allowed).
    Avx512Vnni,
}

impl Tier {
    /// The tier's name as the logs and benchmarks print it.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Scalar => "scalar",
            Tier::Avx2 => "avx2",
            Tier::Avx512Vnni => "avx512-vnni",
        }
    }

    /// The tier of a name as [`Tier::name`] gives it.
    pub fn from_name(name: &str) -> Option<Tier> {
        [Tier::Scalar, Tier::Avx2, Tier::Avx512Vnni]
            .into_iter()
            .find(|t| t.name() == name)
    }
}

/// The SIMD level of the kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernel {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512Vnni,
}

impl Kernel {
    /// The best kernel this CPU runs (detected once).
    pub(crate) fn detected() -> Kernel {
        static KERNEL: OnceLock<Kernel> = OnceLock::new();
        *KERNEL.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                let avx2 = is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("fma")
                    && is_x86_feature_detected!("f16c");
                if avx2
                    && is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512vl")
                    && is_x86_feature_detected!("avx512vnni")
                {
                    return Kernel::Avx512Vnni;
                }
                if avx2 {
                    return Kernel::Avx2;
                }
            }
            Kernel::Scalar
        })
    }

    /// The best kernel this CPU runs at `max` or below.
    pub(crate) fn best_for(max: Tier) -> Kernel {
        let detected = Kernel::detected();
        if detected.tier() <= max {
            return detected;
        }
        match max {
            Tier::Scalar => Kernel::Scalar,
            #[cfg(target_arch = "x86_64")]
            // Below the detected tier, so the CPU has it.
            Tier::Avx2 => Kernel::Avx2,
            _ => Kernel::Scalar,
        }
    }

    pub(crate) fn tier(self) -> Tier {
        match self {
            Kernel::Scalar => Tier::Scalar,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => Tier::Avx2,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => Tier::Avx512Vnni,
        }
    }

    /// Every kernel this CPU can run (the detected one and all below it), for the tests.
    #[cfg(test)]
    pub(crate) fn runnable() -> Vec<Kernel> {
        let mut v = vec![Kernel::Scalar];
        #[cfg(target_arch = "x86_64")]
        match Kernel::detected() {
            Kernel::Avx512Vnni => v.extend([Kernel::Avx2, Kernel::Avx512Vnni]),
            Kernel::Avx2 => v.push(Kernel::Avx2),
            Kernel::Scalar => {}
        }
        v
    }
}

/// The start of a row-major f32 output buffer shared by the prefill tasks.
#[derive(Clone, Copy)]
pub(crate) struct OutPtr(pub(crate) *mut f32);

// SAFETY: the pointer is only turned into an `OutBlock`, whose constructor's contract
// makes every task write a disjoint set of elements.
unsafe impl Send for OutPtr {}
// SAFETY: as above; `OutPtr` itself is never dereferenced.
unsafe impl Sync for OutPtr {}

impl OutPtr {
    /// The spare capacity of `out` (at least `len` floats reserved), for tasks to fill before
    /// `out.set_len(len)`.
    pub(crate) fn spare(out: &mut Vec<f32>, len: usize) -> OutPtr {
        assert!(out.capacity() >= len);
        OutPtr(out.spare_capacity_mut().as_mut_ptr().cast::<f32>())
    }
}

/// Columns `c0..c0 + cols` of an (m, stride) row-major output, written by one task.
pub(crate) struct OutBlock {
    ptr: *mut f32,
    m: usize,
    stride: usize,
    cols: usize,
}

impl OutBlock {
    /// # Safety
    /// `base` points to `m * stride` writable floats, `c0 + cols <= stride`, and no
    /// other thread reads or writes these columns while the block is alive.
    pub(crate) unsafe fn new(
        base: OutPtr,
        m: usize,
        stride: usize,
        c0: usize,
        cols: usize,
    ) -> Self {
        assert!(c0 + cols <= stride);
        OutBlock {
            // SAFETY: c0 < stride, inside the buffer (forwarded to the caller).
            ptr: unsafe { base.0.add(c0) },
            m,
            stride,
            cols,
        }
    }

    /// Writes `v` at (activation row `a`, column `r` of the block).
    #[inline]
    pub(crate) fn set(&mut self, a: usize, r: usize, v: f32) {
        assert!(a < self.m && r < self.cols);
        // SAFETY: in bounds per the assert and the constructor's contract.
        unsafe { self.ptr.add(a * self.stride + r).write(v) };
    }

    /// Pointer to (activation row `a`, column `r`), rows `stride` floats apart.
    ///
    /// # Safety
    /// The caller writes only inside the block: rows `< m`, columns `< cols`.
    #[inline]
    pub(crate) unsafe fn at(&mut self, a: usize, r: usize) -> *mut f32 {
        // SAFETY: forwarded to the caller.
        unsafe { self.ptr.add(a * self.stride + r) }
    }

    pub(crate) fn stride(&self) -> usize {
        self.stride
    }

    pub(crate) fn m(&self) -> usize {
        self.m
    }

    pub(crate) fn cols(&self) -> usize {
        self.cols
    }
}

/// A register-tiled prefill kernel over `rows` weight rows and `m` activation rows.
pub(crate) trait Tiles {
    /// Weight rows `r..r + R` against activation rows `a..a + A`.
    ///
    /// # Safety
    /// `r + R` and `a + A` are within the `rows` and `m` given to [`for_each_tile`], and the
    /// CPU supports the implementor's features.
    unsafe fn tile<const R: usize, const A: usize>(&self, r: usize, a: usize);
}

/// Covers `rows` x `m` with `MR` x `NR` tiles, and one-wide tiles where fewer than `MR`
/// weight rows or `NR` activation rows are left.
///
/// # Safety
/// As [`Tiles::tile`] for every tile of the walk.
#[inline]
pub(crate) unsafe fn for_each_tile<T: Tiles, const MR: usize, const NR: usize>(
    t: &T,
    rows: usize,
    m: usize,
) {
    let mut a = 0;
    while a < m {
        let na = if a + NR <= m { NR } else { 1 };
        let mut r = 0;
        while r < rows {
            let nr = if r + MR <= rows { MR } else { 1 };
            // SAFETY: r + nr <= rows and a + na <= m; the rest is the caller's contract.
            unsafe {
                match (nr == MR, na == NR) {
                    (true, true) => t.tile::<MR, NR>(r, a),
                    (true, false) => t.tile::<MR, 1>(r, a),
                    (false, true) => t.tile::<1, NR>(r, a),
                    (false, false) => t.tile::<1, 1>(r, a),
                }
            }
            r += nr;
        }
        a += na;
    }
}

/// The sum of the eight lanes of `x`.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) fn hsum_f32x8(x: std::arch::x86_64::__m256) -> f32 {
    use std::arch::x86_64::*;
    let s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps::<1>(x));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_every_cell_once() {
        struct Count(std::cell::RefCell<Vec<u32>>, usize);
        impl Tiles for Count {
            unsafe fn tile<const R: usize, const A: usize>(&self, r: usize, a: usize) {
                let mut c = self.0.borrow_mut();
                for j in a..a + A {
                    for i in r..r + R {
                        c[j * self.1 + i] += 1;
                    }
                }
            }
        }
        for (rows, m) in [(1, 1), (7, 5), (8, 4), (33, 3)] {
            let t = Count(std::cell::RefCell::new(vec![0; rows * m]), rows);
            // SAFETY: `Count` needs no CPU feature and stays in bounds.
            unsafe { for_each_tile::<_, 4, 2>(&t, rows, m) };
            assert!(t.0.borrow().iter().all(|&c| c == 1), "{rows} x {m}");
        }
    }

    #[test]
    fn a_capped_tier_is_never_above_the_cap_nor_the_cpu() {
        for max in [Tier::Scalar, Tier::Avx2, Tier::Avx512Vnni] {
            let k = Kernel::best_for(max);
            assert!(k.tier() <= max && k.tier() <= Kernel::detected().tier());
            assert!(Kernel::runnable().contains(&k));
        }
    }
}
