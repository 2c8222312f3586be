//! The digest: given the per-report summaries of the dev corpus (built from the gold labels,
//! every quote located in the report text) and the real default encoder, the digest lists the
//! gold (report, theme) pairs, groups r05 (白泉縣) and r06 (白泉县) as one county, flags a
//! near-duplicate report and nothing else, renders byte-identically twice, and its HTML renders
//! in headless Chromium.

use std::path::{Path, PathBuf};
use township_digest::compare::{compare, CompareInput, Digest};
use township_digest::models::StoreOptions;
use township_digest::models::{load_encoder, Encoder, ModelRole, ModelStore};
use township_digest::render::{render_html, render_markdown, render_themes_csv, write_digest};
use township_digest::report::{Achievement, Evidence, Plan, ReportSummary, Shortcoming};
use township_digest::themes::{Theme, ThemeSet};

mod common;
use common::{locate, root};

fn prompts() -> PathBuf {
    root().join("prompts")
}

fn encoder() -> Encoder {
    let globals = StoreOptions {
        quiet: true,
        dir: None, // $TOWNSHIP_DIGEST_MODELS, else the user's cache folder
        manifest: Some(root().join("models/models.toml")),
    };
    let store = ModelStore::open(&globals).unwrap();
    let name = store.default_model(ModelRole::Encoder).unwrap();
    load_encoder(&store.ensure(&name, false).unwrap(), &Default::default()).unwrap()
}

/// The default themes file when it carries the gold taxonomy, else the taxonomy table of
/// fixtures/gold/README.md (id + Chinese label).
fn themes() -> ThemeSet {
    let gold_ids = gold_theme_ids();
    if let Ok(set) = ThemeSet::load(&prompts().join("themes.toml")) {
        if gold_ids.iter().all(|id| set.get(id).is_some()) {
            return set;
        }
    }
    let readme = std::fs::read_to_string(root().join("fixtures/gold/README.md")).unwrap();
    let start = readme.find("## 问题主题分类").unwrap();
    let mut themes = Vec::new();
    for line in readme[start..].lines().skip(1) {
        if line.starts_with("## ") {
            break;
        }
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        if cols.len() >= 4
            && cols[1].chars().all(|c| c.is_ascii_lowercase() || c == '_')
            && !cols[1].is_empty()
        {
            let label = cols[2].split('：').next().unwrap().to_string();
            themes.push(Theme {
                id: cols[1].to_string(),
                label,
                label_en: cols[3].to_string(),
                description: cols[2].to_string(),
                examples: vec![],
            });
        }
    }
    assert_eq!(themes.len(), 12);
    ThemeSet {
        themes,
        other: Default::default(),
    }
}

fn gold_theme_ids() -> Vec<String> {
    let mut ids = Vec::new();
    for (_, g, _) in gold() {
        for s in g["shortcomings"].as_array().unwrap() {
            let t = s["theme"].as_str().unwrap().to_string();
            if !ids.contains(&t) {
                ids.push(t);
            }
        }
    }
    ids
}

/// (id, gold json, report text) for r01..r08.
fn gold() -> Vec<(String, serde_json::Value, String)> {
    (1..=8)
        .map(|i| {
            let id = format!("r{i:02}");
            let g: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(root().join(format!("fixtures/gold/{id}.gold.json")))
                    .unwrap(),
            )
            .unwrap();
            let text =
                std::fs::read_to_string(root().join(format!("fixtures/reports/{id}.txt"))).unwrap();
            (id, g, text)
        })
        .collect()
}

/// The sentence (between 。！？\n) holding the first occurrence of `needle`.
fn sentence_of(text: &str, needle: &str) -> Evidence {
    let b = text
        .find(needle)
        .unwrap_or_else(|| panic!("not in text: {needle}"));
    let is_stop = |c: char| "。！？\n".contains(c);
    let s = text[..b]
        .rfind(is_stop)
        .map_or(0, |p| p + text[p..].chars().next().unwrap().len_utf8());
    let e = text[b..].find(is_stop).map_or(text.len(), |p| {
        b + p + text[b + p..].chars().next().unwrap().len_utf8()
    });
    locate(text, text[s..e].trim_end_matches('\n'))
}

