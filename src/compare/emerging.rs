//! Emerging problems: shortcomings with theme `other`, clustered by meaning (encoder
//! embeddings, average-linkage agglomerative clustering with a cosine threshold). Clusters
//! shared by two or more reports become `emerging` entries.

use super::{CompareInput, EmergingEntry, QuoteRef};
use crate::models::encoder::{EmbedKind, Encoder};
use crate::models::generator::{ChatMessage, GenerateOptions, Generator};
use crate::report::{ReportSummary, OTHER_THEME};
use crate::summarise::numbers_absent_from_source;
use anyhow::{bail, Context, Result};
use half::f16;
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

/// Average-linkage agglomerative clustering of vectors by cosine: the two clusters whose mean
/// pairwise cosine is highest join, while that mean is at least `threshold`. Returns clusters as
/// sorted member index lists, ordered by first member.
///
/// Built for a national year's ~20,000 quotes in O(n·d) memory:
/// - with unit vectors, the mean cosine of two clusters is the dot product of their sums over the
///   product of their sizes, so a cluster is its sum vector and size, and no n×n matrix is kept;
/// - the nearest-neighbour chain finds the joins: follow nearest neighbours until two clusters
///   are each other's nearest, then join them. Average linkage is reducible (a join is never
///   closer to a third cluster than both of its parts were), so this makes the same joins as
///   always taking the closest pair overall, and a cluster whose nearest neighbour is below the
///   threshold will never join anything and leaves the search.
///
/// Deterministic: a nearest neighbour is found in parallel but ties go to the chain's previous
/// cluster, then to the lowest index, whatever the split.
pub fn cluster(vectors: &[Vec<f32>], threshold: f32) -> Vec<Vec<usize>> {
    let n = vectors.len();
    let d = vectors.first().map_or(0, Vec::len);
    let mut sums = vec![0f32; n * d];
    for (i, v) in vectors.iter().enumerate() {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (s, x) in sums[i * d..(i + 1) * d].iter_mut().zip(v) {
                *s = x / norm;
            }
        }
    }
    let mut size = vec![1usize; n];
    // Still able to join: not absorbed into another cluster, nearest neighbour not yet below the
    // threshold.
    let mut open = vec![true; n];
    let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    // The open clusters' mean vectors in half precision, packed together in index order
    // (`packed_ids`): a search reads only them, and they are packed again once a 32nd of them
    // has closed. The searches are bound by the memory they read, so half precision and packing
    // are what make them fast; the half-precision scores only pick the candidates, whose exact
    // scores (from `sums`) decide, so the joins are those of an all-f32 search.
    let dot_half = half_dot_kernel();
    let pack = |ids: &[usize], sums: &[f32], size: &[usize]| -> Vec<f16> {
        let mut out = Vec::with_capacity(ids.len() * d);
        for &i in ids {
            let s = size[i] as f32;
            out.extend(
                sums[i * d..(i + 1) * d]
                    .iter()
                    .map(|x| f16::from_f32(x / s)),
            );
        }
        out
    };
    let mut packed_ids: Vec<usize> = (0..n).collect();
    let mut packed = pack(&packed_ids, &sums, &size);
    let mut scores: Vec<f32> = Vec::with_capacity(n);
    let mut closed_since_packing = 0usize;
    let mut chain: Vec<usize> = Vec::new();
    let mut lowest_open = 0;
    loop {
        if closed_since_packing * 32 > packed_ids.len() {
            packed_ids.retain(|&i| open[i]);
            packed = pack(&packed_ids, &sums, &size);
            closed_since_packing = 0;
        }
        if chain.is_empty() {
            while lowest_open < n && !open[lowest_open] {
                lowest_open += 1;
            }
            if lowest_open == n {
                break;
            }
            chain.push(lowest_open);
        }
        let a = chain[chain.len() - 1];
        let prev = (chain.len() >= 2).then(|| chain[chain.len() - 2]);
        let mean = |x: usize, y: usize| {
            dot(&sums[x * d..(x + 1) * d], &sums[y * d..(y + 1) * d]) / (size[x] * size[y]) as f32
        };
        let row_a = &sums[a * d..(a + 1) * d];
        let size_a = size[a] as f32;
        scores.clear();
        scores.resize(packed_ids.len(), f32::NEG_INFINITY);
        packed
            .par_chunks_exact(d.max(1))
            .zip(packed_ids.par_iter())
            .zip(scores.par_iter_mut())
            .for_each(|((row, &j), score)| {
                if j != a && open[j] {
                    *score = dot_half(row_a, row) / size_a;
                }
            });
        let highest = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if highest == f32::NEG_INFINITY {
            // No other open cluster.
            open[a] = false;
            closed_since_packing += 1;
            chain.pop();
            continue;
        }
        let to_prev = prev.map(|p| (mean(a, p), p));
        if highest + HALF_SCORE_ERROR < threshold && to_prev.is_none_or(|(v, _)| v < threshold) {
            // Even exactly scored, nothing reaches the threshold: a never joins.
            open[a] = false;
            closed_since_packing += 1;
            chain.pop();
            continue;
        }
        // The exact nearest neighbour (highest mean, then lowest index) scores at least
        // `highest - HALF_SCORE_ERROR` exactly, so at least `highest - 2 * HALF_SCORE_ERROR` in
        // half precision: it is among these candidates.
        let mut best = f32::NEG_INFINITY;
        let mut b = usize::MAX;
        for (&score, &j) in scores.iter().zip(&packed_ids) {
            if score >= highest - 2.0 * HALF_SCORE_ERROR {
                let exact = mean(a, j);
                if exact > best || (exact == best && j < b) {
                    (best, b) = (exact, j);
                }
            }
        }
        if let Some((v, p)) = to_prev {
            if v >= best {
                (best, b) = (v, p);
            }
        }
        if best < threshold {
            // Its nearest neighbour only gets farther: a never joins.
            open[a] = false;
            closed_since_packing += 1;
            chain.pop();
            continue;
        }
        if Some(b) != prev {
            chain.push(b);
            continue;
        }
        chain.truncate(chain.len() - 2);
        let (keep, gone) = (a.min(b), a.max(b));
        let (head, tail) = sums.split_at_mut(gone * d);
        for (s, x) in head[keep * d..(keep + 1) * d].iter_mut().zip(&tail[..d]) {
            *s += x;
        }
        size[keep] += size[gone];
        open[gone] = false;
        closed_since_packing += 1;
        if let Ok(k) = packed_ids.binary_search(&keep) {
            let s = size[keep] as f32;
            for (p, x) in packed[k * d..(k + 1) * d]
                .iter_mut()
                .zip(&sums[keep * d..(keep + 1) * d])
            {
                *p = f16::from_f32(x / s);
            }
        }
        let moved = std::mem::take(&mut members[gone]);
        members[keep].extend(moved);
    }
    let mut clusters: Vec<Vec<usize>> = members
        .into_iter()
        .filter(|m| !m.is_empty())
        .map(|mut m| {
            m.sort_unstable();
            m
        })
        .collect();
    clusters.sort_by_key(|c| c[0]);
    clusters
}

