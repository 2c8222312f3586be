//! Generator benchmark on explicit files (the app's `bench` command measures the default
//! generator the same way, through `Generator::benchmark`).
//!
//! usage: gen_bench MODEL.gguf tokenizer.json TEXT.txt [sizes] [decode] [chunk] [options]
//!   sizes   prompt lengths in tokens, comma-separated (default 512,1500; empty: answer TEXT)
//!   decode  tokens generated after each prompt (default 128)
//!   chunk   prefill chunk in tokens (default 0: the whole prompt at once; `run` uses 512)
//! options (`KernelOptions` / `GeneratorOptions`):
//!   --tier avx2|scalar   cap our kernels' SIMD tier
//!   --no-amx             no AMX tiles
//!   --default-malloc     leave glibc's heap settings alone (`alloc`)
//! with the `compare` feature (`--features compare`):
//!   --q5-0 candle|q8_0   Q5_0 through candle's scalar kernel, or widened to Q8_0 at load
//!   --kquant candle      Q4_K/Q6_K through candle's kernels only
//!   --upstream           candle's own `quantized_qwen2` instead of our fork
//!
//! Threads: RAYON_NUM_THREADS (our kernels, candle's matrices split over rayon) and
//! CANDLE_NUM_THREADS (candle's own pool; 1 as in `run`), read by those libraries.
use township_infer::generator::{ChatMessage, GenerateOptions, Generator, GeneratorOptions};
use township_infer::kernels::Tier;

fn main() -> anyhow::Result<()> {
    let mut opts = GeneratorOptions::default();
    let mut default_malloc = false;
    let mut a = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))
        };
        match arg.as_str() {
            "--tier" => {
                let t = value("--tier")?;
                opts.kernels.max_tier = Tier::from_name(&t)
                    .ok_or_else(|| anyhow::anyhow!("--tier: unknown tier `{t}`"))?;
            }
            "--no-amx" => opts.kernels.amx = false,
            "--default-malloc" => default_malloc = true,
            #[cfg(feature = "compare")]
            "--q5-0" => {
                use township_infer::kernels::Q5_0Kernel;
                opts.kernels.q5_0 = match value("--q5-0")?.as_str() {
                    "candle" => Q5_0Kernel::Candle,
                    "q8_0" => Q5_0Kernel::Q8_0,
                    other => anyhow::bail!("--q5-0: unknown kernel `{other}`"),
                };
            }
            #[cfg(feature = "compare")]
            "--kquant" => {
                use township_infer::kernels::KQuantKernel;
                opts.kernels.kquant = match value("--kquant")?.as_str() {
                    "candle" => KQuantKernel::Candle,
                    other => anyhow::bail!("--kquant: unknown kernel `{other}`"),
                };
            }
            #[cfg(feature = "compare")]
            "--upstream" => opts.qwen2 = township_infer::generator::Qwen2Impl::CandleUpstream,
            flag if flag.starts_with("--") => {
                anyhow::bail!("unknown option {flag} (some need --features compare)")
            }
            _ => a.push(arg),
        }
    }
    if !default_malloc {
        township_infer::alloc::keep_freed_memory_for_reuse();
    }
    if a.len() < 3 {
        anyhow::bail!(
            "usage: gen_bench MODEL.gguf tokenizer.json TEXT.txt [sizes] [decode] [chunk] [options]"
        );
    }
    let text = std::fs::read_to_string(&a[2])?;
    let sizes: Vec<usize> = a
        .get(3)
        .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![512, 1500]);
    let decode: usize = a.get(4).and_then(|s| s.parse().ok()).unwrap_or(128);
    let chunk: usize = a.get(5).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut g = Generator::load(
        "bench",
        std::path::Path::new(&a[0]),
        std::path::Path::new(&a[1]),
        &opts,
    )?;
    eprintln!("gen_bench: kernels {}", opts.kernels.describe());
    if sizes.is_empty() {
        let out = g.chat(
            &[ChatMessage::user(text.trim())],
            &GenerateOptions {
                max_new_tokens: decode,
                prefill_chunk: chunk,
                ..Default::default()
            },
        )?;
        println!("{out:?}");
        return Ok(());
    }
    for r in g.benchmark(&text, &sizes, decode, chunk)? {
        println!("{}", serde_json::to_string(&r)?);
    }
    Ok(())
}
