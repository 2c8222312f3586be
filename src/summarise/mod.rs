//! Per-report summaries (`reports/<id>.json`): fast mode (encoder only, extractive) and full
//! mode (generator rewrites texts and the summary, every generated sentence checked).

pub mod full;
pub mod grounding;

pub use full::refine_full;
pub use grounding::numbers_absent_from_source;

use crate::document::SourceDocument;
use crate::models::encoder::{cosine, EmbedKind, Encoder};
use crate::normalize::NormalizedText;
use crate::report::{Achievement, Evidence, Plan, ReportSummary, Shortcoming, OTHER_THEME};
use crate::structure::{ReportStructure, Role, Sentence};
use crate::themes::ThemeSet;
use anyhow::{Context, Result};
use once_cell::sync::Lazy;
use regex::Regex;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// Template files read from the prompts directory.
pub const TEMPLATE_FILES: &[&str] = &[
    "summary_fast.txt",
    "achievements.txt",
    "shortcomings.txt",
    "summary.txt",
    "theme_choice.txt",
];

/// The prompt templates (user-editable files in `prompts/`).
#[derive(Debug, Clone)]
pub struct Prompts {
    templates: BTreeMap<String, String>,
}

impl Prompts {
    pub fn load(dir: &Path) -> Result<Prompts> {
        let mut templates = BTreeMap::new();
        for name in TEMPLATE_FILES {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read prompt template {}", path.display()))?;
            if text.trim().is_empty() {
                anyhow::bail!("prompt template {} is empty", path.display());
            }
            templates.insert(name.to_string(), text);
        }
        Ok(Prompts { templates })
    }

    /// sha256 of all template bytes (names and contents, in name order).
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for (name, text) in &self.templates {
            h.update(name.as_bytes());
            h.update([0u8]);
            h.update(text.as_bytes());
            h.update([0u8]);
        }
        hex::encode(h.finalize())
    }

    pub fn template(&self, name: &str) -> &str {
        self.templates.get(name).map(String::as_str).unwrap_or("")
    }

    /// Fill `{key}` placeholders.
    pub fn render(&self, name: &str, vars: &[(&str, &str)]) -> String {
        let mut out = self.template(name).trim().to_string();
        for (k, v) in vars {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        out
    }
}

/// Theme embeddings (label, description, each example), built once per run.
pub struct ThemeIndex {
    /// (theme index, embedding).
    vectors: Vec<(usize, Vec<f32>)>,
    n_themes: usize,
}

/// Minimum best max-sim for a theme to be assigned (else `other`).
pub const THEME_MIN_SCORE: f32 = 0.80;
/// Below this margin over the runner-up, a match is ambiguous (full mode may settle it).
pub const THEME_MARGIN: f32 = 0.015;

impl ThemeIndex {
    pub fn build(themes: &ThemeSet, encoder: &Encoder) -> Result<ThemeIndex> {
        let mut texts: Vec<(usize, String)> = Vec::new();
        for (i, t) in themes.themes.iter().enumerate() {
            texts.push((i, t.label.clone()));
            if !t.description.trim().is_empty() {
                texts.push((i, t.description.clone()));
            }
            for e in &t.examples {
                texts.push((i, e.clone()));
            }
        }
        let refs: Vec<&str> = texts.iter().map(|(_, t)| t.as_str()).collect();
        let embs = encoder.embed(&refs, EmbedKind::Query)?;
        Ok(ThemeIndex {
            vectors: texts.into_iter().map(|(i, _)| i).zip(embs).collect(),
            n_themes: themes.themes.len(),
        })
    }

    /// Per-theme score: the max cosine over the theme's vectors.
    pub fn scores(&self, v: &[f32]) -> Vec<f32> {
        let mut s = vec![f32::MIN; self.n_themes];
        for (i, e) in &self.vectors {
            let c = cosine(v, e);
            if c > s[*i] {
                s[*i] = c;
            }
        }
        s
    }

