//! `township-digest models fetch|list|verify`.

use crate::cli::{Globals, ModelsCommand};
use anyhow::Result;
use township_digest::exit::Outcome;
use township_digest::models::{fetch, ModelRole, ModelStore};

/// `township-digest models fetch|list|verify`
pub fn command(globals: &Globals, cmd: ModelsCommand) -> Outcome {
    match run_command(globals, cmd) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e:#}");
            Outcome::Fatal
        }
    }
}

/// `models fetch|list|verify`.
fn run_command(globals: &Globals, cmd: ModelsCommand) -> Result<Outcome> {
    let store = ModelStore::open(&globals.store())?;
    match cmd {
        ModelsCommand::Fetch { names } => {
            let names = if names.is_empty() {
                vec![
                    store.default_model(ModelRole::Encoder)?,
                    store.default_model(ModelRole::Generator)?,
                ]
            } else {
                names
            };
            let mut failed = false;
            for n in &names {
                match store.ensure(n, true) {
                    Ok(m) => {
                        if !globals.quiet {
                            for (k, p) in &m.files {
                                println!(
                                    "{n}\t{k}\t{}\t{}",
                                    m.sha256.get(k).map(String::as_str).unwrap_or(""),
                                    p.display()
                                );
                            }
                        }
                    }
                    Err(e) => {
                        eprintln!("error: {e:#}");
                        failed = true;
                    }
                }
            }
            Ok(if failed {
                Outcome::Fatal
            } else {
                Outcome::Success
            })
        }
        ModelsCommand::List => {
            println!(
                "{:<22} {:<10} {:<8} {:<8} {:>10}  path",
                "name", "role", "default", "present", "size"
            );
            for m in &store.manifest().models {
                let present = store.locate(&m.name).is_ok();
                let size: u64 = m.files.iter().filter_map(|f| f.size).sum();
                let size = if m.files.iter().all(|f| f.size.is_some()) {
                    format!("{:.1} MB", size as f64 / 1e6)
                } else {
                    "?".into()
                };
                println!(
                    "{:<22} {:<10} {:<8} {:<8} {:>10}  {}",
                    m.name,
                    fetch::role_name(m.role),
                    if m.default { "yes" } else { "" },
                    if present { "yes" } else { "no" },
                    size,
                    store.model_dir(&m.name).display()
                );
            }
            Ok(Outcome::Success)
        }
        ModelsCommand::Verify { names } => {
            let names: Vec<String> = if names.is_empty() {
                // Every model with at least one file on disk.
                store
                    .manifest()
                    .models
                    .iter()
                    .filter(|m| {
                        m.files
                            .iter()
                            .any(|f| store.model_dir(&m.name).join(&f.filename).exists())
                    })
                    .map(|m| m.name.clone())
                    .collect()
            } else {
                names
            };
            if names.is_empty() && !globals.quiet {
                eprintln!("no model present in {}", store.dir().display());
            }
            let mut failed = false;
            for n in &names {
                match store.verify(n) {
                    Ok(m) => {
                        for (k, h) in &m.sha256 {
                            println!("ok\t{n}\t{k}\t{h}");
                        }
                    }
                    Err(e) => {
                        eprintln!("error: {e:#}");
                        failed = true;
                    }
                }
            }
            Ok(if failed {
                Outcome::Fatal
            } else {
                Outcome::Success
            })
        }
    }
}
