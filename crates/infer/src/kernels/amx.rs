//! Intel AMX (Advanced Matrix Extensions) for the prefill matmuls of block-quantized weights
//! against Q8_0 activations. OWNER: generator.
//!
//! Why: with AVX-512 VNNI one `vpdpbusd` does 32 byte products per block of 32 and needs
//! three float instructions to apply the block scales, so the Q5_0 prefill kernel peaks at
//! ~16 multiply-adds per cycle; one AMX `tdpbssd` multiplies a 16 x 32 byte tile by a
//! 32 x 16 byte tile (8,192 multiply-adds). What remains per block is the scale epilogue,
//! done on the 16 x 16 i32 result with AVX-512. Sapphire Rapids and later Xeons (this
//! project's 2-core CI machines among them) have AMX; elsewhere the VNNI / AVX2 kernels run.
//!
//! Per block `b` of 32 values the exact result is
//! `sum_b dw[r][b] * (da[t][b] * sum_i qw[r][i] qa[t][i] - ca[t][b])`, with the weight
//! values `qw` unsigned in `0..32` (Q5_0 stored without its -16 offset: its correction is
//! `ca = 16 * da * sum_i qa[t][i]`, computed when the activations are quantized).
//!
//! Tiles, the same configuration candle 0.11.1's AMX Q4_K kernel loads (so the two can run
//! on one thread in any order): tmm0–3 results (16 x 16 i32), tmm4–5 weights (16 rows x 32
//! bytes), tmm6–7 activations (8 rows of 16 tokens x 4 bytes: the "VNNI" layout, packed once
//! per call by `pack_acts`). Results come out as (weight row, token) and are transposed into
//! the token-major output once per tile, after all blocks.
//!
//! Linux only allows AMX after a per-process `arch_prctl(ARCH_REQ_XCOMP_PERM)`;
//! `supported()` asks for it once; `KernelOptions::amx` decides whether the kernels use it.

/// Tokens per tile and weight rows per tile.
pub const TILE: usize = 16;
/// Values per quantization block (one tile product covers one block).
const QK: usize = 32;

