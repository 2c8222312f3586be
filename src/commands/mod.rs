//! The subcommands: each turns its command-line arguments (`cli`) into the library's plain
//! settings once, calls the library, and maps the result to an exit status (`exit::Outcome`).
//! The library modules never see `cli`; this is the only place that joins the two.

pub mod bench;
mod eval;
mod merge;
mod models;
mod parse;
mod run;
mod themes;

use crate::cli::{Cli, Command, Globals};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use township_digest::exit::Outcome;
use township_digest::prompt_files::PromptSource;
use township_digest::settings::Settings;

/// `--prompts DIR` if given, else `./prompts` when the working folder has one, else the
/// built-in copies.
fn prompt_source(explicit: Option<&Path>) -> PromptSource {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    PromptSource::choose(explicit, &cwd)
}

/// Parses the command line and runs the subcommand with the environment's `settings`
/// (`township_digest::settings`, read once by `main`).
pub fn main(settings: Settings) -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // clap: --help/--version are not errors.
            return if e.use_stderr() {
                Outcome::Fatal.into()
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_logging(cli.quiet, settings.log_filter.as_deref());
    township_infer::alloc::keep_freed_memory_for_reuse();
    let globals = Globals {
        quiet: cli.quiet,
        models_dir: cli.models_dir,
        manifest: cli.manifest,
    };
    let outcome = match cli.command {
        Command::Run(args) => run::command(&globals, &settings, args),
        Command::Merge(args) => merge::command(&globals, &settings, args),
        Command::Models(cmd) => models::command(&globals, cmd),
        Command::Eval(args) => eval::command(args),
        Command::Parse(args) => parse::command(args),
        Command::Themes(cmd) => themes::command(&globals, &settings, cmd),
        Command::Bench(args) => bench::command(&globals, &settings, args),
    };
    outcome.into()
}

/// `filter`: `TOWNSHIP_DIGEST_LOG` (an unreadable one is ignored, as an unset one).
fn init_logging(quiet: bool, filter: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let default = if quiet { "error" } else { "info" };
    let filter = filter
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
