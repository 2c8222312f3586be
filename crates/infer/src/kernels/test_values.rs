//! Deterministic pseudo-random values for the kernel tests and the kernel benchmarks
//! (`examples/q5_bench.rs`, `examples/kq_bench.rs`). OWNER: generator.

/// `n` values in about [-1, 1) from a 64-bit linear congruential generator seeded by
/// `seed`: the same values on every machine and run.
pub fn lcg_values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}
