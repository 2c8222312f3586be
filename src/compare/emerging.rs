//! Emerging problems: shortcomings with theme `other`, clustered by meaning (encoder
//! embeddings, average-linkage agglomerative clustering with a cosine threshold). Clusters
//! shared by two or more reports become `emerging` entries.

use super::{CompareInput, EmergingEntry, QuoteRef};
use crate::models::encoder::{cosine, EmbedKind, Encoder};
use crate::models::generator::{ChatMessage, GenerateOptions, Generator};
use crate::report::{ReportSummary, OTHER_THEME};
use crate::summarise::numbers_absent_from_source;
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use std::collections::HashMap;

/// Average cosine similarity above which two clusters merge. e5's similarities between problem
/// sentences are compressed: over 89 `other` quotes of the challenge sets the median pair is
/// 0.882 and the 90th percentile 0.91, so at 0.88 unrelated problems (safety checks, archives,
/// notice boards, pending cases) joined one cluster "shared" by 39 of 81 tune reports; at 0.90
/// the clusters are single topics.
pub const MERGE_THRESHOLD: f32 = 0.90;

/// The label template file in the prompts folder; `{quotes}` is replaced by the quotes.
pub const LABEL_TEMPLATE: &str = "emerging_label.txt";

struct Item {
    report: String,
    quote: String,
}

/// Average-linkage agglomerative clustering over unit vectors: the two clusters whose mean
/// pairwise cosine is highest join, while that mean is at least `threshold`. Deterministic: ties
/// go to the lowest first members. Returns clusters as sorted member index lists, ordered by
/// first member.
///
/// Two clusters can only reach the threshold on average if some pair of their members does, so
/// clusters never join across the connected components of the graph of pairs at or above the
/// threshold: each component is clustered alone (`cluster_component`). At province scale the
/// quotes fall into many small components, and the cost is the one pass over all pairs.
pub fn cluster(vectors: &[Vec<f32>], threshold: f32) -> Vec<Vec<usize>> {
    let n = vectors.len();
    // Union-find over the pairs at or above the threshold; rows in parallel, joins in order.
    let close: Vec<Vec<usize>> = (0..n)
        .into_par_iter()
        .map(|i| {
            (i + 1..n)
                .filter(|&j| cosine(&vectors[i], &vectors[j]) >= threshold)
                .collect()
        })
        .collect();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, js) in close.iter().enumerate() {
        for &j in js {
            let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
            if ri != rj {
                parent[ri.max(rj)] = ri.min(rj);
            }
        }
    }
    let mut components: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        components.entry(r).or_default().push(i);
    }
    let mut clusters: Vec<Vec<usize>> = Vec::new();
    for members in components.into_values() {
        if members.len() == 1 {
            clusters.push(members);
            continue;
        }
        let local: Vec<&[f32]> = members.iter().map(|&i| vectors[i].as_slice()).collect();
        for c in cluster_component(&local, threshold) {
            let mut c: Vec<usize> = c.into_iter().map(|k| members[k]).collect();
            c.sort_unstable();
            clusters.push(c);
        }
    }
    clusters.sort_by_key(|c| c[0]);
    clusters
}

/// Average linkage within one component (indices local to it, in the caller's order). The sums
/// of similarities between clusters are kept in a matrix and updated on each join (the sum for
/// a ∪ b is the sum for a plus the sum for b), and each cluster's best partner is cached, so a
/// join costs O(m) instead of a pass over every pair of members. Memory: 8·m² bytes.
fn cluster_component(vectors: &[&[f32]], threshold: f32) -> Vec<Vec<usize>> {
    let m = vectors.len();
    let mut sums = vec![0f64; m * m];
    for i in 0..m {
        for j in i + 1..m {
            let s = f64::from(cosine(vectors[i], vectors[j]));
            sums[i * m + j] = s;
            sums[j * m + i] = s;
        }
    }
    let mut size = vec![1usize; m];
    let mut active = vec![true; m];
    let mut members: Vec<Vec<usize>> = (0..m).map(|i| vec![i]).collect();
    let threshold = f64::from(threshold);
    // A cluster's best partner at or above the threshold: highest mean, ties to the lowest index.
    let best_of = |i: usize, sums: &[f64], size: &[usize], active: &[bool]| {
        let mut best: Option<(usize, f64)> = None;
        for j in 0..m {
            if j == i || !active[j] {
                continue;
            }
            let avg = sums[i * m + j] / (size[i] * size[j]) as f64;
            if avg >= threshold && best.is_none_or(|(_, s)| avg > s) {
                best = Some((j, avg));
            }
        }
        best
    };
    let mut best: Vec<Option<(usize, f64)>> =
        (0..m).map(|i| best_of(i, &sums, &size, &active)).collect();
    loop {
        // The highest mean over all pairs; ties to the lowest cluster, then its lowest partner:
        // the first such pair in (a, b) order.
        let mut pick: Option<(usize, usize, f64)> = None;
        for (i, b) in best.iter().enumerate() {
            if let (true, Some((j, s))) = (active[i], *b) {
                if pick.is_none_or(|(_, _, p)| s > p) {
                    pick = Some((i, j, s));
                }
            }
        }
        let Some((x, y, _)) = pick else { break };
        let (a, b) = (x.min(y), x.max(y));
        for k in 0..m {
            if active[k] && k != a && k != b {
                let s = sums[a * m + k] + sums[b * m + k];
                sums[a * m + k] = s;
                sums[k * m + a] = s;
            }
        }
        size[a] += size[b];
        active[b] = false;
        best[b] = None;
        let moved = std::mem::take(&mut members[b]);
        members[a].extend(moved);
        for k in 0..m {
            if !active[k] {
                continue;
            }
            let stale = k == a || best[k].is_some_and(|(j, _)| j == a || j == b);
            if stale {
                best[k] = best_of(k, &sums, &size, &active);
            } else {
                // A join never raises a mean above both of its parts', but keep the cache exact.
                let avg = sums[k * m + a] / (size[k] * size[a]) as f64;
                if avg >= threshold && best[k].is_none_or(|(j, s)| avg > s || (avg == s && a < j)) {
                    best[k] = Some((a, avg));
                }
            }
        }
    }
    (0..m)
        .filter(|&i| active[i])
        .map(|i| std::mem::take(&mut members[i]))
        .collect()
}

