//! Year over year (`run --previous DIR`): this year's reports against an earlier output.
//!
//! - Townships are matched by (county, township) in simplified script; what is left is matched
//!   by the name core (without the 乡/镇/街道/苏木 suffix, county without 县/区/市/旗), which
//!   folds the usual renamings (乡 upgraded to 镇, 撤乡设镇, a 街道 formed from a 镇, a 县
//!   become a 区). A core shared by two townships on either side is ambiguous: those are listed
//!   as appeared/disappeared, never guessed.
//! - Per matched township and theme id shared by both years' themes files: persisting (stated
//!   both years), resolved (last year only), new (this year only), each with its quote.
//! - Plan follow-through: each of last year's plans (those that state an intended action: a
//!   lead-in, a pledge about the listed plans or a closing formula is not one, `plans_of`)
//!   against this year's achievement quotes of the same township, sentence by sentence: by
//!   meaning (encoder cosine) and by content (the IDF-weighted share of the plan's bigrams the
//!   sentence states too), so a plan is only "carried out" with an achievement quote that shows
//!   it. Thresholds tuned on fixtures/years/a only (b is held out).
//!
//! Works from the summaries only (this year's `ReportSummary`s, last year's reports as read by
//! `previous`); nothing is re-parsed. Deterministic: input order, stable tie-breaks.

use super::simplified;
use crate::models::encoder::{cosine, EmbedKind, Encoder};
use crate::previous::{PreviousItem, PreviousReport, PreviousRun};
use crate::report::{ReportSummary, OTHER_THEME};
use crate::text::is_han;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Cosine (e5 query embeddings) at or above which an achievement sentence may carry out a plan
/// (on fixtures/years/a every carried-out plan scored ≥ 0.896; meaning alone does not separate:
/// unrelated work points of one report score up to 0.91, hence the coverage test).
pub const PLAN_MATCH_THRESHOLD: f32 = 0.88;
/// Share of a plan's content bigrams (IDF-weighted) its achievement sentence must state too
/// (on fixtures/years/a: plans not carried out ≤ 0.103, carried out ≥ 0.115 but one at 0.096).
pub const MIN_CONTENT_COVERAGE: f64 = 0.11;

/// Name suffixes of a township-level unit, longest first (a renaming changes these only).
const TOWNSHIP_SUFFIXES: &[&str] = &["街道办事处", "街道", "苏木", "乡", "镇"];
/// Name suffixes of a county-level unit, longest first (县 → 区 and the like).
const COUNTY_SUFFIXES: &[&str] = &["自治县", "自治旗", "县", "区", "市", "旗"];

