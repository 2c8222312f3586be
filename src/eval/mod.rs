//! `township-digest eval`: score a finished run against gold labels.
//!
//! A run folder (`reports/<id>.json`, `digest.json`) is matched to gold files (`*.gold.json`,
//! schema in `fixtures/gold/README.md`) by the file name of each report's `source` (the gold
//! `file` field, e.g. `r01.txt`). Every metric below is computed per matched report and overall;
//! the same definitions are written into the output (`definitions` in the JSON object) so a
//! reader of `eval.json` does not need this file. "Not computable" is `null` in JSON and `n/a`
//! in the table, never a silent 1.0.
//!
//! Definitions (overall = micro average: sums of counts over matched reports, unless noted):
//! - `report_coverage`: matched reports / gold files. Only matched reports are scored below.
//! - `themes_reports`: precision/recall/F1 over (report, theme) pairs; predicted = the distinct
//!   `theme` values of the report's shortcomings, gold = the gold shortcomings' themes; the theme
//!   `other` is ignored. F1 = 2tp / (2tp + fp + fn).
//! - `themes_digest`: the same, with predicted = the ids of `digest.json` `themes[]` whose
//!   `reports` list holds the report's id.
//! - `shortcoming_recall`: share of gold shortcomings whose evidence (located in the source text
//!   by exact substring, first occurrence) is overlapped by at least half of its characters by
//!   the span of some evidence of some predicted shortcoming.
//! - `shortcoming_precision`: share of predicted shortcomings (any theme, `other` included) having
//!   an evidence span overlapped by at least half of *its own* characters by some located gold
//!   shortcoming evidence span. A predicted shortcoming without usable evidence counts as wrong.
//! - A predicted evidence span is `start..end` when that slice equals the quote; otherwise the
//!   occurrence of the quote in the source nearest to `start`; a quote absent from the source has
//!   no span (it supports nothing). Offsets are Unicode scalar (char) offsets.
//! - `figure_recall`: share of gold achievement figure strings equal to some figure string of some
//!   predicted achievement (needs no source text).
//! - `exact_quotes`: share of all evidence items (achievements, shortcomings, plans) whose
//!   `start..end` char slice of the source equals `quote` exactly.
//! - `fabricated_numbers`: numbers stated in any `text` or in `summary` that the source does not
//!   contain. Numbers are arabic (decimals, thousands commas and `%` allowed; full-width digits
//!   folded to ASCII) and Chinese numerals used with a unit (三场, 近四成, 十余次; a bare 一 is
//!   skipped as it is mostly an article). An arabic number is found when the same value occurs as
//!   a number in the source; a Chinese one when the same numeral+unit occurs in the source
//!   (after traditional→simplified conversion of both) or its value occurs as an arabic number
//!   (for 成 also value×10). Lower is better; 0 is perfect.
//! - `summary_rouge_l`: ROUGE-L F1 (β = 1) at character level between the predicted and gold
//!   summaries, over letters and digits only (whitespace and punctuation dropped, full-width
//!   folded, both converted to simplified script); overall = mean over matched reports.
//! - `township_accuracy`: share of matched reports whose `township` equals the gold township
//!   exactly as written (no script conversion).
//!
//! The source text is read from `source` (relative to the current folder, or absolute) and
//! decoded exactly as `run` does (`crate::read::read_document`; for the UTF-8 dev corpus that is
//! the file's text); if that fails, from the gold folder's copy of the file when its sha256
//! equals the report's.
//! If neither works, the evidence metrics of that report are not computable.

pub mod writing;
pub mod years;

use crate::document::{char_offset, slice_chars};
use crate::report::{Evidence, ReportSummary, OTHER_THEME};
use anyhow::{bail, Context, Result};
use once_cell::sync::Lazy;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// How many fabricated-number examples the overall result lists.
pub const MAX_EXAMPLES: usize = 10;

/// A gold file (`*.gold.json`).
#[derive(Debug, Clone, Deserialize)]
pub struct Gold {
    pub file: String,
    pub township: Option<String>,
    #[serde(default)]
    pub county: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub year: Option<i32>,
    pub achievements: Vec<GoldAchievement>,
    pub shortcomings: Vec<GoldShortcoming>,
    #[serde(default)]
    pub plans: Vec<GoldPlan>,
    pub summary: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GoldAchievement {
    #[serde(default)]
    pub point: String,
    #[serde(default)]
    pub figures: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GoldShortcoming {
    pub theme: String,
    #[serde(default)]
    pub point: String,
    pub evidence: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GoldPlan {
    #[serde(default)]
    pub point: String,
    #[serde(default)]
    pub evidence: String,
}

/// The part of `digest.json` eval reads.
#[derive(Debug, Clone, Deserialize)]
struct DigestFile {
    #[serde(default)]
    themes: Vec<DigestTheme>,
}

#[derive(Debug, Clone, Deserialize)]
struct DigestTheme {
    id: String,
    #[serde(default)]
    reports: Vec<String>,
}

/// Precision, recall and F1 with the counts they come from (`None` when the denominator is 0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Prf {
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
}

impl Prf {
    pub fn from_counts(tp: usize, fp: usize, fn_: usize) -> Prf {
        Prf {
            tp,
            fp,
            fn_,
            precision: ratio(tp, tp + fp),
            recall: ratio(tp, tp + fn_),
            f1: ratio(2 * tp, 2 * tp + fp + fn_),
        }
    }

    pub(crate) fn from_sets<T: Ord>(pred: &BTreeSet<T>, gold: &BTreeSet<T>) -> Prf {
        let tp = pred.intersection(gold).count();
        Prf::from_counts(tp, pred.len() - tp, gold.len() - tp)
    }

    fn add(&self, o: &Prf) -> Prf {
        Prf::from_counts(self.tp + o.tp, self.fp + o.fp, self.fn_ + o.fn_)
    }
}

/// `hits / total` with its counts (`value` is `None` when `total` is 0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    pub hits: usize,
    pub total: usize,
    pub value: Option<f64>,
}

impl Ratio {
    pub fn new(hits: usize, total: usize) -> Ratio {
        Ratio {
            hits,
            total,
            value: ratio(hits, total),
        }
    }

