//! Local models: the manifest (`models/models.toml`), provisioning (hub, registry packages,
//! sha256) and the mapping of a provisioned model's files to the loaders of the inference
//! crate (`township_infer`), which runs them. OWNER: models helpers.

pub mod fetch;
pub mod manifest;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub use fetch::{ModelStore, StoreOptions};
pub use township_infer::encoder::{cosine, EmbedKind, Encoder, EncoderOptions};
pub use township_infer::generator::{Generator, GeneratorOptions};
/// The inference crate's encoder and generator, where the pipeline has always found them.
pub use township_infer::{encoder, generator};

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

/// Load an encoder from its verified files, by `files.format`: "e5s1" (file `weights`) or
/// "bert-safetensors" (`weights`, `tokenizer`, `config`).
pub fn load_encoder(files: &ModelFiles, opts: &EncoderOptions) -> anyhow::Result<Encoder> {
    match files.format.as_str() {
        "e5s1" => Encoder::load_e5s1(files.path("weights")?, opts),
        "bert-safetensors" => Encoder::load_hub(
            files.path("weights")?,
            files.path("tokenizer")?,
            files.path("config")?,
            opts,
        ),
        f => anyhow::bail!(
            "model `{}`: format `{f}` is not an encoder format",
            files.name
        ),
    }
}

/// Load a generator (GGUF `weights` + `tokenizer`) from its verified files.
pub fn load_generator(files: &ModelFiles, opts: &GeneratorOptions) -> anyhow::Result<Generator> {
    Generator::load(
        &files.name,
        files.path("weights")?,
        files.path("tokenizer")?,
        opts,
    )
}
