//! The generator's quantized matmul kernels, and the options that choose them.
//!
//! Module order, one way (a module imports only from those above it;
//! `scripts/check_module_order` checks it):
//!
//! 1. `cpu_tensor` (f32 CPU tensors as slices), `test_values` (deterministic test data),
//!    `row_split` (candle's `QMatMul` cut into bands of rows for rayon): no kernel imports;
//! 2. `simd`: the shared SIMD base: the tiers and their detection, the output-pointer
//!    helpers every prefill task writes through, the register-tile walk, `hsum_f32x8`;
//! 3. `amx`: AMX tiles on widened weights (knows no weight format);
//! 4. `options`: [`KernelOptions`], resolved against what the CPU can do;
//! 5. `q5_0` (Q5_0 weights; AMX for prefill when allowed), `kquant` (Q4_K/Q6_K prefill);
//! 6. `matvec` (decoding's one-row products over ranges of rows, every weight format),
//!    `region` (one parallel region per decoded token: spinning barrier, shared chunks).
//!
//! This file only declares and re-exports. Nothing here reads the environment: the loaders
//! get a [`KernelOptions`], resolved once per weight matrix.

pub mod amx;
pub mod cpu_tensor;
pub mod kquant;
pub mod matvec;
pub mod options;
pub mod q5_0;
pub mod region;
pub mod row_split;
pub mod simd;
pub mod test_values;

pub use options::{KQuantKernel, KernelOptions, Q5_0Kernel};
pub use simd::Tier;
