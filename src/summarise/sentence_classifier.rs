//! A sentence classifier trained from labelled example texts (a themes file, the roles file):
//! the texts are embedded with the encoder, a softmax classifier is fitted with its
//! regularisation chosen by cross-validation, and the result is kept in a cache folder under a
//! key of the texts, their labels, the encoder and this code's version, so a run trains only
//! when the examples or the encoder changed.

use crate::classifier::{CharNgrams, CrossValidation, Features, SoftmaxClassifier};
use crate::models::encoder::{EmbedKind, Encoder};
use crate::output::write_atomic;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Bump when training or the stored format changes, so cached classifiers are retrained.
const CLASSIFIER_VERSION: &str = "sentence-classifier-2";

/// A trained classifier and what it was trained from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainedClassifier {
    version: String,
    /// sha256 over the version, the encoder and the training texts with their classes.
    pub key: String,
    ngrams: CharNgrams,
    model: SoftmaxClassifier,
    pub cross_validation: CrossValidation,
}

/// Training examples in a fixed order that interleaves the classes (cross-validation folds
/// are taken by position), without blanks and duplicates.
pub fn ordered(mut set: Vec<(String, usize)>) -> Vec<(String, usize)> {
    set.retain(|(t, _)| !t.trim().is_empty());
    set.sort_by_cached_key(|(t, k)| {
        let mut h = Sha256::new();
        h.update(t.as_bytes());
        h.update(k.to_le_bytes());
        h.finalize().to_vec()
    });
    set.dedup();
    set
}

fn key_of(name: &str, set: &[(String, usize)], classes: usize, encoder_id: &str) -> String {
    let mut h = Sha256::new();
    for part in [CLASSIFIER_VERSION, name, encoder_id] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(classes.to_le_bytes());
    for (t, k) in set {
        h.update(t.as_bytes());
        h.update([0]);
        h.update(k.to_le_bytes());
    }
    hex::encode(h.finalize())
}

/// Where a classifier is kept under a cache folder.
pub fn cache_path(dir: &Path, name: &str, key: &str) -> PathBuf {
    dir.join(format!("{name}-{}.json", &key[..16.min(key.len())]))
}

impl TrainedClassifier {
    /// Embed `set` (text, class in `0..classes`) and fit, choosing C by cross-validation.
    pub fn train(
        name: &str,
        set: &[(String, usize)],
        classes: usize,
        encoder: &Encoder,
        encoder_id: &str,
    ) -> Result<Self> {
        let texts: Vec<&str> = set.iter().map(|(t, _)| t.as_str()).collect();
        let embeddings = encoder
            .embed(&texts, EmbedKind::Query)
            .with_context(|| format!("embedding the {name} examples"))?;
        let ngrams = CharNgrams::fit(&texts);
        let x: Vec<Features> = embeddings
            .into_iter()
            .zip(&texts)
            .map(|(dense, t)| Features {
                dense,
                sparse: ngrams.transform(t),
            })
            .collect();
        let y: Vec<usize> = set.iter().map(|(_, k)| *k).collect();
        let (model, cross_validation) =
            SoftmaxClassifier::train_cross_validated(&x, &y, classes, ngrams.len())
                .with_context(|| format!("training the {name} classifier"))?;
        Ok(TrainedClassifier {
            version: CLASSIFIER_VERSION.to_string(),
            key: key_of(name, set, classes, encoder_id),
            ngrams,
            model,
            cross_validation,
        })
    }

    /// From `cache_dir` when it holds one trained on exactly these examples, else trained now
    /// and stored there (a cache that cannot be written only costs the training next time).
    /// Returns whether it was trained.
    pub fn load_or_train(
        name: &str,
        set: &[(String, usize)],
        classes: usize,
        encoder: &Encoder,
        encoder_id: &str,
        cache_dir: Option<&Path>,
    ) -> Result<(Self, bool)> {
        let key = key_of(name, set, classes, encoder_id);
        let path = cache_dir.map(|d| cache_path(d, name, &key));
        if let Some(p) = &path {
            if let Some(c) = std::fs::read(p)
                .ok()
                .and_then(|b| serde_json::from_slice::<TrainedClassifier>(&b).ok())
                .filter(|c| c.key == key && c.version == CLASSIFIER_VERSION)
            {
                return Ok((c, false));
            }
        }
        let c = Self::train(name, set, classes, encoder, encoder_id)?;
        if let Some(p) = &path {
            let stored = p
                .parent()
                .map(std::fs::create_dir_all)
                .transpose()
                .map_err(anyhow::Error::from)
                .and_then(|_| Ok(serde_json::to_vec(&c)?))
                .and_then(|bytes| write_atomic(p, &bytes));
            if let Err(e) = stored {
                tracing::warn!(
                    "cannot keep the trained {name} classifier in {}: {e:#}",
                    p.display()
                );
            }
        }
        Ok((c, true))
    }

    /// Class probabilities of a text given its embedding.
    pub fn probabilities(&self, embedding: &[f32], text: &str) -> Vec<f32> {
        self.model.probabilities(&Features {
            dense: embedding.to_vec(),
            sparse: self.ngrams.transform(text),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_follows_the_texts_the_name_and_the_encoder() {
        let a = vec![("甲一".to_string(), 0), ("乙一".to_string(), 1)];
        let b = vec![("甲二".to_string(), 0), ("乙一".to_string(), 1)];
        assert_eq!(key_of("t", &a, 2, "e1"), key_of("t", &a, 2, "e1"));
        assert_ne!(key_of("t", &a, 2, "e1"), key_of("t", &b, 2, "e1"));
        assert_ne!(key_of("t", &a, 2, "e1"), key_of("t", &a, 2, "e2"));
        assert_ne!(key_of("t", &a, 2, "e1"), key_of("r", &a, 2, "e1"));
    }

    #[test]
    fn ordering_is_stable_and_drops_blanks_and_duplicates() {
        let set = vec![
            ("甲".to_string(), 0),
            (" ".to_string(), 1),
            ("乙".to_string(), 1),
            ("甲".to_string(), 0),
        ];
        let o = ordered(set.clone());
        assert_eq!(o.len(), 2);
        let mut rev = set;
        rev.reverse();
        assert_eq!(ordered(rev), o);
    }
}
