//! Scoring the year-over-year part of a run (`run --previous`) against a year-pair gold folder:
//! `pairs.gold.json` beside the two years' reports and their gold files (schema in
//! `fixtures/years/README.md`).
//!
//! Gold rows name reports by file (`2023/a.txt`, `a.txt`) or by township; each is resolved to a
//! report of the run (this year) or of the previous output named in `digest.json` `years`, by
//! the file name of its `source`, else by its township name in simplified script.
//!
//! - `persistence`: P/R/F1 over (this year's township, theme, status) triples; for a resolved
//!   theme the township is the matched one. Gold rows of a township matched to nothing count as
//!   missed.
//! - `follow_through`: share of gold plan rows whose predicted `carried_out` equals the gold
//!   one; a gold plan is found among the predicted plans of the same township pair by its quote
//!   (one containing the other, or overlapping by at least half of the shorter); a gold plan
//!   not found counts as wrong.
//! - `plans_in_gold`: share of the run's plans that are gold plans of the same township pair
//!   (found the same way); the rest are sentences taken for plans that are none.
//! - `achievement_quotes`: of the plans both call carried out, the share whose predicted
//!   achievement quote overlaps the gold achievement evidence (half of the shorter).
//! - `township_matches`: P/R/F1 over (previous, current) pairs.
//! - `exact_quotes`: every quote of `years` (previous and plan quotes in last year's source,
//!   current and achievement quotes in this year's) that is an exact substring of its source.

use super::{read_json, Prf, Ratio};
use crate::compare::simplified;
use crate::compare::years::{YearComparison, YearsPart};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub const PAIRS_FILE: &str = "pairs.gold.json";

#[derive(Debug, Clone, Deserialize)]
struct PairsGold {
    #[serde(default)]
    matches: Vec<serde_json::Value>,
    #[serde(default)]
    unmatched_previous: Vec<serde_json::Value>,
    #[serde(default)]
    unmatched_current: Vec<serde_json::Value>,
    #[serde(default)]
    persistence: Vec<GoldPersistence>,
    #[serde(default)]
    plans: Vec<GoldPlanRow>,
}

#[derive(Debug, Clone, Deserialize)]
struct GoldPersistence {
    previous: Option<String>,
    current: Option<String>,
    theme: String,
    status: String,
}

#[derive(Debug, Clone, Deserialize)]
struct GoldPlanRow {
    previous: String,
    current: String,
    plan: String,
    carried_out: bool,
    #[serde(default)]
    achievement_evidence: Option<String>,
}

/// The years scores, `eval.json` `years`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YearsScore {
    pub previous_run: String,
    pub township_matches: Prf,
    pub persistence: Prf,
    pub follow_through: Ratio,
    /// Of the run's plans, the share that are gold plans of the same township pair: a sentence
    /// taken for a plan that is none (a lead-in, a closing formula) lowers it, and the
    /// follow-through rates with it.
    #[serde(default)]
    pub plans_in_gold: Ratio,
    pub achievement_quotes: Ratio,
    pub exact_quotes: Ratio,
    /// Gold rows the run got wrong, for reading.
    pub errors: Vec<String>,
}

/// A report of either year: id, file name of its source, township (simplified), source path.
struct Known {
    id: String,
    file: String,
    township: Option<String>,
    source: String,
}

#[derive(Deserialize)]
struct MinimalReport {
    id: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    township: Option<String>,
}

#[derive(Deserialize)]
struct DigestYears {
    years: Option<YearsPart>,
}

fn load_known(out: &Path) -> Result<Vec<Known>> {
    let dir = out.join("reports");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let r: MinimalReport = read_json(p, "report")?;
            Ok(Known {
                file: super::file_name(&r.source),
                township: r.township.as_deref().map(simplified),
                id: r.id,
                source: r.source,
            })
        })
        .collect()
}

/// The report a gold reference names: by source file name, else by township.
fn resolve<'a>(known: &'a [Known], name: &str) -> Option<&'a Known> {
    let file = super::file_name(name);
    known.iter().find(|k| k.file == file).or_else(|| {
        let t = simplified(name);
        let mut hits = known.iter().filter(|k| k.township.as_deref() == Some(&t));
        match (hits.next(), hits.next()) {
            (Some(k), None) => Some(k),
            _ => None,
        }
    })
}

fn value_name(v: &serde_json::Value, key: &str, index: usize) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(m) => m.get(key).and_then(|x| x.as_str()).map(str::to_string),
        serde_json::Value::Array(a) => a.get(index).and_then(|x| x.as_str()).map(str::to_string),
        _ => None,
    }
}

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

