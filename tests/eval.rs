//! `township-digest eval` on hand-made runs built from the gold files themselves
//! (fixtures/gold/*.gold.json with their sources fixtures/reports/rNN.txt), whose scores are known.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use township_digest::eval::{evaluate, EvalReport};
use township_digest::report::{Achievement, Plan, ReportSummary, Shortcoming};

mod common;
use common::{locate, root};

fn gold_dir() -> PathBuf {
    root().join("fixtures/gold")
}

fn golds() -> Vec<Value> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(gold_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".gold.json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 8, "gold fixtures missing: {paths:?}");
    paths
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The report a perfect pipeline would write for this gold file.
fn perfect_report(g: &Value) -> ReportSummary {
    let file = g["file"].as_str().unwrap();
    let source = root().join("fixtures/reports").join(file);
    let bytes = std::fs::read(&source).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let s = |k: &str| g[k].as_str().map(|s| s.to_string());
    ReportSummary {
        id: file.trim_end_matches(".txt").to_string(),
        source: source.display().to_string(),
        sha256: hex::encode(Sha256::digest(&bytes)),
        township: s("township"),
        county: s("county"),
        city: s("city"),
        year: g["year"].as_i64().map(|y| y as i32),
        achievements: g["achievements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let figures = strs(&a["figures"]);
                Achievement {
                    text: a["point"].as_str().unwrap().to_string(),
                    evidence: figures.iter().map(|f| locate(&text, f)).collect(),
                    figures,
                }
            })
            .collect(),
        shortcomings: g["shortcomings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| Shortcoming {
                text: x["point"].as_str().unwrap().to_string(),
                theme: x["theme"].as_str().unwrap().to_string(),
                evidence: vec![locate(&text, x["evidence"].as_str().unwrap())],
            })
            .collect(),
        plans: g["plans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| Plan {
                text: x["point"].as_str().unwrap().to_string(),
                evidence: vec![locate(&text, x["evidence"].as_str().unwrap())],
            })
            .collect(),
        summary: g["summary"].as_str().unwrap().to_string(),
        summary_origin: Default::default(),
        warnings: vec![],
    }
}

/// A run folder as `township-digest run` writes it, made from the gold files.
struct Run {
    _tmp: tempfile::TempDir,
    out: PathBuf,
    reports: Vec<ReportSummary>,
}

impl Run {
    fn perfect() -> Run {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let reports: Vec<ReportSummary> = golds().iter().map(perfect_report).collect();
        let run = Run {
            _tmp: tmp,
            out,
            reports,
        };
        run.write_reports();
        run.write_digest(&golds());
        run
    }

    fn write_reports(&self) {
        let dir = self.out.join("reports");
        std::fs::create_dir_all(&dir).unwrap();
        for r in &self.reports {
            let p = dir.join(format!("{}.json", r.id));
            std::fs::write(p, serde_json::to_vec_pretty(r).unwrap()).unwrap();
        }
    }

    /// digest.json whose themes hold the gold themes of each report.
    fn write_digest(&self, golds: &[Value]) {
        let mut by_theme: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for g in golds {
            let id = g["file"]
                .as_str()
                .unwrap()
                .trim_end_matches(".txt")
                .to_string();
            for s in g["shortcomings"].as_array().unwrap() {
                by_theme
                    .entry(s["theme"].as_str().unwrap().to_string())
                    .or_default()
                    .push(id.clone());
            }
        }
        let themes: Vec<Value> = by_theme
            .iter()
            .map(|(t, rs)| json!({"id": t, "label": t, "reports": rs, "count": rs.len(), "evidence": []}))
            .collect();
        let digest = json!({
            "reports": self.reports.iter().map(|r| json!({"id": r.id, "township": r.township, "county": r.county, "year": r.year})).collect::<Vec<_>>(),
            "themes": themes,
            "emerging": [],
            "duplicates": [],
        });
        std::fs::write(
            self.out.join("digest.json"),
            serde_json::to_vec_pretty(&digest).unwrap(),
        )
        .unwrap();
    }