fn summary_from_gold(id: &str, g: &serde_json::Value, text: &str) -> ReportSummary {
    let s = |v: &serde_json::Value| v.as_str().map(str::to_string);
    ReportSummary {
        id: id.to_string(),
        source: format!("fixtures/reports/{id}.txt"),
        sha256: String::new(),
        township: s(&g["township"]),
        county: s(&g["county"]),
        city: s(&g["city"]),
        year: g["year"].as_i64().map(|y| y as i32),
        achievements: g["achievements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let figures: Vec<String> = a["figures"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f.as_str().unwrap().to_string())
                    .collect();
                let mut evidence: Vec<Evidence> = Vec::new();
                for f in &figures {
                    let e = sentence_of(text, f);
                    if !evidence.contains(&e) {
                        evidence.push(e);
                    }
                }
                Achievement {
                    text: a["point"].as_str().unwrap().to_string(),
                    figures,
                    evidence,
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
                evidence: vec![locate(text, x["evidence"].as_str().unwrap())],
            })
            .collect(),
        plans: g["plans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| Plan {
                text: x["point"].as_str().unwrap().to_string(),
                evidence: vec![locate(text, x["evidence"].as_str().unwrap())],
            })
            .collect(),
        summary: g["summary"].as_str().unwrap_or("").to_string(),
        summary_origin: Default::default(),
        warnings: vec![],
    }
}

fn corpus() -> (Vec<ReportSummary>, Vec<String>) {
    let mut summaries = Vec::new();
    let mut texts = Vec::new();
    for (id, g, text) in gold() {
        summaries.push(summary_from_gold(&id, &g, &text));
        texts.push(text);
    }
    (summaries, texts)
}

fn run_compare(
    summaries: &[ReportSummary],
    texts: &[String],
    themes: &ThemeSet,
    enc: &Encoder,
) -> Digest {
    let comparable: Vec<String> = texts
        .iter()
        .map(|t| township_digest::compare::duplicates::comparable_text(t))
        .collect();
    let vectors: Vec<Vec<Vec<f32>>> = summaries
        .iter()
        .map(|s| township_digest::compare::emerging::embed_other_quotes(enc, s).unwrap())
        .collect();
    let inputs: Vec<CompareInput> = summaries
        .iter()
        .zip(&comparable)
        .zip(&vectors)
        .map(|((summary, comparable), other_vectors)| CompareInput {
            summary,
            comparable,
            other_vectors,
        })
        .collect();
    let files = township_digest::prompt_files::PromptFiles::load(
        township_digest::prompt_files::PromptSource::Folder(prompts()),
        None,
    )
    .unwrap();
    compare(
        &inputs,
        themes,
        None,
        &files.label_template,
        &files.indicators,
    )
    .unwrap()
}

/// A near-duplicate of r03: the township renamed and every digit changed.
fn forged_copy(summaries: &[ReportSummary], texts: &[String]) -> (ReportSummary, String) {
    let (src, text) = (&summaries[2], &texts[2]);
    let old = src.township.clone().unwrap();
    let shift = |s: &str| -> String {
        s.replace(&old, "石门乡")
            .chars()
            .map(|c| {
                c.to_digit(10)
                    .map_or(c, |d| char::from_digit((d + 3) % 10, 10).unwrap())
            })
            .collect()
    };
    let forged_text = shift(text);
    let mut forged = src.clone();
    forged.id = "r09".into();
    forged.township = Some("石门乡".into());
    forged.source = "forged/r09.txt".into();
    for a in &mut forged.achievements {
        a.figures = a.figures.iter().map(|f| shift(f)).collect();
        for e in &mut a.evidence {
            e.quote = shift(&e.quote);
        }
    }
    (forged, forged_text)
}

