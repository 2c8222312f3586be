//! What a run keeps between runs and while it runs: the result cache (re-runs are idempotent and
//! resumable), the output-folder lock, and the progress display.

use crate::output::{remove_files_not_in, write_atomic, write_json_atomic};
use crate::report::ReportSummary;
use anyhow::{Context, Result};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub(super) fn cache_key(settings_key: &str, input_sha: &str, id: &str) -> String {
    hex::encode(Sha256::digest(
        format!("{settings_key}|{input_sha}|{id}").as_bytes(),
    ))
}

/// `reports/<id>.json` doubles as the cache: `.cache/<id>.key` holds the key it was computed
/// under, written after the report itself, so a kill between the two only costs a recompute.
pub(super) struct ResultCache {
    reports: PathBuf,
    keys: PathBuf,
}

impl ResultCache {
    pub(super) fn new(out: &Path) -> Self {
        ResultCache {
            reports: out.join("reports"),
            keys: out.join(".cache"),
        }
    }

    pub(super) fn load(&self, id: &str, key: &str) -> Option<ReportSummary> {
        let stored = std::fs::read_to_string(self.keys.join(format!("{id}.key"))).ok()?;
        if stored.trim() != key {
            return None;
        }
        let bytes = std::fs::read(self.reports.join(format!("{id}.json"))).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub(super) fn store(&self, id: &str, key: &str, summary: &ReportSummary) -> Result<()> {
        write_json_atomic(&self.reports.join(format!("{id}.json")), summary)?;
        write_atomic(&self.keys.join(format!("{id}.key")), key.as_bytes())
    }

    pub(super) fn remove_stale(&self, current: &BTreeSet<&str>) {
        remove_files_not_in(&self.reports, current);
        remove_files_not_in(&self.keys, current);
    }
}

/// An exclusive lock on the output folder for the whole run: a second run into the same folder
/// refuses instead of interleaving writes. The OS releases it if we are killed.
pub(crate) struct OutputLock {
    _file: std::fs::File,
}

impl OutputLock {
    pub(super) fn acquire(out: &Path) -> Result<OutputLock> {
        let path = out.join(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot create lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(OutputLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "another township-digest run is writing into {} (lock {} is held); wait for it to finish",
                out.display(),
                path.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
    }
}

/// Progress: a bar on a terminal, log lines otherwise, nothing with --quiet.
pub(super) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
}

impl Progress {
    pub(super) fn new(quiet: bool, total: u64) -> Progress {
        use std::io::IsTerminal;
        let bar = if !quiet && std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} summarising [{bar:30}] {pos}/{len} reports, ETA {eta} {msg}",
            ) {
                bar.set_style(style);
            }
            Some(bar)
        } else {
            None
        };
        Progress { bar, quiet }
    }

    pub(super) fn tick(&self, id: &str, what: &str) {
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(id.to_string());
            }
            None if !self.quiet => tracing::info!("{id}: {what}"),
            None => {}
        }
    }

    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
