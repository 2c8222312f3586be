//! Fuzz the reader: the first byte picks the file extension (.txt .html .docx .pdf), the rest
//! is written to a temporary file which `read_document` then reads. Any error is fine; a panic
//! is not. A document that reads is also parsed and checked like in `parse_structure`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;
use township_digest::read::read_document;

#[path = "check.rs"]
mod check;

const EXTENSIONS: [&str; 4] = ["txt", "html", "docx", "pdf"];

/// One private directory per fuzzing process, removed by nobody (it lives under the temp dir
/// and holds at most one file per extension).
fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("township-digest-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", d.display()));
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let ext = EXTENSIONS[usize::from(first) % EXTENSIONS.len()];
    let path = dir().join(format!("input.{ext}"));
    std::fs::write(&path, body).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    match read_document(&path) {
        Ok(doc) => {
            assert!(
                !doc.text.trim().is_empty(),
                "read_document returned blank text"
            );
            assert_eq!(doc.sha256.len(), 64, "sha256 is not 64 hex digits");
            check::check_normalized(&doc.text);
            check::check_structure(&doc);
        }
        Err(e) => {
            assert!(!e.reason.is_empty(), "error without a reason");
        }
    }
});
