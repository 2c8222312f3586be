//! Near-duplicate reports: a township re-submitting another's text with names and figures
//! changed. Texts are reduced to letters (digits masked, punctuation and spacing dropped,
//! simplified script) and compared as sets of character 4-gram shingles (Jaccard).

use super::DuplicatePair;
use crate::text::numerals::is_numeral;
use std::collections::HashSet;

/// Jaccard similarity above which two reports are flagged. Different townships' reports share
/// boilerplate phrases but stay far below this.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

const SHINGLE: usize = 4;

/// The comparable form of a text: simplified script, every digit (ASCII, full-width, Chinese
/// numeral) masked as `#`, whitespace and punctuation dropped.
pub fn mask(text: &str) -> Vec<char> {
    let simp = super::simplified(text);
    let mut out = Vec::with_capacity(simp.len() / 3);
    for c in simp.chars() {
        if c.is_numeric() || is_numeral(c) {
            if out.last() != Some(&'#') {
                out.push('#');
            }
        } else if c.is_alphabetic() {
            out.push(c);
        }
    }
    out
}

/// `mask` as a string: what `near_duplicates` compares. A report's comparable text is all a
/// merge needs of it for this check.
pub fn comparable_text(text: &str) -> String {
    mask(text).into_iter().collect()
}

fn shingles(chars: &[char]) -> HashSet<u64> {
    use std::hash::{Hash, Hasher};
    chars
        .windows(SHINGLE)
        .map(|w| {
            // Fixed hasher: deterministic across runs.
            let mut h = std::collections::hash_map::DefaultHasher::new();
            w.hash(&mut h);
            h.finish()
        })
        .collect()
}

/// Jaccard similarity of two texts' shingle sets, in [0, 1].
pub fn similarity(a: &str, b: &str) -> f64 {
    jaccard(&shingles(&mask(a)), &shingles(&mask(b)))
}

fn jaccard(a: &HashSet<u64>, b: &HashSet<u64>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let inter = a.intersection(b).count();
    let union = a.len() + b.len() - inter;
    inter as f64 / union as f64
}

/// Every pair of reports (id, comparable text as made by `comparable_text`) at or above
/// `threshold`, in input order, similarity rounded to 2 decimals.
pub fn near_duplicates(texts: &[(&str, &str)], threshold: f64) -> Vec<DuplicatePair> {
    let sets: Vec<HashSet<u64>> = texts
        .iter()
        .map(|(_, t)| shingles(&t.chars().collect::<Vec<char>>()))
        .collect();
    let mut out = Vec::new();
    for i in 0..texts.len() {
        for j in i + 1..texts.len() {
            let s = jaccard(&sets[i], &sets[j]);
            if s >= threshold {
                out.push(DuplicatePair {
                    a: texts[i].0.to_string(),
                    b: texts[j].0.to_string(),
                    similarity: (s * 100.0).round() / 100.0,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_ignores_digits_and_punctuation() {
        assert_eq!(
            mask("共开展36场，覆盖1,200人次。"),
            mask("共开展四十场 覆盖980人次")
        );
        assert!(
            similarity(
                "高岭乡开展普法宣传活动三十场次覆盖群众",
                "高岭乡开展普法宣传活动30场次覆盖群众"
            ) > 0.99
        );
        assert!(similarity("高岭乡开展普法宣传活动", "调解矛盾纠纷成功率高") < 0.1);
    }
}
