//! Per-report summaries over the dev fixtures with the real models: grounding invariants,
//! gold achievement figures, theme F1 and shortcoming recall against fixtures/gold.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;
use township_digest::document::SourceDocument;
use township_digest::models::StoreOptions;
use township_digest::models::{load_encoder, load_generator, ModelRole, ModelStore};
use township_digest::prompt_files::{PromptFiles, PromptSource};
use township_digest::report::{ReportSummary, OTHER_THEME};
use township_digest::summarise::{
    numbers_absent_from_source, refine_full, summarise_fast, Resources,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn store() -> ModelStore {
    ModelStore::open(&StoreOptions {
        quiet: true,
        dir: std::env::var_os("TOWNSHIP_DIGEST_MODELS").map(Into::into),
        manifest: None,
    })
    .expect("model store")
}

fn setup() -> &'static Resources {
    static S: OnceLock<Resources> = OnceLock::new();
    S.get_or_init(|| {
        let store = store();
        let name = store
            .default_model(ModelRole::Encoder)
            .expect("default encoder");
        let files = store.ensure(&name, false).expect("encoder files");
        let encoder = load_encoder(&files, &Default::default()).expect("encoder");
        let prompt_files = PromptFiles::load(PromptSource::Folder(root().join("prompts")), None)
            .expect("prompt files");
        Resources::load(
            encoder,
            &format!("{}:{:?}", files.name, files.sha256),
            prompt_files.themes,
            prompt_files.templates,
            &prompt_files.problem_sentences,
            Some(&store.dir().join("classifiers")),
        )
        .expect("classifiers")
    })
}

fn run_fast(
    id: &str,
) -> (
    SourceDocument,
    township_digest::structure::ReportStructure,
    ReportSummary,
) {
    let s = setup();
    let path = root().join(format!("fixtures/reports/{id}.txt"));
    let doc = township_digest::read::read_document(&path).expect("readable fixture");
    let st = township_digest::structure::parse(&doc);
    let sum = summarise_fast(id, &doc, &st, &s.ctx()).expect("fast summary");
    (doc, st, sum)
}

fn gold(id: &str) -> serde_json::Value {
    let p = root().join(format!("fixtures/gold/{id}.gold.json"));
    serde_json::from_str(&std::fs::read_to_string(p).expect("gold")).expect("gold json")
}

const DEV: [&str; 8] = ["r01", "r02", "r03", "r04", "r05", "r06", "r07", "r08"];

/// Grounding invariants every summary must hold.
fn assert_grounded(doc: &SourceDocument, sum: &ReportSummary) {
    let evs = sum
        .achievements
        .iter()
        .flat_map(|a| &a.evidence)
        .chain(sum.shortcomings.iter().flat_map(|s| &s.evidence))
        .chain(sum.plans.iter().flat_map(|p| &p.evidence));
    for e in evs {
        assert_eq!(
            doc.slice(e.start, e.end),
            Some(e.quote.as_str()),
            "{}: evidence",
            sum.id
        );
    }
    for a in &sum.achievements {
        for f in &a.figures {
            assert!(doc.text.contains(f.as_str()), "{}: figure {f}", sum.id);
        }
    }
    let texts = sum
        .achievements
        .iter()
        .map(|a| &a.text)
        .chain(sum.shortcomings.iter().map(|s| &s.text))
        .chain(sum.plans.iter().map(|p| &p.text))
        .chain(std::iter::once(&sum.summary));
    for t in texts {
        let absent = numbers_absent_from_source(t, &doc.text);
        assert!(
            absent.is_empty(),
            "{}: `{t}` has numbers {absent:?} absent from the source",
            sum.id
        );
    }
}

fn overlap_chars(a: (usize, usize), b: (usize, usize)) -> usize {
    a.1.min(b.1).saturating_sub(a.0.max(b.0))
}

