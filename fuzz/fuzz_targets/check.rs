//! Invariants shared by the fuzz targets (included with `#[path]`, not a module of the crate).

use township_digest::document::{slice_chars, SourceDocument};
use township_digest::normalize::NormalizedText;
use township_digest::structure;

/// The normaliser's offset map: one source offset per normalised char plus the end, strictly
/// increasing, every one inside the source.
pub fn check_normalized(source: &str) {
    let total = source.chars().count();
    let norm = NormalizedText::new(source);
    let n = norm.text.chars().count();
    assert_eq!(
        norm.source_offsets.len(),
        n + 1,
        "offset map length != normalised chars + 1"
    );
    assert_eq!(norm.source_offsets.last().copied(), Some(total));
    for w in norm.source_offsets.windows(2) {
        assert!(
            w[0] < w[1],
            "offset map not increasing: {} then {}",
            w[0],
            w[1]
        );
    }
    // Every span maps back to a slice of the source.
    let (s, e) = norm.source_span(0, n);
    assert!(slice_chars(source, s, e).is_some());
}

/// Every sentence and figure offset slices the source; a figure's text is exactly its slice
/// and lies inside the sentence it points to.
pub fn check_structure(doc: &SourceDocument) {
    let st = structure::parse(doc);
    for (i, s) in st.sentences.iter().enumerate() {
        assert!(
            doc.slice(s.start, s.end).is_some(),
            "sentence {i} {}..{} does not slice the source ({} chars)",
            s.start,
            s.end,
            doc.text.chars().count()
        );
    }
    for (i, f) in st.figures.iter().enumerate() {
        let slice = doc.slice(f.start, f.end);
        assert_eq!(
            slice,
            Some(f.text.as_str()),
            "figure {i} {}..{} text differs from its source slice",
            f.start,
            f.end
        );
        let s = st
            .sentences
            .get(f.sentence)
            .unwrap_or_else(|| panic!("figure {i} points at missing sentence {}", f.sentence));
        assert!(
            s.start <= f.start && f.end <= s.end,
            "figure {i} {}..{} outside its sentence {}..{}",
            f.start,
            f.end,
            s.start,
            s.end
        );
    }
    // The metadata names are source slices too (traditional stays traditional).
    for name in [&st.township, &st.county, &st.city].into_iter().flatten() {
        assert!(
            doc.text.contains(name.as_str()),
            "name {name:?} not in the source"
        );
    }
}