/// `digest.json` `years`: one comparison per `--previous` folder, in the order given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YearsPart {
    pub comparisons: Vec<YearComparison>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YearComparison {
    /// The earlier output folder as given.
    pub previous: String,
    pub previous_years: Vec<i32>,
    pub current_years: Vec<i32>,
    /// Theme ids in both years' themes files (this year's file order): the only ones compared.
    pub themes_compared: Vec<String>,
    pub themes_only_previous: Vec<String>,
    pub themes_only_current: Vec<String>,
    pub matches: Vec<TownshipMatch>,
    /// This year's reports with no township of last year.
    pub appeared: Vec<Unmatched>,
    /// Last year's reports with no township this year.
    pub disappeared: Vec<Unmatched>,
    pub counts: StatusCounts,
    /// Per matched township and compared theme stated in either year.
    pub changes: Vec<ThemeChange>,
    pub plans: Vec<PlanCheck>,
    /// Per matched township with at least one plan last year.
    pub follow_through: Vec<TownshipFollowThrough>,
    /// All of last year's plans of matched townships.
    pub city_follow_through: Rate,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TownshipMatch {
    /// Last year's report id.
    pub previous: String,
    /// This year's report id.
    pub current: String,
    pub previous_township: Option<String>,
    pub township: Option<String>,
    pub county: Option<String>,
    /// Matched by the name core (a renaming), not the full names.
    pub renamed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unmatched {
    pub report: String,
    pub township: Option<String>,
    pub county: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Persisting,
    Resolved,
    New,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Persisting => "persisting",
            Status::Resolved => "resolved",
            Status::New => "new",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    pub persisting: usize,
    pub resolved: usize,
    pub new: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThemeChange {
    pub previous: String,
    pub current: String,
    pub township: Option<String>,
    pub county: Option<String>,
    pub theme: String,
    pub status: Status,
    /// Last year's quote (exact in last year's source); `None` when the theme is new.
    pub previous_quote: Option<String>,
    /// This year's quote (exact in this year's source); `None` when resolved.
    pub current_quote: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanCheck {
    pub previous: String,
    pub current: String,
    pub township: Option<String>,
    pub plan: String,
    /// The plan's quote in last year's source.
    pub plan_quote: Option<String>,
    pub carried_out: bool,
    /// The achievement quote (this year's source) that carries it out.
    pub achievement_quote: Option<String>,
    /// Cosine (3 decimals) of the closest achievement sentence, `None` without any.
    pub similarity: Option<f64>,
    /// Share of the plan's content bigrams (IDF-weighted) that sentence states too.
    pub content_overlap: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TownshipFollowThrough {
    pub previous: String,
    pub current: String,
    pub township: Option<String>,
    #[serde(flatten)]
    pub rate: Rate,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    pub carried_out: usize,
    pub plans: usize,
    /// `carried_out / plans` (3 decimals), `None` without plans.
    pub rate: Option<f64>,
}

impl Rate {
    fn new(carried_out: usize, plans: usize) -> Rate {
        Rate {
            carried_out,
            plans,
            rate: (plans > 0).then(|| round3(carried_out as f64 / plans as f64)),
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Compare this year's reports with each earlier output.
pub fn compare_years(
    current: &[&ReportSummary],
    theme_ids: &[&str],
    previous: &[PreviousRun],
    encoder: &Encoder,
) -> Result<YearsPart> {
    let comparisons = previous
        .iter()
        .map(|p| compare_one(current, theme_ids, p, encoder))
        .collect::<Result<Vec<_>>>()?;
    Ok(YearsPart { comparisons })
}

fn compare_one(
    current: &[&ReportSummary],
    theme_ids: &[&str],
    previous: &PreviousRun,
    encoder: &Encoder,
) -> Result<YearComparison> {
    let mut warnings = previous.warnings.clone();
    let prev_ids: BTreeSet<&str> = previous.theme_ids.iter().map(String::as_str).collect();
    let cur_ids: BTreeSet<&str> = theme_ids.iter().copied().collect();
    let themes_compared: Vec<String> = theme_ids
        .iter()
        .filter(|t| prev_ids.contains(*t))
        .map(|t| t.to_string())
        .collect();
    let themes_only_previous: Vec<String> = previous
        .theme_ids
        .iter()
        .filter(|t| !cur_ids.contains(t.as_str()))
        .cloned()
        .collect();
    let themes_only_current: Vec<String> = theme_ids
        .iter()
        .filter(|t| !prev_ids.contains(*t))
        .map(|t| t.to_string())
        .collect();
    if !themes_only_previous.is_empty() || !themes_only_current.is_empty() {
        warnings.push(format!(
            "the themes files differ from {}: only the {} shared theme id(s) are compared \
             (only last year: {}; only this year: {})",
            previous.dir.display(),
            themes_compared.len(),
            list_or_none(&themes_only_previous),
            list_or_none(&themes_only_current)
        ));
    }

    let (pairs, appeared, disappeared) = match_townships(current, &previous.reports);
    let matches: Vec<TownshipMatch> = pairs
        .iter()
        .map(|&(c, p, renamed)| TownshipMatch {
            previous: previous.reports[p].id.clone(),
            current: current[c].id.clone(),
            previous_township: previous.reports[p].township.clone(),
            township: current[c].township.clone(),
            county: current[c].county.clone(),
            renamed,
        })
        .collect();

    let mut changes = Vec::new();
    for &(c, p, _) in &pairs {
        changes.extend(theme_changes(
            current[c],
            &previous.reports[p],
            &themes_compared,
        ));
    }
    let mut counts = StatusCounts::default();
    for ch in &changes {
        match ch.status {
            Status::Persisting => counts.persisting += 1,
            Status::Resolved => counts.resolved += 1,
            Status::New => counts.new += 1,
        }
    }

    let plans = plan_checks(current, &previous.reports, &pairs, encoder)
        .context("matching last year's plans to this year's achievements")?;
    let mut follow_through = Vec::new();
    for &(c, p, _) in &pairs {
        let own: Vec<&PlanCheck> = plans
            .iter()
            .filter(|k| k.current == current[c].id && k.previous == previous.reports[p].id)
            .collect();
        if own.is_empty() {
            continue;
        }
        follow_through.push(TownshipFollowThrough {
            previous: previous.reports[p].id.clone(),
            current: current[c].id.clone(),
            township: current[c].township.clone(),
            rate: Rate::new(own.iter().filter(|k| k.carried_out).count(), own.len()),
        });
    }
    let city_follow_through =
        Rate::new(plans.iter().filter(|k| k.carried_out).count(), plans.len());

    let mut current_years: Vec<i32> = current.iter().filter_map(|r| r.year).collect();
    current_years.sort_unstable();
    current_years.dedup();
    Ok(YearComparison {
        previous: previous.dir.display().to_string(),
        previous_years: previous.years.clone(),
        current_years,
        themes_compared,
        themes_only_previous,
        themes_only_current,
        matches,
        appeared,
        disappeared,
        counts,
        changes,
        plans,
        follow_through,
        city_follow_through,
        warnings,
    })
}

fn list_or_none(ids: &[String]) -> String {
    if ids.is_empty() {
        "none".to_string()
    } else {
        ids.join(", ")
    }
}

/// `name` in simplified script without the first matching suffix of `suffixes`.
fn name_core(name: &str, suffixes: &[&str]) -> String {
    let s = simplified(name);
    for suf in suffixes {
        if let Some(core) = s.strip_suffix(suf) {
            if !core.is_empty() {
                return core.to_string();
            }
        }
    }
    s
}

/// (county, township) as compared.
type NameKey = (String, String);

/// Full and core keys of a report's (county, township); `None` without a township name.
fn keys(township: Option<&str>, county: Option<&str>) -> Option<(NameKey, NameKey)> {
    let t = township.map(str::trim).filter(|t| !t.is_empty())?;
    let c = county.map(str::trim).unwrap_or("");
    let full = (simplified(c), simplified(t));
    let core = (
        if c.is_empty() {
            String::new()
        } else {
            name_core(c, COUNTY_SUFFIXES)
        },
        name_core(t, TOWNSHIP_SUFFIXES),
    );
    Some((full, core))
}

type Pairs = Vec<(usize, usize, bool)>;

/// (current index, previous index, renamed) pairs in this year's report order, and the
/// reports of each side left unmatched with the reason.
fn match_townships(
    current: &[&ReportSummary],
    previous: &[PreviousReport],
) -> (Pairs, Vec<Unmatched>, Vec<Unmatched>) {
    let cur_keys: Vec<_> = current
        .iter()
        .map(|r| keys(r.township.as_deref(), r.county.as_deref()))
        .collect();
    let prev_keys: Vec<_> = previous
        .iter()
        .map(|r| keys(r.township.as_deref(), r.county.as_deref()))
        .collect();
    let mut cur_match: Vec<Option<(usize, bool)>> = vec![None; current.len()];
    let mut prev_taken = vec![false; previous.len()];
    let mut reason_cur: BTreeMap<usize, String> = BTreeMap::new();
    let mut reason_prev: BTreeMap<usize, String> = BTreeMap::new();

    // Pass 1: the same full names; pass 2: the same cores among what is left.
    for pass in 0..2 {
        let key_of = |k: &Option<(NameKey, NameKey)>| {
            k.as_ref().map(|(full, core)| {
                if pass == 0 {
                    full.clone()
                } else {
                    core.clone()
                }
            })
        };
        let mut cur_by: BTreeMap<NameKey, Vec<usize>> = BTreeMap::new();
        for (i, k) in cur_keys.iter().enumerate() {
            if cur_match[i].is_none() {
                if let Some(k) = key_of(k) {
                    cur_by.entry(k).or_default().push(i);
                }
            }
        }
        let mut prev_by: BTreeMap<NameKey, Vec<usize>> = BTreeMap::new();
        for (j, k) in prev_keys.iter().enumerate() {
            if !prev_taken[j] {
                if let Some(k) = key_of(k) {
                    prev_by.entry(k).or_default().push(j);
                }
            }
        }
        for (k, cs) in &cur_by {
            let Some(ps) = prev_by.get(k) else { continue };
            if cs.len() == 1 && ps.len() == 1 {
                cur_match[cs[0]] = Some((ps[0], pass == 1));
                prev_taken[ps[0]] = true;
            } else {
                let why = format!(
                    "ambiguous: {} report(s) this year and {} last year share the name {}{}",
                    cs.len(),
                    ps.len(),
                    k.0,
                    k.1
                );
                for &c in cs {
                    reason_cur.insert(c, why.clone());
                }
                for &p in ps {
                    reason_prev.insert(p, why.clone());
                }
            }
        }
    }

    let pairs: Pairs = cur_match
        .iter()
        .enumerate()
        .filter_map(|(c, m)| m.map(|(p, renamed)| (c, p, renamed)))
        .collect();
    let appeared = current
        .iter()
        .enumerate()
        .filter(|(i, _)| cur_match[*i].is_none())
        .map(|(i, r)| Unmatched {
            report: r.id.clone(),
            township: r.township.clone(),
            county: r.county.clone(),
            reason: reason_cur
                .remove(&i)
                .unwrap_or_else(|| unmatched_reason(cur_keys[i].is_some(), "last year's")),
        })
        .collect();
    let disappeared = previous
        .iter()
        .enumerate()
        .filter(|(j, _)| !prev_taken[*j])
        .map(|(j, r)| Unmatched {
            report: r.id.clone(),
            township: r.township.clone(),
            county: r.county.clone(),
            reason: reason_prev
                .remove(&j)
                .unwrap_or_else(|| unmatched_reason(prev_keys[j].is_some(), "this year's")),
        })
        .collect();
    (pairs, appeared, disappeared)
}

fn unmatched_reason(named: bool, other: &str) -> String {
    if named {
        format!("no township of the same name and county among {other} reports")
    } else {
        "the report names no township".to_string()
    }
}

/// First quote of the report's first shortcoming of each theme.
fn theme_quotes<'a>(items: impl Iterator<Item = (&'a str, &'a str)>) -> BTreeMap<&'a str, &'a str> {
    let mut m = BTreeMap::new();
    for (theme, quote) in items {
        if theme != OTHER_THEME {
            m.entry(theme).or_insert(quote);
        }
    }
    m
}

fn theme_changes(
    cur: &ReportSummary,
    prev: &PreviousReport,
    themes: &[String],
) -> Vec<ThemeChange> {
    let now = theme_quotes(cur.shortcomings.iter().map(|s| {
        let q = s
            .evidence
            .first()
            .map_or(s.text.as_str(), |e| e.quote.as_str());
        (s.theme.as_str(), q)
    }));
    let before = theme_quotes(
        prev.shortcomings
            .iter()
            .map(|s| (s.theme.as_str(), s.quote())),
    );
    themes
        .iter()
        .filter_map(|t| {
            let (b, n) = (before.get(t.as_str()), now.get(t.as_str()));
            let status = match (b, n) {
                (Some(_), Some(_)) => Status::Persisting,
                (Some(_), None) => Status::Resolved,
                (None, Some(_)) => Status::New,
                (None, None) => return None,
            };
            Some(ThemeChange {
                previous: prev.id.clone(),
                current: cur.id.clone(),
                township: cur.township.clone(),
                county: cur.county.clone(),
                theme: t.clone(),
                status,
                previous_quote: b.map(|q| q.to_string()),
                current_quote: n.map(|q| q.to_string()),
            })
        })
        .collect()
}

/// Content bigrams: pairs of adjacent CJK characters, in simplified script.
fn bigrams(s: &str) -> BTreeSet<(char, char)> {
    let chars: Vec<char> = simplified(s).chars().collect();
    chars
        .windows(2)
        .filter(|w| is_han(w[0]) && is_han(w[1]))
        .map(|w| (w[0], w[1]))
        .collect()
}

/// The sentences of an achievement quote (cut after 。；！？), each an exact substring of it:
/// a plan is carried out by one work point, and a long quote's embedding drowns it.
fn sentences(quote: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in quote.char_indices() {
        if matches!(c, '。' | '；' | ';' | '！' | '？') {
            let end = i + c.len_utf8();
            if !quote[start..end].trim().is_empty() {
                out.push(&quote[start..end]);
            }
            start = end;
        }
    }
    if !quote[start..].trim().is_empty() {
        out.push(&quote[start..]);
    }
    out
}

/// Inverse document frequency of content bigrams over this year's achievement sentences: the
/// words every report uses (法治, 宣传, 全乡) weigh little, the specific ones (法律顾问, 述法) much.
struct BigramWeights {
    df: BTreeMap<(char, char), usize>,
    n: usize,
}

impl BigramWeights {
    fn new<'a>(sentences: impl Iterator<Item = &'a str>) -> BigramWeights {
        let mut df = BTreeMap::new();
        let mut n = 0;
        for s in sentences {
            n += 1;
            for b in bigrams(s) {
                *df.entry(b).or_default() += 1;
            }
        }
        BigramWeights { df, n }
    }

    fn idf(&self, b: &(char, char)) -> f64 {
        let df = self.df.get(b).copied().unwrap_or(0);
        ((self.n + 1) as f64 / (df + 1) as f64).ln()
    }

    /// Share of the plan's content (IDF-weighted bigrams) the achievement sentence states too.
    fn coverage(&self, plan: &BTreeSet<(char, char)>, achievement: &str) -> f64 {
        let total: f64 = plan.iter().map(|b| self.idf(b)).sum();
        if total <= 0.0 {
            return 0.0;
        }
        let a = bigrams(achievement);
        plan.intersection(&a).map(|b| self.idf(b)).sum::<f64>() / total
    }
}

/// Last year's plans that state an intended action: the summariser takes every sentence of a
/// plans section, so a lead-in ("重点抓好以下工作："), a pledge to carry out the list
/// ("逐项抓好上述工作的落实……") or the closing formula ("特此报告") can be among them; none of
/// them is a plan that this year's achievements could carry out, and counting them would lower
/// the follow-through rate. A plan is kept when one sentence (or part after a colon) of its quotes
/// states an action.
fn plans_of(report: &PreviousReport) -> impl Iterator<Item = &PreviousItem> {
    report.plans.iter().filter(|pl| {
        let texts: Vec<&str> = if pl.evidence.is_empty() {
            vec![pl.text.as_str()]
        } else {
            pl.evidence.iter().map(|e| e.quote.as_str()).collect()
        };
        texts
            .iter()
            .flat_map(|t| sentences(t))
            // "抓好以下工作：一是……" leads in and states the first plan in one sentence.
            .flat_map(|s| s.split(['：', ':']))
            .any(|s| crate::text::states_intended_action(&simplified(s)))
    })
}

fn plan_checks(
    current: &[&ReportSummary],
    previous: &[PreviousReport],
    pairs: &Pairs,
    encoder: &Encoder,
) -> Result<Vec<PlanCheck>> {
    let achievement_sentences = |r: &ReportSummary| -> Vec<String> {
        r.achievements
            .iter()
            .flat_map(|a| a.evidence.iter().flat_map(|e| sentences(&e.quote)))
            .map(str::to_string)
            .collect()
    };
    let all: Vec<String> = current
        .iter()
        .flat_map(|r| achievement_sentences(r))
        .collect();
    let weights = BigramWeights::new(all.iter().map(String::as_str));
    // Embed every plan and every achievement sentence of the matched townships in two batches.
    let mut plan_texts: Vec<&str> = Vec::new();
    let mut ach: Vec<Vec<String>> = Vec::new();
    for &(c, p, _) in pairs {
        for pl in plans_of(&previous[p]) {
            plan_texts.push(pl.quote());
        }
        ach.push(achievement_sentences(current[c]));
    }
    let ach_texts: Vec<&str> = ach.iter().flatten().map(String::as_str).collect();
    let plan_vecs = embed(encoder, &plan_texts)?;
    let ach_vecs = embed(encoder, &ach_texts)?;
    let (mut pi, mut ai) = (0usize, 0usize);
    let mut out = Vec::new();
    for (&(c, p, _), quotes) in pairs.iter().zip(&ach) {
        let vecs = &ach_vecs[ai..ai + quotes.len()];
        ai += quotes.len();
        for pl in plans_of(&previous[p]) {
            let pv = &plan_vecs[pi];
            pi += 1;
            let plan_bigrams = bigrams(pl.quote());
            // The achievement sentence closest in meaning and words; ties to the earlier one.
            let mut best: Option<(usize, f32, f64)> = None;
            for (k, (q, v)) in quotes.iter().zip(vecs).enumerate() {
                let (s, cov) = (cosine(pv, v), weights.coverage(&plan_bigrams, q));
                let score = f64::from(s) + cov;
                if best.is_none_or(|(_, bs, bc)| score > f64::from(bs) + bc) {
                    best = Some((k, s, cov));
                }
            }
            let hit = best
                .filter(|&(_, s, cov)| s >= PLAN_MATCH_THRESHOLD && cov >= MIN_CONTENT_COVERAGE);
            out.push(PlanCheck {
                previous: previous[p].id.clone(),
                current: current[c].id.clone(),
                township: current[c].township.clone(),
                plan: pl.text.clone(),
                plan_quote: pl.evidence.first().map(|e| e.quote.clone()),
                carried_out: hit.is_some(),
                achievement_quote: hit.map(|(k, _, _)| quotes[k].clone()),
                similarity: best.map(|(_, s, _)| round3(f64::from(s))),
                content_overlap: best.map(|(_, _, cov)| round3(cov)),
            });
        }
    }
    Ok(out)
}

fn embed(encoder: &Encoder, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    encoder.embed(texts, EmbedKind::Query)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::previous::PreviousItem;

    fn cur(id: &str, township: &str, county: &str) -> ReportSummary {
        ReportSummary {
            id: id.into(),
            source: String::new(),
            sha256: String::new(),
            township: Some(township.into()),
            county: Some(county.into()),
            city: None,
            year: Some(2024),
            achievements: vec![],
            shortcomings: vec![],
            plans: vec![],
            summary: String::new(),
            summary_origin: Default::default(),
            warnings: vec![],
        }
    }

    fn prev(id: &str, township: &str, county: &str) -> PreviousReport {
        PreviousReport {
            id: id.into(),
            source: String::new(),
            township: Some(township.into()),
            county: Some(county.into()),
            year: Some(2023),
            shortcomings: Vec::<PreviousItem>::new(),
            plans: vec![],
        }
    }

    #[test]
    fn renamed_and_traditional_townships_are_matched_ambiguous_ones_listed() {
        let c = [
            cur("c1", "高岭镇", "松河区"),
            cur("c2", "黄渠乡", "白泉县"),
            cur("c3", "新城街道", "石峪区"),
            cur("c4", "东岔镇", "石峪区"),
            cur("c5", "东岔街道", "石峪区"),
        ];
        let refs: Vec<&ReportSummary> = c.iter().collect();
        let p = [
            prev("p1", "高岭乡", "松河县"),
            prev("p2", "黃渠鄉", "白泉縣"),
            prev("p3", "东岔乡", "石峪区"),
            prev("p4", "沙沟镇", "柳坪县"),
        ];
        let (pairs, appeared, disappeared) = match_townships(&refs, &p);
        assert_eq!(pairs, vec![(0, 0, true), (1, 1, false)]);
        let a: Vec<&str> = appeared.iter().map(|u| u.report.as_str()).collect();
        assert_eq!(a, ["c3", "c4", "c5"]);
        assert!(appeared[1].reason.starts_with("ambiguous"));
        let d: Vec<&str> = disappeared.iter().map(|u| u.report.as_str()).collect();
        assert_eq!(d, ["p3", "p4"]);
    }

    #[test]
    fn coverage_weighs_specific_words_over_common_ones() {
        let corpus = [
            "全乡开展法治宣传活动12场次。",
            "全乡法治宣传覆盖各村。",
            "为7个村聘请村法律顾问。",
        ];
        let w = BigramWeights::new(corpus.iter().copied());
        let plan = bigrams("为其余村聘请村法律顾问");
        let specific = w.coverage(&plan, corpus[2]);
        let common = w.coverage(&bigrams("在全乡开展法治宣传"), corpus[0]);
        assert!(specific > 0.5, "{specific}");
        assert!(w.coverage(&plan, corpus[0]) == 0.0);
        assert!(common > 0.0 && common < 1.0);
    }

    #[test]
    fn achievement_quotes_are_cut_into_exact_sentences() {
        let q = "一是建台账。二是定期考评；三是公示";
        assert_eq!(sentences(q), ["一是建台账。", "二是定期考评；", "三是公示"]);
    }
}