    fn add(&self, o: &Ratio) -> Ratio {
        Ratio::new(self.hits + o.hits, self.total + o.total)
    }
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// One number of generated text that the source does not contain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fabricated {
    pub report: String,
    /// Where it was found, e.g. `summary` or `achievements[2].text`.
    pub field: String,
    /// The number as written.
    pub number: String,
    /// A few characters around it.
    pub context: String,
}

/// Scores of one matched report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportScore {
    pub id: String,
    pub gold_file: String,
    pub source: String,
    /// The file the source text was read from, `None` when it could not be read.
    pub source_read: Option<String>,
    pub themes_reports: Prf,
    /// `None` when the run has no `digest.json`.
    pub themes_digest: Option<Prf>,
    /// Evidence metrics: `None` when the source text could not be read.
    pub shortcoming_recall: Option<Ratio>,
    pub shortcoming_precision: Option<Ratio>,
    pub exact_quotes: Option<Ratio>,
    pub figure_recall: Ratio,
    pub numbers_checked: Option<usize>,
    pub fabricated_numbers: Option<usize>,
    pub fabricated: Vec<Fabricated>,
    pub summary_rouge_l: Option<f64>,
    /// Numbers of the summary that the source contains / numbers in the summary.
    #[serde(default)]
    pub summary_numbers: Option<Ratio>,
    pub township_gold: Option<String>,
    pub township_predicted: Option<String>,
    pub township_correct: bool,
    pub notes: Vec<String>,
}

/// Scores over all matched reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overall {
    pub gold_files: usize,
    pub reports: usize,
    pub matched: usize,
    pub gold_without_report: Vec<String>,
    pub reports_without_gold: Vec<String>,
    pub report_coverage: Ratio,
    pub themes_reports: Prf,
    pub themes_digest: Option<Prf>,
    /// Reports whose source text could not be read: left out of the evidence metrics.
    pub evidence_not_computable: Vec<String>,
    pub shortcoming_recall: Option<Ratio>,
    pub shortcoming_precision: Option<Ratio>,
    pub exact_quotes: Option<Ratio>,
    pub figure_recall: Ratio,
    pub numbers_checked: Option<usize>,
    pub fabricated_numbers: Option<usize>,
    /// Up to [`MAX_EXAMPLES`] fabricated numbers, in report order.
    pub fabricated_examples: Vec<Fabricated>,
    pub summary_rouge_l: Option<f64>,
    #[serde(default)]
    pub summary_numbers: Option<Ratio>,
    pub township_accuracy: Ratio,
}

/// The result of `eval`, written to `eval.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub gold_dir: String,
    pub run_dir: String,
    pub definitions: BTreeMap<String, String>,
    pub overall: Overall,
    pub reports: Vec<ReportScore>,
    pub warnings: Vec<String>,
    /// Year over year, for a year-pair gold folder (`pairs.gold.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub years: Option<years::YearsScore>,
    /// What the generator wrote and what the checks refused, over every report of the run
    /// (no gold needed).
    #[serde(default)]
    pub writing: writing::Writing,
}

fn definitions() -> BTreeMap<String, String> {
    let d: &[(&str, &str)] = &[
        ("report_coverage", "matched reports / gold files; only matched reports are scored"),
        ("themes_reports", "P/R/F1 over (report, theme) pairs; predicted = distinct themes of the report's shortcomings; theme `other` ignored; F1 = 2tp/(2tp+fp+fn); overall = micro"),
        ("themes_digest", "as themes_reports, predicted = digest.json themes whose `reports` holds the report id"),
        ("shortcoming_recall", "gold shortcomings whose evidence span (exact substring of the source, first occurrence) is covered for at least half of its chars by some predicted shortcoming evidence span"),
        ("shortcoming_precision", "predicted shortcomings (any theme) with an evidence span covered for at least half of its own chars by some gold shortcoming evidence span"),
        ("evidence_span", "start..end when that char slice equals the quote, else the occurrence of the quote nearest to start, else none"),
        ("figure_recall", "gold achievement figures equal to a figure string of some predicted achievement"),
        ("exact_quotes", "evidence items (all items) whose start..end char slice of the source equals the quote"),
        ("fabricated_numbers", "numbers (arabic incl. decimals/%, full-width folded; Chinese numerals with a unit such as 三场, 近四成) in any text or summary that the source does not contain; lower is better"),
        ("summary_rouge_l", "ROUGE-L F1 at character level over letters and digits (no whitespace/punctuation, simplified script); overall = mean"),
        ("summary_numbers", "numbers of the summary that the source contains / numbers in the summary"),
        ("writing", "over every report of the run, no gold needed: summaries generated (every sentence passed the checks) / partly generated (work sentence generated, problems composed) / composed; mean summary length in characters; item texts the generator rewrote, and its rewrites and summary sentences refused, by reason"),
        ("township_accuracy", "predicted township equals the gold township exactly as written"),
        ("not_computable", "null / n/a: the source text could not be read or the denominator is 0"),
    ];
    d.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Score the run in `out_dir` against the gold files in `gold_dir`.
///
/// Errors (an unusable folder, invalid JSON) name the folder or file.
/// A year-pair gold folder (with `pairs.gold.json`) is scored for its year-over-year part too
/// (`years`), and its reports against the gold files of the subfolder the run's reports come
/// from (e.g. `2024/`).
pub fn evaluate(gold_dir: &Path, out_dir: &Path) -> Result<EvalReport> {
    if !gold_dir.join(years::PAIRS_FILE).is_file() {
        return evaluate_reports(gold_dir, out_dir);
    }
    let reports_gold = year_gold_dir(gold_dir, out_dir)?;
    let mut report = evaluate_reports(&reports_gold, out_dir)?;
    report.years = Some(years::score(gold_dir, out_dir)?);
    Ok(report)
}

/// The subfolder of a year-pair gold folder holding the gold files of the run's reports: the
/// one named as the folder of the first report's source.
fn year_gold_dir(gold_dir: &Path, out_dir: &Path) -> Result<PathBuf> {
    let runs = load_reports(out_dir)?;
    let sub = runs.first().and_then(|(_, r)| {
        Path::new(&r.source)
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| gold_dir.join(n))
    });
    match sub {
        Some(d) if d.is_dir() => Ok(d),
        _ => Ok(gold_dir.to_path_buf()),
    }
}

