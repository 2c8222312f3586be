//! Naming a shortcoming's theme: a softmax classifier over encoder embeddings, trained from the
//! themes file (each theme's label, description and examples; the `[other]` examples as one
//! more class), with its regularisation chosen by cross-validation.
//!
//! Why a trained classifier and not nearest examples: on reports written without sight of the
//! examples, nearest-example matching named 59% of real problems right and a classifier trained
//! on two independently written banks of problem sentences 97–99% (BENCHMARKS.md). The themes
//! file stays the only source: a theme a user adds is learned from its examples at the next run.
//!
//! Full mode does not ask the generator to second-guess it. Until this classifier, full mode
//! put matches with a small margin to the generator, asked both ways round; that changed no
//! theme on the dev corpus, and with this classifier no match of the 369 shortcomings of the
//! tuning reports had a margin below 0.15 to put to it (`examples/theme_margins.rs`).

use super::sentence_classifier::{ordered, TrainedClassifier};
use crate::classifier::CrossValidation;
use crate::models::encoder::Encoder;
use crate::themes::ThemeSet;
use anyhow::Result;
use std::path::Path;

/// Below this probability the best theme is not trusted: `other`. Only matters where the
/// `[other]` class cannot speak for itself (a themes file without `[other]` examples), since
/// with it an out-of-taxonomy problem is mostly won by `other` outright.
pub const MIN_THEME_PROBABILITY: f32 = 0.3;

/// How a shortcoming matched the themes: the best theme (None: `other`), the runner-up theme,
/// the best theme's probability and its margin over the runner-up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThemeMatch {
    pub theme: Option<usize>,
    pub runner_up: Option<usize>,
    pub score: f32,
    pub margin: f32,
}

/// A trained theme classifier for one themes file and one encoder.
#[derive(Debug, Clone)]
pub struct ThemeClassifier {
    inner: TrainedClassifier,
    n_themes: usize,
    /// Whether class `n_themes` (`other`) was trained from examples.
    has_other: bool,
}

/// The training texts of a themes file with their classes (`n_themes` = other), in the
/// fixed order cross-validation folds need (classes interleaved).
pub fn training_set(themes: &ThemeSet) -> Vec<(String, usize)> {
    let mut set: Vec<(String, usize)> = Vec::new();
    for (i, t) in themes.themes.iter().enumerate() {
        set.push((t.label.clone(), i));
        if !t.description.trim().is_empty() {
            set.push((t.description.clone(), i));
        }
        set.extend(t.examples.iter().map(|e| (e.clone(), i)));
    }
    let other = themes.themes.len();
    set.extend(themes.other.examples.iter().map(|e| (e.clone(), other)));
    ordered(set)
}

impl ThemeClassifier {
    /// The classifier for these themes and this encoder: from `cache_dir` when it holds one
    /// trained on exactly the same texts, else trained now (embedding the examples, choosing
    /// C by cross-validation) and stored there. Returns whether it was trained.
    pub fn load_or_train(
        themes: &ThemeSet,
        encoder: &Encoder,
        encoder_id: &str,
        cache_dir: Option<&Path>,
    ) -> Result<(Self, bool)> {
        let set = training_set(themes);
        let n_themes = themes.themes.len();
        let has_other = set.iter().any(|(_, k)| *k == n_themes);
        let (inner, trained) = TrainedClassifier::load_or_train(
            "theme",
            &set,
            n_themes + 1,
            encoder,
            encoder_id,
            cache_dir,
        )?;
        Ok((
            ThemeClassifier {
                inner,
                n_themes,
                has_other,
            },
            trained,
        ))
    }

    /// sha256 over the classifier version, the encoder and the training texts.
    pub fn key(&self) -> &str {
        &self.inner.key
    }

    pub fn cross_validation(&self) -> &CrossValidation {
        &self.inner.cross_validation
    }

    /// The match of one shortcoming text given its embedding.
    pub fn classify(&self, v: &[f32], text: &str) -> ThemeMatch {
        let p = self.inner.probabilities(v, text);
        let mut themes: Vec<usize> = (0..self.n_themes).collect();
        themes.sort_by(|a, b| p[*b].total_cmp(&p[*a]).then(a.cmp(b)));
        let best = themes.first().copied();
        let b = best.map_or(0.0, |i| p[i]);
        let second = themes.get(1).map_or(0.0, |&i| p[i]);
        let other_wins = self.has_other && p[self.n_themes] > b;
        ThemeMatch {
            theme: best.filter(|_| !other_wins && b >= MIN_THEME_PROBABILITY),
            runner_up: themes.get(1).copied(),
            score: b,
            margin: b - second,
        }
    }

    /// Per-class probabilities (themes in file order, then `other`).
    pub fn probabilities(&self, v: &[f32], text: &str) -> Vec<f32> {
        self.inner.probabilities(v, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn themes(text: &str) -> ThemeSet {
        ThemeSet::parse(text).unwrap()
    }

    #[test]
    fn training_set_holds_labels_descriptions_examples_and_other() {
        let t = themes(
            "[[theme]]\nid='a'\nlabel='甲'\ndescription='甲的说明'\nexamples=['甲一','甲二']\n\
             [[theme]]\nid='b'\nlabel='乙'\nexamples=['乙一']\n[other]\nexamples=['丙一']\n",
        );
        let mut set = training_set(&t);
        set.sort();
        let want: Vec<(String, usize)> = [
            ("丙一", 2),
            ("乙", 1),
            ("乙一", 1),
            ("甲", 0),
            ("甲一", 0),
            ("甲二", 0),
            ("甲的说明", 0),
        ]
        .iter()
        .map(|(s, k)| (s.to_string(), *k))
        .collect();
        assert_eq!(set, want);
    }
}
