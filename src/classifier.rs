//! A softmax (multinomial logistic regression) classifier over sentence features (a dense
//! embedding and sparse character n-gram weights), trained from labelled example sentences,
//! with its regularisation chosen by cross-validation.
//!
//! It knows nothing about themes or roles: callers give feature rows and class indices.
//! Training is deterministic (full-batch L-BFGS from zero weights, folds assigned by position),
//! so the same examples give the same weights on every machine of one kind.

use anyhow::{bail, Context, Result};
use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use serde::{Deserialize, Serialize};

/// Inverse regularisation strengths tried by cross-validation (sklearn's `C`: larger fits the
/// examples more closely). Measured on two independently written banks of problem sentences,
/// accuracy rises from C = 1 to C = 64 and is flat beyond.
pub const C_GRID: &[f64] = &[4.0, 16.0, 64.0, 256.0];
/// Folds of the cross-validation.
pub const FOLDS: usize = 4;
const MAX_ITERS: u64 = 400;

/// One example's features: a dense part (the sentence embedding) and a sparse part
/// (feature index, weight), e.g. character n-grams.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Features {
    pub dense: Vec<f32>,
    pub sparse: Vec<(u32, f32)>,
}

/// Trained weights: `classes` rows of `dim` weights and a bias, `dim` = dense + sparse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoftmaxClassifier {
    pub classes: usize,
    pub dense_dim: usize,
    pub sparse_dim: usize,
    /// Row-major `classes × (dense_dim + sparse_dim + 1)`; the last column is the bias.
    weights: Vec<f32>,
    /// The regularisation it was trained with.
    pub c: f64,
}

impl SoftmaxClassifier {
    fn stride(&self) -> usize {
        self.dense_dim + self.sparse_dim + 1
    }
}

/// w · x for one weight row of `dense + sparse + 1` entries (the bias is not added).
fn dot_row<T: Copy + Into<f64>>(row: &[T], x: &Features) -> f64 {
    let d = x.dense.len();
    let mut acc = 0f64;
    for (w, v) in row[..d].iter().zip(&x.dense) {
        acc += (*w).into() * *v as f64;
    }
    for &(j, v) in &x.sparse {
        if let Some(w) = row.get(d + j as usize) {
            acc += (*w).into() * v as f64;
        }
    }
    acc
}

/// Per class: (examples, correctly predicted when held out).
type PerClass = Vec<(usize, usize)>;

/// What cross-validation measured: accuracy per C of the grid, and per class at the chosen C.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossValidation {
    pub folds: usize,
    /// (C, accuracy over all held-out examples).
    pub accuracy_by_c: Vec<(f64, f64)>,
    pub chosen_c: f64,
    /// Per class at the chosen C: (examples, correctly predicted when held out).
    pub per_class: Vec<(usize, usize)>,
}

/// Cross-entropy with L2 on the weights (not the biases), each example weighted so that every
/// class weighs the same in total: a theme a user adds with few examples is not drowned by the
/// others.
struct Objective<'a> {
    x: &'a [Features],
    y: &'a [usize],
    sample_weight: Vec<f64>,
    classes: usize,
    dense_dim: usize,
    sparse_dim: usize,
    /// 1 / (2 C n) as in sklearn's C·Σloss + ½‖W‖², divided by n.
    l2: f64,
}

