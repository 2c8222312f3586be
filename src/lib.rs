//! township-digest: offline digests of township rule-of-law government work reports.
//!
//! Pipeline (data flows one way): read → normalize/structure → models → summarise → compare →
//! render. See ARCHITECTURE.md for the code map and invariants.

pub mod classifier;
pub mod compare;
pub mod document;
pub mod eval;
pub mod exit;
pub mod merge;
pub mod models;
pub mod normalize;
pub mod output;
pub mod platform;
pub mod previous;
pub mod prompt_files;
pub mod read;
pub mod render;
pub mod report;
pub mod run;
pub mod settings;
pub mod shard;
pub mod structure;
pub mod summarise;
pub mod text;
pub mod themes;
pub mod train;
