//! Helpers shared by the integration tests that build reports by hand from the gold files.

use std::path::PathBuf;
use township_digest::report::Evidence;

/// The project folder.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Evidence for the first occurrence of `quote` in `text`, with char offsets.
pub fn locate(text: &str, quote: &str) -> Evidence {
    let b = text
        .find(quote)
        .unwrap_or_else(|| panic!("{quote:?} not in source"));
    let start = text[..b].chars().count();
    Evidence {
        quote: quote.to_string(),
        start,
        end: start + quote.chars().count(),
    }
}
