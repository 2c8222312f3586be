//! The one place the program reads its environment. `main` calls [`Settings::from_env`] once,
//! before any thread starts, and hands the result down as plain options (the inference crate
//! never reads the environment; the kernels and models get [`EncoderOptions`] /
//! [`GeneratorOptions`]). The variables the program honours:
//!
//! | variable | effect |
//! | --- | --- |
//! | `TOWNSHIP_DIGEST_GENERATORS=N` | generator instances in full mode (default: one per core, capped by `--jobs`) |
//! | `TOWNSHIP_DIGEST_AMX=0` | no AMX tiles in the generator's kernels |
//! | `TOWNSHIP_DIGEST_LOG` | log filter (`debug`, `info`, …) |
//! | `CANDLE_NUM_THREADS` | candle's quantized-matmul pool; `main` sets it to 1 when unset (see [`Settings::candle_threads_set`]) |
//! | `JOB_COMPLETION_INDEX`, `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_MIN` | the task's index for `run --shard N` ([`Settings::task_index`]) |
//! | `TOWNSHIP_DIGEST_MODELS` | models folder when `--models-dir` is not given ([`models_dir`]) |
//! | `HF_HUB_OFFLINE` | never download from the Hugging Face hub ([`hub_offline`]) |
//! | `TOWNSHIP_DIGEST_PIP` | the pip program for registry packages ([`pip_program`]) |
//!
//! The last three are read when the model store needs them (tests and the store's callers
//! rely on that), but here, like the others. `RAYON_NUM_THREADS` is rayon's own.

use std::path::PathBuf;
use township_infer::encoder::EncoderOptions;
use township_infer::generator::GeneratorOptions;

/// What the environment asks for, as plain values.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// How the encoder is loaded.
    pub encoder: EncoderOptions,
    /// How the generator is loaded (kernel choices).
    pub generator: GeneratorOptions,
    /// `TOWNSHIP_DIGEST_GENERATORS`: generator instances in full mode.
    pub generators: Option<usize>,
    /// `TOWNSHIP_DIGEST_LOG`: the log filter.
    pub log_filter: Option<String>,
    /// Whether `CANDLE_NUM_THREADS` was set. When it is not, `main` sets it to 1 before any
    /// thread starts: candle's quantized matmuls run on one global pool whose `execute`
    /// serialises its callers; with one thread it runs inline, so the single-threaded
    /// generator instances do not queue on each other, and the matrices candle still serves
    /// are split over rayon's pool instead (`township_infer::kernels::row_split`). candle
    /// 0.11.1 sizes that pool from this variable only (no API), when it first uses it.
    pub candle_threads_set: bool,
    /// This task's index in a cluster job, for `run --shard N`: `JOB_COMPLETION_INDEX`
    /// (Kubernetes Indexed Job), else `SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN`
    /// (a Slurm array, whatever number it starts at).
    pub task_index: Option<usize>,
}

impl Settings {
    /// Reads the variables of the module docs.
    pub fn from_env() -> Settings {
        Settings::from_vars(|name| std::env::var(name).ok())
    }

    /// The settings given the value of each variable (`None`: unset or not UTF-8).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Settings {
        let mut s = Settings::default();
        if var("TOWNSHIP_DIGEST_AMX").as_deref() == Some("0") {
            s.generator.kernels.amx = false;
        }
        s.generators = var("TOWNSHIP_DIGEST_GENERATORS").and_then(|v| v.parse::<usize>().ok());
        s.log_filter = var("TOWNSHIP_DIGEST_LOG");
        s.candle_threads_set = var("CANDLE_NUM_THREADS").is_some();
        let number = |name: &str| var(name).and_then(|v| v.trim().parse::<usize>().ok());
        s.task_index = number("JOB_COMPLETION_INDEX").or_else(|| {
            let id = number("SLURM_ARRAY_TASK_ID")?;
            id.checked_sub(number("SLURM_ARRAY_TASK_MIN").unwrap_or(0))
        });
        s
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The variable naming the models folder.
pub const MODELS_DIR_ENV: &str = "TOWNSHIP_DIGEST_MODELS";

/// `TOWNSHIP_DIGEST_MODELS`, when set and not empty.
pub fn models_dir() -> Option<PathBuf> {
    std::env::var_os(MODELS_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `HF_HUB_OFFLINE` is 1, true, yes or on.
pub fn hub_offline() -> bool {
    var("HF_HUB_OFFLINE").is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

/// `TOWNSHIP_DIGEST_PIP`: the pip program to run instead of `python3 -m pip`.
pub fn pip_program() -> Option<String> {
    var("TOWNSHIP_DIGEST_PIP")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        Settings::from_vars(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn the_documented_switches_reach_the_options() {
        let none = settings(&[]);
        assert!(none.generator.kernels.amx);
        assert_eq!(none.generators, None);
        assert!(!none.candle_threads_set);
        assert_eq!(none.generator, GeneratorOptions::default());
        let s = settings(&[
            ("TOWNSHIP_DIGEST_AMX", "0"),
            ("TOWNSHIP_DIGEST_GENERATORS", "3"),
            ("TOWNSHIP_DIGEST_LOG", "debug"),
            ("CANDLE_NUM_THREADS", "2"),
        ]);
        assert!(!s.generator.kernels.amx);
        assert_eq!(s.generators, Some(3));
        assert_eq!(s.log_filter.as_deref(), Some("debug"));
        assert!(s.candle_threads_set);
        // Only 0 turns AMX off; an unreadable count is no override.
        let s = settings(&[
            ("TOWNSHIP_DIGEST_AMX", "1"),
            ("TOWNSHIP_DIGEST_GENERATORS", "two"),
        ]);
        assert!(s.generator.kernels.amx);
        assert_eq!(s.generators, None);
    }
}
