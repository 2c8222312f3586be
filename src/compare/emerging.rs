//! Emerging problems: shortcomings with theme `other`, clustered by meaning (encoder
//! embeddings, average-linkage agglomerative clustering with a cosine threshold). Clusters
//! shared by two or more reports become `emerging` entries.

use super::{CompareInput, EmergingEntry, QuoteRef};
use crate::models::encoder::{cosine, EmbedKind, Encoder};
use crate::models::generator::{ChatMessage, GenerateOptions, Generator};
use crate::report::OTHER_THEME;
use crate::summarise::numbers_absent_from_source;
use anyhow::{Context, Result};
use std::collections::HashMap;

/// Average cosine similarity above which two clusters merge.
pub const MERGE_THRESHOLD: f32 = 0.88;

/// The label template file in the prompts folder; `{quotes}` is replaced by the quotes.
pub const LABEL_TEMPLATE: &str = "emerging_label.txt";

struct Item {
    report: String,
    quote: String,
}

/// Average-linkage agglomerative clustering over unit vectors; deterministic (ties go to the
/// lowest indices). Returns clusters as sorted member index lists, ordered by first member.
pub fn cluster(vectors: &[Vec<f32>], threshold: f32) -> Vec<Vec<usize>> {
    let n = vectors.len();
    let mut sim = vec![vec![0f32; n]; n];
    for i in 0..n {
        for j in 0..n {
            sim[i][j] = cosine(&vectors[i], &vectors[j]);
        }
    }
    let mut clusters: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    loop {
        let mut best: Option<(usize, usize, f32)> = None;
        for a in 0..clusters.len() {
            for b in a + 1..clusters.len() {
                let mut total = 0f32;
                for &i in &clusters[a] {
                    for &j in &clusters[b] {
                        total += sim[i][j];
                    }
                }
                let avg = total / (clusters[a].len() * clusters[b].len()) as f32;
                if avg >= threshold && best.is_none_or(|(_, _, s)| avg > s) {
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

/// One vector per item. Each distinct quote is embedded once, in order of first appearance,
/// and its vector shared by the items that repeat it word for word (copied reports, stock
/// phrases): the same vectors for the same texts, at the cost of one pass over the quotes.
fn embed_distinct(encoder: &Encoder, items: &[Item]) -> Result<Vec<Vec<f32>>> {
    let mut distinct: Vec<&str> = Vec::new();
    let mut first: HashMap<&str, usize> = HashMap::new();
    let slots: Vec<usize> = items
        .iter()
        .map(|it| {
            *first.entry(it.quote.as_str()).or_insert_with(|| {
                distinct.push(it.quote.as_str());
                distinct.len() - 1
            })
        })
        .collect();
    let vectors = encoder
        .embed(&distinct, EmbedKind::Query)
        .context("embedding shortcomings that fit no theme")?;
    Ok(slots.into_iter().map(|k| vectors[k].clone()).collect())
}

pub(super) fn emerging(
    inputs: &[CompareInput],
    encoder: &Encoder,
    mut labeler: Option<&mut Generator>,
    label_template: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<EmergingEntry>> {
    let mut items = Vec::new();
    for input in inputs {
        for sc in input
            .summary
            .shortcomings
            .iter()
            .filter(|s| s.theme == OTHER_THEME)
        {
            let quote = sc
                .evidence
                .first()
                .map(|e| e.quote.clone())
                .unwrap_or_else(|| sc.text.clone());
            if !quote.trim().is_empty() {
                items.push(Item {
                    report: input.summary.id.clone(),
                    quote,
                });
            }
        }
    }
    if items.len() < 2 {
        return Ok(Vec::new());
    }
    let vectors = embed_distinct(encoder, &items)?;
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

    #[test]
    fn clustering_merges_close_vectors_only() {
        let v = vec![vec![1.0, 0.0], vec![0.99, 0.141], vec![0.0, 1.0]];
        assert_eq!(cluster(&v, 0.9), vec![vec![0, 1], vec![2]]);
    }
}
