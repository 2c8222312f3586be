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