    /// The theme match of an item given the embeddings of its parts (e.g. its heading phrase
    /// and its whole text): per-theme max-sim scores averaged over the parts.
    pub fn classify(&self, parts: &[&[f32]]) -> ThemeMatch {
        let mut s = vec![0f32; self.n_themes];
        for v in parts {
            for (acc, x) in s.iter_mut().zip(self.scores(v)) {
                *acc += x / parts.len().max(1) as f32;
            }
        }
        let mut idx: Vec<usize> = (0..s.len()).collect();
        idx.sort_by(|a, b| s[*b].total_cmp(&s[*a]));
        let best = idx.first().copied();
        let b = best.map(|i| s[i]).unwrap_or(0.0);
        let second = idx.get(1).map(|&i| s[i]).unwrap_or(0.0);
        ThemeMatch {
            theme: if b >= THEME_MIN_SCORE { best } else { None },
            runner_up: idx.get(1).copied().filter(|_| second >= THEME_MIN_SCORE),
            score: b,
            margin: b - second,
        }
    }
}

/// How a shortcoming matched the themes file: the best theme (None: `other`), the runner-up
/// when it also clears [`THEME_MIN_SCORE`], the best score and its margin over the runner-up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThemeMatch {
    pub theme: Option<usize>,
    pub runner_up: Option<usize>,
    pub score: f32,
    pub margin: f32,
}

impl ThemeMatch {
    /// Two themes fit almost equally well: the encoder alone should not decide.
    pub fn is_ambiguous(&self) -> bool {
        self.theme.is_some() && self.runner_up.is_some() && self.margin < THEME_MARGIN
    }
}

pub(crate) static ITEM_MARKER: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"^\s*(?:[一二三四五六七八九十]+是|[（(][一二三四五六七八九十0-9]+[）)]|[0-9]+[.．、]|[一二三四五六七八九十]+、|第[一二三四五六七八九十]+[，,、])")
        .unwrap_or_else(|e| panic!("static regex: {e}"))
});
static INLINE_MARKER: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?:[一二三四五六七八九十]+是|[（(][0-9一二三四五六七八九十]+[）)]|\b[0-9][.．、])")
        .unwrap_or_else(|e| panic!("static regex: {e}"))
});
static LEAD_IN: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?:存在|还有|面临|仍有)[^。；]{0,12}(?:问题|不足|薄弱环节|短板|差距|困难)[^，。；]{0,8}[：:。]?\s*$|(?:以下|如下)[^，。；]{0,10}[：:。]?\s*$|^[^，。；]{0,20}[：:]\s*$")
        .unwrap_or_else(|e| panic!("static regex: {e}"))
});

/// A clause: exact source char span plus its normalised text.
#[derive(Debug, Clone)]
pub(crate) struct Clause {
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub lead_in: bool,
}

fn trim_span(chars: &[char], mut s: usize, mut e: usize) -> (usize, usize) {
    let junk = |c: char| c.is_whitespace() || "，,；;。：:、".contains(c);
    while s < e && junk(chars[s]) {
        s += 1;
    }
    while e > s && junk(chars[e - 1]) {
        e -= 1;
    }
    (s, e)
}

/// Split a sentence's source span into problem clauses: at `；`, `。`, `：` and at inline
/// item markers (一是/二是, (1)). A clause ended by a colon is a lead-in.
pub(crate) fn clauses(doc_chars: &[char], s: &Sentence) -> Vec<Clause> {
    let end = s.end.min(doc_chars.len());
    let start = s.start.min(end);
    let seg: String = doc_chars[start..end].iter().collect();
    // inline marker positions (char offsets)
    let mut marker_at = std::collections::BTreeSet::new();
    for m in INLINE_MARKER.find_iter(&seg) {
        let pos = start + seg[..m.start()].chars().count();
        marker_at.insert(pos);
    }
    let mut s0 = start;
    let mut i = start;
    let mut out = Vec::new();
    let push = |a: usize, b: usize, colon: bool, out: &mut Vec<Clause>| {
        let (a, b) = trim_span(doc_chars, a, b);
        if b > a {
            let raw: String = doc_chars[a..b].iter().collect();
            let text = NormalizedText::new(&raw).text.trim().to_string();
            if !text.is_empty() {
                out.push(Clause {
                    start: a,
                    end: b,
                    text,
                    lead_in: colon,
                });
            }
        }
    };
    while i < end {
        let c = doc_chars[i];
        if marker_at.contains(&i) && i > s0 {
            push(s0, i, false, &mut out);
            s0 = i;
        }
        if matches!(c, '；' | ';' | '。' | '：' | ':') {
            push(s0, i + 1, matches!(c, '：' | ':'), &mut out);
            s0 = i + 1;
        }
        i += 1;
    }
    push(s0, end, false, &mut out);
    for c in &mut out {
        // A long sentence is a lead-in only when it concedes first ("虽然我乡……，但……仍存在若干
        // 问题亟待解决。"): it introduces the problems and states none itself.
        let concessive = ["虽然", "尽管", "虽"].iter().any(|w| c.text.starts_with(w));
        if !c.lead_in && LEAD_IN.is_match(&c.text) && (c.text.chars().count() < 60 || concessive) {
            c.lead_in = true;
        }
        // strip item markers from the text
        let t = ITEM_MARKER.replace(&c.text, "").trim().to_string();
        if !t.is_empty() {
            c.text = t;
        }
    }
    out
}

