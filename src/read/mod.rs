//! Reader: finds report files under the inputs and decodes each into a `SourceDocument`.
//!
//! Formats (by extension, case-insensitive): `.txt`/`.md` (UTF-8 with or without BOM,
//! UTF-16 with BOM, else GBK/GB18030/Big5 detected by chardetng — see [`charset`]), `.html`/
//! `.htm` (main content text, see [`html`]), `.docx` (paragraphs, see [`docx`]), `.pdf` (text
//! layer, see [`pdf`]). The decoded text has `\n` line endings; for html/docx/pdf it holds one
//! paragraph per line. That text is the source every offset refers to.
//!
//! The content wins over a lying extension: a PDF, a zip (docx) or an HTML page saved as
//! `.txt` is read as what it is (`SourceDocument.format` tells which); an old binary `.doc`
//! gets its own error. Files over [`MAX_FILE_BYTES`] are refused from their metadata, before
//! any read.
//!
//! Every failure is a [`ReadError`] naming the file; no input makes the reader panic.

pub mod charset;
pub mod docx;
pub mod html;
pub mod pdf;

use crate::document::{Format, SourceDocument};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Files larger than this are refused without being read (no report is anywhere near it).
pub const MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;

/// Extensions read, lower-case, without the dot.
pub const EXTENSIONS: &[&str] = &["txt", "md", "html", "htm", "docx", "pdf"];

/// Why one input could not be read. Always names the file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ReadError {
    pub path: PathBuf,
    pub reason: String,
}

impl ReadError {
    fn new(path: &Path, reason: impl Into<String>) -> Self {
        ReadError {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

/// The format of a path by its extension, if it is one we read.
pub fn format_of(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "txt" => Format::Txt,
        "md" => Format::Md,
        "html" | "htm" => Format::Html,
        "docx" => Format::Docx,
        "pdf" => Format::Pdf,
        _ => return None,
    })
}

/// Names skipped while walking folders: hidden files/dirs, our own and editors' temp files.
fn skipped_name(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with("~$")
        || name.ends_with('~')
        || name.ends_with(".tmp")
        || name.ends_with(".gold.json")
}

/// Expand files and folders (recursively) into report files, sorted, deduplicated.
/// Inputs that do not exist or have an unsupported extension are returned as errors; files
/// of other types found inside folders, hidden entries and temp files are skipped silently.
pub fn discover(inputs: &[PathBuf]) -> (Vec<PathBuf>, Vec<ReadError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut visited_dirs = HashSet::new();
    for input in inputs {
        match std::fs::metadata(input) {
            Err(e) => errors.push(ReadError::new(input, io_reason(&e))),
            Ok(meta) if meta.is_dir() => {
                walk_dir(input, &mut files, &mut errors, &mut visited_dirs)
            }
            Ok(_) => {
                if format_of(input).is_some() {
                    files.push(input.clone());
                } else {
                    errors.push(ReadError::new(
                        input,
                        format!(
                            "unsupported file type (expected one of: {})",
                            EXTENSIONS
                                .iter()
                                .map(|e| format!(".{e}"))
                                .collect::<Vec<_>>()
                                .join(" ")
                        ),
                    ));
                }
            }
        }
    }
    files.sort();
    // Deduplicate by the file itself (the same file may be given directly and via a folder,
    // or under two spellings); keep the first spelling in sorted order.
    let mut seen = HashSet::new();
    files.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    (files, errors)
}

fn walk_dir(
    dir: &Path,
    files: &mut Vec<PathBuf>,
    errors: &mut Vec<ReadError>,
    visited: &mut HashSet<PathBuf>,
) {
    // Symlink loops: each real directory is walked once.
    let real = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if !visited.insert(real) {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(ReadError::new(dir, io_reason(&e)));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                errors.push(ReadError::new(dir, io_reason(&e)));
                continue;
            }
        };
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            // Non-UTF-8 names: still read if the extension fits.
            let path = entry.path();
            if path.is_file() && format_of(&path).is_some() {
                files.push(path);
            }
            continue;
        };
        if skipped_name(name) {
            continue;
        }
        let path = entry.path();
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk_dir(&path, files, errors, visited),
            Ok(m) if m.is_file() && format_of(&path).is_some() => files.push(path),
            Ok(_) => {}
            // A dangling symlink with a report extension is worth reporting.
            Err(e) if format_of(&path).is_some() => {
                errors.push(ReadError::new(&path, io_reason(&e)))
            }
            Err(_) => {}
        }
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// Read and decode one report file.
pub fn read_document(path: &Path) -> Result<SourceDocument, ReadError> {
    let err = |reason: String| ReadError::new(path, reason);
    let format = format_of(path).ok_or_else(|| {
        err("unsupported file type (expected .txt .md .html .htm .docx .pdf)".to_string())
    })?;
    let bytes = read_capped(path).map_err(err)?;
    if bytes.is_empty() {
        return Err(err("empty file".to_string()));
    }
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let mut format = sniff_format(&bytes, format).map_err(err)?;
    if let Some(text_format) = plain_text_behind_extension(&bytes, format) {
        format = text_format;
    }
    let (text, encoding) = match format {
        Format::Txt | Format::Md => {
            let (t, e) = charset::decode_text(&bytes).map_err(err)?;
            (t, Some(e.to_string()))
        }
        Format::Html => {
            let (t, e) = html::read_html(&bytes).map_err(err)?;
            (t, Some(e.to_string()))
        }
        Format::Docx => (docx::read_docx(&bytes).map_err(err)?, None),
        Format::Pdf => (pdf::read_pdf(&bytes).map_err(err)?, None),
    };
    if text.trim().is_empty() {
        return Err(err("no text (the file holds only whitespace)".to_string()));
    }
    Ok(SourceDocument {
        source: path.to_path_buf(),
        sha256,
        format,
        encoding,
        text,
    })
}

