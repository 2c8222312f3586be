//! `township-digest bench`: the benchmark suite. Each measurement runs in a child process of
//! this binary (`bench --worker PART`) so that the thread count (RAYON_NUM_THREADS,
//! CANDLE_NUM_THREADS) and the peak RSS are those of that measurement alone. The parent prints
//! a table and appends a dated, machine-described entry to BENCHMARKS.md.

use crate::cli::{BenchArgs, Globals};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;
use township_digest::exit::Outcome;
use township_digest::models::encoder::EmbedKind;
use township_digest::models::{load_encoder, load_generator, ModelRole, ModelStore};
use township_digest::run::{Mode, RunConfig};
use township_digest::settings::Settings;

const ALL_PARTS: [&str; 5] = ["parse", "encoder", "generator", "fast", "full"];
/// Reports for the parse benchmark: the fixtures repeated up to this many.
const PARSE_REPORTS: usize = 1000;
/// Reports for the full-mode benchmark: every fixture report (9, the seed among them; ~10 s
/// each on 2 cores), so that the model load is shared as in a real batch, not spread over two.
const FULL_REPORTS: usize = usize::MAX;

/// One measured figure.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measure {
    pub part: String,
    pub threads: usize,
    pub metric: String,
    pub value: f64,
    pub unit: String,
}

pub fn command(globals: &Globals, settings: &Settings, args: BenchArgs) -> Outcome {
    let result = match &args.worker {
        Some(part) => worker(globals, settings, part).map(|measures| {
            // The parent reads this line.
            println!("{}", serde_json::to_string(&measures).unwrap_or_default());
        }),
        None => suite(globals, &args),
    };
    match result {
        Ok(()) => Outcome::Success,
        Err(e) => {
            eprintln!("error: {e:#}");
            Outcome::Fatal
        }
    }
}

fn suite(globals: &Globals, args: &BenchArgs) -> Result<()> {
    let parts: Vec<String> = if args.parts.is_empty() {
        ALL_PARTS.iter().map(|s| s.to_string()).collect()
    } else {
        args.parts.clone()
    };
    for p in &parts {
        if !ALL_PARTS.contains(&p.as_str()) {
            bail!(
                "unknown benchmark part `{p}` (known: {})",
                ALL_PARTS.join(", ")
            );
        }
    }
    // Provision once, outside any timing.
    let store = ModelStore::open(&globals.store())?;
    for role in [ModelRole::Encoder, ModelRole::Generator] {
        store.ensure(&store.default_model(role)?, !globals.quiet)?;
    }
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let started = Instant::now();
    let mut measures = Vec::new();
    for part in &parts {
        for &threads in &args.threads {
            eprintln!("bench: {part} with {threads} thread(s)…");
            let mut cmd = std::process::Command::new(&exe);
            cmd.arg("--quiet");
            if let Some(d) = &globals.models_dir {
                cmd.arg("--models-dir").arg(d);
            }
            if let Some(m) = &globals.manifest {
                cmd.arg("--manifest").arg(m);
            }
            // The generator runs every matmul on rayon's pool (`kernels::row_split`), with
            // candle's own pool inline, as `run` does; the encoder uses candle's pool.
            let candle_threads = if part == "encoder" { threads } else { 1 };
            let out = cmd
                .args(["bench", "--worker", part])
                .env("RAYON_NUM_THREADS", threads.to_string())
                .env("CANDLE_NUM_THREADS", candle_threads.to_string())
                .stderr(std::process::Stdio::inherit())
                .output()
                .with_context(|| format!("cannot start the {part} benchmark"))?;
            if !out.status.success() {
                bail!(
                    "the {part} benchmark with {threads} thread(s) failed ({})",
                    out.status
                );
            }
            let line = String::from_utf8_lossy(&out.stdout);
            let line = line.lines().last().unwrap_or_default();
            let ms: Vec<Measure> = serde_json::from_str(line)
                .with_context(|| format!("unreadable output of the {part} benchmark: {line}"))?;
            measures.extend(ms);
        }
    }
    let table = table(&measures);
    println!("{table}");
    if !args.no_write {
        let entry = format!(
            "\n## {} — {}\n\nCommand: `township-digest bench {}--threads {}` (suite wall time {:.0} s)\n\n{}\n",
            today(),
            machine_description(),
            if args.parts.is_empty() { String::new() } else { format!("{} ", args.parts.join(" ")) },
            args.threads.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(","),
            started.elapsed().as_secs_f64(),
            table
        );
        let path = Path::new("BENCHMARKS.md");
        let mut text = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n".into());
        text.push_str(&entry);
        township_digest::output::write_atomic(path, text.as_bytes())?;
        eprintln!("bench: appended to {}", path.display());
    }
    Ok(())
}

fn table(measures: &[Measure]) -> String {
    let mut s = String::from(
        "| part | threads | metric | value | unit |\n| --- | --- | --- | --- | --- |\n",
    );
    for m in measures {
        s.push_str(&format!(
            "| {} | {} | {} | {:.1} | {} |\n",
            m.part, m.threads, m.metric, m.value, m.unit
        ));
    }
    s
}

fn measure(part: &str, metric: &str, value: f64, unit: &str) -> Measure {
    Measure {
        part: part.into(),
        threads: rayon::current_num_threads(),
        metric: metric.into(),
        value,
        unit: unit.into(),
    }
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from("fixtures/reports")
}

fn fixture_files() -> Result<Vec<PathBuf>> {
    let (files, errors) = township_digest::read::discover(&[fixtures_dir()]);
    if let Some(e) = errors.first() {
        bail!("{e}");
    }
    if files.is_empty() {
        bail!(
            "no fixture reports under {} (run from the project folder)",
            fixtures_dir().display()
        );
    }
    Ok(files)
}