/// One quote inside the other, or overlapping by at least half of the shorter (in the
/// simplified script; position-free: longest common substring).
pub fn quotes_agree(a: &str, b: &str) -> bool {
    let (a, b) = (simplified(a), simplified(b));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a.contains(&b) || b.contains(&a) {
        return true;
    }
    let (x, y) = (chars(&a), chars(&b));
    let shorter = x.len().min(y.len());
    longest_common_substring(&x, &y) * 2 >= shorter
}

fn longest_common_substring(x: &[char], y: &[char]) -> usize {
    let mut prev = vec![0usize; y.len() + 1];
    let mut best = 0;
    for i in 1..=x.len() {
        let mut cur = vec![0usize; y.len() + 1];
        for j in 1..=y.len() {
            if x[i - 1] == y[j - 1] {
                cur[j] = prev[j - 1] + 1;
                best = best.max(cur[j]);
            }
        }
        prev = cur;
    }
    best
}

/// Score `years` of the run in `out_dir` against `gold_dir/pairs.gold.json`.
pub fn score(gold_dir: &Path, out_dir: &Path) -> Result<YearsScore> {
    let gold: PairsGold = read_json(&gold_dir.join(PAIRS_FILE), "year-pair gold file")?;
    let digest: DigestYears = read_json(&out_dir.join("digest.json"), "digest")?;
    let Some(years) = digest.years else {
        bail!(
            "run folder {} has no year-over-year part in digest.json: run it with --previous",
            out_dir.display()
        );
    };
    let Some(c) = years.comparisons.first() else {
        bail!("digest.json of {} compares no years", out_dir.display());
    };
    let current = load_known(out_dir)?;
    let previous = load_known(Path::new(&c.previous)).with_context(|| {
        format!(
            "the previous output {} named in digest.json is unreadable",
            c.previous
        )
    })?;
    Ok(score_comparison(&gold, c, &current, &previous))
}

fn score_comparison(
    gold: &PairsGold,
    c: &YearComparison,
    current: &[Known],
    previous: &[Known],
) -> YearsScore {
    let mut errors = Vec::new();
    let cur_id = |name: &str| resolve(current, name).map_or(format!("?{name}"), |k| k.id.clone());
    let prev_id = |name: &str| resolve(previous, name).map_or(format!("?{name}"), |k| k.id.clone());

    // Township matches.
    let gold_pairs: BTreeSet<(String, String)> = gold
        .matches
        .iter()
        .filter_map(|m| {
            let p = value_name(m, "previous", 0)?;
            let q = value_name(m, "current", 1)?;
            Some((prev_id(&p), cur_id(&q)))
        })
        .collect();
    let pred_pairs: BTreeSet<(String, String)> = c
        .matches
        .iter()
        .map(|m| (m.previous.clone(), m.current.clone()))
        .collect();
    for p in gold_pairs.difference(&pred_pairs) {
        errors.push(format!("township pair missed: {} ↔ {}", p.0, p.1));
    }
    for p in pred_pairs.difference(&gold_pairs) {
        errors.push(format!("township pair not in gold: {} ↔ {}", p.0, p.1));
    }
    for u in &gold.unmatched_previous {
        if let Some(n) = value_name(u, "previous", 0) {
            let id = prev_id(&n);
            if !c.disappeared.iter().any(|d| d.report == id) {
                errors.push(format!(
                    "{n}: gold lists it as unmatched last year; the run does not"
                ));
            }
        }
    }
    for u in &gold.unmatched_current {
        if let Some(n) = value_name(u, "current", 0) {
            let id = cur_id(&n);
            if !c.appeared.iter().any(|d| d.report == id) {
                errors.push(format!(
                    "{n}: gold lists it as unmatched this year; the run does not"
                ));
            }
        }
    }
    let township_matches = Prf::from_sets(&pred_pairs, &gold_pairs);

    // Persistence triples keyed by this year's report (the matched one for resolved themes).
    let matched_current: BTreeMap<String, String> = c
        .matches
        .iter()
        .map(|m| (m.previous.clone(), m.current.clone()))
        .collect();
    let gold_triples: BTreeSet<(String, String, String)> = gold
        .persistence
        .iter()
        .filter(|r| c.themes_compared.contains(&r.theme))
        .map(|r| {
            let who = match (&r.current, &r.previous) {
                (Some(cur), _) => cur_id(cur),
                (None, Some(p)) => {
                    let id = prev_id(p);
                    matched_current.get(&id).cloned().unwrap_or(format!("?{p}"))
                }
                (None, None) => "?".to_string(),
            };
            (who, r.theme.clone(), r.status.clone())
        })
        .collect();
    let pred_triples: BTreeSet<(String, String, String)> = c
        .changes
        .iter()
        .map(|ch| {
            (
                ch.current.clone(),
                ch.theme.clone(),
                ch.status.as_str().to_string(),
            )
        })
        .collect();
    for t in gold_triples.difference(&pred_triples) {
        errors.push(format!("persistence missed: {} {} {}", t.0, t.1, t.2));
    }
    for t in pred_triples.difference(&gold_triples) {
        errors.push(format!("persistence not in gold: {} {} {}", t.0, t.1, t.2));
    }
    let persistence = Prf::from_sets(&pred_triples, &gold_triples);

    // Plan follow-through.
    let (mut right, mut quote_hits, mut quote_total) = (0usize, 0usize, 0usize);
    for g in &gold.plans {
        let (p, q) = (prev_id(&g.previous), cur_id(&g.current));
        let found = c.plans.iter().find(|k| {
            k.previous == p
                && k.current == q
                && quotes_agree(k.plan_quote.as_deref().unwrap_or(&k.plan), &g.plan)
        });
        match found {
            Some(k) if k.carried_out == g.carried_out => {
                right += 1;
                if g.carried_out {
                    quote_total += 1;
                    let agree = match (&k.achievement_quote, &g.achievement_evidence) {
                        (Some(a), Some(b)) => quotes_agree(a, b),
                        _ => false,
                    };
                    if agree {
                        quote_hits += 1;
                    } else {
                        errors.push(format!(
                            "plan {:?} ({q}): carried out, but by another achievement: {:?}",
                            g.plan, k.achievement_quote
                        ));
                    }
                }
            }
            Some(k) => errors.push(format!(
                "plan {:?} ({q}): gold carried_out {}, run {} (similarity {:?}, achievement {:?})",
                g.plan, g.carried_out, k.carried_out, k.similarity, k.achievement_quote
            )),
            None => errors.push(format!(
                "plan {:?} ({p} → {q}): not among the run's plans",
                g.plan
            )),
        }
    }
    let follow_through = Ratio::new(right, gold.plans.len());
    let mut in_gold = 0usize;
    for k in &c.plans {
        let quote = k.plan_quote.as_deref().unwrap_or(&k.plan);
        let found = gold.plans.iter().any(|g| {
            prev_id(&g.previous) == k.previous
                && cur_id(&g.current) == k.current
                && quotes_agree(quote, &g.plan)
        });
        if found {
            in_gold += 1;
        } else {
            errors.push(format!(
                "plan not in gold ({} → {}): {quote:?}",
                k.previous, k.current
            ));
        }
    }
    let plans_in_gold = Ratio::new(in_gold, c.plans.len());
    let achievement_quotes = Ratio::new(quote_hits, quote_total);
    let exact_quotes = exact_quotes(c, current, previous, &mut errors);
    YearsScore {
        previous_run: c.previous.clone(),
        township_matches,
        persistence,
        follow_through,
        plans_in_gold,
        achievement_quotes,
        exact_quotes,
        errors,
    }
}

