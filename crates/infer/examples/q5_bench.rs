//! Q5Linear (Q5_0 weights kept as is) against candle's QMatMul on the same weights widened
//! to Q8_0 (what the generator does at load today).
//!
//! usage: RAYON_NUM_THREADS=N CANDLE_NUM_THREADS=N q5_bench [copies] [K,N;K,N..] [M,M..]
//!            [--tier avx2|scalar] [--no-amx]
//!        q5_bench --gguf FILE   (tensor types and shapes of a model)
//!
//! Needs the `compare` feature (the Q8_0 conversion):
//! `cargo run --release -p township-infer --features compare --example q5_bench`.
//!
//! m = 1 rotates over `copies` (default 8) independent weight matrices so that the
//! weights do not sit in L2 between calls, as in decoding where every layer's weights are
//! read once per token; m = 512 uses one matrix (compute bound).
use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};
use std::time::Instant;
use township_infer::kernels::q5_0::{q5_0_to_q8_0, Q5Linear};
use township_infer::kernels::test_values::lcg_values;
use township_infer::kernels::{KernelOptions, Tier};

/// Median seconds per call of `f`, over `trials` trials of `calls` calls each.
fn time_per_call(
    trials: usize,
    calls: usize,
    mut f: impl FnMut(usize) -> candle_core::Result<Tensor>,
) -> candle_core::Result<f64> {
    let mut per_call = Vec::with_capacity(trials);
    for _ in 0..trials {
        let t = Instant::now();
        for i in 0..calls {
            f(i)?;
        }
        per_call.push(t.elapsed().as_secs_f64() / calls as f64);
    }
    per_call.sort_by(f64::total_cmp);
    Ok(per_call[trials / 2])
}

/// `q5_bench --gguf FILE`: counts the tensors of a GGUF by type and shape.
fn list_gguf(path: &str) -> anyhow::Result<()> {
    let mut f = std::fs::File::open(path)?;
    let content = candle_core::quantized::gguf_file::Content::read(&mut f)?;
    let mut counts = std::collections::BTreeMap::new();
    for (name, info) in &content.tensor_infos {
        let base: Vec<&str> = name
            .split('.')
            .filter(|p| p.parse::<usize>().is_err())
            .collect();
        let key = (
            base.join("."),
            format!("{:?}", info.ggml_dtype),
            format!("{:?}", info.shape.dims()),
        );
        *counts.entry(key).or_insert(0usize) += 1;
    }
    for ((name, dtype, dims), n) in counts {
        println!("{n:>3} x {name:<24} {dtype:<6} {dims}");
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let mut opts = KernelOptions::default();
    let mut args = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--tier" => {
                let t = it.next().unwrap_or_default();
                opts.max_tier = Tier::from_name(&t)
                    .ok_or_else(|| anyhow::anyhow!("--tier: unknown tier `{t}`"))?;
            }
            "--no-amx" => opts.amx = false,
            _ => args.push(a),
        }
    }
    if args.first().map(String::as_str) == Some("--gguf") {
        let path = args
            .get(1)
            .ok_or_else(|| anyhow::anyhow!("usage: q5_bench --gguf FILE"))?;
        return list_gguf(path);
    }
    let copies: usize = args
        .first()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8)
        .max(1);
    let dev = Device::Cpu;
    println!(
        "rayon pool={} copies(m=1)={copies} kernel={}",
        rayon::current_num_threads(),
        opts.describe()
    );
    println!(
        "{:>11} {:>4} {:>10} {:>10} {:>9} {:>9} {:>8}",
        "k -> n", "m", "impl", "MB weight", "us/call", "GB/s", "GFLOP/s"
    );
    // optional: q5_bench COPIES K,N[;K,N..] M[,M..]
    let shapes: Vec<(usize, usize)> = args
        .get(1)
        .map(|s| {
            s.split(';')
                .filter_map(|p| p.split_once(','))
                .filter_map(|(k, n)| Some((k.parse().ok()?, n.parse().ok()?)))
                .collect()
        })
        .unwrap_or_else(|| vec![(896, 4864), (4864, 896)]);
    let ms: Vec<usize> = args
        .get(2)
        .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 512]);
    for &(k, n) in &shapes {
        let mut q5 = Vec::with_capacity(copies);
        let mut q8 = Vec::with_capacity(copies);
        let mut q8_bytes = 0usize;
        for c in 0..copies {
            let w = Tensor::from_vec(lcg_values(n * k, 100 + c as u64), (n, k), &dev)?;
            let qt = QTensor::quantize(&w, GgmlDType::Q5_0)?;
            q5.push(Q5Linear::from_qtensor(&qt, &opts)?);
            let q8t = q5_0_to_q8_0(&qt)?;
            q8_bytes = q8t.storage_size_in_bytes();
            q8.push(QMatMul::from_qtensor(q8t)?);
        }
        let q5_bytes = q5[0].weight_bytes();
        for &m in &ms {
            let xs = Tensor::from_vec(lcg_values(m * k, 7), (1, m, k), &dev)?;
            // warm up (candle packs its weights on first use)
            for c in 0..copies {
                q5[c].forward(&xs)?;
                q8[c].forward(&xs)?;
            }
            let (trials, calls, rot) = if m == 1 {
                (7, 40 * copies, copies)
            } else {
                (5, 3, 1)
            };
            let t5 = time_per_call(trials, calls, |i| q5[i % rot].forward(&xs))?;
            let t8 = time_per_call(trials, calls, |i| q8[i % rot].forward(&xs))?;
            let flops = 2.0 * (m * n * k) as f64;
            for (name, t, bytes) in [("Q5Linear", t5, q5_bytes), ("QMatMul-Q8", t8, q8_bytes)] {
                println!(
                    "{:>11} {:>4} {:>10} {:>10.2} {:>9.1} {:>9.2} {:>8.1}",
                    format!("{k}->{n}"),
                    m,
                    name,
                    bytes as f64 / 1e6,
                    t * 1e6,
                    bytes as f64 / t / 1e9,
                    flops / t / 1e9
                );
            }
            println!(
                "{:>11} {:>4} {:>10} speed-up Q5Linear vs QMatMul-Q8: {:.2}x",
                "",
                m,
                "",
                t8 / t5
            );
        }
    }
    Ok(())
}
