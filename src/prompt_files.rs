//! The prompts folder: the themes file, the prompt templates, the problem detector's sentences
//! and the indicators, user data that steers a run. All of it is read and checked here, once,
//! before any model loads, so a broken file stops the run at once (exit 2, naming the file)
//! instead of after the generator stage.
//!
//! Where the files come from, in order: `--prompts DIR` (every file must be there); else
//! `./prompts` when that folder exists (the project folder, or a user's copy to edit); else the
//! copies built into the binary, so that an installed binary run from any folder works. A
//! `--themes FILE` replaces only the themes file.

use crate::compare::emerging::LABEL_TEMPLATE;
use crate::compare::figures::Indicators;
use crate::summarise::{ProblemSentences, Prompts, Template, TemplateParts};
use crate::themes::ThemeSet;
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub const THEMES_FILE: &str = "themes.toml";
pub const PROBLEM_SENTENCES_FILE: &str = "problem_sentences.toml";
pub const INDICATORS_FILE: &str = "indicators.toml";

/// The project's `prompts/` as it was when the binary was built.
const BUILT_IN: &[(&str, &str)] = &[
    ("themes.toml", include_str!("../prompts/themes.toml")),
    (
        "problem_sentences.toml",
        include_str!("../prompts/problem_sentences.toml"),
    ),
    (
        "indicators.toml",
        include_str!("../prompts/indicators.toml"),
    ),
    (
        "emerging_label.txt",
        include_str!("../prompts/emerging_label.txt"),
    ),
    (
        "achievements.txt",
        include_str!("../prompts/achievements.txt"),
    ),
    (
        "shortcomings.txt",
        include_str!("../prompts/shortcomings.txt"),
    ),
    (
        "summary_achievements.txt",
        include_str!("../prompts/summary_achievements.txt"),
    ),
    (
        "summary_problems.txt",
        include_str!("../prompts/summary_problems.txt"),
    ),
    (
        "summary_fast.txt",
        include_str!("../prompts/summary_fast.txt"),
    ),
];

/// Where the prompt files were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptSource {
    Folder(PathBuf),
    BuiltIn,
}

impl PromptSource {
    /// `explicit` (`--prompts`) if given, else `./prompts` if it is a folder, else built in.
    pub fn choose(explicit: Option<&Path>, working_dir: &Path) -> PromptSource {
        match explicit {
            Some(dir) => PromptSource::Folder(dir.to_path_buf()),
            None => {
                let local = working_dir.join("prompts");
                if local.is_dir() {
                    PromptSource::Folder(local)
                } else {
                    PromptSource::BuiltIn
                }
            }
        }
    }

    /// For the run record: the folder, or "built-in".
    pub fn describe(&self) -> String {
        match self {
            PromptSource::Folder(p) => p.display().to_string(),
            PromptSource::BuiltIn => "built-in".to_string(),
        }
    }

    /// The text of one file and a name for it in error messages.
    fn read(&self, name: &str) -> Result<(String, String)> {
        match self {
            PromptSource::Folder(dir) => {
                let path = dir.join(name);
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                Ok((text, path.display().to_string()))
            }
            PromptSource::BuiltIn => match BUILT_IN.iter().find(|(n, _)| *n == name) {
                Some((_, text)) => Ok((text.to_string(), format!("built-in {name}"))),
                None => bail!("no built-in prompt file {name}"),
            },
        }
    }
}

/// Everything the prompts folder holds, parsed and checked.
#[derive(Debug, Clone)]
pub struct PromptFiles {
    pub source: PromptSource,
    pub themes: ThemeSet,
    /// Where the themes came from (a path or "built-in themes.toml").
    pub themes_origin: String,
    /// sha256 of the themes file's bytes (the result cache's key; the same for a file and the
    /// built-in copy of it).
    pub themes_sha: String,
    pub templates: Prompts,
    /// The emerging-cluster label template (full mode).
    pub label_template: String,
    pub problem_sentences: ProblemSentences,
    pub problem_sentences_sha: String,
    pub indicators: Indicators,
    /// sha256 of the files only the digest uses (emerging-label template, indicators).
    pub digest_files_sha: String,
}

