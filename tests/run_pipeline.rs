//! End-to-end: `township-digest run` over the bundled fixtures, scored by `eval` against the
//! gold labels, exactly as a city office and a researcher would use it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_township-digest"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.arg("--quiet");
    c
}

fn project(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn run_mode(mode: &str, out: &Path, extra: &[&str]) -> std::process::Output {
    bin()
        .args(["run", "fixtures/reports", "--mode", mode, "--out"])
        .arg(out)
        .args(extra)
        .output()
        .expect("start township-digest")
}

fn eval(out: &Path) -> serde_json::Value {
    let o = bin()
        .args(["eval", "--json", "--gold"])
        .arg(project("fixtures/gold"))
        .arg("--out")
        .arg(out)
        .output()
        .expect("start eval");
    assert!(
        o.status.success(),
        "eval failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("eval prints JSON")
}

/// The bars of the summaries issue, scored by `eval` against fixtures/gold; the theme F1
/// from the reports must reach `theme_f1` (0.85 fast mode, 0.9 full mode).
fn assert_quality_bar(out: &Path, theme_f1: f64) {
    let m = eval(out);
    println!("{}", serde_json::to_string_pretty(&m["overall"]).unwrap());
    let get = |path: &str| -> f64 {
        m.pointer(path)
            .and_then(|v| v.as_f64())
            .unwrap_or_else(|| panic!("eval has no {path}"))
    };
    assert_eq!(get("/overall/matched"), 8.0);
    assert!(
        get("/overall/themes_reports/f1") >= theme_f1,
        "theme F1 from reports"
    );
    assert!(
        get("/overall/themes_digest/f1") >= 0.9,
        "theme F1 from digest.json"
    );
    assert!(get("/overall/shortcoming_recall/value") >= 0.95);
    assert!(get("/overall/figure_recall/value") >= 0.9);
    assert_eq!(get("/overall/exact_quotes/value"), 1.0);
    assert_eq!(
        get("/overall/fabricated_numbers"),
        0.0,
        "no invented number"
    );
    assert_eq!(get("/overall/township_accuracy/value"), 1.0);
}

fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = ["digest.json", "digest.md", "digest.html", "themes.csv"]
        .iter()
        .map(|n| (n.to_string(), std::fs::read(dir.join(n)).unwrap()))
        .collect();
    let mut reports: Vec<_> = std::fs::read_dir(dir.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    reports.sort();
    for r in reports {
        v.push((
            r.display()
                .to_string()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string(),
            std::fs::read(&r).unwrap(),
        ));
    }
    v
}

#[test]
fn fast_mode_over_the_dev_corpus_meets_the_quality_bar_and_is_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let o = run_mode("fast", a.path(), &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let n = std::fs::read_dir(a.path().join("reports")).unwrap().count();
    assert_eq!(
        n, 9,
        "one reports/<id>.json per input (8 dev reports + the seed)"
    );
    assert_quality_bar(a.path(), 0.85);

    // A second run from scratch is byte-identical; a cached re-run too.
    let b = tempfile::tempdir().unwrap();
    let o = run_mode("fast", b.path(), &["--no-cache"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        files_of(a.path()) == files_of(b.path()),
        "byte-identical outputs"
    );
    let o = run_mode("fast", b.path(), &[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        files_of(a.path()) == files_of(b.path()),
        "byte-identical outputs"
    );
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.path().join("run.json")).unwrap()).unwrap();
    let inputs = run["inputs"].as_array().unwrap();
    assert!(
        inputs.iter().all(|i| i["status"] == "cached"),
        "unchanged reports are not recomputed"
    );
}

#[test]
fn full_mode_over_the_dev_corpus_meets_the_quality_bar() {
    let a = tempfile::tempdir().unwrap();
    let o = run_mode("full", a.path(), &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_quality_bar(a.path(), 0.9);

    // r08 praises its 法律明白人, its funding and its coverage: none of that is a problem.
    let r08: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.path().join("reports/r08.json")).unwrap()).unwrap();
    for s in r08["shortcomings"].as_array().unwrap() {
        let theme = s["theme"].as_str().unwrap();
        assert!(
            !["inactive_liaisons", "funding_shortage", "uneven_outreach"].contains(&theme),
            "false theme {theme} in r08: {s}"
        );
    }
    for entry in std::fs::read_dir(a.path().join("reports")).unwrap() {
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
        let summary = r["summary"].as_str().unwrap();
        assert!(
            summary.chars().count() >= 40,
            "{}: summary {summary}",
            r["id"]
        );
        assert!(
            !summary.contains("**"),
            "{}: markdown in {summary}",
            r["id"]
        );
    }
}

#[test]
fn full_mode_gives_the_same_files_with_one_or_two_generator_instances() {
    let run = |generators: &str, out: &Path| {
        let o = bin()
            .env("TOWNSHIP_DIGEST_GENERATORS", generators)
            .args([
                "run",
                "fixtures/reports/r07.txt",
                "fixtures/reports/r08.txt",
                "--out",
            ])
            .arg(out)
            .output()
            .expect("start township-digest");
        assert_eq!(
            o.status.code(),
            Some(0),
            "stderr: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    run("1", one.path());
    run("2", two.path());
    assert!(
        files_of(one.path()) == files_of(two.path()),
        "the schedule must not change the outputs"
    );
}

/// A scheduled job does not `cd` into the source tree: run from a folder without `prompts/`,
/// the binary uses its built-in copies and says so, with the same reports as in the project.
#[test]
fn run_from_any_folder_uses_the_built_in_prompt_files() {
    let elsewhere = tempfile::tempdir().unwrap();
    let here = tempfile::tempdir().unwrap();
    let report = project("fixtures/reports/r07.txt");
    let o = Command::new(env!("CARGO_BIN_EXE_township-digest"))
        .current_dir(elsewhere.path())
        .args(["--quiet", "run", "--mode", "fast", "--out", "out"])
        .arg(&report)
        .output()
        .expect("start township-digest");
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = elsewhere.path().join("out");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["settings"]["prompts"], "built-in", "{record}");
    let o = run_mode_on(&report, here.path());
    assert_eq!(o.status.code(), Some(0));
    let a = std::fs::read(out.join("reports/r07.json")).unwrap();
    let b = std::fs::read(here.path().join("reports/r07.json")).unwrap();
    assert_eq!(a, b, "built-in prompt files must give what prompts/ gives");
}

fn run_mode_on(report: &Path, out: &Path) -> std::process::Output {
    bin()
        .args(["run", "--mode", "fast", "--out"])
        .arg(out)
        .arg(report)
        .output()
        .expect("start township-digest")
}