fn is_heading(s: &Sentence) -> bool {
    let t = s.text.trim();
    let n = t.chars().count();
    // "（一）健全制度体系，夯实法治建设根基": a numbered line without a full stop is a heading
    // even with a comma in it; its body paragraph belongs to the same item.
    !t.contains('。') && ((!t.contains('，') && n <= 30) || (ITEM_MARKER.is_match(t) && n <= 40))
}

fn evidence(doc: &SourceDocument, start: usize, end: usize) -> Option<Evidence> {
    doc.slice(start, end).map(|q| Evidence {
        quote: q.to_string(),
        start,
        end,
    })
}

/// Leading clause of a sentence, without item markers, at most ~50 chars (cut at a clause end).
fn leading_clause(text: &str) -> String {
    let t = ITEM_MARKER.replace(text.trim(), "").trim().to_string();
    let chars: Vec<char> = t.chars().collect();
    let mut cut = chars.len();
    for (i, c) in chars.iter().enumerate() {
        if "。；;".contains(*c) || (i >= 6 && "，,：:".contains(*c) && i <= 50) {
            cut = i;
            break;
        }
    }
    if cut > 60 {
        cut = 60;
    }
    chars[..cut].iter().collect::<String>().trim().to_string()
}

/// Drop numbers the source lacks (should not happen for extractive text; belt and braces).
fn grounded_or(text: String, source: &str, fallback: &str, warnings: &mut Vec<String>) -> String {
    if numbers_absent_from_source(&text, source).is_empty() {
        text
    } else {
        warnings.push(format!(
            "text `{text}` has numbers absent from the source; replaced"
        ));
        fallback.to_string()
    }
}

/// Group achievement sentences into items (一是/（一）/1. markers or paragraph starts).
fn achievement_items(structure: &ReportStructure) -> Vec<Vec<usize>> {
    let mut items: Vec<Vec<usize>> = Vec::new();
    let mut last_para = usize::MAX;
    for (i, s) in structure.sentences.iter().enumerate() {
        if s.role != Role::Achievements {
            last_para = usize::MAX;
            continue;
        }
        let starts = ITEM_MARKER.is_match(&s.text) || s.paragraph != last_para;
        let heading = is_heading(s);
        if heading {
            // A heading starts a new item whose lead is the heading itself.
            items.push(vec![i]);
        } else if starts {
            // A non-marked new paragraph right after a lone heading belongs to it.
            match items.last_mut() {
                Some(it)
                    if it.len() == 1
                        && is_heading(&structure.sentences[it[0]])
                        && !ITEM_MARKER.is_match(&s.text) =>
                {
                    it.push(i)
                }
                _ => items.push(vec![i]),
            }
        } else if let Some(it) = items.last_mut() {
            it.push(i);
        } else {
            items.push(vec![i]);
        }
        last_para = s.paragraph;
    }
    // Items that are only a top-level heading with nothing under them carry no work point.
    items.retain(|it| !(it.len() == 1 && is_heading(&structure.sentences[it[0]])));
    items
}

fn summarise_achievements(
    doc: &SourceDocument,
    structure: &ReportStructure,
    warnings: &mut Vec<String>,
) -> Vec<Achievement> {
    let mut out = Vec::new();
    for item in achievement_items(structure) {
        let lead = &structure.sentences[item[0]];
        let figs: Vec<&crate::structure::Figure> = structure
            .figures
            .iter()
            .filter(|f| item.contains(&f.sentence))
            .collect();
        let lead_text = if is_heading(lead) && item.len() > 1 {
            ITEM_MARKER.replace(lead.text.trim(), "").trim().to_string()
        } else {
            leading_clause(&lead.text)
        };
        if lead_text.is_empty() {
            continue;
        }
        let text = grounded_or(
            lead_text.clone(),
            &doc.text,
            doc.slice(lead.start, lead.end).unwrap_or(""),
            warnings,
        );
        let mut ev_sents: Vec<usize> = figs.iter().map(|f| f.sentence).collect();
        ev_sents.dedup();
        if ev_sents.is_empty() {
            ev_sents.push(
                *item
                    .iter()
                    .find(|&&i| !is_heading(&structure.sentences[i]))
                    .unwrap_or(&item[0]),
            );
        }
        let evidence: Vec<Evidence> = ev_sents
            .iter()
            .filter_map(|&i| {
                evidence(
                    doc,
                    structure.sentences[i].start,
                    structure.sentences[i].end,
                )
            })
            .collect();
        let mut figures: Vec<String> = Vec::new();
        for f in figs {
            if !figures.contains(&f.text) {
                figures.push(f.text.clone());
            }
        }
        out.push(Achievement {
            text,
            figures,
            evidence,
        });
    }
    out
}

