//! The problem detector: decides whether a clause outside a problems section states a problem
//! the township admits ("全年只收到线上申请14件，居民有事还是直接跑到调解室"). The structure
//! rules find problems by layout and wording; the clauses they flag as candidates but cannot
//! decide (a concession or a shortage word in the middle of praise) go to this classifier,
//! trained from `prompts/problem_sentences.toml` the way the theme classifier is trained from
//! the themes file.

use super::sentence_classifier::{ordered, TrainedClassifier};
use crate::models::encoder::Encoder;
use anyhow::{bail, Result};
use serde::Deserialize;
use std::path::Path;

/// A candidate at least this likely to state a problem is one. Chosen on the tuning reports
/// (cross-validated by report): at 0.8 the detector found 30 of 34 problems stated outside a
/// problems section for 10 false alarms among 1,794 other clauses.
pub const PROBLEM_PROBABILITY: f32 = 0.8;
/// A candidate at least this likely is a problem when its paragraph states two others: problems
/// come in runs, and a detector that sees one sentence at a time cannot know it.
pub const PROBLEM_IN_A_RUN_PROBABILITY: f32 = 0.5;

/// `prompts/problem_sentences.toml`.
#[derive(Debug, Clone, Deserialize)]
pub struct ProblemSentences {
    pub problems: Vec<String>,
    pub not_problems: Vec<String>,
}

impl ProblemSentences {
    pub fn parse(text: &str) -> Result<ProblemSentences> {
        let set: ProblemSentences = toml::from_str(text)?;
        if set.problems.iter().all(|s| s.trim().is_empty())
            || set.not_problems.iter().all(|s| s.trim().is_empty())
        {
            bail!("`problems` and `not_problems` both need examples");
        }
        Ok(set)
    }

    fn training_set(&self) -> Vec<(String, usize)> {
        let set = self
            .not_problems
            .iter()
            .map(|s| (s.clone(), 0))
            .chain(self.problems.iter().map(|s| (s.clone(), 1)))
            .collect();
        ordered(set)
    }
}

/// A trained problem detector.
#[derive(Debug, Clone)]
pub struct ProblemDetector {
    inner: TrainedClassifier,
}

impl ProblemDetector {
    /// From the cache folder when trained on exactly these sentences and this encoder, else
    /// trained now and kept there. Returns whether it was trained.
    pub fn load_or_train(
        sentences: &ProblemSentences,
        encoder: &Encoder,
        encoder_id: &str,
        cache_dir: Option<&Path>,
    ) -> Result<(Self, bool)> {
        let (inner, trained) = TrainedClassifier::load_or_train(
            "problem",
            &sentences.training_set(),
            2,
            encoder,
            encoder_id,
            cache_dir,
        )?;
        Ok((ProblemDetector { inner }, trained))
    }

    pub fn key(&self) -> &str {
        &self.inner.key
    }

    /// Probability that a clause states a problem, given its embedding.
    pub fn probability(&self, v: &[f32], text: &str) -> f32 {
        self.inner
            .probabilities(v, text)
            .get(1)
            .copied()
            .unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_lists_are_required() {
        assert!(ProblemSentences::parse("problems = ['甲']\nnot_problems = ['乙']").is_ok());
        assert!(ProblemSentences::parse("problems = []\nnot_problems = ['乙']").is_err());
        assert!(ProblemSentences::parse("problems = ['甲']").is_err());
    }
}
