//! Fuzz the normaliser and the structure parser with arbitrary text.
//!
//! Invariants: no panic; the normaliser's offset map is exact; every sentence/figure offset
//! slices the source and a figure's text equals its slice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use township_digest::document::{Format, SourceDocument};

#[path = "check.rs"]
mod check;

fuzz_target!(|data: &[u8]| {
    // Lossy decoding keeps inputs that are almost UTF-8 useful instead of discarding them.
    let text = String::from_utf8_lossy(data).into_owned();
    check::check_normalized(&text);
    let doc = SourceDocument {
        source: PathBuf::from("fuzz.txt"),
        sha256: String::new(),
        format: Format::Txt,
        encoding: Some("UTF-8".to_string()),
        text,
    };
    check::check_structure(&doc);
});