fn evaluate_reports(gold_dir: &Path, out_dir: &Path) -> Result<EvalReport> {
    let golds = load_golds(gold_dir)?;
    let runs = load_reports(out_dir)?;
    let digest = load_digest(out_dir)?;
    let mut warnings = Vec::new();
    if digest.is_none() {
        warnings.push(format!(
            "run folder {} has no digest.json: digest theme metrics not computable",
            out_dir.display()
        ));
    }

    // Match by the file name of `source`.
    let mut gold_by_file: BTreeMap<String, (PathBuf, Gold)> = BTreeMap::new();
    for (path, g) in golds {
        if let Some((first, _)) = gold_by_file.get(&g.file) {
            warnings.push(format!(
                "gold files {} and {} both describe {}; using the first",
                first.display(),
                path.display(),
                g.file
            ));
            continue;
        }
        gold_by_file.insert(g.file.clone(), (path, g));
    }
    let gold_files = gold_by_file.len();
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut pairs = Vec::new();
    let mut reports_without_gold = Vec::new();
    for (path, r) in &runs {
        let name = file_name(&r.source);
        match gold_by_file.get(&name) {
            Some(_) if used.contains(&name) => {
                warnings.push(format!(
                    "{}: another report of this run already matched gold {name}",
                    path.display()
                ));
                reports_without_gold.push(r.id.clone());
            }
            Some((_, g)) => {
                used.insert(name);
                pairs.push((r, g));
            }
            None => reports_without_gold.push(r.id.clone()),
        }
    }
    if pairs.is_empty() {
        bail!(
            "no report of run folder {} matches a gold file of {} (by the file name of `source`)",
            out_dir.display(),
            gold_dir.display()
        );
    }
    let gold_without_report: Vec<String> = gold_by_file
        .keys()
        .filter(|k| !used.contains(*k))
        .cloned()
        .collect();

    let digest_themes: Option<BTreeMap<String, BTreeSet<String>>> = digest.map(|d| {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for t in d.themes.iter().filter(|t| t.id != OTHER_THEME) {
            for rid in &t.reports {
                m.entry(rid.clone()).or_default().insert(t.id.clone());
            }
        }
        m
    });

    let scores: Vec<ReportScore> = pairs
        .iter()
        .map(|(r, g)| score_report(r, g, gold_dir, digest_themes.as_ref()))
        .collect();
    let overall = aggregate(
        &scores,
        gold_files,
        runs.len(),
        gold_without_report,
        reports_without_gold,
    );
    Ok(EvalReport {
        gold_dir: gold_dir.display().to_string(),
        run_dir: out_dir.display().to_string(),
        definitions: definitions(),
        overall,
        reports: scores,
        warnings,
        years: None,
        writing: writing::Writing::of(runs.iter().map(|(_, r)| r)),
    })
}

fn file_name(source: &str) -> String {
    source
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(source)
        .to_string()
}

fn load_golds(gold_dir: &Path) -> Result<Vec<(PathBuf, Gold)>> {
    if !gold_dir.is_dir() {
        bail!(
            "gold folder {} does not exist or is not a folder",
            gold_dir.display()
        );
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(gold_dir)
        .with_context(|| format!("cannot list gold folder {}", gold_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(".gold.json"))
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!(
            "gold folder {} has no *.gold.json files",
            gold_dir.display()
        );
    }
    paths
        .into_iter()
        .map(|p| {
            let g: Gold = read_json(&p, "gold file")?;
            Ok((p, g))
        })
        .collect()
}

fn load_reports(out_dir: &Path) -> Result<Vec<(PathBuf, ReportSummary)>> {
    if !out_dir.is_dir() {
        bail!(
            "run folder {} does not exist or is not a folder",
            out_dir.display()
        );
    }
    let dir = out_dir.join("reports");
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
            .collect(),
        Err(_) => Vec::new(),
    };
    paths.sort();
    if paths.is_empty() {
        bail!(
            "run folder {} has no reports ({} holds no *.json)",
            out_dir.display(),
            dir.display()
        );
    }
    paths
        .into_iter()
        .map(|p| {
            let r: ReportSummary = read_json(&p, "report")?;
            Ok((p, r))
        })
        .collect()
}

fn load_digest(out_dir: &Path) -> Result<Option<DigestFile>> {
    let p = out_dir.join("digest.json");
    if !p.exists() {
        return Ok(None);
    }
    read_json(&p, "digest").map(Some)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("invalid JSON in {what} {}", path.display()))
}