    fn eval(&self) -> EvalReport {
        evaluate(&gold_dir(), &self.out).unwrap()
    }
}

/// JSON paths whose values differ between two results.
fn changed_paths(a: &EvalReport, b: &EvalReport) -> Vec<String> {
    fn walk(a: &Value, b: &Value, path: String, out: &mut Vec<String>) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    walk(
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                        format!("{path}.{k}"),
                        out,
                    );
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    walk(p, q, format!("{path}[{i}]"), out);
                }
            }
            _ if a != b => out.push(path),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(
        &serde_json::to_value(a).unwrap(),
        &serde_json::to_value(b).unwrap(),
        String::new(),
        &mut out,
    );
    out
}

fn assert_only_changed(paths: &[String], allowed: &[&str]) {
    assert!(!paths.is_empty(), "nothing changed");
    for p in paths {
        assert!(
            allowed.iter().any(|a| p.contains(a)),
            "{p} changed, only {allowed:?} should"
        );
    }
}

fn one(v: Option<f64>, what: &str) {
    assert_eq!(v, Some(1.0), "{what}");
}

#[test]
fn a_run_made_from_the_gold_scores_one_on_every_metric() {
    let e = Run::perfect().eval();
    let o = &e.overall;
    assert_eq!(o.matched, 8);
    assert_eq!(o.gold_files, 8);
    assert!(o.gold_without_report.is_empty() && o.reports_without_gold.is_empty());
    one(o.report_coverage.value, "coverage");
    let td = o.themes_digest.as_ref().unwrap();
    for p in [&o.themes_reports, td] {
        one(p.precision, "theme precision");
        one(p.recall, "theme recall");
        one(p.f1, "theme F1");
    }
    assert_eq!(
        o.themes_reports.tp, 30,
        "30 (report, theme) pairs in the gold matrix"
    );
    one(
        o.shortcoming_recall.as_ref().unwrap().value,
        "shortcoming recall",
    );
    one(
        o.shortcoming_precision.as_ref().unwrap().value,
        "shortcoming precision",
    );
    one(o.figure_recall.value, "figure recall");
    one(o.exact_quotes.as_ref().unwrap().value, "exact quotes");
    assert_eq!(o.fabricated_numbers, Some(0), "{:?}", o.fabricated_examples);
    assert!(
        o.numbers_checked.unwrap() > 50,
        "the gold summaries state many numbers"
    );
    one(o.summary_rouge_l, "rouge-L");
    one(o.township_accuracy.value, "township");
    assert!(o.evidence_not_computable.is_empty());
    for r in &e.reports {
        one(r.themes_reports.f1, &r.id);
        one(r.themes_digest.as_ref().unwrap().f1, &r.id);
        one(r.shortcoming_recall.as_ref().unwrap().value, &r.id);
        one(r.shortcoming_precision.as_ref().unwrap().value, &r.id);
        one(r.figure_recall.value, &r.id);
        one(r.exact_quotes.as_ref().unwrap().value, &r.id);
        assert_eq!(r.fabricated_numbers, Some(0), "{}", r.id);
        one(r.summary_rouge_l, &r.id);
        assert!(r.township_correct, "{}", r.id);
    }
}

#[test]
fn one_wrong_theme_lowers_exactly_the_theme_scores() {
    let mut run = Run::perfect();
    let before = run.eval();
    // r01's gold has no digital_lag; relabel its first shortcoming.
    let r01 = run.reports.iter_mut().find(|r| r.id == "r01").unwrap();
    assert_ne!(r01.shortcomings[0].theme, "digital_lag");
    r01.shortcomings[0].theme = "digital_lag".into();
    run.write_reports();
    let after = run.eval();
    assert_only_changed(&changed_paths(&before, &after), &["themes_reports"]);
    let (b, a) = (
        &before.overall.themes_reports,
        &after.overall.themes_reports,
    );
    assert_eq!((a.tp, a.fp, a.fn_), (b.tp - 1, 1, 1));
    assert!(a.precision < b.precision && a.recall < b.recall && a.f1 < b.f1);
    let r = after.reports.iter().find(|r| r.id == "r01").unwrap();
    assert_eq!(r.themes_reports.precision, Some(0.75));
    assert_eq!(r.themes_reports.recall, Some(0.75));
    // The digest still lists the gold themes: its scores do not move.
    assert_eq!(after.overall.themes_digest, before.overall.themes_digest);
}