#[test]
fn digest_of_the_dev_corpus_matches_gold_groups_counties_and_flags_only_the_forged_copy() {
    let themes = themes();
    let enc = encoder();
    let (mut summaries, mut texts) = corpus();

    let digest = run_compare(&summaries, &texts, &themes, &enc);

    // (report, theme) pairs equal the gold matrix.
    let mut got: Vec<(String, String)> = digest
        .themes
        .iter()
        .flat_map(|t| t.reports.iter().map(move |r| (r.clone(), t.id.clone())))
        .collect();
    let mut want: Vec<(String, String)> = summaries
        .iter()
        .flat_map(|s| {
            s.shortcomings
                .iter()
                .map(move |x| (s.id.clone(), x.theme.clone()))
        })
        .collect();
    got.sort();
    want.sort();
    want.dedup();
    assert_eq!(got, want);
    // Most reports first; counts match; one quote per report, each a quote of that report.
    assert!(digest.themes.windows(2).all(|w| w[0].count >= w[1].count));
    assert_eq!(digest.themes[0].id, "uneven_outreach");
    assert_eq!(digest.themes[0].count, 5);
    for t in &digest.themes {
        assert_eq!(t.count, t.reports.len());
        assert_eq!(t.evidence.len(), t.count);
        for e in &t.evidence {
            let i = summaries.iter().position(|s| s.id == e.report).unwrap();
            assert!(texts[i].contains(&e.quote), "{}: {}", e.report, e.quote);
        }
    }
    assert!(digest.emerging.is_empty(), "{:?}", digest.emerging);

    // r05 白泉縣 and r06 白泉县 are one county, shown in simplified characters; 4 counties.
    let baiquan: Vec<_> = digest
        .counties
        .iter()
        .filter(|g| g.county.as_deref() == Some("白泉县"))
        .collect();
    assert_eq!(baiquan.len(), 1, "{:?}", digest.counties);
    assert_eq!(baiquan[0].reports, vec!["r05", "r06"]);
    assert_eq!(digest.counties.len(), 4, "{:?}", digest.counties);
    assert!(digest
        .counties
        .iter()
        .all(|g| g.city.as_deref() == Some("青岚市")));

    // No pair of the genuine corpus is flagged.
    assert!(digest.duplicates.is_empty(), "{:?}", digest.duplicates);

    // Figures table: every cell is one of that report's figures, inside its quote, in the text.
    assert_eq!(digest.figures.rows.len(), 8);
    let mut filled = 0;
    for (row, (s, text)) in digest.figures.rows.iter().zip(summaries.iter().zip(&texts)) {
        assert_eq!(row.report, s.id);
        for c in row.cells.iter().flatten() {
            filled += 1;
            assert!(
                s.achievements.iter().any(|a| a.figures.contains(&c.figure)),
                "{}: {}",
                s.id,
                c.figure
            );
            assert!(c.quote.contains(&c.figure) && text.contains(&c.quote));
        }
    }
    let col = |id: &str| {
        digest
            .figures
            .indicators
            .iter()
            .position(|c| c.id == id)
            .unwrap()
    };
    let cell = |r: usize, id: &str| {
        digest.figures.rows[r].cells[col(id)]
            .as_ref()
            .map(|c| c.figure.as_str())
    };
    assert_eq!(cell(4, "people_reached"), Some("2900餘人次"));
    assert_eq!(cell(4, "materials"), Some("2600餘冊"));
    assert_eq!(cell(4, "legal_liaisons"), Some("55名"));
    assert_eq!(cell(4, "mediation_rate"), Some("95.7%"));
    assert_eq!(cell(4, "disputes_mediated"), Some("47起"));
    assert!(filled >= 30, "only {filled} figure cells filled");
    eprintln!(
        "figure cells filled: {filled} of {}",
        8 * digest.figures.indicators.len()
    );

    // A forged copy of r03 (township renamed, digits changed) is flagged against r03 only.
    let (forged, forged_text) = forged_copy(&summaries, &texts);
    summaries.push(forged);
    texts.push(forged_text);
    let digest = run_compare(&summaries, &texts, &themes, &enc);
    assert_eq!(digest.duplicates.len(), 1, "{:?}", digest.duplicates);
    let d = &digest.duplicates[0];
    assert_eq!((d.a.as_str(), d.b.as_str()), ("r03", "r09"));
    eprintln!("forged copy of r03 vs r03: similarity {:.2}", d.similarity);
    assert!(d.similarity > 0.9, "{}", d.similarity);
    assert!(digest
        .warnings
        .iter()
        .any(|w| w.contains("r03") && w.contains("r09")));
    let html = render_html(&digest, &summaries, &themes);
    assert!(html.contains("相似度"));
}

#[test]
fn genuine_reports_share_boilerplate_but_stay_far_below_the_duplicate_threshold() {
    use township_digest::compare::duplicates::{similarity, DEFAULT_THRESHOLD};
    let (_, texts) = corpus();
    let mut max: f64 = 0.0;
    for i in 0..texts.len() {
        for j in i + 1..texts.len() {
            max = max.max(similarity(&texts[i], &texts[j]));
        }
    }
    eprintln!("highest similarity between different dev reports: {max:.3}");
    assert!(max < DEFAULT_THRESHOLD / 2.0, "{max}");
}

