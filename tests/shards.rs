//! Issue 15: a run split over N shard processes (one killed and run again) and merged gives the
//! digest one machine gives, byte for byte; a merge names what is missing and refuses shards
//! that do not belong together. Fast mode (encoder only), real models, the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn models_dir() -> PathBuf {
    std::env::var_os("TOWNSHIP_DIGEST_MODELS")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("township-digest/models")))
        .expect("a models folder")
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_township-digest"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("--quiet")
        .arg("--models-dir")
        .arg(models_dir())
        .env("HF_HUB_OFFLINE", "1")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("SLURM_ARRAY_TASK_ID");
    c
}

fn run(args: &[&str], out: &Path) -> Output {
    let o = bin()
        .arg("run")
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .expect("start township-digest");
    o
}

fn merge(shards: &[&Path], out: &Path) -> Output {
    merge_with(shards, out, &[])
}

fn merge_with(shards: &[&Path], out: &Path, flags: &[&str]) -> Output {
    bin()
        .arg("merge")
        .args(shards)
        .arg("--out")
        .arg(out)
        .args(flags)
        .output()
        .expect("start township-digest")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

/// Every file a digest consists of, with its bytes: the digest files and reports/*.json.
fn digest_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> =
        ["digest.json", "digest.md", "digest.html", "themes.csv"]
            .iter()
            .map(|f| {
                (
                    f.to_string(),
                    std::fs::read(dir.join(f)).unwrap_or_default(),
                )
            })
            .collect();
    let mut reports: Vec<PathBuf> = std::fs::read_dir(dir.join("reports"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    reports.sort();
    for r in reports {
        let name = format!("reports/{}", r.file_name().unwrap().to_string_lossy());
        files.push((name, std::fs::read(&r).unwrap()));
    }
    files
}

fn assert_same_digest(a: &Path, b: &Path) {
    let (fa, fb) = (digest_files(a), digest_files(b));
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&fa), names(&fb));
    for ((name, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(!x.is_empty(), "{name} is empty or absent");
        assert!(
            x == y,
            "{name} differs between the single run and the merge"
        );
    }
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn three_shards_one_killed_and_rerun_merge_into_the_single_machine_digest() {
    // A themes file without `digital_lag` and `inactive_liaisons`: the shortcomings of those
    // themes fit none now, so the digest has an emerging problem (five reports' liaisons),
    // clustered from vectors the shards kept.
    let themes_dir = tmp();
    let themes = themes_dir.path().join("themes.toml");
    let mut text = std::fs::read_to_string("prompts/themes.toml").unwrap();
    for id in ["digital_lag", "inactive_liaisons"] {
        let start = text.find(&format!("[[theme]]\nid = \"{id}\"")).unwrap();
        let end = text[start + 1..]
            .find("[[theme]]")
            .map(|e| start + 1 + e)
            .unwrap_or_else(|| text.find("\n[other]\n").unwrap() + 1);
        text.replace_range(start..end, "");
    }
    std::fs::write(&themes, text).unwrap();
    let themes = themes.to_str().unwrap();

    let single = tmp();
    let o = run(
        &["fixtures/reports", "--mode", "fast", "--themes", themes],
        single.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let emerging = json(&single.path().join("digest.json"))["emerging"].clone();
    assert!(
        !emerging.as_array().unwrap().is_empty(),
        "the case needs an emerging problem: {emerging}"
    );

    let shards = tmp();
    // Shard 1 is killed while it works, as a preempted cluster task, then run again.
    let mut child = bin()
        .args([
            "run",
            "fixtures/reports",
            "--mode",
            "fast",
            "--themes",
            themes,
            "--shard",
            "1/3",
            "--out",
        ])
        .arg(shards.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let _ = child.kill();
    let _ = child.wait();
    // The index comes from the cluster's variable, as in a Kubernetes Indexed Job or a Slurm array.
    for (k, var) in [
        (0, "JOB_COMPLETION_INDEX"),
        (1, "SLURM_ARRAY_TASK_ID"),
        (2, "JOB_COMPLETION_INDEX"),
    ] {
        let o = bin()
            .env(var, k.to_string())
            .args([
                "run",
                "fixtures/reports",
                "--mode",
                "fast",
                "--themes",
                themes,
                "--shard",
                "3",
                "--out",
            ])
            .arg(shards.path())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "shard {k}: {}", stderr(&o));
    }
    // The vectors of the shortcomings that fit no theme were embedded by the shards.
    let kept: usize = (0..3)
        .map(|k| {
            std::fs::read_dir(shards.path().join(format!("shard-{k}-of-3/emerging")))
                .map_or(0, |d| d.count())
        })
        .sum();
    assert!(kept >= 2, "{kept} reports' vectors kept by the shards");
    // Every input is in exactly one shard.
    let mut owned = 0;
    for k in 0..3 {
        let record = json(&shards.path().join(format!("shard-{k}-of-3/shard.json")));
        owned += record["statuses"].as_array().unwrap().len();
    }
    assert_eq!(owned, 9, "9 fixture reports over 3 shards");

    let merged = tmp();
    let o = merge_with(&[shards.path()], merged.path(), &["--themes", themes]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_same_digest(single.path(), merged.path());

    // A missing shard: its reports are named, the digest covers the rest, exit 1.
    let partial = tmp();
    let o = merge_with(
        &[
            &shards.path().join("shard-0-of-3"),
            &shards.path().join("shard-2-of-3"),
        ],
        partial.path(),
        &["--themes", themes],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let record = json(&shards.path().join("shard-1-of-3/shard.json"));
    let run_json = json(&partial.path().join("run.json"));
    for s in record["statuses"].as_array().unwrap() {
        let source = s["source"].as_str().unwrap();
        assert!(
            stderr(&o).contains(source),
            "{source} not named: {}",
            stderr(&o)
        );
        let entry = run_json["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["source"] == source)
            .unwrap();
        assert_eq!(entry["status"], "missing");
    }
    let digest = json(&partial.path().join("digest.json"));
    assert_eq!(
        digest["reports"].as_array().unwrap().len(),
        9 - record["statuses"].as_array().unwrap().len()
    );
}

#[test]
fn shards_made_with_another_themes_file_are_refused_naming_the_difference() {
    let shards = tmp();
    let o = run(
        &[
            "fixtures/reports/r01.txt",
            "fixtures/reports/r02.txt",
            "--mode",
            "fast",
            "--shard",
            "0/2",
        ],
        shards.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The other shard with a themes file that differs by one example.
    let themes = shards.path().join("themes.toml");
    let text = std::fs::read_to_string("prompts/themes.toml").unwrap();
    std::fs::write(&themes, format!("{text}\n# edited\n")).unwrap();
    let o = run(
        &[
            "fixtures/reports/r01.txt",
            "fixtures/reports/r02.txt",
            "--mode",
            "fast",
            "--shard",
            "1/2",
            "--themes",
            themes.to_str().unwrap(),
        ],
        shards.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let merged = tmp();
    let o = merge(&[shards.path()], merged.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("themes file"), "{err}");
    assert!(
        err.contains("shard-0-of-2") && err.contains("shard-1-of-2"),
        "{err}"
    );
    assert!(!merged.path().join("digest.json").exists());

    // A shard spec that cannot be used stops at once with the reason.
    let o = run(
        &["fixtures/reports/r01.txt", "--mode", "fast", "--shard", "3"],
        shards.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("JOB_COMPLETION_INDEX"),
        "{}",
        stderr(&o)
    );
    let o = run(
        &[
            "fixtures/reports/r01.txt",
            "--mode",
            "fast",
            "--shard",
            "2/2",
        ],
        shards.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("out of range"), "{}", stderr(&o));
}
