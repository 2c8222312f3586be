//! The kernel choices of a model load ([`KernelOptions`]) and their resolution against what
//! the CPU can do.

use super::amx;
use super::simd::{Kernel, Tier};

/// How Q5_0 weight matrices are multiplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Q5_0Kernel {
    /// Our kernel (`q5_0`): the weights kept at 22 bytes per block, SIMD per [`Tier`], AMX
    /// tiles for prefill when allowed.
    #[default]
    Ours,
    /// candle's own Q5_0 x Q8_0 path (a scalar dot product on x86): comparison only.
    #[cfg(feature = "compare")]
    Candle,
    /// Widened exactly to Q8_0 at load and run by candle (the first session's route, 1.5x
    /// the bytes): comparison only.
    #[cfg(feature = "compare")]
    Q8_0,
}

/// How Q4_K / Q6_K weight matrices are multiplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KQuantKernel {
    /// Our prefill kernels (`kquant`) from `kquant`'s row threshold up, candle's below.
    #[default]
    Ours,
    /// candle's kernels for every product: comparison only.
    #[cfg(feature = "compare")]
    Candle,
}

/// The kernel choices of a model load. The default is the fastest this CPU allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelOptions {
    /// The highest tier our kernels may use; they run at the best tier the CPU has up to
    /// this one. Lowering it forces the AVX2 or scalar kernels (tests, diagnostics).
    pub max_tier: Tier,
    /// Use AMX tiles for Q5_0 prefill where the CPU has them (Xeon Sapphire Rapids and
    /// later) and the tier is AVX-512 VNNI.
    pub amx: bool,
    pub q5_0: Q5_0Kernel,
    pub kquant: KQuantKernel,
}

impl Default for KernelOptions {
    fn default() -> Self {
        KernelOptions {
            max_tier: Tier::Avx512Vnni,
            amx: true,
            q5_0: Q5_0Kernel::default(),
            kquant: KQuantKernel::default(),
        }
    }
}

impl KernelOptions {
    /// The tier our kernels run at on this CPU with these options.
    pub fn tier(&self) -> Tier {
        self.kernel().tier()
    }

    /// Whether Q5_0 prefill uses AMX tiles on this CPU with these options.
    pub fn uses_amx(&self) -> bool {
        self.amx && self.tier() == Tier::Avx512Vnni && amx::supported()
    }

    /// What runs, for logs and benchmark headers, e.g. `avx512-vnni+amx`.
    pub fn describe(&self) -> String {
        let mut s = self.tier().name().to_string();
        if self.uses_amx() {
            s.push_str("+amx");
        }
        #[cfg(feature = "compare")]
        {
            if self.q5_0 != Q5_0Kernel::Ours {
                s.push_str(&format!(", q5_0 {:?}", self.q5_0));
            }
            if self.kquant != KQuantKernel::Ours {
                s.push_str(&format!(", kquant {:?}", self.kquant));
            }
        }
        s
    }

    pub(crate) fn kernel(&self) -> Kernel {
        Kernel::best_for(self.max_tier)
    }
}
