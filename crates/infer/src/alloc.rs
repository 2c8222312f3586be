//! Allocator tuning for model inference. OWNER: models.
//!
//! Every candle op returns a freshly allocated tensor. In a 1,500-token prefill the
//! attention scores alone are 14 heads x 512 x 1,500 f32 = 43 MB per layer, and the MLP
//! activations 512 x 4,864 f32 = 10 MB each. glibc serves blocks above its mmap threshold
//! (128 KB, rising dynamically only to 32 MB) with a fresh `mmap` and returns them with
//! `munmap` on free, so every such tensor is zero-filled page by page by the kernel: a
//! profile of prefill showed 12% of the time in `clear_page_erms` and page-fault handling.
//! Raising the threshold to 1 GiB and never trimming the heap keeps freed blocks in the
//! heap for the next op to reuse (BENCHMARKS.md has the measurement). Peak RSS does not
//! grow: the same blocks are reused op after op.

/// Keep large freed blocks in the process heap for reuse instead of returning them to the
/// kernel. Process-wide; called once by the binary before models are loaded. Returns
/// whether the allocator accepted the settings (always false off glibc).
pub fn keep_freed_memory_for_reuse() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const MMAP_THRESHOLD: libc::c_int = 1 << 30;
        // SAFETY: mallopt only changes allocator parameters; it is called before the
        // process allocates model tensors, and glibc serialises it with the arenas' locks.
        unsafe {
            let threshold = libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1;
            let trim = libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX) == 1;
            threshold && trim
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
