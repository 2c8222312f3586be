//! KLinear (our Q4_K / Q6_K prefill kernel) against candle's QMatMul on the real
//! `ffn_down` tensors of the Qwen2.5 GGUF (one Q4_K, one Q6_K).
//!
//! usage: RAYON_NUM_THREADS=N CANDLE_NUM_THREADS=N kq_bench GGUF [M,M..] [--tier avx2|scalar]
//!
//! GGUF: the default generator's file (`township-digest models list` shows the folder); M
//! defaults to 1,512; `--tier` caps our kernels' SIMD tier (`KernelOptions::max_tier`).
//! Prints microseconds per call, GFLOP/s and the maximum difference between the two
//! outputs relative to the largest output of candle's.
use candle_core::quantized::{gguf_file, GgmlDType, QMatMul};
use candle_core::{Device, Module, Tensor};
use std::sync::Arc;
use std::time::Instant;
use township_infer::kernels::kquant::KLinear;
use township_infer::kernels::test_values::lcg_values;
use township_infer::kernels::{KernelOptions, Tier};

/// Median seconds per call of `f`, over `trials` trials of `calls` calls each.
fn time_per_call(
    trials: usize,
    calls: usize,
    mut f: impl FnMut() -> candle_core::Result<Tensor>,
) -> candle_core::Result<f64> {
    let mut per_call = Vec::with_capacity(trials);
    for _ in 0..trials {
        let t = Instant::now();
        for _ in 0..calls {
            f()?;
        }
        per_call.push(t.elapsed().as_secs_f64() / calls as f64);
    }
    per_call.sort_by(f64::total_cmp);
    Ok(per_call[trials / 2])
}

fn rel_max_diff(a: &Tensor, b: &Tensor) -> candle_core::Result<f32> {
    let a = a.flatten_all()?.to_vec1::<f32>()?;
    let b = b.flatten_all()?.to_vec1::<f32>()?;
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-30);
    let err = a
        .iter()
        .zip(&b)
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    Ok(err / scale)
}

fn main() -> anyhow::Result<()> {
    let mut opts = KernelOptions::default();
    let mut args = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        if a == "--tier" {
            let t = it.next().unwrap_or_default();
            opts.max_tier =
                Tier::from_name(&t).ok_or_else(|| anyhow::anyhow!("--tier: unknown tier `{t}`"))?;
        } else {
            args.push(a);
        }
    }
    let path = match args.first().filter(|p| !p.is_empty()) {
        Some(p) => std::path::PathBuf::from(p),
        None => anyhow::bail!("usage: kq_bench GGUF [M,M..] [--tier avx2|scalar]"),
    };
    let ms: Vec<usize> = args
        .get(1)
        .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 512]);
    let mut file =
        std::fs::File::open(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let content = gguf_file::Content::read(&mut file)?;
    let mut names: Vec<&String> = content
        .tensor_infos
        .keys()
        .filter(|n| n.ends_with("ffn_down.weight"))
        .collect();
    names.sort_by_key(|n| {
        n.split('.')
            .nth(1)
            .and_then(|i| i.parse::<usize>().ok())
            .unwrap_or(usize::MAX)
    });
    let dev = Device::Cpu;
    println!(
        "rayon pool={} kernel={}",
        rayon::current_num_threads(),
        opts.describe()
    );
    println!(
        "{:<24} {:>4} {:>10} {:>10} {:>8} {:>9} {:>12}",
        "tensor", "m", "impl", "us/call", "GFLOP/s", "speed-up", "rel max diff"
    );
    for dtype in [GgmlDType::Q4K, GgmlDType::Q6K] {
        let Some(name) = names
            .iter()
            .find(|n| content.tensor_infos[n.as_str()].ggml_dtype == dtype)
        else {
            println!("no {dtype:?} ffn_down tensor in {}", path.display());
            continue;
        };
        let qt = Arc::new(content.tensor(&mut file, name, &dev)?);
        let (n, k) = qt.shape().dims2()?;
        let ours = KLinear::from_arc(qt.clone(), &opts)?;
        let candle = QMatMul::from_arc(qt)?;
        for &m in &ms {
            let xs = Tensor::from_vec(lcg_values(m * k, 7), (1, m, k), &dev)?;
            // warm up (candle packs its weights on first use)
            let want = candle.forward(&xs)?;
            let got = ours.forward(&xs)?;
            let diff = rel_max_diff(&got, &want)?;
            let (trials, calls) = if m == 1 { (7, 200) } else { (5, 3) };
            let tc = time_per_call(trials, calls, || candle.forward(&xs))?;
            let to = time_per_call(trials, calls, || ours.forward(&xs))?;
            let flops = 2.0 * (m * n * k) as f64;
            let label = format!("{name} {dtype:?}");
            println!(
                "{label:<24} {m:>4} {:>10} {:>10.1} {:>8.1}",
                "QMatMul",
                tc * 1e6,
                flops / tc / 1e9
            );
            println!(
                "{label:<24} {m:>4} {:>10} {:>10.1} {:>8.1} {:>8.2}x {diff:>12.2e}",
                "KLinear",
                to * 1e6,
                flops / to / 1e9,
                tc / to
            );
        }
    }
    Ok(())
}