/// Read the source text of a report the way `run` decoded it (`crate::read::read_document`:
/// charset detection, BOM removal, newline normalisation, text extraction for html/docx/pdf):
/// from `source` itself, else from the gold folder's copy when its bytes hash to the report's
/// sha256. Returns (text, path read, notes) or the reason it failed.
fn read_source(
    r: &ReportSummary,
    g: &Gold,
    gold_dir: &Path,
) -> std::result::Result<(String, PathBuf, Vec<String>), String> {
    let primary = PathBuf::from(&r.source);
    let first_err = match crate::read::read_document(&primary) {
        Ok(doc) => {
            let mut notes = Vec::new();
            if !doc.sha256.eq_ignore_ascii_case(&r.sha256) {
                notes.push(format!(
                    "{} changed since the run (sha256 differs from the report's)",
                    primary.display()
                ));
            }
            return Ok((doc.text, primary, notes));
        }
        Err(e) => e.to_string(),
    };
    let alt = gold_dir.join(&g.file);
    if let Ok(doc) = crate::read::read_document(&alt) {
        if doc.sha256.eq_ignore_ascii_case(&r.sha256) {
            let note = format!(
                "source read from {} (same sha256 as the report; {first_err})",
                alt.display()
            );
            return Ok((doc.text, alt, vec![note]));
        }
    }
    Err(first_err)
}

fn score_report(
    r: &ReportSummary,
    g: &Gold,
    gold_dir: &Path,
    digest: Option<&BTreeMap<String, BTreeSet<String>>>,
) -> ReportScore {
    let mut notes = Vec::new();
    let gold_themes: BTreeSet<String> = g
        .shortcomings
        .iter()
        .map(|s| s.theme.clone())
        .filter(|t| t != OTHER_THEME)
        .collect();
    let pred_themes: BTreeSet<String> = r
        .shortcomings
        .iter()
        .map(|s| s.theme.clone())
        .filter(|t| t != OTHER_THEME)
        .collect();
    let themes_reports = Prf::from_sets(&pred_themes, &gold_themes);
    let themes_digest = digest.map(|d| {
        let empty = BTreeSet::new();
        Prf::from_sets(d.get(&r.id).unwrap_or(&empty), &gold_themes)
    });

    let pred_figures: BTreeSet<&str> = r
        .achievements
        .iter()
        .flat_map(|a| a.figures.iter().map(|f| f.as_str()))
        .collect();
    let gold_figures: Vec<&str> = g
        .achievements
        .iter()
        .flat_map(|a| a.figures.iter().map(|f| f.as_str()))
        .collect();
    let figure_recall = Ratio::new(
        gold_figures
            .iter()
            .filter(|f| pred_figures.contains(*f))
            .count(),
        gold_figures.len(),
    );

    let summary_rouge_l =
        (!g.summary.trim().is_empty()).then(|| rouge_l_chars(&r.summary, &g.summary));
    let township_correct = r.township.is_some() && r.township == g.township;

    let mut score = ReportScore {
        id: r.id.clone(),
        gold_file: g.file.clone(),
        source: r.source.clone(),
        source_read: None,
        themes_reports,
        themes_digest,
        shortcoming_recall: None,
        shortcoming_precision: None,
        exact_quotes: None,
        figure_recall,
        numbers_checked: None,
        fabricated_numbers: None,
        fabricated: Vec::new(),
        summary_rouge_l,
        summary_numbers: None,
        township_gold: g.township.clone(),
        township_predicted: r.township.clone(),
        township_correct,
        notes: Vec::new(),
    };

    let (text, read_from) = match read_source(r, g, gold_dir) {
        Ok((text, path, read_notes)) => {
            notes.extend(read_notes);
            (text, path)
        }
        Err(reason) => {
            notes.push(format!(
                "source not readable, evidence metrics not computable: {reason}"
            ));
            score.notes = notes;
            return score;
        }
    };
    score.source_read = Some(read_from.display().to_string());
    let chars: Vec<char> = text.chars().collect();

    // Gold shortcoming spans.
    let mut gold_spans = Vec::new();
    for (i, s) in g.shortcomings.iter().enumerate() {
        match text.find(&s.evidence).filter(|_| !s.evidence.is_empty()) {
            Some(b) => {
                let start = char_offset(&text, b);
                gold_spans.push((start, start + s.evidence.chars().count()));
            }
            None => notes.push(format!(
                "gold shortcoming {i} evidence is not in the source text: left out of shortcoming recall/precision"
            )),
        }
    }
    let pred_spans: Vec<Vec<(usize, usize)>> = r
        .shortcomings
        .iter()
        .map(|s| {
            s.evidence
                .iter()
                .filter_map(|e| evidence_span(&text, &chars, e))
                .collect()
        })
        .collect();
    let found = gold_spans
        .iter()
        .filter(|gs| {
            pred_spans
                .iter()
                .flatten()
                .any(|ps| 2 * overlap(**gs, *ps) >= gs.1 - gs.0)
        })
        .count();
    score.shortcoming_recall = Some(Ratio::new(found, gold_spans.len()));
    let supported = pred_spans
        .iter()
        .filter(|spans| {
            spans.iter().any(|ps| {
                ps.1 > ps.0
                    && gold_spans
                        .iter()
                        .any(|gs| 2 * overlap(*gs, *ps) >= ps.1 - ps.0)
            })
        })
        .count();
    score.shortcoming_precision = Some(Ratio::new(supported, pred_spans.len()));

    let all_evidence: Vec<&Evidence> = r
        .achievements
        .iter()
        .flat_map(|a| a.evidence.iter())
        .chain(r.shortcomings.iter().flat_map(|s| s.evidence.iter()))
        .chain(r.plans.iter().flat_map(|p| p.evidence.iter()))
        .collect();
    let exact = all_evidence
        .iter()
        .filter(|e| slice_chars(&text, e.start, e.end) == Some(e.quote.as_str()))
        .count();
    score.exact_quotes = Some(Ratio::new(exact, all_evidence.len()));

    let src = SourceNumbers::new(&text);
    let mut fields: Vec<(String, &str)> = Vec::new();
    for (i, a) in r.achievements.iter().enumerate() {
        fields.push((format!("achievements[{i}].text"), &a.text));
    }
    for (i, s) in r.shortcomings.iter().enumerate() {
        fields.push((format!("shortcomings[{i}].text"), &s.text));
    }
    for (i, p) in r.plans.iter().enumerate() {
        fields.push((format!("plans[{i}].text"), &p.text));
    }
    fields.push(("summary".to_string(), &r.summary));
    let mut checked = 0;
    for (field, t) in fields {
        for n in extract_numbers(t) {
            checked += 1;
            if !src.contains(&n) {
                score.fabricated.push(Fabricated {
                    report: r.id.clone(),
                    field: field.clone(),
                    number: n.written.clone(),
                    context: n.context.clone(),
                });
            }
        }
    }
    let summary_fabricated = score
        .fabricated
        .iter()
        .filter(|f| f.field == "summary")
        .count();
    let summary_numbers = extract_numbers(&r.summary).len();
    score.summary_numbers = Some(Ratio::new(
        summary_numbers - summary_fabricated.min(summary_numbers),
        summary_numbers,
    ));
    score.numbers_checked = Some(checked);
    score.fabricated_numbers = Some(score.fabricated.len());
    score.notes = notes;
    score
}