fn worker(globals: &Globals, settings: &Settings, part: &str) -> Result<Vec<Measure>> {
    let mut out = match part {
        "parse" => bench_parse()?,
        "encoder" => bench_encoder(globals, settings)?,
        "generator" => bench_generator(globals, settings)?,
        "fast" => bench_run(globals, settings, Mode::Fast, usize::MAX)?,
        "full" => bench_run(globals, settings, Mode::Full, FULL_REPORTS)?,
        other => bail!("unknown benchmark part `{other}`"),
    };
    out.push(measure(part, "peak RSS", peak_rss_mb(), "MB"));
    Ok(out)
}

fn bench_parse() -> Result<Vec<Measure>> {
    let files = fixture_files()?;
    let inputs: Vec<&PathBuf> = files.iter().cycle().take(PARSE_REPORTS).collect();
    let t = Instant::now();
    let sentences: usize = inputs
        .par_iter()
        .map(|p| {
            township_digest::read::read_document(p)
                .map(|doc| township_digest::structure::parse(&doc).sentences.len())
                .unwrap_or(0)
        })
        .sum();
    let secs = t.elapsed().as_secs_f64();
    if sentences == 0 {
        bail!("parse benchmark found no sentences");
    }
    Ok(vec![
        measure(
            "parse",
            &format!("read+parse {PARSE_REPORTS} reports"),
            secs,
            "s",
        ),
        measure(
            "parse",
            "throughput",
            PARSE_REPORTS as f64 / secs,
            "reports/s",
        ),
    ])
}

fn report_sentences(limit: usize) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for f in fixture_files()? {
        let doc = township_digest::read::read_document(&f).map_err(|e| anyhow::anyhow!("{e}"))?;
        out.extend(
            township_digest::structure::parse(&doc)
                .sentences
                .into_iter()
                .map(|s| s.text),
        );
    }
    out.truncate(limit);
    Ok(out)
}

fn bench_encoder(globals: &Globals, settings: &Settings) -> Result<Vec<Measure>> {
    let store = ModelStore::open(&globals.store())?;
    let files = store.locate(&store.default_model(ModelRole::Encoder)?)?;
    let t = Instant::now();
    let encoder = load_encoder(&files, &settings.encoder)?;
    let load = t.elapsed().as_secs_f64();
    let sentences = report_sentences(256)?;
    let refs: Vec<&str> = sentences.iter().map(|s| s.as_str()).collect();
    let t = Instant::now();
    let v = encoder.embed(&refs, EmbedKind::Passage)?;
    let secs = t.elapsed().as_secs_f64();
    Ok(vec![
        measure("encoder", "load", load, "s"),
        measure(
            "encoder",
            &format!("embed {} report sentences", v.len()),
            v.len() as f64 / secs,
            "sentences/s",
        ),
    ])
}

fn bench_generator(globals: &Globals, settings: &Settings) -> Result<Vec<Measure>> {
    let store = ModelStore::open(&globals.store())?;
    let files = store.locate(&store.default_model(ModelRole::Generator)?)?;
    // Real report text as the prompt, repeated to the lengths measured.
    let text: String = report_sentences(usize::MAX)?.join("");
    // The prefill chunk `run` uses, so the figures are those of a real run.
    let rows = load_generator(&files, &settings.generator)?.benchmark(
        &text,
        &[512, 1500],
        128,
        township_digest::models::generator::DEFAULT_PREFILL_CHUNK,
    )?;
    let mut out = Vec::new();
    for r in rows {
        out.push(measure(
            "generator",
            &format!("prefill {} tokens", r.prompt_tokens),
            r.prefill_tok_s,
            "tok/s",
        ));
        out.push(measure(
            "generator",
            &format!(
                "decode {} tokens after {}",
                r.decode_tokens, r.prompt_tokens
            ),
            r.decode_tok_s,
            "tok/s",
        ));
    }
    Ok(out)
}

fn bench_run(
    globals: &Globals,
    settings: &Settings,
    mode: Mode,
    limit: usize,
) -> Result<Vec<Measure>> {
    let files: Vec<PathBuf> = fixture_files()?.into_iter().take(limit).collect();
    let out = tempfile::tempdir()?;
    let config = RunConfig {
        inputs: files.clone(),
        out: out.path().to_path_buf(),
        mode,
        themes: None,
        prompts: super::prompt_source(None),
        jobs: None,
        encoder: None,
        generator: None,
        no_cache: true,
        store: globals.store(),
        shard: None,
        previous: Vec::new(),
    };
    let t = Instant::now();
    let outcome = township_digest::run::run(settings, &config, true)?.outcome();
    let secs = t.elapsed().as_secs_f64();
    if outcome != Outcome::Success {
        bail!("the {mode:?} run over the fixtures did not succeed ({outcome:?})");
    }
    let name = if mode == Mode::Fast { "fast" } else { "full" };
    Ok(vec![
        measure(
            name,
            &format!("run over {} reports incl. model load", files.len()),
            secs,
            "s",
        ),
        measure(name, "seconds per report", secs / files.len() as f64, "s"),
        measure(
            name,
            "reports per hour",
            3600.0 * files.len() as f64 / secs,
            "reports/h",
        ),
    ])
}

/// Peak resident set size of this process, in MB.
fn peak_rss_mb() -> f64 {
    township_digest::models::generator::peak_rss_bytes() as f64 / (1024.0 * 1024.0)
}

fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem_gb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(f64::NAN);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!(
        "{cpu}, {cores} cores, {mem_gb:.0} GiB, {}",
        std::env::consts::ARCH
    )
}

/// Today's date (UTC) as YYYY-MM-DD, from the system clock (civil-from-days).
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{:02}-{:02}", if m <= 2 { y + 1 } else { y }, m, d)
}
