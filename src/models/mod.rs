//! Local models: manifest, provisioning (hub, registry packages), encoder, generator.
//! OWNER: models helpers.

pub mod alloc;
pub mod e5s1;
pub mod encoder;
pub mod fetch;
pub mod generator;
pub mod manifest;
pub mod qbert;

use crate::cli::{Globals, ModelsCommand};
use crate::exit::Outcome;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub use encoder::{cosine, EmbedKind, Encoder};
pub use fetch::ModelStore;

/// What a model is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelRole {
    Encoder,
    Generator,
}

/// The verified files of one provisioned model.
#[derive(Debug, Clone, Serialize)]
pub struct ModelFiles {
    pub name: String,
    pub role: ModelRole,
    /// "e5s1" | "bert-safetensors" | "gguf"
    pub format: String,
    /// logical name ("weights", "tokenizer", "config") -> path
    pub files: BTreeMap<String, PathBuf>,
    /// logical name -> verified lowercase hex sha256
    pub sha256: BTreeMap<String, String>,
}

impl ModelFiles {
    /// The path of a logical file, or an error naming the model and the missing file.
    pub fn path(&self, logical: &str) -> anyhow::Result<&PathBuf> {
        self.files.get(logical).ok_or_else(|| {
            anyhow::anyhow!(
                "model `{}` ({}) has no `{logical}` file",
                self.name,
                self.format
            )
        })
    }
}

/// `township-digest models fetch|list|verify`
pub fn command(globals: &Globals, cmd: ModelsCommand) -> Outcome {
    match fetch::run_command(globals, cmd) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e:#}");
            Outcome::Fatal
        }
    }
}
