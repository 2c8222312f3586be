//! Reading last year's output folder (`run --previous DIR`) into typed data for the
//! year-over-year comparison. Read and checked before any model loads, like the prompt files:
//! a folder that is not an output of this program, or one too old to compare, is a fatal
//! error that names the folder and the reason; never a silent mismatch.
//!
//! What is read: `run.json` (proof that the folder is an output, and the themes file's ids
//! under `settings.theme_ids`), `reports/*.json` (townships, shortcomings with their themes
//! and quotes, plans). `digest.json` is not needed: everything compared comes from the reports.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The `run.json` settings key holding the themes file's ids (written since year-over-year).
pub const THEME_IDS_KEY: &str = "theme_ids";

/// One earlier output folder, as far as the comparison needs it.
#[derive(Debug, Clone)]
pub struct PreviousRun {
    /// The folder as given on the command line.
    pub dir: PathBuf,
    /// Distinct report years, ascending.
    pub years: Vec<i32>,
    pub reports: Vec<PreviousReport>,
    /// The themes file's ids of that run (`settings.theme_ids`), or, for an older output
    /// without them, the themes its reports' shortcomings use (then `warnings` says so).
    pub theme_ids: Vec<String>,
    pub warnings: Vec<String>,
}

/// The part of an earlier `reports/<id>.json` the comparison reads. Fields a version of this
/// program may lack default to empty; the contract's core (`id`, `shortcomings`) is required.
#[derive(Debug, Clone, Deserialize)]
pub struct PreviousReport {
    pub id: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub township: Option<String>,
    #[serde(default)]
    pub county: Option<String>,
    #[serde(default)]
    pub year: Option<i32>,
    pub shortcomings: Vec<PreviousItem>,
    #[serde(default)]
    pub plans: Vec<PreviousItem>,
}

/// A shortcoming (with `theme`) or a plan (`theme` empty) of an earlier report.
#[derive(Debug, Clone, Deserialize)]
pub struct PreviousItem {
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub theme: String,
    #[serde(default)]
    pub evidence: Vec<PreviousEvidence>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PreviousEvidence {
    pub quote: String,
}

impl PreviousItem {
    /// The first evidence quote, else the item's text.
    pub fn quote(&self) -> &str {
        self.evidence
            .first()
            .map(|e| e.quote.as_str())
            .unwrap_or(self.text.as_str())
    }
}

/// The part of `run.json` that identifies an output of this program.
#[derive(Debug, Deserialize)]
struct RunFile {
    version: String,
    #[serde(default)]
    settings: BTreeMap<String, serde_json::Value>,
}

/// Read every `--previous` folder; `out` is this run's output folder (it cannot be its own
/// previous year). Errors name the folder and the reason.
pub fn load_all(dirs: &[PathBuf], out: &Path) -> Result<Vec<PreviousRun>> {
    dirs.iter()
        .map(|d| {
            if same_folder(d, out) {
                bail!(
                    "--previous {}: this is the run's own output folder; give last year's output folder",
                    d.display()
                );
            }
            PreviousRun::load(d)
                .with_context(|| format!("--previous {}: cannot compare with it", d.display()))
        })
        .collect()
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

impl PreviousRun {
    pub fn load(dir: &Path) -> Result<PreviousRun> {
        if !dir.is_dir() {
            bail!("{} does not exist or is not a folder", dir.display());
        }
        let run_path = dir.join("run.json");
        if !run_path.is_file() {
            bail!(
                "{} is not an output folder of township-digest (it has no run.json)",
                dir.display()
            );
        }
        let run: RunFile = serde_json::from_slice(
            &std::fs::read(&run_path)
                .with_context(|| format!("cannot read {}", run_path.display()))?,
        )
        .with_context(|| {
            format!(
                "{} is not the run.json of a township-digest output (no version/settings)",
                run_path.display()
            )
        })?;
        let reports = load_reports(dir)?;
        let mut warnings = Vec::new();
        let theme_ids = match run.settings.get(THEME_IDS_KEY) {
            Some(v) => serde_json::from_value::<Vec<String>>(v.clone()).with_context(|| {
                format!(
                    "{}: settings.{THEME_IDS_KEY} is not a list of theme ids",
                    run_path.display()
                )
            })?,
            None => {
                // An output of a version before year-over-year: its themes file is unknown,
                // so only the themes its reports actually use can be known to exist.
                let used: BTreeSet<String> = reports
                    .iter()
                    .flat_map(|r| r.shortcomings.iter().map(|s| s.theme.clone()))
                    .filter(|t| !t.is_empty() && t != crate::report::OTHER_THEME)
                    .collect();
                warnings.push(format!(
                    "previous output {} (version {}) does not record its themes file's ids; \
                     taken from its reports' shortcomings ({}): a theme none of its reports \
                     stated cannot be told apart from a theme its themes file lacked",
                    dir.display(),
                    run.version,
                    used.len()
                ));
                used.into_iter().collect()
            }
        };
        let mut years: Vec<i32> = reports.iter().filter_map(|r| r.year).collect();
        years.sort_unstable();
        years.dedup();
        Ok(PreviousRun {
            dir: dir.to_path_buf(),
            years,
            reports,
            theme_ids,
            warnings,
        })
    }
}

fn load_reports(dir: &Path) -> Result<Vec<PreviousReport>> {
    let reports_dir = dir.join("reports");
    let entries = std::fs::read_dir(&reports_dir).with_context(|| {
        format!(
            "{} is not an output folder of township-digest (no reports/ folder)",
            dir.display()
        )
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!("{} holds no reports (reports/*.json)", dir.display());
    }
    paths
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
            serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "{} is not a report of a compatible version (reports/<id>.json needs id and shortcomings)",
                    p.display()
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    const REPORT: &str = r#"{"id":"a","township":"高岭乡","county":"松河县","year":2023,
        "shortcomings":[{"text":"t","theme":"funding_shortage","evidence":[{"quote":"经费紧张","start":0,"end":4}]}],
        "plans":[{"text":"p","evidence":[]}]}"#;

    #[test]
    fn reads_theme_ids_from_run_json() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "run.json",
            r#"{"version":"0.1.0","settings":{"theme_ids":["x","y"]}}"#,
        );
        write(d.path(), "reports/a.json", REPORT);
        let p = PreviousRun::load(d.path()).unwrap();
        assert_eq!(p.theme_ids, ["x", "y"]);
        assert_eq!(p.years, [2023]);
        assert!(p.warnings.is_empty());
        assert_eq!(p.reports[0].shortcomings[0].quote(), "经费紧张");
    }

    #[test]
    fn an_older_output_takes_theme_ids_from_its_reports_with_a_warning() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "run.json", r#"{"version":"0.1.0","settings":{}}"#);
        write(d.path(), "reports/a.json", REPORT);
        let p = PreviousRun::load(d.path()).unwrap();
        assert_eq!(p.theme_ids, ["funding_shortage"]);
        assert_eq!(p.warnings.len(), 1);
    }

    #[test]
    fn a_folder_that_is_not_an_output_is_refused_with_its_reason() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "notes.txt", "hello");
        let e = format!("{:#}", PreviousRun::load(d.path()).unwrap_err());
        assert!(e.contains("no run.json"), "{e}");
        write(d.path(), "run.json", r#"{"version":"0.1.0"}"#);
        write(d.path(), "reports/a.json", r#"{"id":"a"}"#);
        let e = format!("{:#}", PreviousRun::load(d.path()).unwrap_err());
        assert!(e.contains("compatible version"), "{e}");
    }
}
