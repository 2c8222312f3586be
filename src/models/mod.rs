//! Local models: manifest, provisioning (hub, registry packages), encoder, generator.
//! OWNER: models helpers.

use crate::cli::{Globals, ModelsCommand};
use crate::exit::Outcome;

/// `township-digest models fetch|list|verify`
pub fn command(_globals: &Globals, _cmd: ModelsCommand) -> Outcome {
    todo!("models helper")
}
