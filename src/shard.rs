//! Shards: one run's inputs split over N tasks of a cluster job (a Kubernetes Indexed Job, a
//! Slurm array), each writing its reports and a record into its own folder, and `merge`
//! joining them into the digest one machine would have written.
//!
//! The partition is by a stable key of each input, the sha256 of its bytes (of its path when it
//! cannot be read), not by listing order: the same file lands in the same shard whatever the
//! other inputs are, how they are listed, or on which node they are listed.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// The folder, in a shard's output, of each report's comparable text (what near-duplicate
/// detection compares), so that a merge needs no source file.
pub const COMPARABLE_DIR: &str = "comparable";

/// The folder, in a shard's output, of the vectors of each report's shortcomings that fit no
/// theme (`compare::emerging::embed_other_quotes`), for the merge's emerging problems.
pub const EMERGING_DIR: &str = "emerging";

/// The record a shard writes next to its reports.
pub const SHARD_RECORD: &str = "shard.json";
/// Bumped when the record's meaning changes; merge refuses another format.
pub const SHARD_FORMAT: u32 = 1;

/// Shard `index` of `count` (0-based: 0 <= index < count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub fn new(index: usize, count: usize) -> Result<Shard> {
        if count == 0 {
            bail!("the number of shards must be at least 1");
        }
        if index >= count {
            bail!(
                "shard index {index} is out of range: shards are numbered 0 to {} of {count}",
                count - 1
            );
        }
        Ok(Shard { index, count })
    }

    /// The folder a shard writes into, under the run's output folder.
    pub fn dir_name(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }

    /// Which of `count` shards owns an input with this key (hex sha256).
    pub fn owner(key: &str, count: usize) -> usize {
        let head = key.get(..16).and_then(|h| u64::from_str_radix(h, 16).ok());
        let value = head.unwrap_or_else(|| {
            let d = Sha256::digest(key.as_bytes());
            u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
        });
        (value % count.max(1) as u64) as usize
    }

    pub fn owns(&self, key: &str) -> bool {
        Shard::owner(key, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// "K/N".
impl FromStr for Shard {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Shard> {
        let (k, n) = s
            .split_once('/')
            .with_context(|| format!("`{s}` is not a shard: expected K/N (e.g. 0/4)"))?;
        let k = k
            .trim()
            .parse::<usize>()
            .with_context(|| format!("`{s}`: the shard index is not a number"))?;
        let n = n
            .trim()
            .parse::<usize>()
            .with_context(|| format!("`{s}`: the number of shards is not a number"))?;
        Shard::new(k, n)
    }
}

/// The partition key of one input: sha256 of its bytes, or of its path if it cannot be read
/// (the read error is then reported by the shard that owns that key).
pub fn input_key(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => hex::encode(Sha256::digest(&bytes)),
        Err(_) => hex::encode(Sha256::digest(path.to_string_lossy().as_bytes())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs_parse_and_bad_ones_say_why() {
        assert_eq!(
            "2/4".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 4 }
        );
        assert!(format!("{:#}", "4/4".parse::<Shard>().unwrap_err()).contains("out of range"));
        assert!(format!("{:#}", "1/0".parse::<Shard>().unwrap_err()).contains("at least 1"));
        assert!(format!("{:#}", "x".parse::<Shard>().unwrap_err()).contains("K/N"));
    }

    #[test]
    fn every_key_has_exactly_one_owner() {
        for i in 0..50u32 {
            let key = hex::encode(Sha256::digest(i.to_le_bytes()));
            let owners: Vec<usize> = (0..3)
                .filter(|&k| Shard { index: k, count: 3 }.owns(&key))
                .collect();
            assert_eq!(owners.len(), 1);
        }
        // The partition spreads keys over the shards.
        let counts = (0..300u32).fold([0usize; 3], |mut c, i| {
            c[Shard::owner(&hex::encode(Sha256::digest(i.to_le_bytes())), 3)] += 1;
            c
        });
        assert!(counts.iter().all(|&c| c > 60), "{counts:?}");
    }
}