/// Whether AMX-INT8 is usable by this process (asked once). Whether to use it is the
/// caller's choice (`KernelOptions::amx`).
pub fn supported() -> bool {
    // (avx512vl is implied by AMX CPUs; checked anyway for the AVX-512 epilogue.)
    use std::sync::OnceLock;
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(detect)
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn detect() -> bool {
    if !(is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vl"))
    {
        return false;
    }
    // amx-tile (edx bit 24) and amx-int8 (edx bit 25) of CPUID leaf 7; the std macro for
    // them is unstable.
    let info = std::arch::x86_64::__cpuid_count(7, 0);
    if info.edx & (1 << 24) == 0 || info.edx & (1 << 25) == 0 {
        return false;
    }
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;
    // SAFETY: a plain system call asking for the AMX tile state permission; it has no
    // memory operands.
    unsafe {
        libc::syscall(
            libc::SYS_arch_prctl,
            ARCH_REQ_XCOMP_PERM,
            XFEATURE_XTILEDATA,
        ) == 0
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn detect() -> bool {
    false
}

/// Activations in AMX tile layout, shared by every weight chunk of one matmul.
pub struct PackedActs {
    /// `[token tile][block][8 rows][16 tokens][4 bytes]`, zero for padding tokens.
    tiles: Vec<i8>,
    /// `[token tile][block][16 tokens]`: activation scales `da`, zero for padding tokens.
    da: Vec<f32>,
    /// `[token tile][block][16 tokens]`: corrections `ca`, zero for padding tokens.
    ca: Vec<f32>,
    nb: usize,
    m: usize,
}

impl PackedActs {
    fn token_tiles(&self) -> usize {
        self.m.div_ceil(TILE)
    }
}

/// Packs `m` rows of `k` quantized activations (`qs`, row-major) with their per-block
/// scales `d` and corrections `c` (rows `nbp` apart).
pub fn pack_acts(qs: &[i8], d: &[f32], c: &[f32], nbp: usize, m: usize, k: usize) -> PackedActs {
    let nb = k / QK;
    let n_tt = m.div_ceil(TILE);
    let mut tiles = vec![0i8; n_tt * nb * QK * TILE];
    let mut da = vec![0f32; n_tt * nb * TILE];
    let mut ca = vec![0f32; n_tt * nb * TILE];
    for t in 0..m {
        let (tt, tok) = (t / TILE, t % TILE);
        let row = &qs[t * k..(t + 1) * k];
        for b in 0..nb {
            let tile = &mut tiles[(tt * nb + b) * QK * TILE..][..QK * TILE];
            for g in 0..QK / 4 {
                let dst = (g * TILE + tok) * 4;
                tile[dst..dst + 4].copy_from_slice(&row[b * QK + g * 4..][..4]);
            }
            da[(tt * nb + b) * TILE + tok] = d[t * nbp + b];
            ca[(tt * nb + b) * TILE + tok] = c[t * nbp + b];
        }
    }
    PackedActs {
        tiles,
        da,
        ca,
        nb,
        m,
    }
}

/// `out[t * out_stride + r] = sum_b wd[r][b] * (da[t][b] * (qw[r] . qa[t])_b - ca[t][b])`
/// for every token `t < acts.m` and weight row `r < rows`.
///
/// `wq` holds `rows` rows of `k` unsigned weight values below 128 (row-major), `wd` their
/// block scales (rows `nbp` apart); `rows` must be a multiple of `TILE`.
///
/// # Safety
/// `supported()` must have returned true; `out` must be writable at every
/// `t * out_stride + r` above; the slices must have the sizes described.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm(
    wq: &[u8],
    wd: &[f32],
    nbp: usize,
    rows: usize,
    k: usize,
    acts: &PackedActs,
    out: *mut f32,
    out_stride: usize,
) {
    assert!(rows.is_multiple_of(TILE) && wq.len() == rows * k && wd.len() == rows * nbp);
    assert!(acts.nb == k / QK);
    // SAFETY: forwarded to the caller (features checked by `supported`).
    unsafe { kernel::gemm(wq, wd, nbp, rows, k, acts, out, out_stride) }
}

#[cfg(target_arch = "x86_64")]
mod kernel {
    use super::{PackedActs, QK, TILE};
    use std::arch::x86_64::*;

    #[repr(C, align(64))]
    struct TileCfg {
        palette: u8,
        start_row: u8,
        reserved: [u8; 14],
        colsb: [u16; 16],
        rows: [u8; 16],
    }

    /// Loads the tile configuration (see the module docs). Cheap, and done on every call
    /// so that whatever another library configured on this thread cannot leak in.
    unsafe fn configure() {
        let mut cfg = TileCfg {
            palette: 1,
            start_row: 0,
            reserved: [0; 14],
            colsb: [0; 16],
            rows: [0; 16],
        };
        for t in 0..4 {
            cfg.colsb[t] = 64;
            cfg.rows[t] = 16;
        }
        for t in 4..6 {
            cfg.colsb[t] = 32;
            cfg.rows[t] = 16;
        }
        for t in 6..8 {
            cfg.colsb[t] = 64;
            cfg.rows[t] = 8;
        }
        // SAFETY: `cfg` is a valid 64-byte palette-1 configuration, aligned to 64.
        unsafe {
            std::arch::asm!("ldtilecfg [{cfg}]", cfg = in(reg) &cfg, options(nostack, readonly));
        }
    }

    /// Result tiles of one step, `[4][16 weight rows][16 tokens]`.
    #[repr(C, align(64))]
    struct Results([i32; 4 * TILE * TILE]);

    #[target_feature(enable = "avx512f,avx512bw")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn gemm(
        wq: &[u8],
        wd: &[f32],
        nbp: usize,
        rows: usize,
        k: usize,
        acts: &PackedActs,
        out: *mut f32,
        out_stride: usize,
    ) {
        let nb = k / QK;
        let n_rt = rows / TILE;
        let n_tt = acts.token_tiles();
        let mut c = Results([0; 4 * TILE * TILE]);
        // Float accumulators of a 2 x 2 tile step: [2 row tiles][2 token tiles][16 rows][16 tokens].
        let mut acc = [0f32; 4 * TILE * TILE];
        // SAFETY (whole body): every tile load reads 16 rows of 32 bytes of `wq` at row
        // stride k (rows r0..r0+16 < rows, bytes b*32..b*32+32 < k) or 8 rows of 64 bytes
        // of one packed activation block (inside `acts.tiles`); stores go to `c`; the
        // output writes are limited to t < acts.m and r < rows (the caller's contract).
        unsafe {
            configure();
            let mut rt = 0;
            while rt < n_rt {
                let two_r = rt + 1 < n_rt;
                let mut tt = 0;
                while tt < n_tt {
                    let two_t = tt + 1 < n_tt;
                    acc.fill(0.0);
                    for b in 0..nb {
                        let w0 = wq.as_ptr().add(rt * TILE * k + b * QK);
                        let w1 = if two_r { w0.add(TILE * k) } else { w0 };
                        let a0 = acts.tiles.as_ptr().add((tt * nb + b) * QK * TILE);
                        let a1 = if two_t {
                            acts.tiles.as_ptr().add(((tt + 1) * nb + b) * QK * TILE)
                        } else {
                            a0
                        };
                        std::arch::asm!(
                            "tilezero tmm0",
                            "tilezero tmm1",
                            "tilezero tmm2",
                            "tilezero tmm3",
                            "tileloadd tmm4, [{w0} + {sw}*1]",
                            "tileloadd tmm6, [{a0} + {sa}*1]",
                            "tdpbssd tmm0, tmm4, tmm6",
                            "tileloadd tmm7, [{a1} + {sa}*1]",
                            "tdpbssd tmm1, tmm4, tmm7",
                            "tileloadd tmm5, [{w1} + {sw}*1]",
                            "tdpbssd tmm2, tmm5, tmm6",
                            "tdpbssd tmm3, tmm5, tmm7",
                            "tilestored [{c} + {sc}*1], tmm0",
                            "tilestored [{c} + {sc}*1 + 1024], tmm1",
                            "tilestored [{c} + {sc}*1 + 2048], tmm2",
                            "tilestored [{c} + {sc}*1 + 3072], tmm3",
                            w0 = in(reg) w0,
                            w1 = in(reg) w1,
                            a0 = in(reg) a0,
                            a1 = in(reg) a1,
                            c = in(reg) c.0.as_mut_ptr(),
                            sw = in(reg) k,
                            sa = in(reg) 64usize,
                            sc = in(reg) 64usize,
                            options(nostack)
                        );
                        // Epilogue: acc += dw[r][b] * (da[t][b] * C[r][t] - ca[t][b]).
                        for (ti, &used_t) in [true, two_t].iter().enumerate() {
                            if !used_t {
                                continue;
                            }
                            let s = ((tt + ti) * nb + b) * TILE;
                            let da = _mm512_loadu_ps(acts.da.as_ptr().add(s));
                            let ca = _mm512_loadu_ps(acts.ca.as_ptr().add(s));
                            for (ri, &used_r) in [true, two_r].iter().enumerate() {
                                if !used_r {
                                    continue;
                                }
                                let tile = ri * 2 + ti;
                                let r0 = (rt + ri) * TILE;
                                for r in 0..TILE {
                                    let ci = _mm512_load_si512(
                                        c.0.as_ptr().add((tile * TILE + r) * TILE) as *const _,
                                    );
                                    let x = _mm512_fmsub_ps(_mm512_cvtepi32_ps(ci), da, ca);
                                    let w = _mm512_set1_ps(*wd.get_unchecked((r0 + r) * nbp + b));
                                    let p = acc.as_mut_ptr().add((tile * TILE + r) * TILE);
                                    _mm512_storeu_ps(p, _mm512_fmadd_ps(w, x, _mm512_loadu_ps(p)));
                                }
                            }
                        }
                    }
                    // Transpose each (rows x tokens) accumulator tile into the output.
                    for ri in 0..1 + two_r as usize {
                        for ti in 0..1 + two_t as usize {
                            let tile = ri * 2 + ti;
                            let t0 = (tt + ti) * TILE;
                            let r0 = (rt + ri) * TILE;
                            for tok in 0..TILE.min(acts.m - t0) {
                                let dst = out.add((t0 + tok) * out_stride + r0);
                                for r in 0..TILE {
                                    *dst.add(r) = acc[(tile * TILE + r) * TILE + tok];
                                }
                            }
                        }
                    }
                    tt += 1 + two_t as usize;
                }
                rt += 1 + two_r as usize;
            }
            // No `tilerelease`: candle configures a thread once and would fault on tiles
            // released under it; the configuration left loaded is the one it uses.
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> u32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 33) as u32
    }

    #[test]
    fn amx_gemm_matches_the_block_formula() {
        if !supported() {
            eprintln!("AMX not available on this machine: skipped");
            return;
        }
        // 3 row tiles (an odd one), 37 tokens (a partial token tile), 3 blocks.
        let (rows, m, k) = (48usize, 37usize, 96usize);
        let (nb, nbp) = (k / QK, 8usize);
        let mut seed = 42u64;
        let wq: Vec<u8> = (0..rows * k).map(|_| (lcg(&mut seed) % 32) as u8).collect();
        let wd: Vec<f32> = (0..rows * nbp)
            .map(|i| {
                if i % nbp < nb {
                    (lcg(&mut seed) % 1000) as f32 / 1e5
                } else {
                    0.0
                }
            })
            .collect();
        let qs: Vec<i8> = (0..m * k)
            .map(|_| (lcg(&mut seed) % 255) as i32 as i8)
            .collect();
        let qs: Vec<i8> = qs.iter().map(|&q| q.max(-127)).collect();
        let d: Vec<f32> = (0..m * nbp)
            .map(|_| (lcg(&mut seed) % 1000) as f32 / 1e4)
            .collect();
        let mut c = vec![0f32; m * nbp];
        for t in 0..m {
            for b in 0..nb {
                let s: i32 = qs[t * k + b * QK..][..QK].iter().map(|&q| q as i32).sum();
                c[t * nbp + b] = 16.0 * d[t * nbp + b] * s as f32;
            }
        }
        let acts = pack_acts(&qs, &d, &c, nbp, m, k);
        let stride = rows + 5;
        let mut out = vec![f32::NAN; m * stride];
        // SAFETY: supported() is true; out has m rows of `stride` >= rows.
        unsafe { gemm(&wq, &wd, nbp, rows, k, &acts, out.as_mut_ptr(), stride) };
        for t in 0..m {
            for r in 0..rows {
                let mut want = 0f64;
                for b in 0..nb {
                    let dot: i32 = (0..QK)
                        .map(|i| wq[r * k + b * QK + i] as i32 * qs[t * k + b * QK + i] as i32)
                        .sum();
                    want += wd[r * nbp + b] as f64
                        * (d[t * nbp + b] as f64 * dot as f64 - c[t * nbp + b] as f64);
                }
                let got = out[t * stride + r] as f64;
                assert!(
                    (got - want).abs() <= 1e-4 * want.abs().max(1.0),
                    "token {t} row {r}: {got} vs {want}"
                );
            }
            // Columns past `rows` are not written.
            assert!(out[t * stride + rows..(t + 1) * stride]
                .iter()
                .all(|v| v.is_nan()));
        }
    }
}