/// A problem or plan item: consecutive clauses under one item marker (一是, (一), 1.), or one
/// sentence when its paragraph has no markers.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub start: usize,
    pub end: usize,
    /// Normalised text of the lead clause (the item's heading phrase).
    pub lead: String,
    /// Normalised text of the whole item.
    pub text: String,
}

/// Items of sentences with a given role; lead-ins and headings dropped.
pub(crate) fn role_items(
    doc: &SourceDocument,
    structure: &ReportStructure,
    role: Role,
) -> Vec<Item> {
    let chars: Vec<char> = doc.text.chars().collect();
    // (paragraph, clause, starts with a marker)
    let mut cls: Vec<(usize, Clause, bool)> = Vec::new();
    for s in structure.with_role(role) {
        if is_heading(s) {
            continue;
        }
        for c in clauses(&chars, s) {
            if c.lead_in || c.text.chars().count() < 6 {
                continue;
            }
            let raw: String = chars[c.start..c.end].iter().collect();
            let marked = ITEM_MARKER.is_match(&NormalizedText::new(&raw).text);
            cls.push((s.paragraph, c, marked));
        }
    }
    let marked_paras: std::collections::BTreeSet<usize> = cls
        .iter()
        .filter(|(_, _, m)| *m)
        .map(|(p, _, _)| *p)
        .collect();
    let mut items: Vec<Item> = Vec::new();
    let mut prev_para = usize::MAX;
    let mut prev_sentence_end = usize::MAX;
    for (p, c, marked) in cls {
        let join = p == prev_para
            && if marked_paras.contains(&p) {
                !marked
            } else {
                // No markers: one item per sentence (clauses of one sentence are adjacent).
                !doc.slice(prev_sentence_end.min(c.start), c.start)
                    .map(|gap| gap.contains('。'))
                    .unwrap_or(true)
            };
        match items.last_mut() {
            Some(it) if join => {
                it.end = c.end;
                it.text.push('，');
                it.text.push_str(&c.text);
            }
            _ => items.push(Item {
                start: c.start,
                end: c.end,
                lead: c.text.clone(),
                text: c.text.clone(),
            }),
        }
        prev_para = p;
        prev_sentence_end = c.end;
    }
    items
}

/// Shortcomings of a report with their theme matches (same order, same length).
pub fn summarise_shortcomings(
    doc: &SourceDocument,
    structure: &ReportStructure,
    themes: &ThemeSet,
    index: &ThemeIndex,
    encoder: &Encoder,
) -> Result<(Vec<Shortcoming>, Vec<ThemeMatch>)> {
    let cl = role_items(doc, structure, Role::Shortcomings);
    if cl.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let texts: Vec<&str> = cl
        .iter()
        .flat_map(|c| [c.lead.as_str(), c.text.as_str()])
        .collect();
    let embs = encoder.embed(&texts, EmbedKind::Query)?;
    let mut out = Vec::new();
    let mut scores = Vec::new();
    for (c, v) in cl.iter().zip(embs.chunks(2)) {
        let parts: Vec<&[f32]> = v.iter().map(Vec::as_slice).collect();
        let m = index.classify(&parts);
        let theme = m
            .theme
            .and_then(|i| themes.themes.get(i))
            .map(|t| t.id.clone())
            .unwrap_or_else(|| OTHER_THEME.to_string());
        let Some(ev) = evidence(doc, c.start, c.end) else {
            continue;
        };
        out.push(Shortcoming {
            text: leading_clause(&c.lead),
            theme,
            evidence: vec![ev],
        });
        scores.push(m);
    }
    Ok((out, scores))
}

