//! `shard.json`: what a shard ran with and what became of its inputs (read by `merge`).

use super::{InputStatus, RunFingerprint};
use crate::shard::{Shard, SHARD_FORMAT, SHARD_RECORD};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One input of the whole run, as every shard lists it (so that merge knows the inputs of a
/// shard that never ran).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInput {
    /// Position in the run's input order (the order of a single-machine run's digest).
    pub index: usize,
    pub source: String,
    pub id: String,
    pub shard: usize,
}

/// `shard.json`: what a shard ran with and what became of its inputs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardRecord {
    pub format: u32,
    pub shard: Shard,
    pub fingerprint: RunFingerprint,
    /// Every input of the run (all shards), in run order.
    pub inputs: Vec<ShardInput>,
    /// Paths given on the command line that could not be searched or are not reports: reported
    /// by shard 0 only.
    pub discover_errors: Vec<InputStatus>,
    /// This shard's inputs: done, cached or failed.
    pub statuses: Vec<InputStatus>,
    pub timings: BTreeMap<String, f64>,
}

impl ShardRecord {
    pub fn read(dir: &Path) -> Result<ShardRecord> {
        let path = dir.join(SHARD_RECORD);
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "{} is not a shard's output folder (no {SHARD_RECORD}; shards are written by `run --shard K/N`)",
                dir.display()
            )
        })?;
        let record: ShardRecord = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a shard record of this program", path.display()))?;
        if record.format != SHARD_FORMAT {
            bail!(
                "{} has shard record format {}, this program reads format {SHARD_FORMAT}",
                path.display(),
                record.format
            );
        }
        Ok(record)
    }
}

/// The shard folders among `paths`: each path is a shard folder (it holds a shard record) or a
/// folder whose `shard-*` subfolders are shard folders. Sorted, without repeats.
pub fn shard_dirs(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for p in paths {
        if p.join(SHARD_RECORD).is_file() {
            dirs.push(p.clone());
            continue;
        }
        let entries = std::fs::read_dir(p)
            .with_context(|| format!("cannot read shard folder {}", p.display()))?;
        let mut found = false;
        for e in entries.flatten() {
            let path = e.path();
            let is_shard = path
                .file_name()
                .map(|n| n.to_string_lossy().starts_with("shard-"))
                .unwrap_or(false);
            if is_shard && path.join(SHARD_RECORD).is_file() {
                dirs.push(path);
                found = true;
            }
        }
        if !found {
            bail!(
                "{} holds no shard output ({SHARD_RECORD}, or shard-* folders with one)",
                p.display()
            );
        }
    }
    dirs.sort();
    dirs.dedup();
    Ok(dirs)
}