#[test]
fn one_wrong_digest_theme_lowers_exactly_the_digest_theme_scores() {
    let run = Run::perfect();
    let before = run.eval();
    let mut golds = golds();
    // The digest lists r02 under coordination_gaps instead of its first gold theme.
    let s = &mut golds[1]["shortcomings"][0];
    s["theme"] = json!("coordination_gaps"); // not a theme of r02
    run.write_digest(&golds);
    let after = run.eval();
    assert_only_changed(&changed_paths(&before, &after), &["themes_digest"]);
    let d = after.overall.themes_digest.as_ref().unwrap();
    assert_eq!((d.fp, d.fn_), (1, 1));
    assert!(d.f1 < Some(1.0));
}

#[test]
fn a_fabricated_number_raises_exactly_the_fabricated_count() {
    let mut run = Run::perfect();
    let before = run.eval();
    let r02 = run.reports.iter_mut().find(|r| r.id == "r02").unwrap();
    let source = std::fs::read_to_string(&r02.source).unwrap();
    assert!(!source.contains("987"));
    r02.achievements[0].text.push_str("，共培训987人次");
    run.write_reports();
    let after = run.eval();
    assert_only_changed(
        &changed_paths(&before, &after),
        &["fabricated", "numbers_checked"],
    );
    assert_eq!(after.overall.fabricated_numbers, Some(1));
    assert_eq!(
        after.overall.numbers_checked,
        before.overall.numbers_checked.map(|n| n + 1)
    );
    let ex = &after.overall.fabricated_examples;
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].report, "r02");
    assert_eq!(ex[0].number, "987");
    assert_eq!(ex[0].field, "achievements[0].text");
}

#[test]
fn a_chinese_numeral_absent_from_the_source_is_fabricated_too() {
    let mut run = Run::perfect();
    let r04 = run.reports.iter_mut().find(|r| r.id == "r04").unwrap();
    let source = std::fs::read_to_string(&r04.source).unwrap();
    assert!(!source.contains("十七") && !source.contains("17"));
    r04.summary.push_str("另开展十七场专题讲座。");
    run.write_reports();
    let after = run.eval();
    assert_eq!(after.overall.fabricated_numbers, Some(1));
    assert_eq!(after.overall.fabricated_examples[0].number, "十七场");
    assert_eq!(after.overall.fabricated_examples[0].field, "summary");
}

#[test]
fn a_shifted_offset_lowers_exactly_the_exact_quote_share() {
    let mut run = Run::perfect();
    let before = run.eval();
    let r03 = run.reports.iter_mut().find(|r| r.id == "r03").unwrap();
    let e = &mut r03.shortcomings[0].evidence[0];
    e.start += 1;
    e.end += 1;
    run.write_reports();
    let after = run.eval();
    assert_only_changed(&changed_paths(&before, &after), &["exact_quotes"]);
    let (b, a) = (
        before.overall.exact_quotes.as_ref().unwrap(),
        after.overall.exact_quotes.as_ref().unwrap(),
    );
    assert_eq!((a.hits, a.total), (b.hits - 1, b.total));
    // The quote is still found in the source, so the shortcoming still counts as found.
    assert_eq!(
        after.overall.shortcoming_recall.as_ref().unwrap().value,
        Some(1.0)
    );
}

