//! The portable build on a CPU without AVX-512, simulated on this one by capping the kernels'
//! SIMD tier through the options (`KernelOptions::max_tier`; scripts/portable_check runs the
//! real binary under an emulated Haswell):
//!
//! - fast mode over the fixtures gives the same reports, themes and digest at the AVX2 and the
//!   scalar tier as at the best one. Fast mode runs only the encoder, which is candle's and
//!   dispatched by candle at run time, so this shows the options reach the run without
//!   changing anything they should not;
//! - the generator's first-token logits at the AVX2 and scalar tiers match the best tier's
//!   (the kernels sum in different orders, and activations are quantized to 8 bits before
//!   every matmul, so the logits are compared as `generator_vs_upstream` compares ours with
//!   candle's: correlated, the same best tokens).

use std::path::{Path, PathBuf};
use township_digest::exit::Outcome;
use township_digest::models::generator::{ChatMessage, GeneratorOptions};
use township_digest::models::StoreOptions;
use township_digest::models::{load_generator, ModelRole, ModelStore};
use township_digest::prompt_files::PromptSource;
use township_digest::run::{Mode, RunConfig};
use township_digest::settings::Settings;
use township_infer::kernels::Tier;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn store() -> StoreOptions {
    StoreOptions {
        quiet: true,
        dir: None, // $TOWNSHIP_DIGEST_MODELS, else the user's cache folder
        manifest: Some(root().join("models/models.toml")),
    }
}

fn settings(tier: Tier) -> Settings {
    let mut s = Settings::default();
    s.generator.kernels.max_tier = tier;
    s
}

/// What a run writes, except run.json (timings).
fn outputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for name in ["digest.json", "digest.md", "digest.html", "themes.csv"] {
        files.push((name.to_string(), std::fs::read(dir.join(name)).unwrap()));
    }
    let mut reports: Vec<_> = std::fs::read_dir(dir.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    reports.sort();
    for p in reports {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        files.push((name, std::fs::read(&p).unwrap()));
    }
    files
}

#[test]
fn fast_mode_gives_the_same_themes_at_every_kernel_tier() {
    let run = |tier: Tier| {
        let out = tempfile::tempdir().unwrap();
        let config = RunConfig {
            inputs: vec![root().join("fixtures/reports")],
            out: out.path().to_path_buf(),
            mode: Mode::Fast,
            themes: None,
            prompts: PromptSource::Folder(root().join("prompts")),
            jobs: None,
            encoder: None,
            generator: None,
            no_cache: true,
            store: store(),
            shard: None,
            previous: Vec::new(),
        };
        let outcome = township_digest::run::run(&settings(tier), &config, true)
            .expect("fast mode runs")
            .outcome();
        assert_eq!(outcome, Outcome::Success, "fast mode at tier {tier:?}");
        outputs(out.path())
    };
    let best = run(Tier::Avx512Vnni);
    let themes = String::from_utf8(best[3].1.clone()).unwrap();
    assert!(themes.lines().count() > 1, "themes.csv is empty: {themes}");
    for tier in [Tier::Avx2, Tier::Scalar] {
        let got = run(tier);
        assert_eq!(got.len(), best.len());
        for ((name, a), (_, b)) in got.iter().zip(&best) {
            assert!(a == b, "{name} differs at tier {tier:?}");
        }
    }
}

#[test]
fn the_generator_gives_the_same_answer_at_every_kernel_tier() {
    let store = ModelStore::open(&store()).unwrap();
    let files = store
        .ensure(&store.default_model(ModelRole::Generator).unwrap(), false)
        .unwrap();
    // Short, so that the scalar tier stays a matter of seconds.
    let prompt = vec![ChatMessage::user(
        "用一句话概括：普法经费不足，宣传资料短缺，群众法治意识有待提高。",
    )];
    let logits = |tier: Tier| {
        let mut opts = GeneratorOptions::default();
        opts.kernels.max_tier = tier;
        let mut g = load_generator(&files, &opts).unwrap();
        eprintln!("tier {tier:?}: kernels {}", opts.kernels.describe());
        g.answer_logits(&prompt, 0).unwrap()
    };
    let top = |v: &[f32], n: usize| {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
        idx.truncate(n);
        idx
    };
    let want = logits(Tier::Avx512Vnni);
    for tier in [Tier::Avx2, Tier::Scalar] {
        let got = logits(tier);
        assert_eq!(got.len(), want.len());
        let n = got.len() as f64;
        let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let (mg, mw) = (mean(&got), mean(&want));
        let (mut cov, mut vg, mut vw) = (0f64, 0f64, 0f64);
        for (&g, &w) in got.iter().zip(&want) {
            let (dg, dw) = (g as f64 - mg, w as f64 - mw);
            cov += dg * dw;
            vg += dg * dg;
            vw += dw * dw;
        }
        let corr = cov / (vg.sqrt() * vw.sqrt());
        let (tg, tw) = (top(&got, 3), top(&want, 3));
        eprintln!("tier {tier:?}: correlation {corr:.6}, top-3 {tg:?} vs {tw:?}");
        assert!(corr > 0.999, "tier {tier:?}: logits correlate at {corr}");
        assert!(
            tw.contains(&tg[0]) && tg.contains(&tw[0]),
            "tier {tier:?}: best tokens {tg:?} vs {tw:?}"
        );
    }
}