impl Objective<'_> {
    fn new<'a>(
        x: &'a [Features],
        y: &'a [usize],
        classes: usize,
        sparse_dim: usize,
        c: f64,
    ) -> Objective<'a> {
        let n = x.len();
        let mut counts = vec![0usize; classes];
        for &k in y {
            counts[k] += 1;
        }
        let sample_weight = y
            .iter()
            .map(|&k| n as f64 / (classes as f64 * counts[k].max(1) as f64))
            .collect();
        Objective {
            x,
            y,
            sample_weight,
            classes,
            dense_dim: x.first().map_or(0, |f| f.dense.len()),
            sparse_dim,
            l2: 1.0 / (2.0 * c * n as f64),
        }
    }

    /// Loss and gradient in one pass.
    fn evaluate(&self, w: &[f64]) -> (f64, Vec<f64>) {
        let k = self.classes;
        let d = self.dense_dim + self.sparse_dim;
        let stride = d + 1;
        let n = self.x.len() as f64;
        let mut grad = vec![0f64; w.len()];
        let mut loss = 0f64;
        let mut logits = vec![0f64; k];
        for ((x, &yi), &sw) in self.x.iter().zip(self.y).zip(&self.sample_weight) {
            for (c, l) in logits.iter_mut().enumerate() {
                let row = &w[c * stride..(c + 1) * stride];
                *l = row[d] + dot_row(row, x);
            }
            let max = logits.iter().cloned().fold(f64::MIN, f64::max);
            let z: f64 = logits.iter().map(|l| (l - max).exp()).sum();
            let log_z = max + z.ln();
            loss += sw * (log_z - logits[yi]) / n;
            for (c, l) in logits.iter().enumerate() {
                let p = (l - log_z).exp();
                let g = sw * (p - if c == yi { 1.0 } else { 0.0 }) / n;
                let row = &mut grad[c * stride..(c + 1) * stride];
                for (gr, xv) in row[..self.dense_dim].iter_mut().zip(&x.dense) {
                    *gr += g * *xv as f64;
                }
                for &(j, v) in &x.sparse {
                    if let Some(gr) = row.get_mut(self.dense_dim + j as usize) {
                        *gr += g * v as f64;
                    }
                }
                row[d] += g;
            }
        }
        for c in 0..k {
            for j in 0..d {
                let i = c * stride + j;
                loss += self.l2 * w[i] * w[i];
                grad[i] += 2.0 * self.l2 * w[i];
            }
        }
        (loss, grad)
    }
}

impl CostFunction for Objective<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, w: &Self::Param) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.evaluate(w).0)
    }
}

impl Gradient for Objective<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, w: &Self::Param) -> std::result::Result<Vec<f64>, argmin::core::Error> {
        Ok(self.evaluate(w).1)
    }
}

impl SoftmaxClassifier {
    /// Fit on `x` (dense parts of equal length, sparse indices below `sparse_dim`) with
    /// labels `y` in `0..classes`.
    pub fn train(
        x: &[Features],
        y: &[usize],
        classes: usize,
        sparse_dim: usize,
        c: f64,
    ) -> Result<SoftmaxClassifier> {
        if x.is_empty() || x.len() != y.len() {
            bail!("no training examples");
        }
        let dense_dim = x[0].dense.len();
        if x.iter().any(|r| r.dense.len() != dense_dim)
            || x.iter()
                .any(|r| r.sparse.iter().any(|&(j, _)| j as usize >= sparse_dim))
            || y.iter().any(|&k| k >= classes)
        {
            bail!("training examples of unequal length or with an unknown class");
        }
        let objective = Objective::new(x, y, classes, sparse_dim, c);
        let init = vec![0f64; classes * (dense_dim + sparse_dim + 1)];
        let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10)
            .with_tolerance_grad(1e-6)
            .context("L-BFGS settings")?
            .with_tolerance_cost(1e-10)
            .context("L-BFGS settings")?;
        let result = Executor::new(objective, solver)
            .configure(|s| s.param(init).max_iters(MAX_ITERS))
            .run()
            .map_err(|e| anyhow::anyhow!("training the classifier failed: {e}"))?;
        let state = result.state();
        let best = state
            .get_best_param()
            .or_else(|| state.get_param())
            .context("training the classifier produced no weights")?;
        Ok(SoftmaxClassifier {
            classes,
            dense_dim,
            sparse_dim,
            weights: best.iter().map(|&v| v as f32).collect(),
            c,
        })
    }

    /// Choose C from [`C_GRID`] by [`FOLDS`]-fold cross-validation (fold = position mod
    /// FOLDS, so callers should not order examples by class), then fit on all examples.
    pub fn train_cross_validated(
        x: &[Features],
        y: &[usize],
        classes: usize,
        sparse_dim: usize,
    ) -> Result<(SoftmaxClassifier, CrossValidation)> {
        let folds = FOLDS.min(x.len()).max(2);
        let runs: Vec<Result<(f64, PerClass)>> = {
            use rayon::prelude::*;
            C_GRID
                .par_iter()
                .map(|&c| {
                    let mut per_class = vec![(0usize, 0usize); classes];
                    for f in 0..folds {
                        let (mut tx, mut ty, mut vx, mut vy) = (vec![], vec![], vec![], vec![]);
                        for (i, (r, &k)) in x.iter().zip(y).enumerate() {
                            if i % folds == f {
                                vx.push(r);
                                vy.push(k);
                            } else {
                                tx.push(r.clone());
                                ty.push(k);
                            }
                        }
                        let m = SoftmaxClassifier::train(&tx, &ty, classes, sparse_dim, c)?;
                        for (r, &k) in vx.iter().zip(&vy) {
                            per_class[k].0 += 1;
                            if m.predict(r) == k {
                                per_class[k].1 += 1;
                            }
                        }
                    }
                    Ok((c, per_class))
                })
                .collect()
        };
        let mut best: Option<(f64, f64, PerClass)> = None;
        let mut accuracy_by_c = Vec::new();
        for r in runs {
            let (c, per_class) = r?;
            let total: usize = per_class.iter().map(|p| p.0).sum();
            let hit: usize = per_class.iter().map(|p| p.1).sum();
            let acc = hit as f64 / total.max(1) as f64;
            accuracy_by_c.push((c, acc));
            // Strictly better only: on a tie the smaller C (stronger regularisation) stays.
            if best.as_ref().is_none_or(|b| acc > b.1) {
                best = Some((c, acc, per_class));
            }
        }
        let (chosen_c, _, per_class) = best.context("empty C grid")?;
        let model = SoftmaxClassifier::train(x, y, classes, sparse_dim, chosen_c)?;
        Ok((
            model,
            CrossValidation {
                folds,
                accuracy_by_c,
                chosen_c,
                per_class,
            },
        ))
    }

    /// Class probabilities of one feature row.
    pub fn probabilities(&self, x: &Features) -> Vec<f32> {
        let stride = self.stride();
        let d = stride - 1;
        let logits: Vec<f32> = (0..self.classes)
            .map(|c| {
                let row = &self.weights[c * stride..(c + 1) * stride];
                row[d] + dot_row(row, x) as f32
            })
            .collect();
        let max = logits.iter().cloned().fold(f32::MIN, f32::max);
        let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
        let z: f32 = exps.iter().sum();
        exps.into_iter().map(|e| e / z).collect()
    }

    /// The most probable class (the lowest index on a tie).
    pub fn predict(&self, x: &Features) -> usize {
        let p = self.probabilities(x);
        let mut best = 0;
        for (i, x) in p.iter().enumerate() {
            if *x > p[best] {
                best = i;
            }
        }
        best
    }
}

