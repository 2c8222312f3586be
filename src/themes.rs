//! The themes file (`prompts/themes.toml` by default): the taxonomy shortcomings are matched to.
//! It is user data: nothing about a particular theme may be hard-coded in Rust.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One recurring problem users want to track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Theme {
    /// Stable id used in JSON and CSV, e.g. `uneven_outreach`.
    pub id: String,
    /// Chinese label shown in the digest.
    pub label: String,
    /// English label.
    #[serde(default)]
    pub label_en: String,
    /// What the theme covers, in Chinese.
    #[serde(default)]
    pub description: String,
    /// Example phrasings of this problem (matched by meaning, not as keywords).
    #[serde(default)]
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThemeSet {
    #[serde(rename = "theme")]
    pub themes: Vec<Theme>,
    /// Problems that fit none of the themes: they teach the classifier what `other` looks like.
    #[serde(default, skip_serializing_if = "OtherExamples::is_empty")]
    pub other: OtherExamples,
}

/// The `[other]` table of the themes file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OtherExamples {
    #[serde(default)]
    pub examples: Vec<String>,
}

impl OtherExamples {
    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }
}

impl ThemeSet {
    /// Parse a themes file; errors name the file and what is wrong with it.
    pub fn load(path: &Path) -> Result<ThemeSet> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read themes file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid themes file {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<ThemeSet> {
        let set: ThemeSet = toml::from_str(text)?;
        if set.themes.is_empty() {
            bail!("no [[theme]] entries");
        }
        let mut seen = std::collections::BTreeSet::new();
        for t in &set.themes {
            if t.id.trim().is_empty() || t.label.trim().is_empty() {
                bail!("every theme needs a non-empty id and label");
            }
            if t.id == crate::report::OTHER_THEME {
                bail!("theme id `other` is reserved for shortcomings that fit no theme");
            }
            if !seen.insert(t.id.clone()) {
                bail!("theme id `{}` appears twice", t.id);
            }
        }
        Ok(set)
    }

    pub fn get(&self, id: &str) -> Option<&Theme> {
        self.themes.iter().find(|t| t.id == id)
    }

    /// Theme ids in file order.
    pub fn ids(&self) -> Vec<&str> {
        self.themes.iter().map(|t| t.id.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_themes_file_has_the_contract_ids() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts/themes.toml");
        let set = ThemeSet::load(&path).unwrap();
        let want = [
            "uneven_outreach",
            "inactive_liaisons",
            "funding_shortage",
            "shallow_outreach",
            "staff_capacity",
            "cadre_awareness",
            "enforcement_irregular",
            "coordination_gaps",
            "public_awareness",
            "mediation_weak",
            "legality_review",
            "digital_lag",
        ];
        assert_eq!(set.ids(), want);
        assert!(set.themes.iter().all(|t| t.examples.len() >= 20));
        assert!(set.other.examples.len() >= 20);
    }

    #[test]
    fn duplicate_and_reserved_ids_are_refused() {
        let dup = "[[theme]]\nid='a'\nlabel='甲'\n[[theme]]\nid='a'\nlabel='乙'\n";
        assert!(ThemeSet::parse(dup)
            .unwrap_err()
            .to_string()
            .contains("twice"));
        let other = "[[theme]]\nid='other'\nlabel='其他'\n";
        assert!(ThemeSet::parse(other).is_err());
        assert!(ThemeSet::parse("").is_err());
    }
}