#[test]
fn shortcomings_outside_a_users_themes_file_become_emerging_problems() {
    // A themes file without `digital_lag`: r05's and r08's digital-platform shortcomings are
    // `other` now and must come back as one emerging problem shared by both reports.
    let mut themes = themes();
    themes.themes.retain(|t| t.id != "digital_lag");
    let enc = encoder();
    let (mut summaries, texts) = corpus();
    for s in &mut summaries {
        for x in &mut s.shortcomings {
            if x.theme == "digital_lag" {
                x.theme = "other".into();
            }
        }
    }
    let digest = run_compare(&summaries, &texts, &themes, &enc);
    assert!(digest
        .themes
        .iter()
        .all(|t| t.id != "digital_lag" && t.id != "other"));
    assert_eq!(digest.emerging.len(), 1, "{:#?}", digest.emerging);
    let e = &digest.emerging[0];
    assert_eq!(e.reports, vec!["r05", "r08"]);
    // Fast mode: the label is the most central quote, one of the evidence quotes.
    assert!(e.evidence.iter().any(|q| q.quote == e.label), "{}", e.label);
}

#[test]
fn renders_are_deterministic_and_the_csv_is_the_theme_matrix() {
    let themes = themes();
    let enc = encoder();
    let (summaries, texts) = corpus();
    let d1 = run_compare(&summaries, &texts, &themes, &enc);
    let d2 = run_compare(&summaries, &texts, &themes, &enc);
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    write_digest(a.path(), &d1, &summaries, &themes).unwrap();
    write_digest(b.path(), &d2, &summaries, &themes).unwrap();
    for f in ["digest.json", "themes.csv", "digest.md", "digest.html"] {
        let x = std::fs::read(a.path().join(f)).unwrap();
        assert!(!x.is_empty(), "{f}");
        assert_eq!(
            x,
            std::fs::read(b.path().join(f)).unwrap(),
            "{f} differs between runs"
        );
    }
    // digest.json: contract fields first, in contract order.
    let json = std::fs::read_to_string(a.path().join("digest.json")).unwrap();
    let pos: Vec<usize> = [
        "\"reports\"",
        "\"themes\"",
        "\"emerging\"",
        "\"duplicates\"",
    ]
    .iter()
    .map(|k| json.find(k).unwrap())
    .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]));
    let back: Digest = serde_json::from_str(&json).unwrap();
    assert_eq!(back, d1);

    let csv = render_themes_csv(&d1, &summaries, &themes);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        format!("township,county,{}", themes.ids().join(","))
    );
    assert_eq!(lines.len(), 9);
    assert!(
        lines[1].starts_with("高岭乡,松河县,1,1,1,1,0"),
        "{}",
        lines[1]
    );
    assert!(lines[5].starts_with("黃渠鄉,白泉縣,"), "{}", lines[5]);

    let md = render_markdown(&d1, &summaries, &themes);
    assert!(md.contains("## 问题热力图") && md.contains("白泉县") && md.contains("2900餘人次"));
    let html = render_html(&d1, &summaries, &themes);
    // Self-contained: no script, nothing fetched (the SVG namespace URI is not a fetch).
    assert!(!html.contains("<script") && !html.contains("@import") && !html.contains("url("));
    assert!(!html.contains("src=") && !html.contains("href=\"http") && !html.contains("<link"));
    assert!(html.contains("@media print"));
    assert_eq!(
        html.matches("class=\"cell").count(),
        8 * themes.themes.len()
    );
}

#[test]
fn html_is_escaped() {
    let themes = themes();
    let enc = encoder();
    let (mut summaries, texts) = corpus();
    summaries[0].summary = "<script>alert(1)</script> & \"x\"".into();
    summaries[0].township = Some("高岭<乡>".into());
    let d = run_compare(&summaries, &texts, &themes, &enc);
    let html = render_html(&d, &summaries, &themes);
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;"));
    assert!(html.contains("高岭&lt;乡&gt;") && !html.contains("高岭<乡>"));
}

fn chromium() -> Option<PathBuf> {
    let p = Path::new("/usr/bin/chromium");
    if p.exists() {
        return Some(p.to_path_buf());
    }
    if std::env::var_os("CI").is_some() {
        panic!("/usr/bin/chromium is missing and CI is set: the HTML screenshot test must run");
    }
    eprintln!("SKIP: /usr/bin/chromium not found (install Debian's chromium package)");
    None
}

