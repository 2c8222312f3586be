//! Reader: finds report files under the inputs and decodes each into a `SourceDocument`.
//! OWNER: reader helper. Submodules per format (txt/charset, html, docx, pdf).

use crate::document::SourceDocument;
use std::path::{Path, PathBuf};

/// Why one input could not be read. Always names the file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ReadError {
    pub path: PathBuf,
    pub reason: String,
}

/// Expand files and folders (recursively) into report files, sorted, deduplicated.
/// Inputs that do not exist or have an unsupported extension are returned as errors.
pub fn discover(_inputs: &[PathBuf]) -> (Vec<PathBuf>, Vec<ReadError>) {
    todo!("reader helper")
}

/// Read and decode one report file.
pub fn read_document(_path: &Path) -> Result<SourceDocument, ReadError> {
    todo!("reader helper")
}