/// Index (into `members`) of the member with the highest mean similarity to the others.
fn central(members: &[usize], vectors: &[Vec<f32>]) -> usize {
    let mut best = (0usize, f32::MIN);
    for (k, &i) in members.iter().enumerate() {
        let s: f32 = members
            .iter()
            .map(|&j| cosine(&vectors[i], &vectors[j]))
            .sum();
        if s > best.1 {
            best = (k, s);
        }
    }
    best.0
}

/// The quotes of a report's shortcomings that fit no theme, in order: each one's first evidence
/// quote, or its text when it has none. These are what emerging problems cluster.
pub fn other_quotes(summary: &ReportSummary) -> Vec<String> {
    summary
        .shortcomings
        .iter()
        .filter(|s| s.theme == OTHER_THEME)
        .map(|sc| {
            sc.evidence
                .first()
                .map(|e| e.quote.clone())
                .unwrap_or_else(|| sc.text.clone())
        })
        .filter(|q| !q.trim().is_empty())
        .collect()
}

/// One vector per `other_quotes(summary)`, embedded with the report's own quotes only, so that
/// a report's vectors do not depend on which other reports share its batch: a shard embeds its
/// reports' quotes and the merge reads them, and the digest is the one a single run writes.
/// Each distinct quote of the report is embedded once (a report may quote a sentence twice).
pub fn embed_other_quotes(encoder: &Encoder, summary: &ReportSummary) -> Result<Vec<Vec<f32>>> {
    let quotes = other_quotes(summary);
    if quotes.is_empty() {
        return Ok(Vec::new());
    }
    let mut distinct: Vec<&str> = Vec::new();
    let mut first: HashMap<&str, usize> = HashMap::new();
    let slots: Vec<usize> = quotes
        .iter()
        .map(|q| {
            *first.entry(q.as_str()).or_insert_with(|| {
                distinct.push(q.as_str());
                distinct.len() - 1
            })
        })
        .collect();
    let vectors = encoder
        .embed(&distinct, EmbedKind::Query)
        .with_context(|| {
            format!(
                "report {}: embedding shortcomings that fit no theme",
                summary.id
            )
        })?;
    Ok(slots.into_iter().map(|k| vectors[k].clone()).collect())
}