#[test]
fn an_unreadable_source_makes_evidence_metrics_not_computable() {
    let mut run = Run::perfect();
    let r05 = run.reports.iter_mut().find(|r| r.id == "r05").unwrap();
    let tmp_src = run.out.join("gone/r05.txt");
    r05.source = tmp_src.display().to_string();
    run.write_reports();
    let e = run.eval();
    let r = e.reports.iter().find(|r| r.id == "r05").unwrap();
    assert_eq!(r.gold_file, "r05.txt", "still matched by file name");
    assert!(r.shortcoming_recall.is_none());
    assert!(r.shortcoming_precision.is_none());
    assert!(r.exact_quotes.is_none());
    assert!(r.fabricated_numbers.is_none());
    assert!(
        r.notes.iter().any(|n| n.contains("gone/r05.txt")),
        "{:?}",
        r.notes
    );
    one(r.figure_recall.value, "figure recall needs no source");
    assert_eq!(e.overall.evidence_not_computable, ["r05"]);
    // the other seven are still scored
    let sr = e.overall.shortcoming_recall.as_ref().unwrap();
    assert_eq!(sr.value, Some(1.0));
    let r05_gold = golds()[4]["shortcomings"].as_array().unwrap().len();
    assert_eq!(sr.total, 30 - r05_gold);
}

#[test]
fn reports_and_gold_files_without_a_partner_are_listed() {
    let run = Run::perfect();
    std::fs::remove_file(run.out.join("reports/r07.json")).unwrap();
    let mut extra = run.reports[0].clone();
    extra.id = "x99".into();
    extra.source = "/elsewhere/x99.txt".into();
    std::fs::write(
        run.out.join("reports/x99.json"),
        serde_json::to_vec(&extra).unwrap(),
    )
    .unwrap();
    let e = run.eval();
    assert_eq!(e.overall.matched, 7);
    assert_eq!(e.overall.gold_without_report, ["r07.txt"]);
    assert_eq!(e.overall.reports_without_gold, ["x99"]);
    assert_eq!(e.overall.report_coverage.value, Some(7.0 / 8.0));
}

