//! Reliability for scheduled jobs (issue 7): bad input mixed into a good folder, interruption,
//! two runs at once, model faults. Fast mode (encoder only) keeps these quick.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn project(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn models_dir() -> PathBuf {
    std::env::var_os("TOWNSHIP_DIGEST_MODELS")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("township-digest/models")))
        .expect("a models folder")
}

fn bin(models: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_township-digest"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("--quiet")
        .arg("--models-dir")
        .arg(models)
        .env("HF_HUB_OFFLINE", "1");
    c
}

fn run_fast(inputs: &[&Path], out: &Path, models: &Path) -> Output {
    let mut c = bin(models);
    c.arg("run")
        .args(inputs)
        .args(["--mode", "fast", "--out"])
        .arg(out);
    c.output().expect("start township-digest")
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn tmp_in_target() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

/// Every file below `dir`, relative, that looks like an unfinished temp file.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".tmp-")
            {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn a_killed_run_leaves_no_partial_files_and_the_next_run_finishes_identically() {
    let models = models_dir();
    let reference = tmp_in_target();
    // Inputs given the same way in every run: `source` paths appear in the digest.
    let o = run_fast(&[Path::new("fixtures/reports")], reference.path(), &models);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    for delay_ms in [300u64, 1500, 4000] {
        let out = tmp_in_target();
        let mut child = bin(&models)
            .args(["run", "fixtures/reports", "--mode", "fast", "--out"])
            .arg(out.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        assert!(
            temp_files(out.path()).is_empty(),
            "half-written files after kill at {delay_ms} ms"
        );
        for entry in std::fs::read_dir(out.path().join("reports"))
            .into_iter()
            .flatten()
            .flatten()
        {
            // Whatever is there is complete JSON.
            let _: serde_json::Value = json(&entry.path());
        }
        let o = run_fast(&[Path::new("fixtures/reports")], out.path(), &models);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        for f in ["digest.json", "digest.md", "digest.html", "themes.csv"] {
            assert!(
                std::fs::read(out.path().join(f)).unwrap()
                    == std::fs::read(reference.path().join(f)).unwrap(),
                "{f} after a kill at {delay_ms} ms and a re-run"
            );
        }
    }
}

#[test]
fn a_second_run_into_the_same_folder_refuses() {
    let out = tmp_in_target();
    std::fs::create_dir_all(out.path().join("reports")).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(out.path().join(".lock"))
        .unwrap();
    lock.lock().unwrap();
    let o = run_fast(
        &[&project("fixtures/reports/r07.txt")],
        out.path(),
        &models_dir(),
    );
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("another township-digest run"), "{stderr}");
    assert!(!out.path().join("run.json").exists(), "nothing written");
}

/// A models folder holding copies (hard links where possible) of the real model files.
fn copy_models(dst: &Path, names: &[&str]) {
    for name in names {
        let src = models_dir().join(name);
        let d = dst.join(name);
        std::fs::create_dir_all(&d).unwrap();
        for e in std::fs::read_dir(&src).unwrap().flatten() {
            let to = d.join(e.file_name());
            if std::fs::hard_link(e.path(), &to).is_err() {
                std::fs::copy(e.path(), &to).unwrap();
            }
        }
    }
}

fn replace_file(path: &Path, bytes: &[u8]) {
    // Break the hard link before writing: never touch the shared copy.
    std::fs::remove_file(path).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn assert_fatal_with_fix(o: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{what}: exit 2; stderr: {stderr}");
    assert!(
        stderr.contains("models fetch"),
        "{what}: the message says how to fix it: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
}

#[test]
fn damaged_models_stop_the_run_with_exit_2_and_a_fix() {
    let r07 = project("fixtures/reports/r07.txt");
    // Truncated encoder weights.
    let m = tmp_in_target();
    copy_models(m.path(), &["e5-small"]);
    let w = m.path().join("e5-small/e5-small-q4.bin");
    let bytes = std::fs::read(&w).unwrap();
    replace_file(&w, &bytes[..bytes.len() / 3]);
    let out = tmp_in_target();
    assert_fatal_with_fix(
        &run_fast(&[&r07], out.path(), m.path()),
        "truncated encoder",
    );

    // Tampered encoder weights: same size, one byte changed (sha256 mismatch).
    let m = tmp_in_target();
    copy_models(m.path(), &["e5-small"]);
    let w = m.path().join("e5-small/e5-small-q4.bin");
    let mut bytes = std::fs::read(&w).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    replace_file(&w, &bytes);
    assert_fatal_with_fix(&run_fast(&[&r07], out.path(), m.path()), "tampered encoder");
}