fn aggregate(
    scores: &[ReportScore],
    gold_files: usize,
    reports: usize,
    gold_without_report: Vec<String>,
    reports_without_gold: Vec<String>,
) -> Overall {
    let sum_prf = |f: &dyn Fn(&ReportScore) -> Option<Prf>| -> Option<Prf> {
        scores
            .iter()
            .map(f)
            .try_fold(Prf::from_counts(0, 0, 0), |acc, p| p.map(|p| acc.add(&p)))
    };
    let sum_ratio = |f: &dyn Fn(&ReportScore) -> Option<Ratio>| -> Option<Ratio> {
        let parts: Vec<Ratio> = scores.iter().filter_map(f).collect();
        (!parts.is_empty()).then(|| parts.iter().fold(Ratio::new(0, 0), |a, r| a.add(r)))
    };
    let computable: Vec<&ReportScore> = scores.iter().filter(|s| s.source_read.is_some()).collect();
    let rouge: Vec<f64> = scores.iter().filter_map(|s| s.summary_rouge_l).collect();
    let fabricated_examples: Vec<Fabricated> = scores
        .iter()
        .flat_map(|s| s.fabricated.iter().cloned())
        .take(MAX_EXAMPLES)
        .collect();
    Overall {
        gold_files,
        reports,
        matched: scores.len(),
        report_coverage: Ratio::new(scores.len(), gold_files),
        gold_without_report,
        reports_without_gold,
        themes_reports: sum_prf(&|s| Some(s.themes_reports.clone())).unwrap_or_default(),
        themes_digest: sum_prf(&|s| s.themes_digest.clone()),
        evidence_not_computable: scores
            .iter()
            .filter(|s| s.source_read.is_none())
            .map(|s| s.id.clone())
            .collect(),
        shortcoming_recall: sum_ratio(&|s| s.shortcoming_recall.clone()),
        shortcoming_precision: sum_ratio(&|s| s.shortcoming_precision.clone()),
        exact_quotes: sum_ratio(&|s| s.exact_quotes.clone()),
        figure_recall: sum_ratio(&|s| Some(s.figure_recall.clone())).unwrap_or_default(),
        numbers_checked: (!computable.is_empty())
            .then(|| computable.iter().filter_map(|s| s.numbers_checked).sum()),
        fabricated_numbers: (!computable.is_empty())
            .then(|| computable.iter().filter_map(|s| s.fabricated_numbers).sum()),
        fabricated_examples,
        summary_rouge_l: (!rouge.is_empty())
            .then(|| rouge.iter().sum::<f64>() / rouge.len() as f64),
        summary_numbers: sum_ratio(&|s| s.summary_numbers.clone()),
        township_accuracy: Ratio::new(
            scores.iter().filter(|s| s.township_correct).count(),
            scores.len(),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Spans

fn overlap(a: (usize, usize), b: (usize, usize)) -> usize {
    a.1.min(b.1).saturating_sub(a.0.max(b.0))
}

/// The char span an evidence item stands for (see the module docs), `None` if its quote is not in
/// the source.
fn evidence_span(text: &str, chars: &[char], e: &Evidence) -> Option<(usize, usize)> {
    if e.quote.is_empty() {
        return None;
    }
    let len = e.quote.chars().count();
    if e.end <= chars.len()
        && e.start + len == e.end
        && chars[e.start..e.end].iter().copied().eq(e.quote.chars())
    {
        return Some((e.start, e.end));
    }
    let mut best: Option<(usize, usize)> = None;
    for (b, _) in text.match_indices(e.quote.as_str()) {
        let s = char_offset(text, b);
        if best.is_none_or(|(bs, _)| s.abs_diff(e.start) < bs.abs_diff(e.start)) {
            best = Some((s, s + len));
        }
    }
    best
}

// ---------------------------------------------------------------------------------------------
// Numbers
//
// The evaluator keeps its own number reader (full-width folding, arabic and Chinese numerals,
// their values) on purpose instead of using `crate::text::numerals` and
// `summarise::numbers_absent_from_source`: it scores those, and a scorer sharing the code it
// scores would share its mistakes and report them as correct.

/// Fold full-width digits and signs to ASCII.
fn fold_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '．' => '.',
            '％' => '%',
            '，' => ',',
            _ => c,
        })
        .collect()
}

/// Simplified script for comparing texts. zhconv turns 餘 into 馀 in some phrases ("三十餘場" →
/// "三十馀场") where a summary writes 余; both are the same word here.
fn to_simplified(s: &str) -> String {
    zhconv::zhconv(s, zhconv::Variant::ZhHans).replace('馀', "余")
}

static ARABIC: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?%?|\d+(?:\.\d+)?%?").unwrap_or_else(|e| panic!("{e}"))
});

const CN_UNITS: &str = "成|个月|個月|个|個|名|场次|場次|场|場|次|起|件|项|項|人次|人|户|戶|村|所|家|份|条|條|期|批|支|篇|轮|輪|万元|萬元|元|倍|年|月|天|位|处|處|座|类|類|门|門|种|種|套|台|臺|辆|輛|本|册|冊|块|塊|间|間|部";

