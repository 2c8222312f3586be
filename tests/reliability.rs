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

/// Deterministic pseudo-random bytes (no `rand` dependency needed for a test file).
fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn bad_files_in_a_good_folder_are_reported_and_the_digest_covers_the_good_ones() {
    let input = tmp_in_target();
    let dir = input.path();
    let copy = |from: &str, to: &str| std::fs::copy(project(from), dir.join(to)).unwrap();
    // Good reports.
    copy("fixtures/reports/r01.txt", "r01.txt");
    copy("fixtures/reports/r08.txt", "r08.txt");
    copy("fixtures/reports/haizigou_2024.txt", "haizigou_2024.txt");
    // A GBK report under a wrong extension: read as the text it is.
    copy("fixtures/formats/r07_gbk.txt", "r07_gbk.docx");
    // A report without a problems section: processed, with a warning.
    let r04 = std::fs::read_to_string(project("fixtures/reports/r04.txt")).unwrap();
    let kept: Vec<&str> = {
        let mut skipping = false;
        r04.lines()
            .filter(|l| {
                if l.starts_with("二、存在的问题") {
                    skipping = true;
                } else if l.starts_with("三、") {
                    skipping = false;
                }
                !skipping
            })
            .collect()
    };
    assert!(kept.len() < r04.lines().count());
    std::fs::write(dir.join("r04_no_problems.txt"), kept.join("\n")).unwrap();
    // Bad files.
    std::fs::write(dir.join("empty.txt"), b"").unwrap();
    std::fs::write(dir.join("noise.txt"), noise(8192)).unwrap();
    let docx = std::fs::read(project("fixtures/formats/r07.docx")).unwrap();
    std::fs::write(dir.join("truncated.docx"), &docx[..docx.len() / 2]).unwrap();
    copy("fixtures/formats/scanned.pdf", "scanned.pdf");
    let big = std::fs::File::create(dir.join("huge.txt")).unwrap();
    big.set_len(50 * 1024 * 1024).unwrap(); // sparse: refused from its size before any read
    drop(big);
    std::fs::write(
        dir.join("menu.txt"),
        "春风小馆菜单\n\n凉菜\n拍黄瓜 12元\n夫妻肺片 28元\n\n热菜\n宫保鸡丁 38元\n鱼香肉丝 32元\n\n主食\n米饭 2元/碗\n\n营业时间10:00-22:00。\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("poem.md"),
        "静夜思\n李白\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n",
    )
    .unwrap();
    // A folder of reports often carries its own notes and the law the reports cite: they are
    // about rule of law, but they are not a township's report.
    std::fs::write(
        dir.join("README.md"),
        "# 法治政府建设报告汇编\n\n## 说明\n\n- 本目录收录各乡镇法治政府建设情况报告（依法行政、普法宣传、法律明白人）。\n\
         - 运行 `township-digest run reports --out out` 生成汇总。\n- 法治建设、行政执法、\
         法治宣传的报告请放在 `reports/`。\n\n```bash\ncargo run --release\n```\n",
    )
    .unwrap();
    let articles: String = (1..=8)
        .map(|k| {
            let n = ["一", "二", "三", "四", "五", "六", "七", "八"][k - 1];
            format!("第{n}条 各级人民政府应当坚持依法行政，推进法治政府建设，加强普法宣传和行政执法监督。\n")
        })
        .collect();
    std::fs::write(
        dir.join("regulation.txt"),
        format!("某省法治政府建设条例\n\n第一章 总则\n{articles}"),
    )
    .unwrap();

    let out = tmp_in_target();
    let o = run_fast(&[dir], out.path(), &models_dir());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "some reports failed: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let run = json(&out.path().join("run.json"));
    let status_of = |name: &str| -> &serde_json::Value {
        run["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["source"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("{name} is in run.json: {run:#}"))
    };
    let expected_failures = [
        ("empty.txt", "empty"),
        ("noise.txt", "not text"),
        ("truncated.docx", ""),
        ("scanned.pdf", ""),
        ("huge.txt", "too large"),
        (
            "menu.txt",
            "does not look like a township rule-of-law report",
        ),
        (
            "poem.md",
            "does not look like a township rule-of-law report",
        ),
        ("README.md", "README"),
        ("regulation.txt", "law or regulation"),
    ];
    for (name, reason) in expected_failures {
        let s = status_of(name);
        assert_eq!(s["status"], "failed", "{name}: {s}");
        let error = s["error"].as_str().unwrap();
        assert!(error.contains(reason), "{name}: {error}");
        // stderr names the file and the same reason.
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(name) && l.contains(error)),
            "{name} on stderr: {stderr}"
        );
    }
    for name in [
        "r01.txt",
        "r08.txt",
        "haizigou_2024.txt",
        "r07_gbk.docx",
        "r04_no_problems.txt",
    ] {
        assert_eq!(status_of(name)["status"], "done", "{name}");
    }
    let no_problems = json(&out.path().join("reports/r04_no_problems.json"));
    assert_eq!(no_problems["shortcomings"].as_array().unwrap().len(), 0);
    assert!(
        no_problems["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("no shortcomings")),
        "{no_problems:#}"
    );
    let gbk = json(&out.path().join("reports/r07_gbk.json"));
    let r07 = std::fs::read_to_string(project("fixtures/gold/r07.gold.json")).unwrap();
    let r07: serde_json::Value = serde_json::from_str(&r07).unwrap();
    assert_eq!(gbk["township"], r07["township"]);

    // The digest covers exactly the good reports.
    let digest = json(&out.path().join("digest.json"));
    let mut ids: Vec<&str> = digest["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["haizigou_2024", "r01", "r04_no_problems", "r07_gbk", "r08"]
    );
    let mut files: Vec<String> = std::fs::read_dir(out.path().join("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 5, "{files:?}");
    assert!(temp_files(out.path()).is_empty());
}

#[test]
fn a_tokenizer_that_does_not_match_the_generator_stops_a_full_run_with_exit_2() {
    use sha2::Digest as _;
    let m = tmp_in_target();
    copy_models(m.path(), &["e5-small", "qwen2.5-coder-0.5b"]);
    // The real GGUF beside a (well-formed) tokenizer.json of another, tiny vocabulary.
    let dir = m.path().join("bad-tokenizer");
    std::fs::create_dir_all(&dir).unwrap();
    let gguf = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf";
    std::fs::hard_link(
        m.path().join("qwen2.5-coder-0.5b").join(gguf),
        dir.join(gguf),
    )
    .or_else(|_| {
        std::fs::copy(
            m.path().join("qwen2.5-coder-0.5b").join(gguf),
            dir.join(gguf),
        )
        .map(|_| ())
    })
    .unwrap();
    let vocab: serde_json::Map<String, serde_json::Value> = ["[UNK]", "法治", "政府", "建设"]
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_string(), serde_json::json!(i)))
        .collect();
    let tokenizer = serde_json::to_vec(&serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
        "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null,
        "decoder": null, "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
    }))
    .unwrap();
    std::fs::write(dir.join("tokenizer.json"), &tokenizer).unwrap();
    let weights_sha = {
        let manifest = std::fs::read_to_string(project("models/models.toml")).unwrap();
        let at = manifest.find(gguf).unwrap();
        let line = manifest[at..].lines().nth(1).unwrap(); // sha256 = "…"
        line.split('"').nth(1).unwrap().to_string()
    };
    let manifest = format!(
        "{}\n[[models]]\nname = \"bad-tokenizer\"\nrole = \"generator\"\nformat = \"gguf\"\ndefault = false\n\
         description = \"the default GGUF with a tokenizer of another model\"\n\n\
         [[models.files]]\nlogical = \"weights\"\nfilename = \"{gguf}\"\nsha256 = \"{weights_sha}\"\n\n\
         [[models.files]]\nlogical = \"tokenizer\"\nfilename = \"tokenizer.json\"\nsha256 = \"{}\"\n\n\
         [[models.sources]]\nkind = \"hub\"\nrepo = \"example/not-fetched\"\nfiles = {{ weights = \"{gguf}\", tokenizer = \"tokenizer.json\" }}\n",
        std::fs::read_to_string(project("models/models.toml")).unwrap(),
        hex::encode(sha2::Sha256::digest(&tokenizer)),
    );
    let manifest_path = m.path().join("models.toml");
    std::fs::write(&manifest_path, manifest).unwrap();

    let out = tmp_in_target();
    let run_full = || {
        bin(m.path())
            .arg("--manifest")
            .arg(&manifest_path)
            .args([
                "run",
                "fixtures/reports/r07.txt",
                "--generator",
                "bad-tokenizer",
                "--out",
            ])
            .arg(out.path())
            .output()
            .unwrap()
    };
    let o = run_full();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("tokenizer does not match"), "{stderr}");
    assert!(
        stderr.contains("bad-tokenizer"),
        "names the model: {stderr}"
    );
    assert!(
        stderr.contains("tokenizer.json"),
        "says how to fix it: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!out.path().join("digest.json").exists());

    // The same model with its tokenizer missing: exit 2, naming the file and the fix.
    std::fs::remove_file(dir.join("tokenizer.json")).unwrap();
    let o = run_full();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("tokenizer.json"),
        "names the file: {stderr}"
    );
    assert!(
        stderr.contains("models fetch bad-tokenizer"),
        "says how to fix it: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
