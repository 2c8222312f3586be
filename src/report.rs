//! The per-report result, `reports/<id>.json` in CONTRACT.md. Produced by `summarise`, read by
//! `compare`, `render` and `eval`. Field order here is the order in the JSON file.

use serde::{Deserialize, Serialize};

/// An exact quote of the decoded source text with its character offsets.
///
/// Invariant: `source_text.chars().skip(start).take(end - start)` equals `quote`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub quote: String,
    pub start: usize,
    pub end: usize,
}

/// One work point the report claims as done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Achievement {
    pub text: String,
    /// Figure strings, each an exact substring of the source text.
    pub figures: Vec<String>,
    pub evidence: Vec<Evidence>,
}

/// One problem the report admits, with the theme it was matched to (`other` if none fits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shortcoming {
    pub text: String,
    pub theme: String,
    pub evidence: Vec<Evidence>,
}

/// One thing the report says it will do next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub text: String,
    pub evidence: Vec<Evidence>,
}

/// `reports/<id>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportSummary {
    pub id: String,
    pub source: String,
    pub sha256: String,
    pub township: Option<String>,
    pub county: Option<String>,
    pub city: Option<String>,
    pub year: Option<i32>,
    pub achievements: Vec<Achievement>,
    pub shortcomings: Vec<Shortcoming>,
    pub plans: Vec<Plan>,
    pub summary: String,
    /// Who wrote `summary`: the generator (full mode, every sentence checked) or the
    /// composer (fast mode, or full mode when the generated text failed its checks).
    #[serde(default)]
    pub summary_origin: SummaryOrigin,
    pub warnings: Vec<String>,
}

/// Who wrote a report's summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SummaryOrigin {
    /// Composed from the item texts by the `summary_fast.txt` template.
    #[default]
    Composed,
    /// Generated: the achievements sentence and, when the report states problems, the
    /// problems sentence.
    Generated,
    /// The achievements sentence generated, the problems composed from their themes.
    PartlyGenerated,
}

/// Theme id used for a shortcoming that fits no theme of the themes file.
pub const OTHER_THEME: &str = "other";