/// The format the bytes really are, when the extension lies: a PDF, a Word document or an
/// HTML page saved under another report extension is read as what it is; an old binary Word
/// `.doc` (OLE2) gets a specific error.
fn sniff_format(bytes: &[u8], by_extension: Format) -> Result<Format, String> {
    const OLE2: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    if bytes.starts_with(b"%PDF-") {
        return Ok(Format::Pdf);
    }
    if bytes.starts_with(OLE2) {
        return Err(
            "an old binary Word .doc (or other OLE2 office) file, which is not supported: save it as .docx"
                .to_string(),
        );
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Ok(Format::Docx);
    }
    if matches!(by_extension, Format::Txt | Format::Md) {
        let head: Vec<u8> = bytes
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(bytes)
            .iter()
            .copied()
            .skip_while(|b| b.is_ascii_whitespace())
            .take(15)
            .map(|b| b.to_ascii_lowercase())
            .collect();
        if head.starts_with(b"<!doctype html") || head.starts_with(b"<html") {
            return Ok(Format::Html);
        }
    }
    Ok(by_extension)
}

/// Plain text saved under a `.docx`, `.pdf` or `.html` name (a GBK report renamed by hand, an
/// export tool that picked the wrong extension) is read as text. Only when the bytes lack the
/// format's own signature and do decode as text; otherwise the format's reader gives its error.
fn plain_text_behind_extension(bytes: &[u8], format: Format) -> Option<Format> {
    let lacks_signature = match format {
        Format::Docx => !bytes.starts_with(b"PK\x03\x04"),
        Format::Pdf => !bytes.starts_with(b"%PDF-"),
        // No tag at all in the first 4 KB: not HTML. ('<' never occurs inside a GBK/GB18030
        // or Big5 multi-byte character, so the test is safe before decoding.)
        Format::Html => !bytes.iter().take(4096).any(|&b| b == b'<'),
        Format::Txt | Format::Md => false,
    };
    (lacks_signature && charset::decode_text(bytes).is_ok()).then_some(Format::Txt)
}

/// The file's bytes, refusing (from metadata, before reading) anything over MAX_FILE_BYTES.
fn read_capped(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| io_reason(&e))?;
    let meta = file.metadata().map_err(|e| io_reason(&e))?;
    if meta.is_dir() {
        return Err("is a directory, not a file".to_string());
    }
    let too_big = || {
        format!(
            "file too large ({:.1} MB; the limit is {} MB)",
            meta.len() as f64 / (1024.0 * 1024.0),
            MAX_FILE_BYTES / (1024 * 1024)
        )
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_reason(&e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err("file too large (it grew while being read)".to_string());
    }
    Ok(bytes)
}