fn chromium_cmd(bin: &Path, profile: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn digest_html_renders_in_headless_chromium() {
    let Some(bin) = chromium() else { return };
    let themes = themes();
    let enc = encoder();
    let (summaries, texts) = corpus();
    let digest = run_compare(&summaries, &texts, &themes, &enc);
    let out = match std::env::var_os("DIGEST_SHOT_DIR") {
        Some(d) => PathBuf::from(d), // keep the files to look at them
        None => tempfile::tempdir().unwrap().keep(),
    };
    write_digest(&out, &digest, &summaries, &themes).unwrap();
    let page = format!("file://{}", out.join("digest.html").display());
    let profile = tempfile::tempdir().unwrap();
    let shot = out.join("shot.png");

    let status = chromium_cmd(&bin, profile.path())
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,2000")
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let bytes = std::fs::read(&shot).unwrap();
    assert!(
        bytes.len() > 20_000,
        "screenshot only {} bytes",
        bytes.len()
    );
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1280, 2000));
    let px = &buf[..info.buffer_size()];
    let step = info.line_size / info.width as usize;
    let first = &px[..step];
    let differing = px.chunks(step).filter(|p| p != &first).count();
    let total = px.len() / step;
    eprintln!(
        "screenshot {}: {differing} of {total} pixels differ from the first",
        shot.display()
    );
    assert!(
        differing * 20 > total,
        "page looks blank: {differing} of {total} pixels differ"
    );
    // The accent colour of the heatmap cells is on screen.
    let red = px
        .chunks(step)
        .filter(|p| p[0] == 0xc0 && p[1] == 0x39 && p[2] == 0x2b)
        .count();
    assert!(red > 1000, "heatmap colour seen on {red} pixels");

    let dom = chromium_cmd(&bin, profile.path())
        .arg("--dump-dom")
        .arg(&page)
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    let cells = dom.matches("class=\"cell").count();
    assert_eq!(cells, 8 * themes.themes.len(), "heatmap cells in the DOM");
    assert!(
        dom.contains("data-township=\"黃渠鄉\"") && dom.contains("data-theme=\"uneven_outreach\"")
    );
}

/// A province-sized batch: 64 reports (each dev report and 7 re-submissions of it under other
/// townships' names). The digest groups the copies (8 groups of 8), draws the heatmap as
/// county × theme shares with each county's townships behind a collapsed `<details>`, and
/// stays script-free.
#[test]
fn a_batch_of_more_than_60_townships_is_shown_by_county_with_copies_grouped() {
    let themes = themes();
    let enc = encoder();
    let (base, base_texts) = corpus();
    let mut summaries = Vec::new();
    let mut texts = Vec::new();
    for k in 0..8 {
        for (s, t) in base.iter().zip(&base_texts) {
            let mut s = s.clone();
            if k > 0 {
                s.id = format!("{}-{k}", s.id);
                s.township = s.township.as_ref().map(|t| format!("第{k}{t}"));
            }
            summaries.push(s);
            texts.push(t.clone());
        }
    }
    assert!(summaries.len() > township_digest::render::heatmap::LARGE_ROWS);
    let d = run_compare(&summaries, &texts, &themes, &enc);
    // The forged-copy-free dev corpus has no near-duplicates, so each group is one report's
    // 8 submissions, all identical.
    assert_eq!(d.duplicate_clusters.len(), 8, "{:?}", d.duplicate_clusters);
    for c in &d.duplicate_clusters {
        assert_eq!(c.reports.len(), 8);
        assert_eq!(c.pairs, 28);
        assert_eq!(c.min_similarity, 1.0);
    }
    let html = render_html(&d, &summaries, &themes);
    assert!(
        html.contains("问题热力图（县区 × 问题主题"),
        "county heatmap heading"
    );
    assert!(html.contains("class=\"heatmap counties\""));
    // No township row in the county heatmap; each county's townships in a collapsed section.
    assert_eq!(html.matches("class=\"cell").count(), 0);
    let counties: std::collections::BTreeSet<String> =
        d.counties.iter().filter_map(|g| g.county.clone()).collect();
    assert!(counties.len() >= 3, "{counties:?}");
    for c in &counties {
        assert!(
            html.contains(&format!("<details class=\"county\"><summary>{c}")),
            "county {c} has no collapsed township table"
        );
    }
    assert!(
        html.contains("这8份报告文字重合度"),
        "copies shown as groups"
    );
    assert!(!html.contains("<script") && !html.contains("url("));
    // Markdown says the same: groups, not 224 pairs one by one.
    let md = render_markdown(&d, &summaries, &themes);
    assert!(md.contains("这8份报告文字重合度"));
}