#[test]
fn fast_mode_over_the_dev_reports_is_grounded_and_matches_gold() {
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    let (mut found, mut total_sc) = (0usize, 0usize);
    let (mut figs_found, mut figs_total) = (0usize, 0usize);
    for id in DEV {
        let (doc, _st, fast) = run_fast(id);
        let sum = fast;
        let g = gold(id);
        assert_grounded(&doc, &sum);
        assert_eq!(
            sum.township.as_deref(),
            g["township"].as_str(),
            "{id}: township"
        );
        assert!(!sum.summary.is_empty(), "{id}: summary");

        let all_figs: Vec<&String> = sum.achievements.iter().flat_map(|a| &a.figures).collect();
        for a in g["achievements"].as_array().into_iter().flatten() {
            for f in a["figures"].as_array().into_iter().flatten() {
                figs_total += 1;
                if all_figs
                    .iter()
                    .any(|x| x.as_str() == f.as_str().unwrap_or(""))
                {
                    figs_found += 1;
                }
            }
        }

        let pred: BTreeSet<&str> = sum
            .shortcomings
            .iter()
            .map(|s| s.theme.as_str())
            .filter(|t| *t != OTHER_THEME)
            .collect();
        let want: BTreeSet<&str> = g["shortcomings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["theme"].as_str())
            .collect();
        tp += pred.intersection(&want).count();
        fp += pred.difference(&want).count();
        fn_ += want.difference(&pred).count();
        eprintln!("{id}: predicted {pred:?}\n      gold      {want:?}");
        for s in &sum.shortcomings {
            eprintln!("      [{}] {}", s.theme, s.text);
        }

        for gs in g["shortcomings"].as_array().into_iter().flatten() {
            total_sc += 1;
            let ev = gs["evidence"].as_str().unwrap_or("");
            let Some(b) = doc.text.find(ev) else { continue };
            let gs_start = doc.text[..b].chars().count();
            let gspan = (gs_start, gs_start + ev.chars().count());
            let glen = gspan.1 - gspan.0;
            if sum.shortcomings.iter().any(|s| {
                s.evidence
                    .iter()
                    .any(|e| 2 * overlap_chars((e.start, e.end), gspan) >= glen)
            }) {
                found += 1;
            } else {
                eprintln!("{id}: missed gold shortcoming {ev}");
            }
        }
        if id == "r08" {
            for praise in [
                "inactive_liaisons",
                "funding_shortage",
                "uneven_outreach",
                "shallow_outreach",
                "cadre_awareness",
            ] {
                assert!(
                    !pred.contains(praise),
                    "r08: false theme {praise} from praise"
                );
            }
        }
    }
    let f1 = 2.0 * tp as f64 / (2 * tp + fp + fn_) as f64;
    let recall = found as f64 / total_sc as f64;
    let fig_recall = figs_found as f64 / figs_total as f64;
    eprintln!("fast mode: theme F1 {f1:.3} (tp {tp} fp {fp} fn {fn_}), shortcoming recall {recall:.3} ({found}/{total_sc}), gold figures {fig_recall:.3} ({figs_found}/{figs_total})");
    assert!(fig_recall >= 0.9, "gold figures found {fig_recall:.3}");
    assert!(recall >= 0.95, "shortcoming recall {recall:.3}");
    assert!(f1 >= 0.85, "theme F1 {f1:.3}");
}

#[test]
fn seed_report_names_its_real_problems() {
    let (doc, st, fast) = run_fast("haizigou_2024");
    let sum = fast;
    assert_grounded(&doc, &sum);
    assert_eq!(st.township.as_deref(), Some("海子沟乡"));
    let themes: BTreeSet<&str> = sum.shortcomings.iter().map(|s| s.theme.as_str()).collect();
    eprintln!("seed: {themes:?}\n{}", sum.summary);
    for t in [
        "uneven_outreach",
        "inactive_liaisons",
        "funding_shortage",
        "shallow_outreach",
    ] {
        assert!(
            themes.contains(t),
            "seed report lacks theme {t}: {themes:?}"
        );
        let label = &setup().themes.get(t).expect("theme").label;
        assert!(
            sum.summary.contains(label.as_str()),
            "seed summary lacks {label}"
        );
    }
}

#[test]
fn full_mode_on_the_seed_and_r08_stays_grounded() {
    let s = setup();
    let store = store();
    let name = store
        .default_model(ModelRole::Generator)
        .expect("default generator");
    let files = store.ensure(&name, false).expect("generator files");
    let mut generator = load_generator(&files, &Default::default()).expect("generator");
    for id in ["haizigou_2024", "r08"] {
        let (doc, st, fast) = run_fast(id);
        let full = refine_full(
            fast.clone(),
            &doc,
            &st,
            &s.themes,
            &s.encoder,
            &mut generator,
            &s.prompts,
        )
        .expect("full summary");

        eprintln!(
            "{id} full summary: {}\nwarnings: {:#?}",
            full.summary, full.warnings
        );
        assert_grounded(&doc, &full);
        assert!(!full.summary.trim().is_empty(), "{id}: summary");
        assert_eq!(full.achievements.len(), fast.achievements.len());
        assert_eq!(full.shortcomings.len(), fast.shortcomings.len());
        assert_eq!(full.township, fast.township);
        if id == "haizigou_2024" {
            // The seed's real problems survive full mode, named in its summary.
            for t in [
                "uneven_outreach",
                "inactive_liaisons",
                "funding_shortage",
                "shallow_outreach",
            ] {
                assert!(
                    full.shortcomings.iter().any(|x| x.theme == t),
                    "full mode lost theme {t}"
                );
                let label = &s.themes.get(t).expect("theme").label;
                assert!(
                    full.summary.contains(label.as_str()),
                    "summary lacks {label}"
                );
            }
        }
        for text in full
            .achievements
            .iter()
            .map(|a| &a.text)
            .chain(full.shortcomings.iter().map(|x| &x.text))
        {
            assert!(!text.contains("**"), "markdown left in {text}");
        }
    }
}

/// A problem a plan answers ("针对……的问题，") and the problems section states it too: one
/// shortcoming, quoted from the problems section. A plan's problem stated nowhere else is kept.
#[test]
fn a_plan_restating_a_stated_problem_is_not_a_second_shortcoming() {
    let text = "桐溪镇2024年法治政府建设情况报告\n一、主要工作\n全年开展普法宣传20场次，覆盖群众3000余人次。\n二、下一步工作\n（一）针对部分村法律明白人有名无实、平时很少参与调解的问题，建立法律明白人积分管理制度。\n（二）针对智慧治理平台使用率不高的问题，分片区组织村干部开展实操培训。\n三、存在的问题\n部分村干部对区智慧治理平台操作不熟悉，线上调解、法律咨询等模块基本处于闲置状态。\n镇综合执法队与区级部门的案件移送机制还不健全，跨部门案件衔接不畅。\n";
    let doc = SourceDocument {
        source: "t.txt".into(),
        sha256: String::new(),
        format: township_digest::document::Format::Txt,
        encoding: None,
        text: text.to_string(),
    };
    let st = township_digest::structure::parse(&doc);
    let sum = summarise_fast("t", &doc, &st, &setup().ctx()).expect("fast summary");
    let of = |theme: &str| -> Vec<&str> {
        sum.shortcomings
            .iter()
            .filter(|s| s.theme == theme)
            .flat_map(|s| s.evidence.iter().map(|e| e.quote.as_str()))
            .collect()
    };
    let platform = of("digital_lag");
    assert_eq!(platform.len(), 1, "{:?}", sum.shortcomings);
    assert!(platform[0].contains("操作不熟悉"), "{platform:?}");
    let liaisons = of("inactive_liaisons");
    assert!(
        liaisons.iter().any(|q| q.contains("有名无实")),
        "{:?}",
        sum.shortcomings
    );
}
