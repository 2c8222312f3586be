//! Near-duplicate reports: a township re-submitting another's text with names and figures
//! changed. Texts are reduced to letters (digits masked, punctuation and spacing dropped,
//! simplified script) and compared as sets of character 4-gram shingles (Jaccard).

use super::{DuplicateCluster, DuplicatePair};
use crate::text::numerals::is_numeral;
use std::collections::{HashMap, HashSet};

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

/// Each window of `SHINGLE` characters as a 64-bit hash: the characters (21 bits each) mixed
/// by two rounds of the SplitMix64 finaliser. Fixed, so deterministic across runs and machines;
/// a large merge hashes ~100 million windows twice, which a general-purpose hasher made a
/// tenth of its time.
fn shingles_iter(chars: &[char]) -> impl Iterator<Item = u64> + '_ {
    chars.windows(SHINGLE).map(|w| {
        let low = u64::from(w[0]) | u64::from(w[1]) << 21 | u64::from(w[2]) << 42;
        mix64(mix64(low) ^ u64::from(w[3]))
    })
}

/// The SplitMix64 finaliser: a bijection of u64 that spreads every input bit over the output.
fn mix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn shingles(chars: &[char]) -> HashSet<u64> {
    shingles_iter(chars).collect()
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
/// `threshold`, in input order, similarity rounded to 2 decimals. The pairs and values are
/// those of comparing every pair (`brute_force` in the tests); the join finds them without
/// doing so.
pub fn near_duplicates(texts: &[(&str, &str)], threshold: f64) -> Vec<DuplicatePair> {
    let only: Vec<&str> = texts.iter().map(|(_, t)| *t).collect();
    join(&only, threshold)
        .into_iter()
        .map(|(i, j, s)| DuplicatePair {
            a: texts[i].0.to_string(),
            b: texts[j].0.to_string(),
            similarity: (s * 100.0).round() / 100.0,
        })
        .collect()
}

/// Groups of near-copies: the connected components of the pair graph (reports linked by a
/// pair), each with its members in report order and the lowest and highest similarity of its
/// pairs; groups in the order of their first member. `order` gives every report id in report
/// order.
pub fn clusters(order: &[&str], pairs: &[DuplicatePair]) -> Vec<DuplicateCluster> {
    let pos: HashMap<&str, usize> = order.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut parent: Vec<usize> = (0..order.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut edges = Vec::with_capacity(pairs.len());
    for p in pairs {
        let (Some(&a), Some(&b)) = (pos.get(p.a.as_str()), pos.get(p.b.as_str())) else {
            continue;
        };
        edges.push((a, b, p.similarity));
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra != rb {
            // The smaller index stays the root: a group is named by its first member.
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let mut by_root: std::collections::BTreeMap<usize, DuplicateCluster> = Default::default();
    for &(a, _, s) in &edges {
        let r = root(&mut parent, a);
        let c = by_root.entry(r).or_insert_with(|| DuplicateCluster {
            reports: Vec::new(),
            pairs: 0,
            min_similarity: s,
            max_similarity: s,
        });
        c.pairs += 1;
        c.min_similarity = c.min_similarity.min(s);
        c.max_similarity = c.max_similarity.max(s);
    }
    for (i, id) in order.iter().enumerate() {
        let r = root(&mut parent, i);
        if let Some(c) = by_root.get_mut(&r) {
            c.reports.push(id.to_string());
        }
    }
    by_root.into_values().collect()
}

/// Shingle hashes of a comparable text, sorted, without repeats (the set `shingles` makes).
fn shingle_list(text: &str) -> Vec<u64> {
    let chars: Vec<char> = text.chars().collect();
    let mut v: Vec<u64> = shingles_iter(&chars).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Hasher for keys that are hashes already: the key turned by half a word. The maps are split
/// by the keys' top bits (`part`), and the map takes its buckets from a hash's low bits and its
/// tags from the top ones, so the turn keeps both varying within a part.
#[derive(Default)]
struct IdentityHasher(u64);

impl std::hash::Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0.rotate_left(32)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type HashKeyed<V> = HashMap<u64, V, std::hash::BuildHasherDefault<IdentityHasher>>;

/// The join's maps of shingles are split in this many parts by a hash's top bits: parts are
/// counted in parallel, and each is small enough to stay mostly in cache.
const PARTS: usize = 64;

fn part(h: u64) -> usize {
    (h >> (64 - PARTS.trailing_zeros())) as usize
}

/// Where each part's run starts in a sorted list of hashes, and where the last one ends.
fn part_bounds(sorted: &[u64]) -> Vec<usize> {
    (0..=PARTS)
        .map(|p| {
            if p == PARTS {
                sorted.len()
            } else {
                sorted.partition_point(|&h| part(h) < p)
            }
        })
        .collect()
}

/// One text's shingle set for the join: the shingles other texts also have, as ranks in the
/// global order (rarest first), sorted; shingles no other text has are only counted.
struct JoinSet {
    shared: Vec<u32>,
    /// Shingles of this text only (they come first in the global order: document frequency 1).
    own: usize,
}

impl JoinSet {
    fn len(&self) -> usize {
        self.shared.len() + self.own
    }
}

/// The smallest overlap a pair with Jaccard >= `t` must have with a set of `n` shingles,
/// rounded down by a margin so float rounding can never make the filter drop a true pair.
fn min_overlap(t: f64, n: usize) -> usize {
    ((t * n as f64) - 1e-6).ceil().max(1.0) as usize
}

/// Indices `(i, j)`, `i < j`, of every pair of shingle sets with Jaccard >= `threshold`, with
/// the Jaccard computed exactly as `jaccard` computes it, sorted. An exact set-similarity join
/// (prefix filtering, "All-Pairs"): shingles are ordered by how many texts have them, rarest
/// first; two sets that reach the threshold share a shingle among the first
/// `|x| - ceil(t·|x|) + 1` of each, so only those are indexed and probed, candidates are kept
/// only if their sizes allow the threshold (`t·|x| <= |y|`), and every candidate is verified by
/// its exact Jaccard. Same pairs and values as comparing all pairs, in near-linear time on
/// texts that are not all alike.
fn join(texts: &[&str], threshold: f64) -> Vec<(usize, usize, f64)> {
    use rayon::prelude::*;
    if threshold.is_nan() || threshold <= 0.0 {
        // No filter applies (at 0 every pair qualifies, empty sets too): compare all pairs.
        let sets: Vec<Vec<u64>> = texts.par_iter().map(|t| shingle_list(t)).collect();
        let mut out = Vec::new();
        for i in 0..sets.len() {
            for j in i + 1..sets.len() {
                let s = sorted_jaccard(&sets[i], &sets[j]);
                if s >= threshold {
                    out.push((i, j, s));
                }
            }
        }
        return out;
    }
    // Document frequency of every shingle (pass 1; the lists are dropped to bound memory),
    // counted in `PARTS` maps by the hash's top bits, in parallel: a list is sorted, so each
    // part's hashes are one run of it.
    let mut df: Vec<HashKeyed<u32>> = (0..PARTS).map(|_| HashKeyed::default()).collect();
    for chunk in texts.chunks(1024) {
        let lists: Vec<Vec<u64>> = chunk.par_iter().map(|t| shingle_list(t)).collect();
        let runs: Vec<Vec<usize>> = lists.iter().map(|l| part_bounds(l)).collect();
        df.par_iter_mut().enumerate().for_each(|(p, counts)| {
            for (l, bounds) in lists.iter().zip(&runs) {
                for &h in &l[bounds[p]..bounds[p + 1]] {
                    *counts.entry(h).or_insert(0) += 1;
                }
            }
        });
    }
    // Global order of the shared shingles: rarest first, ties by hash (deterministic).
    let mut order: Vec<(u32, u64)> = df
        .iter()
        .flat_map(|counts| counts.iter().filter(|(_, &n)| n > 1).map(|(&h, &n)| (n, h)))
        .collect();
    drop(df);
    order.par_sort_unstable();
    let mut rank: Vec<HashKeyed<u32>> = (0..PARTS).map(|_| HashKeyed::default()).collect();
    for (r, &(_, h)) in order.iter().enumerate() {
        rank[part(h)].insert(h, r as u32);
    }
    let n_ranks = order.len();
    drop(order);
    // Pass 2: each text's set as ranks.
    let sets: Vec<JoinSet> = texts
        .par_iter()
        .map(|t| {
            let list = shingle_list(t);
            let mut shared: Vec<u32> = list
                .iter()
                .filter_map(|&h| rank[part(h)].get(&h).copied())
                .collect();
            shared.sort_unstable();
            let own = list.len() - shared.len();
            JoinSet { shared, own }
        })
        .collect();
    drop(rank);

    // Texts by size, smallest first: each probes the index of those before it (all no larger).
    let mut by_size: Vec<usize> = (0..sets.len()).filter(|&i| sets[i].len() > 0).collect();
    by_size.sort_by_key(|&i| (sets[i].len(), i));
    let mut order = vec![u32::MAX; sets.len()];
    for (k, &i) in by_size.iter().enumerate() {
        order[i] = k as u32;
    }
    // The index: each set's first |x| - ceil(2t/(1+t)·|x|) + 1 shingles (a later, no smaller
    // set z reaching t shares at least 2t/(1+t)·|x| shingles with x), posting lists in
    // processing order.
    let index_t = 2.0 * threshold / (1.0 + threshold);
    let mut index: Vec<Vec<u32>> = vec![Vec::new(); n_ranks];
    for &x in &by_size {
        let set = &sets[x];
        let size = set.len();
        let prefix = (size + 1).saturating_sub(min_overlap(index_t, size));
        let shared_prefix = prefix.saturating_sub(set.own).min(set.shared.len());
        for &r in &set.shared[..shared_prefix] {
            index[r as usize].push(order[x]);
        }
    }
    // Probing, in parallel: each set against the indexed sets before it in processing order.
    let found: Vec<Vec<(usize, usize, f64)>> = by_size
        .par_iter()
        .map_init(
            || (vec![0u32; by_size.len()], Vec::<u32>::new()),
            |(seen, touched), &x| {
                let set = &sets[x];
                let size = set.len();
                let me = order[x];
                let prefix = (size + 1).saturating_sub(min_overlap(threshold, size));
                let shared_prefix = prefix.saturating_sub(set.own).min(set.shared.len());
                let min_size = threshold * size as f64 - 1e-6;
                for &r in &set.shared[..shared_prefix] {
                    for &k in &index[r as usize] {
                        if k >= me {
                            break;
                        }
                        if seen[k as usize] == 0 {
                            seen[k as usize] = 1;
                            touched.push(k);
                        }
                    }
                }
                let mut out = Vec::new();
                for &k in touched.iter() {
                    seen[k as usize] = 0;
                    let y = by_size[k as usize];
                    if (sets[y].len() as f64) < min_size {
                        continue;
                    }
                    if let Some(s) = verify(set, &sets[y], threshold) {
                        out.push((x.min(y), x.max(y), s));
                    }
                }
                touched.clear();
                out
            },
        )
        .collect();
    let mut out: Vec<(usize, usize, f64)> = found.into_iter().flatten().collect();
    out.sort_by_key(|&(a, b, _)| (a, b));
    out
}

/// The Jaccard of two join sets when it reaches `t` (as `jaccard` computes it), else None. The
/// merge of the sorted lists stops as soon as the shingles left cannot bring the overlap to
/// `t/(1+t)·(|a|+|b|)`, the least a pair at `t` has.
fn verify(a: &JoinSet, b: &JoinSet, t: f64) -> Option<f64> {
    let need = ((t / (1.0 + t)) * (a.len() + b.len()) as f64 - 1e-6)
        .ceil()
        .max(0.0) as usize;
    let (x, y) = (&a.shared, &b.shared);
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < x.len() && j < y.len() {
        if n + (x.len() - i).min(y.len() - j) < need {
            return None;
        }
        match x[i].cmp(&y[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let s = ratio(a.len(), b.len(), n);
    (s >= t).then_some(s)
}

/// Size of the intersection of two sorted lists.
fn sorted_intersection<T: Ord>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// `jaccard`'s value, from the same counts.
fn ratio(a: usize, b: usize, inter: usize) -> f64 {
    if a == 0 || b == 0 {
        return 0.0;
    }
    let union = a + b - inter;
    inter as f64 / union as f64
}

fn sorted_jaccard(a: &[u64], b: &[u64]) -> f64 {
    ratio(a.len(), b.len(), sorted_intersection(a, b))
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

    /// Every pair compared, as `near_duplicates` did before the join.
    fn brute_force(texts: &[&str], threshold: f64) -> Vec<(usize, usize, f64)> {
        let sets: Vec<HashSet<u64>> = texts
            .iter()
            .map(|t| shingles(&t.chars().collect::<Vec<char>>()))
            .collect();
        let mut out = Vec::new();
        for i in 0..texts.len() {
            for j in i + 1..texts.len() {
                let s = jaccard(&sets[i], &sets[j]);
                if s >= threshold {
                    out.push((i, j, s));
                }
            }
        }
        out
    }

    /// A small deterministic generator (xorshift).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Texts over a small alphabet (many shared shingles), with near-copies of each other made
    /// by changing a few characters, and some short and empty ones.
    fn generated(rng: &mut Rng, n: usize, alphabet: &[char]) -> Vec<String> {
        let mut texts: Vec<String> = Vec::new();
        for _ in 0..n {
            let t: String = if !texts.is_empty() && rng.below(3) == 0 {
                let mut chars: Vec<char> = texts[rng.below(texts.len())].chars().collect();
                let edits = rng.below(chars.len() / 4 + 2);
                for _ in 0..edits {
                    if chars.is_empty() {
                        break;
                    }
                    let at = rng.below(chars.len());
                    match rng.below(3) {
                        0 => chars[at] = alphabet[rng.below(alphabet.len())],
                        1 => {
                            chars.remove(at);
                        }
                        _ => chars.insert(at, alphabet[rng.below(alphabet.len())]),
                    }
                }
                chars.into_iter().collect()
            } else {
                let len = match rng.below(6) {
                    0 => rng.below(6),
                    _ => 5 + rng.below(80),
                };
                (0..len)
                    .map(|_| alphabet[rng.below(alphabet.len())])
                    .collect()
            };
            texts.push(t);
        }
        texts
    }

    #[test]
    fn the_join_finds_exactly_the_pairs_of_comparing_all() {
        let alphabets: [&[char]; 3] = [
            &['法', '治'],
            &['法', '治', '宣', '传', '调'],
            &[
                '法', '治', '宣', '传', '调', '解', '乡', '镇', '村', '民', '普', '服',
            ],
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut near_threshold = 0;
        for round in 0..60 {
            let alphabet = alphabets[round % alphabets.len()];
            let n = 40 + rng.below(60);
            let texts = generated(&mut rng, n, alphabet);
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            for t in [0.0, 0.3, 0.5, 0.5 + 1e-12, 0.6, 2.0 / 3.0, 0.75, 0.9, 1.0] {
                let expected = brute_force(&refs, t);
                near_threshold += expected.iter().filter(|p| p.2 == t).count();
                assert_eq!(join(&refs, t), expected, "round {round}, threshold {t}");
            }
        }
        // The generated sets do land exactly on thresholds (e.g. 1/2, 2/3, 3/4).
        assert!(near_threshold > 0);
    }

    #[test]
    fn near_duplicates_keep_input_order_and_round() {
        let texts = [
            ("c", "开展普法宣传活动覆盖群众"),
            ("a", "矛盾纠纷调解成功率较高"),
            ("b", "开展普法宣传活动覆盖群众人次"),
        ];
        let pairs = near_duplicates(&texts, DEFAULT_THRESHOLD);
        assert_eq!(pairs.len(), 1);
        assert_eq!((pairs[0].a.as_str(), pairs[0].b.as_str()), ("c", "b"));
        assert_eq!(pairs[0].similarity, 0.82);
    }

    #[test]
    fn clusters_are_connected_groups_in_report_order() {
        let pair = |a: &str, b: &str, s: f64| DuplicatePair {
            a: a.into(),
            b: b.into(),
            similarity: s,
        };
        let order = ["r1", "r2", "r3", "r4", "r5", "r6"];
        let pairs = [
            pair("r2", "r5", 0.9),
            pair("r1", "r3", 0.6),
            pair("r3", "r6", 0.98),
            pair("r1", "r6", 0.7),
        ];
        let c = clusters(&order, &pairs);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].reports, ["r1", "r3", "r6"]);
        assert_eq!(
            (c[0].pairs, c[0].min_similarity, c[0].max_similarity),
            (3, 0.6, 0.98)
        );
        assert_eq!(c[1].reports, ["r2", "r5"]);
        assert_eq!(
            (c[1].pairs, c[1].min_similarity, c[1].max_similarity),
            (1, 0.9, 0.9)
        );
    }
}