/// Every quote of the comparison checked against its own year's source text.
fn exact_quotes(
    c: &YearComparison,
    current: &[Known],
    previous: &[Known],
    errors: &mut Vec<String>,
) -> Ratio {
    let mut texts: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut text_of = |known: &[Known], id: &str, tag: &str| -> Option<String> {
        let key = format!("{tag}/{id}");
        texts
            .entry(key)
            .or_insert_with(|| {
                let k = known.iter().find(|k| k.id == id)?;
                crate::read::read_document(Path::new(&k.source))
                    .ok()
                    .map(|d| d.text)
            })
            .clone()
    };
    let mut checks: Vec<(bool, String, String)> = Vec::new(); // (previous year?, report, quote)
    for ch in &c.changes {
        if let Some(q) = &ch.previous_quote {
            checks.push((true, ch.previous.clone(), q.clone()));
        }
        if let Some(q) = &ch.current_quote {
            checks.push((false, ch.current.clone(), q.clone()));
        }
    }
    for p in &c.plans {
        if let Some(q) = &p.plan_quote {
            checks.push((true, p.previous.clone(), q.clone()));
        }
        if let Some(q) = &p.achievement_quote {
            checks.push((false, p.current.clone(), q.clone()));
        }
    }
    let mut hits = 0;
    for (prev, id, q) in &checks {
        let text = if *prev {
            text_of(previous, id, "p")
        } else {
            text_of(current, id, "c")
        };
        if text.as_deref().is_some_and(|t| t.contains(q.as_str())) {
            hits += 1;
        } else {
            errors.push(format!("quote not exact in {id}'s source: {q:?}"));
        }
    }
    Ratio::new(hits, checks.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_agree_on_containment_or_half_overlap() {
        assert!(quotes_agree(
            "建立履职台账",
            "二是建立履职台账和季度考评制度"
        ));
        assert!(quotes_agree(
            "聘请村法律顾问实现全覆盖",
            "村法律顾问实现全覆盖并开展服务"
        ));
        assert!(!quotes_agree("开展宪法宣传", "建设智慧普法平台"));
    }
}
