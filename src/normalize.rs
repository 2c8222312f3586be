//! Normalisation with an offset map back to the decoded source text.
//! OWNER: structure helper.

/// Normalised text (simplified script, half-width digits/punctuation, portal clutter and
/// conversion artefacts removed) plus, for every char of `text`, the source char offset it
/// came from. Invariant: `source_offsets.len() == text.chars().count() + 1` (last = end).
#[derive(Debug, Clone)]
pub struct NormalizedText {
    pub text: String,
    pub source_offsets: Vec<usize>,
}
