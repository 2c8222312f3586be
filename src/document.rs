//! The reader's output: one decoded source document.

use serde::Serialize;
use std::path::PathBuf;

/// The container format a report came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Txt,
    Md,
    Html,
    Docx,
    Pdf,
}

/// A report as decoded from disk: the text every Evidence offset indexes.
///
/// Invariant: `text` is the decoded source text (after charset decoding and, for html/docx/pdf,
/// text extraction) and is never altered afterwards. All character offsets reported anywhere
/// (`Evidence.start/end`, parse output) are offsets in `text`, counted in Unicode scalar values.
#[derive(Debug, Clone)]
pub struct SourceDocument {
    /// The path as given (or as found under a given folder).
    pub source: PathBuf,
    /// Hex sha256 of the input file's bytes.
    pub sha256: String,
    pub format: Format,
    /// Name of the charset the bytes were decoded from (e.g. "UTF-8", "GBK"), for txt/md/html.
    pub encoding: Option<String>,
    /// Decoded source text.
    pub text: String,
}

impl SourceDocument {
    /// The source text between two char offsets, if they are in range.
    pub fn slice(&self, start: usize, end: usize) -> Option<&str> {
        slice_chars(&self.text, start, end)
    }
}

/// `text[start..end]` in char (Unicode scalar) offsets; `None` when out of range or reversed.
pub fn slice_chars(text: &str, start: usize, end: usize) -> Option<&str> {
    if start > end {
        return None;
    }
    let mut indices = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()));
    let b_start = indices.nth(start)?;
    let b_end = if end == start {
        b_start
    } else {
        indices.nth(end - start - 1)?
    };
    Some(&text[b_start..b_end])
}

/// Char offset of a byte offset (which must lie on a char boundary).
pub fn char_offset(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_by_chars() {
        let t = "海子沟乡30余场次";
        assert_eq!(slice_chars(t, 4, 9), Some("30余场次"));
        assert_eq!(slice_chars(t, 0, 0), Some(""));
        assert_eq!(slice_chars(t, 9, 9), Some(""));
        assert_eq!(slice_chars(t, 3, 10), None);
        assert_eq!(slice_chars(t, 5, 4), None);
        assert_eq!(char_offset(t, "海子沟乡".len()), 4);
    }
}