static CHINESE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(&format!(
        r"(?:近|约|約|逾|超过|超過)?([一二两兩三四五六七八九十][零〇一二两兩三四五六七八九十百千万萬]*)([余餘多]?)({CN_UNITS})"
    ))
    .unwrap_or_else(|e| panic!("{e}"))
});

/// A number stated in generated text.
#[derive(Debug, Clone, PartialEq)]
struct Number {
    written: String,
    kind: NumberKind,
    context: String,
}

#[derive(Debug, Clone, PartialEq)]
enum NumberKind {
    /// Canonical arabic value: digits, no thousands commas, no `%`.
    /// Canonical arabic values: digits, no thousands commas, no `%`; for `1.2万` also `12000`.
    Arabic(Vec<String>),
    /// A Chinese numeral (simplified) with its unit and value.
    Chinese {
        numeral: String,
        unit: String,
        value: Option<u64>,
    },
}

fn canonical_arabic(s: &str) -> String {
    s.trim_end_matches('%').replace(',', "")
}

/// The canonical value of an arabic number, plus its value in units when `万` follows it.
fn arabic_keys(text: &str, m: &regex::Match) -> Vec<String> {
    let v = canonical_arabic(m.as_str());
    let mut keys = vec![v.clone()];
    if !m.as_str().ends_with('%') && text[m.end()..].starts_with(['万', '萬']) {
        if let Ok(x) = v.parse::<f64>() {
            let scaled = (x * 10_000.0).round();
            if (x * 10_000.0 - scaled).abs() < 1e-6 && scaled < 1e15 {
                keys.push(format!("{}", scaled as u64));
            }
        }
    }
    keys
}

fn context_of(chars: &[char], start: usize, end: usize) -> String {
    let a = start.saturating_sub(8);
    let b = (end + 8).min(chars.len());
    chars[a..b].iter().collect()
}

/// Numbers stated in `text` (see the module docs).
fn extract_numbers(text: &str) -> Vec<Number> {
    let folded = fold_width(text);
    let chars: Vec<char> = folded.chars().collect();
    let mut out = Vec::new();
    for m in ARABIC.find_iter(&folded) {
        let (s, e) = (
            char_offset(&folded, m.start()),
            char_offset(&folded, m.end()),
        );
        out.push(Number {
            written: m.as_str().to_string(),
            kind: NumberKind::Arabic(arabic_keys(&folded, &m)),
            context: context_of(&chars, s, e),
        });
    }
    let simple = to_simplified(&folded);
    let schars: Vec<char> = simple.chars().collect();
    // zhconv may change lengths in rare cases; only use the simplified text for matching.
    for c in CHINESE.captures_iter(&simple) {
        let (Some(all), Some(num), Some(unit)) = (c.get(0), c.get(1), c.get(3)) else {
            continue;
        };
        // A bare 一 is mostly an article (一个, 一批), not a stated figure.
        if num.as_str() == "一" {
            continue;
        }
        let (s, e) = (
            char_offset(&simple, all.start()),
            char_offset(&simple, all.end()),
        );
        out.push(Number {
            written: all.as_str().to_string(),
            kind: NumberKind::Chinese {
                numeral: num.as_str().to_string(),
                unit: unit.as_str().to_string(),
                value: chinese_value(num.as_str()),
            },
            context: context_of(&schars, s, e),
        });
    }
    out
}

/// Value of a Chinese numeral such as 三, 十二, 两千三百零五, 1万-style mixes excluded.
fn chinese_value(s: &str) -> Option<u64> {
    let mut total: u64 = 0; // completed 万/亿 groups
    let mut section: u64 = 0; // below 万
    let mut digit: Option<u64> = None;
    for c in s.chars() {
        let d = match c {
            '零' | '〇' => Some(0),
            '一' => Some(1),
            '二' | '两' | '兩' => Some(2),
            '三' => Some(3),
            '四' => Some(4),
            '五' => Some(5),
            '六' => Some(6),
            '七' => Some(7),
            '八' => Some(8),
            '九' => Some(9),
            _ => None,
        };
        if let Some(d) = d {
            digit = Some(digit.unwrap_or(0) * 10 + d);
            continue;
        }
        let mult = match c {
            '十' => 10,
            '百' => 100,
            '千' => 1000,
            '万' | '萬' => 10_000,
            '亿' | '億' => 100_000_000,
            _ => return None,
        };
        if mult >= 10_000 {
            section += digit.take().unwrap_or(0);
            let group = if section == 0 { 1 } else { section };
            total = (total + group).checked_mul(mult)?;
            section = 0;
        } else {
            section += digit.take().unwrap_or(1) * mult;
        }
    }
    Some(total + section + digit.unwrap_or(0))
}

/// What the source text states, for the fabricated-number check.
struct SourceNumbers {
    arabic: BTreeSet<String>,
    simplified: String,
}

impl SourceNumbers {
    fn new(text: &str) -> SourceNumbers {
        let folded = fold_width(text);
        let mut arabic: BTreeSet<String> = ARABIC
            .find_iter(&folded)
            .flat_map(|m| arabic_keys(&folded, &m))
            .collect();
        let simplified = to_simplified(&folded);
        // Values the source states in Chinese numerals (三次, 四成) count as stated in digits too.
        for c in CHINESE.captures_iter(&simplified) {
            let (Some(num), Some(unit)) = (c.get(1), c.get(3)) else {
                continue;
            };
            if let Some(v) = chinese_value(num.as_str()) {
                arabic.insert(v.to_string());
                if unit.as_str() == "成" {
                    arabic.insert((v * 10).to_string());
                }
            }
        }
        SourceNumbers { arabic, simplified }
    }