pub(super) fn emerging(
    inputs: &[CompareInput],
    mut labeler: Option<&mut Generator>,
    label_template: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<EmergingEntry>> {
    let mut items = Vec::new();
    let mut vectors: Vec<Vec<f32>> = Vec::new();
    for input in inputs {
        let quotes = other_quotes(input.summary);
        if quotes.len() != input.other_vectors.len() {
            bail!(
                "report {}: {} shortcoming(s) fit no theme but {} vector(s) were given for them",
                input.summary.id,
                quotes.len(),
                input.other_vectors.len()
            );
        }
        for (quote, v) in quotes.into_iter().zip(input.other_vectors) {
            items.push(Item {
                report: input.summary.id.clone(),
                quote,
            });
            vectors.push(v.clone());
        }
    }
    if items.len() < 2 {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for members in cluster(&vectors, MERGE_THRESHOLD) {
        let mut reports: Vec<String> = Vec::new();
        let mut evidence = Vec::new();
        for &m in &members {
            if !reports.contains(&items[m].report) {
                reports.push(items[m].report.clone());
                evidence.push(QuoteRef {
                    report: items[m].report.clone(),
                    quote: items[m].quote.clone(),
                });
            }
        }
        if reports.len() < 2 {
            continue;
        }
        let fallback = items[members[central(&members, &vectors)]].quote.clone();
        let label = match labeler.as_deref_mut() {
            Some(g) => match generated_label(g, label_template, &evidence) {
                Ok(Some(l)) => l,
                Ok(None) => fallback,
                Err(e) => {
                    warnings.push(format!("emerging label generation failed: {e:#}"));
                    fallback
                }
            },
            None => fallback,
        };
        out.push(EmergingEntry {
            label,
            reports,
            evidence,
        });
    }
    Ok(out)
}

fn generated_label(
    g: &mut Generator,
    template: &str,
    evidence: &[QuoteRef],
) -> Result<Option<String>> {
    let quotes: String = evidence
        .iter()
        .map(|e| format!("- {}\n", e.quote))
        .collect();
    let prompt = template.replace("{quotes}", &quotes);
    let opts = GenerateOptions {
        max_new_tokens: 40,
        ..GenerateOptions::default()
    };
    let gen = g.chat(&[ChatMessage::user(prompt)], &opts)?;
    // One quote per line: two quotes run together could form a number neither contains.
    let all_quotes: Vec<&str> = evidence.iter().map(|e| e.quote.as_str()).collect();
    Ok(check_label(&gen.text, &all_quotes.join("\n")))
}

/// Clean a generated label and accept it only if short, non-empty and free of numbers that the
/// quotes do not contain (the summaries' rule, `summarise::numbers_absent_from_source`).
pub fn check_label(raw: &str, quotes: &str) -> Option<String> {
    let line = raw.lines().map(str::trim).find(|l| !l.is_empty())?;
    let line = line
        .trim_start_matches(|c: char| c == '-' || c == '*' || c == '#' || c.is_whitespace())
        .trim_start_matches("标签：")
        .trim_start_matches("标签:")
        .trim_matches(|c: char| "\"'“”‘’「」《》。，,.：: ".contains(c))
        .to_string();
    let n = line.chars().count();
    if n == 0 || n > 30 {
        return None;
    }
    numbers_absent_from_source(&line, quotes)
        .is_empty()
        .then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_with_numbers_absent_from_quotes_are_refused() {
        let q = "部分村3名调解员年龄偏大";
        assert_eq!(
            check_label("调解员老龄化\n", q).as_deref(),
            Some("调解员老龄化")
        );
        assert_eq!(
            check_label("“3名调解员年龄偏大”", q).as_deref(),
            Some("3名调解员年龄偏大")
        );
        assert_eq!(check_label("5名调解员年龄偏大", q), None);
        assert_eq!(check_label("三个村调解员老化", q), None);
        // The summaries' rule: a number is a whole number of the quotes, not part of one.
        assert_eq!(check_label("3名调解员", "部分村13名调解员"), None);
        assert_eq!(check_label("三级调解员", q), None);
        assert_eq!(check_label("   ", q), None);
    }

    /// The textbook form: every step recomputes every pair of clusters' mean similarity.
    fn cluster_naive(vectors: &[Vec<f32>], threshold: f32) -> Vec<Vec<usize>> {
        let n = vectors.len();
        let sim = |i: usize, j: usize| f64::from(cosine(&vectors[i], &vectors[j]));
        let mut clusters: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
        loop {
            let mut best: Option<(usize, usize, f64)> = None;
            for a in 0..clusters.len() {
                for b in a + 1..clusters.len() {
                    let total: f64 = clusters[a]
                        .iter()
                        .flat_map(|&i| clusters[b].iter().map(move |&j| (i, j)))
                        .map(|(i, j)| sim(i, j))
                        .sum();
                    let avg = total / (clusters[a].len() * clusters[b].len()) as f64;
                    if avg >= f64::from(threshold) && best.is_none_or(|(_, _, s)| avg > s + 1e-12) {
                        best = Some((a, b, avg));
                    }
                }
            }
            let Some((a, b, _)) = best else { break };
            let moved = clusters.remove(b);
            clusters[a].extend(moved);
            clusters[a].sort_unstable();
        }
        clusters.sort_by_key(|c| c[0]);
        clusters
    }

    #[test]
    fn clustering_by_components_equals_the_textbook_form() {
        // Points around a few centres in 8 dimensions, from a fixed linear congruential stream.
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        for &(n, centres, spread, threshold) in &[
            (40usize, 5usize, 0.3f32, 0.9f32),
            (60, 3, 0.6, 0.8),
            (50, 10, 0.2, 0.95),
            (30, 1, 1.0, 0.5),
            // Exact copies: ties everywhere, broken towards the lowest indices.
            (24, 4, 0.0, 0.9),
        ] {
            let centres: Vec<Vec<f32>> = (0..centres)
                .map(|_| (0..8).map(|_| next()).collect())
                .collect();
            let vectors: Vec<Vec<f32>> = (0..n)
                .map(|i| {
                    centres[i % centres.len()]
                        .iter()
                        .map(|c| c + spread * next())
                        .collect()
                })
                .collect();
            let got = cluster(&vectors, threshold);
            assert_eq!(
                got,
                cluster_naive(&vectors, threshold),
                "n={n} threshold={threshold}"
            );
            assert!(
                got.len() < n && got.len() > 1,
                "the case should join some points, not all"
            );
        }
    }

    #[test]
    fn clustering_merges_close_vectors_only() {
        let v = vec![vec![1.0, 0.0], vec![0.99, 0.141], vec![0.0, 1.0]];
        assert_eq!(cluster(&v, 0.9), vec![vec![0, 1], vec![2]]);
    }
}