fn summarise_plans(doc: &SourceDocument, structure: &ReportStructure) -> Vec<Plan> {
    role_items(doc, structure, Role::Plans)
        .into_iter()
        .filter_map(|it| {
            evidence(doc, it.start, it.end).map(|ev| Plan {
                text: leading_clause(&it.lead),
                evidence: vec![ev],
            })
        })
        .collect()
}

/// Theme label list (distinct, in order of first mention) for the summary.
pub(crate) fn problem_labels(shortcomings: &[Shortcoming], themes: &ThemeSet) -> Vec<String> {
    let mut labels: Vec<String> = Vec::new();
    for s in shortcomings {
        if let Some(t) = themes.get(&s.theme) {
            if !labels.contains(&t.label) {
                labels.push(t.label.clone());
            }
        }
    }
    labels
}

/// The summary paragraph from the `summary_fast.txt` template and the items' texts; empty,
/// with a warning, if it would state a number the source lacks.
pub(crate) fn compose_fast_summary(
    prompts: &Prompts,
    structure: &ReportStructure,
    doc: &SourceDocument,
    achievements: &[Achievement],
    shortcomings: &[Shortcoming],
    themes: &ThemeSet,
    warnings: &mut Vec<String>,
) -> String {
    let township = structure
        .township
        .as_deref()
        .map(|t| NormalizedText::new(t).text)
        .unwrap_or_else(|| "本乡镇".to_string());
    let year = structure
        .year
        .map(|y| y.to_string())
        .filter(|y| doc.text.contains(y.as_str()))
        .unwrap_or_default();
    let ach: Vec<String> = achievements
        .iter()
        .take(6)
        .map(|a| {
            let mut t = a.text.clone();
            if let Some(f) = a.figures.first() {
                if !t.contains(f.as_str()) {
                    t.push('（');
                    t.push_str(&NormalizedText::new(f).text);
                    t.push('）');
                }
            }
            t
        })
        .collect();
    let mut problems = problem_labels(shortcomings, themes);
    if problems.is_empty() {
        problems = shortcomings
            .iter()
            .take(3)
            .map(|s| leading_clause(&s.text))
            .collect();
    }
    let problems = if problems.is_empty() {
        "报告未列出".to_string()
    } else {
        problems.join("；")
    };
    let summary = prompts.render(
        "summary_fast.txt",
        &[
            ("township", &township),
            ("year", &year),
            ("achievements", &ach.join("；")),
            ("problems", &problems),
        ],
    );
    // The template is user-editable: a number typed into it is checked like any other.
    let absent = numbers_absent_from_source(&summary, &doc.text);
    if absent.is_empty() {
        summary
    } else {
        warnings.push(format!(
            "summary template produced numbers absent from the source ({}); summary left out",
            absent.join(", ")
        ));
        String::new()
    }
}

/// A fast-mode result: the report, and how each of its shortcomings matched the themes
/// (same order), which full mode needs to settle the ambiguous ones.
#[derive(Debug, Clone)]
pub struct FastSummary {
    pub report: ReportSummary,
    pub theme_matches: Vec<ThemeMatch>,
}

/// Fast mode, encoder only; a pure function of its inputs.
#[allow(clippy::too_many_arguments)]
pub fn summarise_fast(
    id: &str,
    doc: &SourceDocument,
    structure: &ReportStructure,
    themes: &ThemeSet,
    index: &ThemeIndex,
    encoder: &Encoder,
    prompts: &Prompts,
) -> Result<FastSummary> {
    let mut warnings = structure.warnings.clone();
    let achievements = summarise_achievements(doc, structure, &mut warnings);
    let (shortcomings, theme_matches) =
        summarise_shortcomings(doc, structure, themes, index, encoder)?;
    let plans = summarise_plans(doc, structure);
    let summary = compose_fast_summary(
        prompts,
        structure,
        doc,
        &achievements,
        &shortcomings,
        themes,
        &mut warnings,
    );
    let report = ReportSummary {
        id: id.to_string(),
        source: doc.source.display().to_string(),
        // The reader hashed the file's bytes already; never read the report again here.
        sha256: doc.sha256.clone(),
        township: structure.township.clone(),
        county: structure.county.clone(),
        city: structure.city.clone(),
        year: structure.year,
        achievements,
        shortcomings,
        plans,
        summary,
        warnings,
    };
    Ok(FastSummary {
        report,
        theme_matches,
    })
}