    fn contains(&self, n: &Number) -> bool {
        match &n.kind {
            NumberKind::Arabic(keys) => keys.iter().any(|k| self.arabic.contains(k)),
            NumberKind::Chinese {
                numeral,
                unit,
                value,
            } => {
                ["", "余", "多"]
                    .iter()
                    .any(|mid| self.simplified.contains(&format!("{numeral}{mid}{unit}")))
                    || value.is_some_and(|v| {
                        self.arabic.contains(&v.to_string())
                            || (unit == "成" && self.arabic.contains(&(v * 10).to_string()))
                    })
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ROUGE-L

fn rouge_tokens(s: &str) -> Vec<char> {
    to_simplified(&fold_width(s))
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// ROUGE-L F1 (β = 1) at character level over letters and digits, script-normalised.
pub fn rouge_l_chars(predicted: &str, gold: &str) -> f64 {
    let p = rouge_tokens(predicted);
    let g = rouge_tokens(gold);
    if p.is_empty() || g.is_empty() {
        return 0.0;
    }
    let mut prev = vec![0usize; g.len() + 1];
    let mut cur = vec![0usize; g.len() + 1];
    for a in &p {
        for (j, b) in g.iter().enumerate() {
            cur[j + 1] = if a == b {
                prev[j] + 1
            } else {
                cur[j].max(prev[j + 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let lcs = prev[g.len()] as f64;
    if lcs == 0.0 {
        return 0.0;
    }
    let (prec, rec) = (lcs / p.len() as f64, lcs / g.len() as f64);
    2.0 * prec * rec / (prec + rec)
}

// ---------------------------------------------------------------------------------------------
// Output

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.3}"))
}

fn fmt_ratio(r: Option<&Ratio>) -> String {
    match r {
        Some(r) => format!("{} ({}/{})", fmt_opt(r.value), r.hits, r.total),
        None => "n/a".to_string(),
    }
}

fn fmt_count(v: Option<usize>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| v.to_string())
}

/// The human table: one row per matched report, then the overall row and the details.
pub fn render_table(e: &EvalReport) -> String {
    let mut s = String::new();
    let header = [
        "report",
        "gold",
        "themeF1",
        "digestF1",
        "sc.recall",
        "sc.prec",
        "fig.recall",
        "exact",
        "fabric.",
        "rougeL",
        "township",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for r in &e.reports {
        rows.push(vec![
            r.id.clone(),
            r.gold_file.clone(),
            fmt_opt(r.themes_reports.f1),
            fmt_opt(r.themes_digest.as_ref().and_then(|p| p.f1)),
            fmt_opt(r.shortcoming_recall.as_ref().and_then(|x| x.value)),
            fmt_opt(r.shortcoming_precision.as_ref().and_then(|x| x.value)),
            fmt_opt(r.figure_recall.value),
            fmt_opt(r.exact_quotes.as_ref().and_then(|x| x.value)),
            fmt_count(r.fabricated_numbers),
            fmt_opt(r.summary_rouge_l),
            if r.township_correct { "ok" } else { "WRONG" }.to_string(),
        ]);
    }
    let o = &e.overall;
    rows.push(vec![
        "OVERALL".to_string(),
        format!("{}/{}", o.matched, o.gold_files),
        fmt_opt(o.themes_reports.f1),
        fmt_opt(o.themes_digest.as_ref().and_then(|p| p.f1)),
        fmt_opt(o.shortcoming_recall.as_ref().and_then(|x| x.value)),
        fmt_opt(o.shortcoming_precision.as_ref().and_then(|x| x.value)),
        fmt_opt(o.figure_recall.value),
        fmt_opt(o.exact_quotes.as_ref().and_then(|x| x.value)),
        fmt_count(o.fabricated_numbers),
        fmt_opt(o.summary_rouge_l),
        fmt_opt(o.township_accuracy.value),
    ]);
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for (n, row) in rows.iter().enumerate() {
        if n + 1 == rows.len() {
            let _ = writeln!(
                s,
                "{}",
                "-".repeat(widths.iter().sum::<usize>() + 2 * widths.len())
            );
        }
        for (cell, w) in row.iter().zip(&widths) {
            let pad = w.saturating_sub(cell.chars().count());
            let _ = write!(s, "{cell}{}  ", " ".repeat(pad));
        }
        s.truncate(s.trim_end().len());
        s.push('\n');
    }
    let prf = |p: &Prf| {
        format!(
            "P {} R {} F1 {} (tp {} fp {} fn {})",
            fmt_opt(p.precision),
            fmt_opt(p.recall),
            fmt_opt(p.f1),
            p.tp,
            p.fp,
            p.fn_
        )
    };
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "reports matched: {} of {} gold files ({} reports in the run)",
        o.matched, o.gold_files, o.reports
    );
    if !o.gold_without_report.is_empty() {
        let _ = writeln!(
            s,
            "gold files without a report: {}",
            o.gold_without_report.join(", ")
        );
    }
    if !o.reports_without_gold.is_empty() {
        let _ = writeln!(
            s,
            "reports without gold: {}",
            o.reports_without_gold.join(", ")
        );
    }
    let _ = writeln!(s, "themes (reports): {}", prf(&o.themes_reports));
    match &o.themes_digest {
        Some(p) => {
            let _ = writeln!(s, "themes (digest):  {}", prf(p));
        }
        None => {
            let _ = writeln!(s, "themes (digest):  n/a (no digest.json)");
        }
    }
    let _ = writeln!(
        s,
        "shortcoming recall:    {}",
        fmt_ratio(o.shortcoming_recall.as_ref())
    );
    let _ = writeln!(
        s,
        "shortcoming precision: {}",
        fmt_ratio(o.shortcoming_precision.as_ref())
    );
    let _ = writeln!(
        s,
        "figure recall:         {}",
        fmt_ratio(Some(&o.figure_recall))
    );
    let _ = writeln!(
        s,
        "exact evidence quotes: {}",
        fmt_ratio(o.exact_quotes.as_ref())
    );
    let _ = writeln!(
        s,
        "fabricated numbers:    {} of {} numbers checked",
        fmt_count(o.fabricated_numbers),
        fmt_count(o.numbers_checked)
    );
    for f in &o.fabricated_examples {
        let _ = writeln!(
            s,
            "  {} {}: {} in \"{}\"",
            f.report, f.field, f.number, f.context
        );
    }
    let _ = writeln!(s, "summary ROUGE-L (mean): {}", fmt_opt(o.summary_rouge_l));
    let _ = writeln!(
        s,
        "summary numbers in the source: {}",
        fmt_ratio(o.summary_numbers.as_ref())
    );
    s.push_str(&e.writing.render());
    let _ = writeln!(
        s,
        "township accuracy:     {}",
        fmt_ratio(Some(&o.township_accuracy))
    );
    if !o.evidence_not_computable.is_empty() {
        let _ = writeln!(
            s,
            "evidence metrics not computable (source unreadable): {}",
            o.evidence_not_computable.join(", ")
        );
    }
    for r in &e.reports {
        for n in &r.notes {
            let _ = writeln!(s, "note {}: {n}", r.id);
        }
    }
    for w in &e.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    if let Some(y) = &e.years {
        let _ = writeln!(s);
        let _ = writeln!(s, "year over year (previous run {}):", y.previous_run);
        let _ = writeln!(s, "  township matches:   {}", prf(&y.township_matches));
        let _ = writeln!(s, "  persistence:        {}", prf(&y.persistence));
        let _ = writeln!(
            s,
            "  follow-through:     {}",
            fmt_ratio(Some(&y.follow_through))
        );
        let _ = writeln!(
            s,
            "  plans in gold:      {}",
            fmt_ratio(Some(&y.plans_in_gold))
        );
        let _ = writeln!(
            s,
            "  achievement quotes: {}",
            fmt_ratio(Some(&y.achievement_quotes))
        );
        let _ = writeln!(
            s,
            "  exact quotes:       {}",
            fmt_ratio(Some(&y.exact_quotes))
        );
        for err in &y.errors {
            let _ = writeln!(s, "  - {err}");
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "definitions:");
    for (k, v) in &e.definitions {
        let _ = writeln!(s, "  {k}: {v}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arabic(t: &str) -> Vec<String> {
        extract_numbers(t).into_iter().map(|n| n.written).collect()
    }

    #[test]
    fn extracts_arabic_and_chinese_numbers() {
        assert_eq!(
            arabic("开展36场次，覆盖3,800余人次，成功率95.5%"),
            ["36", "3,800", "95.5%"]
        );
        assert_eq!(arabic("全年１２次"), ["12"]);
        assert_eq!(
            arabic("开展三场宣讲，近四成群众，十余次"),
            ["三场", "近四成", "十余次"]
        );
        // articles and list markers are not figures
        assert!(arabic("一是形成一个机制，进一步统一思想").is_empty());
        // traditional
        assert_eq!(arabic("召開兩場會議"), ["两场"]);
    }

    #[test]
    fn chinese_values() {
        assert_eq!(chinese_value("三"), Some(3));
        assert_eq!(chinese_value("十二"), Some(12));
        assert_eq!(chinese_value("二十"), Some(20));
        assert_eq!(chinese_value("两千三百零五"), Some(2305));
        assert_eq!(chinese_value("三万"), Some(30000));
    }

    #[test]
    fn numbers_absent_from_source_are_fabricated() {
        let src = SourceNumbers::new(
            "全年开展普法活动３６场次，近40%的群众参加，调解成功率95.5%，召开三次会议。",
        );
        let fabricated: Vec<String> = extract_numbers(
            "开展36场次，成功率95.5%，近四成群众，召开3次会议，另有27份合同和五场讲座",
        )
        .into_iter()
        .filter(|n| !src.contains(n))
        .map(|n| n.written)
        .collect();
        assert_eq!(fabricated, ["27", "五场"]);
        // A traditional source and a simplified summary state the same numbers.
        let src = SourceNumbers::new("開展普法宣講三十餘場，覆蓋群眾6400餘人次");
        assert!(extract_numbers("普法宣讲三十余场，覆盖群众6400余人次")
            .iter()
            .all(|n| src.contains(n)));
        // 1.2万 and 12000 state the same number
        let src = SourceNumbers::new("印发资料1.2万份");
        assert!(extract_numbers("印发资料12000份")
            .iter()
            .all(|n| src.contains(n)));
        let src = SourceNumbers::new("印发资料12000份");
        assert!(extract_numbers("印发资料1.2万份")
            .iter()
            .all(|n| src.contains(n)));
    }

    #[test]
    fn rouge_l_is_character_level_and_ignores_punctuation() {
        assert!((rouge_l_chars("高岭乡，开展普法。", "高岭乡开展普法") - 1.0).abs() < 1e-12);
        assert_eq!(rouge_l_chars("甲乙", "丙丁"), 0.0);
        // LCS 2 of 4 and 2 of 2 → P 0.5, R 1 → F 2/3
        assert!((rouge_l_chars("甲乙丙丁", "甲丙") - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn evidence_span_prefers_offsets_then_nearest_quote() {
        let text = "甲乙甲乙";
        let chars: Vec<char> = text.chars().collect();
        let e = |start, end| Evidence {
            quote: "甲乙".into(),
            start,
            end,
        };
        assert_eq!(evidence_span(text, &chars, &e(2, 4)), Some((2, 4)));
        assert_eq!(evidence_span(text, &chars, &e(3, 5)), Some((2, 4)));
        assert_eq!(evidence_span(text, &chars, &e(0, 1)), Some((0, 2)));
        let missing = Evidence {
            quote: "丙".into(),
            start: 0,
            end: 1,
        };
        assert_eq!(evidence_span(text, &chars, &missing), None);
    }
}
