//! Structure parser: metadata, headings, sentences with roles, figures. No model.
//! OWNER: structure helper.

use crate::cli::{Globals, ParseArgs};
use crate::exit::Outcome;
use serde::{Deserialize, Serialize};

/// What part of a report a sentence belongs to (CONTRACT.md, parse output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Preamble,
    Achievements,
    Shortcomings,
    Plans,
    Responsibility,
    Other,
}

/// `township-digest parse FILE...`
pub fn command(_globals: &Globals, _args: ParseArgs) -> Outcome {
    todo!("structure helper")
}