impl PromptFiles {
    /// Read and check every file; `themes` replaces the source's themes file.
    pub fn load(source: PromptSource, themes: Option<&Path>) -> Result<PromptFiles> {
        let (themes_text, themes_origin) = match themes {
            Some(path) => (
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read themes file {}", path.display()))?,
                path.display().to_string(),
            ),
            None => source.read(THEMES_FILE)?,
        };
        let themes = ThemeSet::parse(&themes_text)
            .with_context(|| format!("invalid themes file {themes_origin}"))?;

        let mut templates = Vec::new();
        for t in Template::ALL {
            let (text, origin) = source.read(t.file_name())?;
            if text.trim().is_empty() {
                bail!("prompt template {origin} is empty");
            }
            if let Err(why) = TemplateParts::parse(&text) {
                bail!("prompt template {origin} is malformed: {why}");
            }
            templates.push((t, text));
        }
        let templates = Prompts::from_templates(templates);

        let (label_template, origin) = source.read(LABEL_TEMPLATE)?;
        if label_template.trim().is_empty() {
            bail!("prompt template {origin} is empty");
        }

        let (sentences_text, origin) = source.read(PROBLEM_SENTENCES_FILE)?;
        let problem_sentences = ProblemSentences::parse(&sentences_text)
            .with_context(|| format!("invalid problem sentences file {origin}"))?;

        let (indicators_text, origin) = source.read(INDICATORS_FILE)?;
        let indicators = Indicators::parse(&indicators_text)
            .with_context(|| format!("invalid indicators file {origin}"))?;

        let digest_files_sha =
            sha256_hex(format!("{label_template}\0{indicators_text}").as_bytes());
        Ok(PromptFiles {
            source,
            themes,
            themes_origin,
            themes_sha: sha256_hex(themes_text.as_bytes()),
            templates,
            label_template,
            problem_sentences,
            problem_sentences_sha: sha256_hex(sentences_text.as_bytes()),
            indicators,
            digest_files_sha,
        })
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_copies_parse_and_match_the_project_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
        let built_in = PromptFiles::load(PromptSource::BuiltIn, None).unwrap();
        let folder = PromptFiles::load(PromptSource::Folder(dir.clone()), None).unwrap();
        assert_eq!(built_in.themes_sha, folder.themes_sha);
        assert_eq!(built_in.problem_sentences_sha, folder.problem_sentences_sha);
        assert_eq!(
            built_in.templates.fingerprint(),
            folder.templates.fingerprint()
        );
        // Every file of the folder is built in (a new prompt file must be added to BUILT_IN).
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().to_string();
            assert!(
                BUILT_IN.iter().any(|(n, _)| *n == name),
                "prompts/{name} is not in BUILT_IN"
            );
        }
    }

    #[test]
    fn source_is_the_explicit_folder_then_the_local_one_then_built_in() {
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            PromptSource::choose(None, empty.path()),
            PromptSource::BuiltIn
        );
        std::fs::create_dir(empty.path().join("prompts")).unwrap();
        assert_eq!(
            PromptSource::choose(None, empty.path()),
            PromptSource::Folder(empty.path().join("prompts"))
        );
        let other = Path::new("/somewhere/else");
        assert_eq!(
            PromptSource::choose(Some(other), empty.path()),
            PromptSource::Folder(other.to_path_buf())
        );
    }

    #[test]
    fn a_folder_missing_a_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err =
            PromptFiles::load(PromptSource::Folder(dir.path().to_path_buf()), None).unwrap_err();
        assert!(format!("{err:#}").contains("themes.toml"), "{err:#}");
    }

    #[test]
    fn a_broken_indicators_file_stops_the_load_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in BUILT_IN {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        std::fs::write(
            dir.path().join(INDICATORS_FILE),
            "[[indicator]]\nid = \"\"\n",
        )
        .unwrap();
        let err =
            PromptFiles::load(PromptSource::Folder(dir.path().to_path_buf()), None).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("indicators.toml"), "{msg}");
    }
}