fn bin(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_township-digest"))
        .args(args)
        .env("TOWNSHIP_DIGEST_LOG", "error")
        .output()
        .unwrap()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_command_prints_a_table_and_json_and_writes_eval_json() {
    let run = Run::perfect();
    let gold = gold_dir();
    let out = bin(&[
        "eval",
        "--gold",
        path_str(&gold),
        "--out",
        path_str(&run.out),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("OVERALL"), "{stdout}");
    assert!(stdout.contains("r08"), "{stdout}");
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(run.out.join("eval.json")).unwrap()).unwrap();
    assert_eq!(written["overall"]["matched"], 8);
    assert!(written["definitions"]["shortcoming_precision"].is_string());

    let out = bin(&[
        "eval",
        "--gold",
        path_str(&gold),
        "--out",
        path_str(&run.out),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let printed: Value = serde_json::from_slice(&out.stdout).expect("--json prints only JSON");
    assert_eq!(printed, written);
}

#[test]
fn unusable_folders_exit_2_naming_the_folder_or_file() {
    let run = Run::perfect();
    let gold = gold_dir();
    let tmp = tempfile::tempdir().unwrap();

    let missing = tmp.path().join("no-such-run");
    let out = bin(&[
        "eval",
        "--gold",
        path_str(&gold),
        "--out",
        path_str(&missing),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(path_str(&missing)));

    let empty = tmp.path().join("empty-run");
    std::fs::create_dir_all(empty.join("reports")).unwrap();
    let out = bin(&["eval", "--gold", path_str(&gold), "--out", path_str(&empty)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(path_str(&empty)) && err.contains("no reports"),
        "{err}"
    );

    let no_gold = tmp.path().join("no-gold");
    std::fs::create_dir_all(&no_gold).unwrap();
    let out = bin(&[
        "eval",
        "--gold",
        path_str(&no_gold),
        "--out",
        path_str(&run.out),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(path_str(&no_gold)) && err.contains("gold"),
        "{err}"
    );

    let bad = run.out.join("reports/r03.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let out = bin(&[
        "eval",
        "--gold",
        path_str(&gold),
        "--out",
        path_str(&run.out),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(path_str(&bad)) && err.contains("invalid JSON"),
        "{err}"
    );
    assert!(
        !run.out.join("eval.json").exists(),
        "nothing written when nothing was scored"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// Letters and digits of a text, as ROUGE-L counts them.
fn token_count(s: &str) -> usize {
    s.chars().filter(|c| c.is_alphanumeric()).count()
}

#[test]
fn the_flawed_fixture_run_scores_as_documented() {
    // fixtures/eval/README.md lists the flaws and these scores.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("flawed_run");
    copy_dir(&root().join("fixtures/eval/flawed_run"), &out);
    let e = evaluate(&gold_dir(), &out).unwrap();
    let o = &e.overall;
    assert_eq!((o.matched, o.gold_files), (2, 8));
    assert_eq!(o.gold_without_report.len(), 6);
    for p in [&o.themes_reports, o.themes_digest.as_ref().unwrap()] {
        assert_eq!((p.tp, p.fp, p.fn_), (7, 1, 1));
        assert_eq!(
            (p.precision, p.recall, p.f1),
            (Some(0.875), Some(0.875), Some(0.875))
        );
    }
    let r = |x: &Option<township_digest::eval::Ratio>| x.as_ref().map(|x| (x.hits, x.total));
    assert_eq!(r(&o.shortcoming_recall), Some((7, 8)));
    assert_eq!(r(&o.shortcoming_precision), Some((7, 9)));
    assert_eq!((o.figure_recall.hits, o.figure_recall.total), (23, 27));
    assert_eq!(r(&o.exact_quotes), Some((40, 41)));
    assert_eq!(o.fabricated_numbers, Some(1));
    let f = &o.fabricated_examples[0];
    assert_eq!(
        (f.report.as_str(), f.field.as_str(), f.number.as_str()),
        ("r08", "summary", "65")
    );
    assert_eq!(
        (o.township_accuracy.hits, o.township_accuracy.total),
        (1, 2)
    );

    // r01's summary is a prefix of the gold summary: precision 1, recall = its share of the chars.
    let gold01 = &golds()[0];
    let gold_summary = gold01["summary"].as_str().unwrap();
    let prefix = gold_summary.split("存在的问题").next().unwrap();
    let rec = token_count(prefix) as f64 / token_count(gold_summary) as f64;
    let r01 = e.reports.iter().find(|r| r.id == "r01").unwrap();
    let rouge = r01.summary_rouge_l.unwrap();
    assert!(
        (rouge - 2.0 * rec / (1.0 + rec)).abs() < 1e-9,
        "{rouge} vs recall {rec}"
    );
    let r08 = e.reports.iter().find(|r| r.id == "r08").unwrap();
    assert!(r08.summary_rouge_l.unwrap() < 1.0 && r08.summary_rouge_l.unwrap() > 0.9);
    assert!(!r08.township_correct);
}

#[test]
fn a_moved_source_is_read_from_the_gold_folder_when_its_sha256_matches() {
    // ../shared/corpus/dev holds the gold files next to their sources.
    let corpus = root().join("../shared/corpus/dev");
    if !corpus.join("r01.gold.json").exists() {
        eprintln!("skipped: {} not present", corpus.display());
        return;
    }
    let mut run = Run::perfect();
    for r in run.reports.iter_mut() {
        r.source = format!("moved-away/{}.txt", r.id);
    }
    // r02's report was made from different bytes: its gold-folder copy must not be used.
    run.reports[1].sha256 = "0".repeat(64);
    run.write_reports();
    let e = evaluate(&corpus, &run.out).unwrap();
    assert_eq!(e.overall.evidence_not_computable, ["r02"]);
    let r01 = &e.reports[0];
    assert!(r01.source_read.as_deref().unwrap().ends_with("r01.txt"));
    assert!(
        r01.notes.iter().any(|n| n.contains("same sha256")),
        "{:?}",
        r01.notes
    );
    assert_eq!(e.overall.exact_quotes.as_ref().unwrap().value, Some(1.0));
}