/// A dot product in 64 lanes: it vectorises (a plain float sum cannot be reordered) into
/// eight independent accumulators of AVX2 width, so the adds do not wait on each other.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 64;
    let mut lanes = [0f32; LANES];
    let whole = a.len() / LANES * LANES;
    for (x, y) in a[..whole]
        .chunks_exact(LANES)
        .zip(b[..whole].chunks_exact(LANES))
    {
        for k in 0..LANES {
            lanes[k] += x[k] * y[k];
        }
    }
    let tail: f32 = a[whole..].iter().zip(&b[whole..]).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f32>() + tail
}

/// How far a half-precision score (`dot_half` of a cluster's sum with another's mean, over the
/// first one's size) can be from the exact one. Rounding a mean vector's components (each at
/// most 1 in size) to f16 errs by at most 2^-11 of each plus 2^-25 (subnormals), so by
/// Cauchy-Schwarz the score errs by at most 2^-11 + 2^-25·√d (mean vectors have norm ≤ 1), about
/// 4.9e-4 at d = 384; f32 rounding of either sum adds under 3e-5. Twice that, for margin.
const HALF_SCORE_ERROR: f32 = 1e-3;

type HalfDot = fn(&[f32], &[f16]) -> f32;

/// The dot product of f32 and f16 vectors, with F16C/FMA where the CPU has them (chosen at run
/// time, as the binary must run on any x86-64).
fn half_dot_kernel() -> HalfDot {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
        && std::arch::is_x86_feature_detected!("f16c")
    {
        return |a, b| {
            // SAFETY: chosen only when avx2, fma and f16c were detected.
            unsafe { dot_half_avx2(a, b) }
        };
    }
    |a, b| a.iter().zip(b).map(|(x, y)| x * y.to_f32()).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_half_avx2(a: &[f32], b: &[f16]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= n {
        for (k, acc) in acc.iter_mut().enumerate() {
            // SAFETY: i + 8k + 8 <= n, within both slices; unaligned loads.
            let (x, h) = unsafe {
                (
                    _mm256_loadu_ps(a.as_ptr().add(i + 8 * k)),
                    _mm_loadu_si128(b.as_ptr().add(i + 8 * k).cast::<__m128i>()),
                )
            };
            *acc = _mm256_fmadd_ps(x, _mm256_cvtph_ps(h), *acc);
        }
        i += 32;
    }
    let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let mut lanes = [0f32; 8];
    // SAFETY: lanes holds 8 f32.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), sum) };
    let tail: f32 = a[i..n]
        .iter()
        .zip(&b[i..n])
        .map(|(x, y)| x * y.to_f32())
        .sum();
    lanes.iter().sum::<f32>() + tail
}

/// Index (into `members`) of the member with the highest mean similarity to the others, the
/// first one on ties. A member's mean cosine to the others is (its unit vector · the sum of the
/// members' unit vectors − 1) / (k − 1), so one sum ranks them in O(k·d), not k² cosines.
fn central(members: &[usize], vectors: &[Vec<f32>]) -> usize {
    let unit = |v: &[f32]| -> Vec<f64> {
        let norm = v
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum::<f64>()
            .sqrt();
        v.iter()
            .map(|&x| if norm > 0.0 { f64::from(x) / norm } else { 0.0 })
            .collect()
    };
    let units: Vec<Vec<f64>> = members.iter().map(|&i| unit(&vectors[i])).collect();
    let d = units.first().map_or(0, Vec::len);
    let mut total = vec![0f64; d];
    for u in &units {
        for (t, x) in total.iter_mut().zip(u) {
            *t += x;
        }
    }
    let mut best = (0usize, f64::MIN);
    for (k, u) in units.iter().enumerate() {
        let s: f64 = u.iter().zip(&total).map(|(x, t)| x * t).sum();
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
    use crate::models::encoder::cosine;

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

    /// Numbers in [-0.5, 0.5) from a linear congruential stream: the same on every machine.
    fn uniform_stream(seed: u64) -> impl FnMut() -> f32 {
        let mut state = seed;
        move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        }
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
    fn clustering_by_the_nearest_neighbour_chain_equals_the_textbook_form() {
        // Points around a few centres, from a fixed stream.
        let mut next = uniform_stream(7);
        for &(n, centres, spread, threshold, dims) in &[
            (40usize, 5usize, 0.3f32, 0.9f32, 8usize),
            (60, 3, 0.6, 0.8, 8),
            (50, 10, 0.2, 0.95, 8),
            (30, 1, 1.0, 0.5, 8),
            // Exact copies: ties everywhere, broken towards the lowest indices.
            (24, 4, 0.0, 0.9, 8),
            (200, 12, 0.35, 0.9, 8),
            // Wide enough for the half-precision kernel's blocks of 32 and a tail.
            (150, 8, 0.12, 0.9, 70),
            (40, 5, 0.0, 0.9, 70),
        ] {
            let centres: Vec<Vec<f32>> = (0..centres)
                .map(|_| (0..dims).map(|_| next()).collect())
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
    fn the_central_member_is_the_one_closest_on_average_to_the_others() {
        let v = vec![
            vec![1.0, 0.0, 0.0],
            vec![0.9, 0.3, 0.0],
            vec![0.8, 0.2, 0.3],
            vec![0.0, 1.0, 0.0],
            vec![0.7, 0.7, 0.1],
        ];
        let members = [0, 1, 2, 4];
        let pairwise = |k: usize| -> f32 {
            members
                .iter()
                .filter(|&&j| j != members[k])
                .map(|&j| cosine(&v[members[k]], &v[j]))
                .sum()
        };
        let expected = (0..members.len())
            .max_by(|&x, &y| pairwise(x).total_cmp(&pairwise(y)))
            .unwrap();
        assert_eq!(central(&members, &v), expected);
        assert_eq!(
            expected, 1,
            "the case should not pick the first member by default"
        );
    }

    #[test]
    fn the_half_precision_dot_product_is_within_its_stated_error() {
        let mut next = uniform_stream(11);
        for d in [5usize, 32, 45, 384] {
            let a: Vec<f32> = (0..d).map(|_| next()).collect();
            let b: Vec<f32> = (0..d).map(|_| next()).collect();
            let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
            let (a, b): (Vec<f32>, Vec<f32>) = (
                a.iter().map(|x| x / norm(&a)).collect(),
                b.iter().map(|x| x / norm(&b)).collect(),
            );
            let b16: Vec<f16> = b.iter().map(|&x| f16::from_f32(x)).collect();
            let exact = dot(&a, &b);
            let approx = half_dot_kernel()(&a, &b16);
            assert!(
                (exact - approx).abs() <= HALF_SCORE_ERROR / 2.0,
                "d={d}: {exact} vs {approx}"
            );
        }
    }

    #[test]
    fn clustering_merges_close_vectors_only() {
        let v = vec![vec![1.0, 0.0], vec![0.99, 0.141], vec![0.0, 1.0]];
        assert_eq!(cluster(&v, 0.9), vec![vec![0, 1], vec![2]]);
    }
}