/// Character uni- and bigram TF-IDF weights (sublinear tf, smoothed idf, L2-normalised), the
/// sparse features: they catch the words a theme is named by ("经费", "调解") that a small
/// sentence encoder blurs. The vocabulary is the n-grams of at least two training texts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CharNgrams {
    /// n-gram → (feature index, idf), sorted by n-gram for a stable file.
    vocabulary: std::collections::BTreeMap<String, (u32, f32)>,
}

/// An n-gram must occur in this many training texts to be a feature.
const MIN_DOCUMENT_FREQUENCY: usize = 2;

fn ngrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out: Vec<String> = chars.iter().map(|c| c.to_string()).collect();
    out.extend(chars.windows(2).map(|w| w.iter().collect::<String>()));
    out
}

impl CharNgrams {
    pub fn fit(texts: &[&str]) -> CharNgrams {
        let mut df: std::collections::BTreeMap<String, usize> = Default::default();
        for t in texts {
            let mut seen: Vec<String> = ngrams(t);
            seen.sort();
            seen.dedup();
            for g in seen {
                *df.entry(g).or_default() += 1;
            }
        }
        let n = texts.len() as f32;
        let vocabulary = df
            .into_iter()
            .filter(|(_, d)| *d >= MIN_DOCUMENT_FREQUENCY)
            .enumerate()
            .map(|(i, (g, d))| (g, (i as u32, ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0)))
            .collect();
        CharNgrams { vocabulary }
    }

    pub fn len(&self) -> usize {
        self.vocabulary.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vocabulary.is_empty()
    }

    /// The sparse feature row of a text, sorted by index.
    pub fn transform(&self, text: &str) -> Vec<(u32, f32)> {
        let mut counts: std::collections::BTreeMap<u32, (f32, f32)> = Default::default();
        for g in ngrams(text) {
            if let Some(&(i, idf)) = self.vocabulary.get(&g) {
                counts.entry(i).or_insert((0.0, idf)).0 += 1.0;
            }
        }
        let mut row: Vec<(u32, f32)> = counts
            .into_iter()
            .map(|(i, (tf, idf))| (i, (1.0 + tf.ln()) * idf))
            .collect();
        let norm = row.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|(_, v)| *v /= norm);
        }
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense(v: Vec<f32>) -> Features {
        Features {
            dense: v,
            sparse: Vec::new(),
        }
    }

    /// Three well separated clusters in 4 dimensions, interleaved by class.
    fn clusters() -> (Vec<Features>, Vec<usize>) {
        let centres = [
            [1.0, 0.0, 0.0, 0.2],
            [0.0, 1.0, 0.0, 0.2],
            [0.0, 0.0, 1.0, 0.2],
        ];
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..30 {
            let k = i % 3;
            let jitter = (i as f32 * 0.37).sin() * 0.2;
            let mut v = centres[k].to_vec();
            v[(k + 1) % 3] += jitter;
            v[3] -= jitter;
            x.push(dense(v));
            y.push(k);
        }
        (x, y)
    }

    #[test]
    fn separable_classes_are_learned_and_probabilities_sum_to_one() {
        let (x, y) = clusters();
        let m = SoftmaxClassifier::train(&x, &y, 3, 0, 16.0).unwrap();
        for (v, &k) in x.iter().zip(&y) {
            assert_eq!(m.predict(v), k);
            let p = m.probabilities(v);
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
            assert!(p[k] > 0.5, "{p:?}");
        }
    }

    #[test]
    fn cross_validation_reports_every_c_and_is_deterministic() {
        let (x, y) = clusters();
        let (m1, cv1) = SoftmaxClassifier::train_cross_validated(&x, &y, 3, 0).unwrap();
        let (m2, cv2) = SoftmaxClassifier::train_cross_validated(&x, &y, 3, 0).unwrap();
        assert_eq!(m1, m2);
        assert_eq!(cv1, cv2);
        assert_eq!(cv1.accuracy_by_c.len(), C_GRID.len());
        assert_eq!(cv1.per_class.iter().map(|p| p.0).sum::<usize>(), 30);
        assert!(cv1.accuracy_by_c.iter().all(|&(_, a)| a > 0.9));
    }

    #[test]
    fn a_class_with_few_examples_still_wins_its_own_region() {
        let (mut x, mut y) = clusters();
        // Class 3: only two examples, far from the rest.
        x.push(dense(vec![-1.0, -1.0, 0.0, 0.0]));
        y.push(3);
        x.push(dense(vec![-0.9, -1.1, 0.1, 0.0]));
        y.push(3);
        let m = SoftmaxClassifier::train(&x, &y, 4, 0, 16.0).unwrap();
        assert_eq!(m.predict(&dense(vec![-0.95, -1.0, 0.05, 0.0])), 3);
    }

    #[test]
    fn sparse_features_alone_separate_classes() {
        // Class = which of two sparse features is set; the dense part carries nothing.
        let x: Vec<Features> = (0..20)
            .map(|i| Features {
                dense: vec![0.0],
                sparse: vec![((i % 2) as u32, 1.0)],
            })
            .collect();
        let y: Vec<usize> = (0..20).map(|i| i % 2).collect();
        let m = SoftmaxClassifier::train(&x, &y, 2, 2, 16.0).unwrap();
        assert_eq!(m.predict(&x[0]), 0);
        assert_eq!(m.predict(&x[1]), 1);
    }

    #[test]
    fn char_ngrams_keep_shared_grams_and_normalise() {
        let g = CharNgrams::fit(&["经费不足", "经费紧张", "调解不力"]);
        // 经, 费, 经费 and 不 occur in two texts; the rest in one.
        assert_eq!(g.len(), 4);
        let row = g.transform("经费很少");
        assert_eq!(row.len(), 3);
        let norm: f32 = row.iter().map(|(_, v)| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        assert!(g.transform("完全无关").is_empty());
    }

    #[test]
    fn bad_training_sets_are_refused() {
        assert!(SoftmaxClassifier::train(&[], &[], 2, 0, 1.0).is_err());
        assert!(SoftmaxClassifier::train(&[dense(vec![1.0])], &[2], 2, 0, 1.0).is_err());
        let out_of_range = Features {
            dense: vec![1.0],
            sparse: vec![(5, 1.0)],
        };
        assert!(SoftmaxClassifier::train(&[out_of_range], &[0], 2, 2, 1.0).is_err());
    }
}
