//! Per-report summaries (`reports/<id>.json`): fast mode (encoder only, extractive) and full
//! mode (generator rewrites texts and the summary, every generated sentence checked).

pub mod full;
pub mod grounding;
pub mod problem_detector;
pub mod sentence_classifier;
pub mod theme_classifier;

pub use full::refine_full;
pub use grounding::numbers_absent_from_source;
pub use problem_detector::{ProblemDetector, ProblemSentences};
pub use theme_classifier::{ThemeClassifier, ThemeMatch};

use crate::document::SourceDocument;
use crate::models::encoder::{EmbedKind, Encoder};
use crate::normalize::NormalizedText;
use crate::report::{Achievement, Evidence, Plan, ReportSummary, Shortcoming, OTHER_THEME};
use crate::structure::{ReportStructure, Role, Sentence};
use crate::text::{lead_phrase_len, starts_with_item_marker, strip_item_marker, TARGETED_PROBLEM};
use crate::themes::ThemeSet;
use anyhow::{Context, Result};
use once_cell::sync::Lazy;
use regex::Regex;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// What summarising needs besides the report: the themes, the trained classifiers, the
/// encoder they read embeddings from, and the prompt templates. Built once per run.
#[derive(Clone, Copy)]
pub struct Summariser<'a> {
    pub themes: &'a ThemeSet,
    pub theme_classifier: &'a ThemeClassifier,
    pub problem_detector: &'a ProblemDetector,
    pub encoder: &'a Encoder,
    pub prompts: &'a Prompts,
}

/// What a run loads once for summarising: the encoder, the themes and prompts, and the two
/// classifiers trained from the themes file and the problem sentences (kept in `cache_dir`
/// after the first training).
pub struct Resources {
    pub encoder: Encoder,
    pub themes: ThemeSet,
    pub prompts: Prompts,
    pub theme_classifier: ThemeClassifier,
    pub problem_detector: ProblemDetector,
    /// Which classifiers had to be trained now (not found in the cache).
    pub trained: Vec<&'static str>,
}

impl Resources {
    /// `encoder_id` names the encoder's files (name and sha256s): classifiers trained with
    /// another encoder are not reused.
    pub fn load(
        encoder: Encoder,
        encoder_id: &str,
        themes: ThemeSet,
        prompts: Prompts,
        problem_sentences: &ProblemSentences,
        cache_dir: Option<&Path>,
    ) -> Result<Resources> {
        let (theme_classifier, t1) =
            ThemeClassifier::load_or_train(&themes, &encoder, encoder_id, cache_dir)
                .context("cannot train the theme classifier from the themes file")?;
        let (problem_detector, t2) =
            ProblemDetector::load_or_train(problem_sentences, &encoder, encoder_id, cache_dir)
                .context("cannot train the problem detector from the problem sentences")?;
        let trained = [("theme classifier", t1), ("problem detector", t2)]
            .into_iter()
            .filter_map(|(n, t)| t.then_some(n))
            .collect();
        Ok(Resources {
            encoder,
            themes,
            prompts,
            theme_classifier,
            problem_detector,
            trained,
        })
    }

    pub fn ctx(&self) -> Summariser<'_> {
        Summariser {
            themes: &self.themes,
            theme_classifier: &self.theme_classifier,
            problem_detector: &self.problem_detector,
            encoder: &self.encoder,
            prompts: &self.prompts,
        }
    }
}

/// The prompt templates, one file each in the prompts folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// Fast mode's composed report summary.
    SummaryFast,
    /// Full mode: rewrite one achievement item.
    Achievements,
    /// Full mode: rewrite one shortcoming.
    Shortcomings,
    /// Full mode: the summary's sentence on what was done, from the leading work points.
    SummaryAchievements,
    /// Full mode: the summary's sentence on what is still wrong, from the shortcomings.
    SummaryProblems,
}

impl Template {
    pub const ALL: [Template; 5] = [
        Template::SummaryFast,
        Template::Achievements,
        Template::Shortcomings,
        Template::SummaryAchievements,
        Template::SummaryProblems,
    ];

    pub fn file_name(self) -> &'static str {
        match self {
            Template::SummaryFast => "summary_fast.txt",
            Template::Achievements => "achievements.txt",
            Template::Shortcomings => "shortcomings.txt",
            Template::SummaryAchievements => "summary_achievements.txt",
            Template::SummaryProblems => "summary_problems.txt",
        }
    }
}

/// The file name: warnings name the template as the user knows it.
impl std::fmt::Display for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.file_name())
    }
}

/// The prompt templates (user-editable files in `prompts/`).
#[derive(Debug, Clone)]
pub struct Prompts {
    templates: BTreeMap<String, String>,
}

impl Prompts {
    /// From every template's text, already read and checked (`prompt_files`).
    pub fn from_templates(templates: impl IntoIterator<Item = (Template, String)>) -> Prompts {
        let templates: BTreeMap<String, String> = templates
            .into_iter()
            .map(|(t, text)| (t.file_name().to_string(), text))
            .collect();
        Prompts { templates }
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

    /// A template's text. Every template is present: `load` and `prompt_files` refuse a
    /// folder without one.
    pub fn template(&self, t: Template) -> &str {
        self.templates
            .get(t.file_name())
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// Fill `{key}` placeholders of the whole template.
    pub fn render(&self, t: Template, vars: &[(&str, &str)]) -> String {
        self.render_answer(t, vars).prompt
    }

    /// The prompt and how the answer is to be written (see [`TemplateParts`]), placeholders
    /// filled in the prompt and the answer's opening.
    pub fn render_answer(&self, t: Template, vars: &[(&str, &str)]) -> AnswerPlan {
        // Every template was parsed when the files were loaded (`prompt_files`); a template
        // that no longer parses here can only be a built-in one, and is used whole.
        let text = self.template(t);
        let parts = TemplateParts::parse(text).unwrap_or(TemplateParts {
            prompt: text,
            ..TemplateParts::default()
        });
        AnswerPlan {
            prompt: fill(parts.prompt.trim(), vars),
            opening: fill(parts.opening, vars),
            copy: (!parts.joiners.is_empty()).then(|| CopyRules {
                joiners: parts.joiners.iter().map(|j| j.to_string()).collect(),
                closers: parts.closers.iter().map(|j| j.to_string()).collect(),
                max_chars: parts.max_chars,
            }),
        }
    }
}

/// The line of a prompt template after which the opening of the model's answer follows.
pub const ANSWER_MARKER: &str = "=== 回答开头 ===";
/// The line after which the joiners of a copied answer follow (separated by spaces): with
/// it, the answer is whole clauses of its material, joined by these words and marks only.
pub const JOINERS_MARKER: &str = "=== 原话连接词 ===";
/// The line after which the joiners that may close a copied answer follow ("等问题").
pub const CLOSERS_MARKER: &str = "=== 收尾词 ===";
/// The line after which the length follows past which a copied answer must end.
pub const MAX_CHARS_MARKER: &str = "=== 字数上限 ===";

/// A prompt template cut into its parts. The prompt comes first; each part after it opens
/// with its marker line ([`ANSWER_MARKER`], [`JOINERS_MARKER`], [`CLOSERS_MARKER`],
/// [`MAX_CHARS_MARKER`]), each at most once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateParts<'a> {
    pub prompt: &'a str,
    /// The opening of the answer (empty: none).
    pub opening: &'a str,
    /// The joiners of a copied answer (empty: the answer is free text).
    pub joiners: Vec<&'a str>,
    pub closers: Vec<&'a str>,
    /// 0: no limit.
    pub max_chars: usize,
}

impl<'a> TemplateParts<'a> {
    /// The parts, or why the template is malformed (an unknown or repeated `=== … ===`
    /// line, a limit that is not a number, closers or a limit without joiners).
    pub fn parse(text: &'a str) -> std::result::Result<TemplateParts<'a>, String> {
        let mut parts = TemplateParts::default();
        let mut seen: Vec<&str> = Vec::new();
        // (marker, start of its body)
        let mut cuts: Vec<(&str, usize, usize)> = Vec::new();
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let t = line.trim();
            if t.starts_with("===") && t.ends_with("===") && t.len() > 6 {
                cuts.push((t, offset, offset + line.len()));
            }
            offset += line.len();
        }
        parts.prompt = &text[..cuts.first().map_or(text.len(), |c| c.1)];
        for (i, &(marker, _, body_start)) in cuts.iter().enumerate() {
            let body_end = cuts.get(i + 1).map_or(text.len(), |c| c.1);
            let body = text[body_start..body_end].trim_matches(['\n', '\r']);
            if seen.contains(&marker) {
                return Err(format!("the line `{marker}` appears twice"));
            }
            seen.push(marker);
            match marker {
                ANSWER_MARKER => parts.opening = body,
                JOINERS_MARKER => parts.joiners = body.split_whitespace().collect(),
                CLOSERS_MARKER => parts.closers = body.split_whitespace().collect(),
                MAX_CHARS_MARKER => {
                    parts.max_chars = body.trim().parse().map_err(|_| {
                        format!("`{MAX_CHARS_MARKER}` must be followed by a number, not `{}`", body.trim())
                    })?
                }
                other => {
                    return Err(format!(
                        "unknown line `{other}` (known: {ANSWER_MARKER} {JOINERS_MARKER} {CLOSERS_MARKER} {MAX_CHARS_MARKER})"
                    ))
                }
            }
        }
        if parts.joiners.is_empty() && (!parts.closers.is_empty() || parts.max_chars > 0) {
            return Err(format!(
                "`{CLOSERS_MARKER}` and `{MAX_CHARS_MARKER}` need `{JOINERS_MARKER}`"
            ));
        }
        Ok(parts)
    }
}

/// A rendered prompt and how its answer is to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerPlan {
    pub prompt: String,
    /// The text the answer starts with (given to the model, not generated).
    pub opening: String,
    /// When set, the answer is copied from its material under these rules.
    pub copy: Option<CopyRules>,
}

/// How a copied answer joins its material's clauses (the material is the caller's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyRules {
    pub joiners: Vec<String>,
    pub closers: Vec<String>,
    pub max_chars: usize,
}

/// Fill `{key}` placeholders.
fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

fn is_heading(s: &Sentence) -> bool {
    let t = s.text.trim();
    let n = t.chars().count();
    // "（一）健全制度体系，夯实法治建设根基": a numbered line without a full stop is a heading
    // even with a comma in it; its body paragraph belongs to the same item.
    !t.contains('。') && ((!t.contains('，') && n <= 30) || (starts_with_item_marker(t) && n <= 40))
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
    let t = strip_item_marker(text.trim()).to_string();
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

/// A run-in title: "3.青少年重点学。" opening a point whose body follows on the same line; a
/// heading in all but layout, so neither its evidence nor what it did.
fn is_run_in_title(s: &Sentence) -> bool {
    let t = s.text.trim();
    if !starts_with_item_marker(t) || !t.ends_with('。') {
        return false;
    }
    let title = strip_item_marker(t).trim_end_matches('。');
    // "坚持党建引领，压实法治建设责任。": two short halves are still a title.
    !title.contains(['；', ';'])
        && title.matches(['，', ',']).count() <= 1
        && title.chars().count() <= 24
}

/// Separates an achievement's title (its heading) from what the point did, in fast mode's
/// "title：what was done" texts (`compose_fast_summary` lists the titles only).
pub(crate) const TITLE_SEPARATOR: char = '：';

/// Openers of a clause that frames a work point instead of saying what was done
/// ("结合牧区群众居住分散的特点", "以民主法治示范村创建为抓手").
static FRAMING_CLAUSE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(
        "^(结合|针对|(紧密|紧紧)?围绕|按照|根据|依据|为了|为进一步|紧扣|立足|聚焦|坚持|始终|把|将|借助|依托|利用|通过|深刻认识)|^以.*为(抓手|契机|载体|重点|主线|目标|引领|品牌|平台|牵引|核心|切入点|突破口)|契机$",
    )
    .expect("valid regex")
});

/// A clause that tells how far short something fell ("实际受理的咨询还不到20件", "仅有3个村
/// 建成"): its figure measures a gap, not what was done.
static SHORTFALL: Lazy<Regex> = Lazy::new(|| {
    Regex::new("(还|仍|尚)(不到|不足|未|没)|不到[〇一二两三四五六七八九十百千万半\\d]|仅有|仅占|只有|只占|偏低|偏少|较少|较低|不高|不够|不足[〇一二两三四五六七八九十百千万半\\d]")
        .expect("valid regex")
});

/// A clause that describes the township rather than its work ("洛加乡是半农半牧乡",
/// "然玛塘乡位于赛宗县东南部", "下辖4个社区"): never the title of a work item.
static TOWNSHIP_PROFILE: Lazy<Regex> = Lazy::new(|| {
    Regex::new("^[^，,]{0,16}(乡|镇|街道|苏木)(是|位于|地处|地处于|辖|下辖|总面积|面积|人口)|^(下辖|辖|总面积|面积|总人口|人口|常住人口|户籍人口)")
        .expect("valid regex")
});

/// What a work point did, in the report's words: the first clause (between ，；：。) of its body
/// that holds a figure ("全年开展法治专题学习9次"), else one of its body's first three clauses;
/// never a frame ("按照每村不少于5名的标准"), and only a clause of 6–40 chars: a longer one
/// would repeat the evidence rather than sum it up.
fn done_clause(
    structure: &ReportStructure,
    body: &[usize],
    figures: &[&crate::structure::Figure],
) -> Option<String> {
    let clauses = |text: &str| -> Vec<String> {
        text.split(['，', ',', '；', ';', '：', ':', '。', '！', '？'])
            .map(|c| strip_item_marker(c.trim()).trim().to_string())
            .filter(|c| !c.is_empty())
            .collect()
    };
    let fits = |c: &str| {
        (6..=40).contains(&c.chars().count())
            && !FRAMING_CLAUSE.is_match(c)
            && !SHORTFALL.is_match(c)
    };
    let with_figures = figures.iter().flat_map(|f| {
        let figure = NormalizedText::new(&f.text).text;
        clauses(&structure.sentences[f.sentence].text)
            .into_iter()
            .filter(move |c| c.contains(figure.as_str()))
    });
    let first = body
        .iter()
        .flat_map(|&i| clauses(&structure.sentences[i].text))
        .take(3);
    with_figures.chain(first).find(|c| fits(c))
}

/// Group achievement sentences into items (一是/（一）/1. markers or paragraph starts).
/// A sentence quoted by a shortcoming (a problem stated inside the work part, found by the
/// detector) is not work done: it is left out, and its paragraph's item ends there.
fn achievement_items(structure: &ReportStructure, problems: &[Shortcoming]) -> Vec<Vec<usize>> {
    let mut items: Vec<Vec<usize>> = Vec::new();
    let mut last_para = usize::MAX;
    // What a leader did as the one first responsible for rule of law ("党委书记履行第一责任人
    // 职责，全年专题研究法治工作4次") is work done, whether it stands in a section of its own, in
    // a work section, or (in a 述法报告) is the whole of the work.
    let is_work = |r: Role| matches!(r, Role::Achievements | Role::Responsibility);
    let stated_problem = |s: &Sentence| {
        problems
            .iter()
            .flat_map(|p| &p.evidence)
            .any(|e| e.start < s.end && s.start < e.end)
    };
    for (i, s) in structure.sentences.iter().enumerate() {
        if !is_work(s.role) || stated_problem(s) {
            last_para = usize::MAX;
            continue;
        }
        let starts = starts_with_item_marker(&s.text) || s.paragraph != last_para;
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
                        && !starts_with_item_marker(&s.text) =>
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
    problems: &[Shortcoming],
    warnings: &mut Vec<String>,
) -> Vec<Achievement> {
    let mut out = Vec::new();
    for item in achievement_items(structure, problems) {
        let lead = &structure.sentences[item[0]];
        let figs: Vec<&crate::structure::Figure> = structure
            .figures
            .iter()
            .filter(|f| item.contains(&f.sentence))
            .collect();
        // A heading (or run-in title) with a body: the title names the point, the body says
        // what was done.
        let titled = item.len() > 1 && (is_heading(lead) || is_run_in_title(lead));
        let body: Vec<usize> = if titled {
            item[1..].to_vec()
        } else {
            item.clone()
        };
        let lead_text = if is_heading(lead) && item.len() > 1 {
            strip_item_marker(lead.text.trim()).to_string()
        } else {
            leading_clause(&lead.text)
        };
        if lead_text.is_empty() {
            continue;
        }
        // Figures as they read in sentence texts (the clauses compared below are cut from them).
        let figure_texts: Vec<String> = figs
            .iter()
            .map(|f| NormalizedText::new(&f.text).text)
            .collect();
        let has_figure = |t: &str| figure_texts.iter().any(|f| t.contains(f.as_str()));
        // "领导干部带头学：全年开展法治专题学习9次": a title alone tells a reader the topic,
        // not what was done or how much.
        let lead_text = match done_clause(structure, &body, &figs) {
            Some(done) if titled && !lead_text.contains(done.as_str()) => {
                format!("{lead_text}{TITLE_SEPARATOR}{done}")
            }
            // An untitled paragraph opened by its frame ("围绕《民法典》、草原法等，……"):
            // what it did is further on.
            Some(done) if !titled && FRAMING_CLAUSE.is_match(&lead_text) => done,
            // A paragraph opened by a profile of the township: what it did, if it says how
            // much ("洛加乡是半农半牧乡，年初……签订法治建设责任书7份").
            Some(done)
                if !titled
                    && TOWNSHIP_PROFILE.is_match(&lead_text)
                    && !TOWNSHIP_PROFILE.is_match(&done)
                    && has_figure(&done) =>
            {
                done
            }
            // An untitled paragraph whose opening clause names the point without its figure
            // ("镇党委书记带头学法，全年主持召开专题会议研究法治工作4次"): the opening clause is
            // its title, the clause with the figure what was done.
            Some(done)
                if !titled
                    && !TOWNSHIP_PROFILE.is_match(&lead_text)
                    && !lead_text.contains(done.as_str())
                    && !has_figure(&lead_text)
                    && has_figure(&done) =>
            {
                format!("{lead_text}{TITLE_SEPARATOR}{done}")
            }
            _ => lead_text,
        };
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
                *body
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

/// One clause of a problem or plan point: its exact source span without the item marker,
/// the discourse opener and the closing punctuation, and its normalised text.
#[derive(Debug, Clone)]
pub(crate) struct Clause {
    pub start: usize,
    pub end: usize,
    pub text: String,
    /// A heading line ("（一）执法办案还不够规范") rather than running text.
    pub heading: bool,
    /// A whole sentence that opens its point with an item marker ("（一）经费偏紧。").
    pub headline: bool,
    /// The second half of a clause that states two problems (see `split_two_problem_clauses`).
    pub split_off: bool,
    /// A plan's "针对X的问题，": the clause (its text X) names the problem a plan answers.
    pub plan_target: bool,
}

/// A problem or plan point: the clauses of one item (a numbered item, an inline "一是……", a
/// heading with the paragraph under it, an unnumbered paragraph) that have the role.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub clauses: Vec<Clause>,
}

impl Item {
    /// Normalised text of the whole point.
    pub fn text(&self) -> String {
        self.clauses
            .iter()
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>()
            .join("，")
    }
}

/// The part of a clause that states its content: without the item marker, a leading
/// concession or connective ("但说实话，", "此外，", "但对照群众期盼，我们也清醒地看到，") and
/// closing punctuation. Returns the char offset of that part in `text` and its length.
fn content_span(text: &str) -> (usize, usize) {
    let chars: Vec<char> = text.chars().collect();
    let mut s = text.chars().count() - strip_item_marker(text).chars().count();
    loop {
        let rest: String = chars[s..].iter().collect();
        match lead_phrase_len(&rest) {
            Some(n) if n > 0 && s + n < chars.len() => s += n,
            _ => break,
        }
    }
    let junk = |c: char| c.is_whitespace() || "，,；;。：:、".contains(c);
    while s < chars.len() && junk(chars[s]) {
        s += 1;
    }
    let mut e = chars.len();
    while e > s && junk(chars[e - 1]) {
        e -= 1;
    }
    // "针对X的问题，": the problem is X.
    let rest: String = chars[s..e].iter().collect();
    if let Some(x) = TARGETED_PROBLEM.captures(&rest).and_then(|c| c.get(1)) {
        s += rest[..x.start()].chars().count();
        e = s + x.as_str().chars().count();
    }
    (s, e.saturating_sub(s))
}

/// The clauses `include` selects (by index and sentence), grouped into points, in report order.
pub(crate) fn role_items(
    doc: &SourceDocument,
    structure: &ReportStructure,
    include: impl Fn(usize, &Sentence) -> bool,
) -> Vec<Item> {
    let mut items: Vec<(usize, Item)> = Vec::new();
    for (_, s) in structure
        .sentences
        .iter()
        .enumerate()
        .filter(|(i, s)| include(*i, s))
    {
        let (off, len) = content_span(&s.text);
        if len < 4 {
            continue;
        }
        // Normalisation maps chars one to one unless it removed an artefact inside the
        // clause; only then the source span is kept whole.
        let one_to_one = s.end - s.start == s.text.chars().count();
        let (start, end) = if one_to_one {
            (s.start + off, s.start + off + len)
        } else {
            (s.start, s.end)
        };
        if doc.slice(start, end).is_none() {
            continue;
        }
        let text: String = s.text.chars().skip(off).take(len).collect();
        let t = s.text.trim_end();
        let clause = Clause {
            start,
            end,
            text,
            heading: s.heading,
            headline: starts_with_item_marker(&s.text) && (t.ends_with('。') || t.ends_with('.')),
            split_off: false,
            plan_target: TARGETED_PROBLEM.is_match(strip_item_marker(t)),
        };
        match items.last_mut() {
            Some((item, it)) if *item == s.item => it.clauses.push(clause),
            _ => items.push((
                s.item,
                Item {
                    clauses: vec![clause],
                },
            )),
        }
    }
    items.into_iter().map(|(_, it)| it).collect()
}

/// Shortcomings of a report with their theme matches (same order, same length).
///
/// One shortcoming per problem: each clause of a point is named on its own, and neighbouring
/// clauses with the same theme stay one shortcoming (one problem said in two clauses), while a
/// point holding two problems ("……不足；另一方面……滞后") gives two. A point led by a problem
/// heading is one problem: the paragraph under the heading explains it.
pub fn summarise_shortcomings(
    doc: &SourceDocument,
    structure: &ReportStructure,
    ctx: &Summariser,
) -> Result<(Vec<Shortcoming>, Vec<ThemeMatch>)> {
    let (themes, classifier, encoder) = (ctx.themes, ctx.theme_classifier, ctx.encoder);
    let accepted = detected_problems(structure, ctx)?;
    let items = role_items(doc, structure, |i, s| {
        s.role == Role::Shortcomings || accepted.contains(&i)
    });
    let items = split_two_problem_clauses(items, ctx)?;
    if items.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    // Texts to embed: every clause, plus the whole point for points led by a heading.
    let mut texts: Vec<String> = Vec::new();
    for it in &items {
        texts.extend(it.clauses.iter().map(|c| c.text.clone()));
        texts.push(it.text());
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let embs = encoder.embed(&refs, EmbedKind::Query)?;
    let theme_id = |m: &ThemeMatch| {
        m.theme
            .and_then(|i| themes.themes.get(i))
            .map(|t| t.id.clone())
            .unwrap_or_else(|| OTHER_THEME.to_string())
    };
    let mut out = Vec::new();
    let mut matches = Vec::new();
    // Whether each shortcoming is only a plan's "针对……的问题，".
    let mut restated = Vec::new();
    let mut next = 0;
    for it in &items {
        let clause_matches: Vec<ThemeMatch> = it
            .clauses
            .iter()
            .enumerate()
            .map(|(k, c)| classifier.classify(&embs[next + k], &c.text))
            .collect();
        let whole = classifier.classify(
            &embs[next + it.clauses.len()],
            &texts[next + it.clauses.len()],
        );
        let next_start = next;
        next += it.clauses.len() + 1;
        // A clause likely enough to be of the other's theme continues the same problem.
        let plausible_either = |r: &(usize, usize, ThemeMatch), k: usize| {
            plausible(
                classifier,
                &embs[next_start + k],
                &texts[next_start + k],
                r.2.theme,
            ) || plausible(
                classifier,
                &embs[next_start + r.0],
                &texts[next_start + r.0],
                clause_matches[k].theme,
            )
        };
        // Runs of clauses that are one problem: (first clause, last clause, match).
        let mut runs: Vec<(usize, usize, ThemeMatch)> = Vec::new();
        if is_headline(&it.clauses) {
            runs.push((0, it.clauses.len() - 1, whole));
        } else {
            for (k, m) in clause_matches.iter().enumerate() {
                let same_problem = runs.last().is_some_and(|r| {
                    r.2.theme == m.theme || (!it.clauses[k].split_off && plausible_either(r, k))
                });
                match runs.last_mut() {
                    Some(r) if same_problem => {
                        r.1 = k;
                        if m.score > r.2.score {
                            r.2 = *m;
                        }
                    }
                    _ => runs.push((k, k, *m)),
                }
            }
        }
        for (a, b, m) in runs {
            let evidence: Vec<Evidence> = it.clauses[a..=b]
                .iter()
                .filter_map(|c| {
                    let (a, b) = core_range(&c.text)
                        .filter(|_| c.end - c.start == c.text.chars().count())
                        .map_or((c.start, c.end), |(a, b)| (c.start + a, c.start + b));
                    evidence(doc, a, b)
                })
                .collect();
            if evidence.is_empty() {
                continue;
            }
            out.push(Shortcoming {
                text: leading_clause(&it.clauses[a].text),
                theme: theme_id(&m),
                evidence,
            });
            matches.push(m);
            restated.push(it.clauses[a..=b].iter().all(|c| c.plan_target));
        }
    }
    // A plan's "针对……的问题，" names a problem; when the report states one of that theme
    // elsewhere (before or after its plans), it is that problem said twice, not a second one.
    let stated: std::collections::BTreeSet<&str> = out
        .iter()
        .zip(&restated)
        .filter(|(_, r)| !**r)
        .map(|(s, _)| s.theme.as_str())
        .filter(|t| *t != OTHER_THEME)
        .collect();
    let keep: Vec<bool> = out
        .iter()
        .zip(&restated)
        .map(|(s, r)| !r || !stated.contains(s.theme.as_str()))
        .collect();
    let mut keep_it = keep.iter();
    matches.retain(|_| keep_it.next().copied().unwrap_or(true));
    let mut keep_it = keep.iter();
    out.retain(|_| keep_it.next().copied().unwrap_or(true));
    Ok((out, matches))
}

/// A point led by a problem headline ("（一）普法宣传覆盖不够全面。" or a heading line) with
/// sentences that explain it: one problem, named from the whole point.
fn is_headline(clauses: &[Clause]) -> bool {
    let Some(first) = clauses.first() else {
        return false;
    };
    first.heading || (clauses.len() > 1 && first.headline && first.text.chars().count() <= 30)
}

/// Whether a clause could belong to a theme: probability of at least
/// [`SAME_PROBLEM_PROBABILITY`] (`other` when `theme` is None).
fn plausible(classifier: &ThemeClassifier, v: &[f32], text: &str, theme: Option<usize>) -> bool {
    let p = classifier.probabilities(v, text);
    let i = theme.unwrap_or(p.len() - 1);
    p.get(i).is_some_and(|&x| x >= SAME_PROBLEM_PROBABILITY)
}

/// A neighbouring clause this likely to be of the same theme continues the same problem.
const SAME_PROBLEM_PROBABILITY: f32 = 0.2;
/// Evidence longer than this is cut to its core: the quote that states a problem, not the
/// context before it or the explanation after it.
const MAX_EVIDENCE_CHARS: usize = 80;

/// Leading context of a problem clause: a cause ("受地理条件限制，", "由于人手少，").
static CAUSE_PART: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"^(受|由于|因为|因|加之|鉴于)|(影响|限制|制约)$")
        .unwrap_or_else(|e| panic!("static regex: {e}"))
});
/// "……，导致……": what follows is the problem, what precedes it its cause.
static CONSEQUENCE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"[，,](导致|致使|造成|以致|使得|从而)")
        .unwrap_or_else(|e| panic!("static regex: {e}"))
});

/// The core of a problem clause, as a char range of it (None: the whole clause):
/// - "由于……，导致X": X (but "……流于形式，导致X" is a problem and its effect: whole);
/// - a long clause: its comma-separated parts up to [`MAX_EVIDENCE_CHARS`], leading cause
///   parts ("受地理条件限制，") skipped.
fn core_range(text: &str) -> Option<(usize, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let starts_with_cause = CAUSE_PART.is_match(text);
    if let Some(m) = CONSEQUENCE.find(text).filter(|_| starts_with_cause) {
        let start = text[..m.end()].chars().count();
        if chars.len() - start >= 8 {
            return Some((start, chars.len()));
        }
    }
    if chars.len() <= MAX_EVIDENCE_CHARS {
        return None;
    }
    // Comma-separated parts as char ranges (the comma belongs to neither).
    let mut parts = Vec::new();
    let mut s = 0;
    for (i, c) in chars.iter().enumerate() {
        if matches!(c, '，' | ',') {
            parts.push((s, i));
            s = i + 1;
        }
    }
    parts.push((s, chars.len()));
    let part_text = |&(a, b): &(usize, usize)| chars[a..b].iter().collect::<String>();
    let first = parts
        .iter()
        .position(|p| !CAUSE_PART.is_match(&part_text(p)))
        .unwrap_or(0);
    let start = parts[first].0;
    let mut end = parts[first].1;
    for p in &parts[first + 1..] {
        if p.1 - start > MAX_EVIDENCE_CHARS {
            break;
        }
        end = p.1;
    }
    Some((start, end))
}

/// A clause at least this long may state two problems joined by a comma.
const MIN_TWO_PROBLEM_CHARS: usize = 30;
/// Each half of a clause cut in two must be at least this long...
const MIN_HALF_CHARS: usize = 12;
/// ...and name a different theme with at least this probability.
const HALF_THEME_PROBABILITY: f32 = 0.85;

/// One problem per shortcoming: a clause that states two problems of different themes joined
/// by a comma ("调解员对征地政策拿不准，乡里也没有和县自然资源局建立会商渠道") is cut in two
/// at the comma where both halves name different themes most confidently.
fn split_two_problem_clauses(items: Vec<Item>, ctx: &Summariser) -> Result<Vec<Item>> {
    // Candidate cuts: (item, clause, char offset of the cut in the clause text).
    let mut cuts: Vec<(usize, usize, usize)> = Vec::new();
    let mut halves: Vec<String> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        for (k, c) in it.clauses.iter().enumerate() {
            let chars: Vec<char> = c.text.chars().collect();
            let one_to_one = c.end - c.start == chars.len();
            if c.heading || !one_to_one || chars.len() < MIN_TWO_PROBLEM_CHARS {
                continue;
            }
            for (at, ch) in chars.iter().enumerate() {
                if matches!(ch, '，' | ',')
                    && at >= MIN_HALF_CHARS
                    && chars.len() - at > MIN_HALF_CHARS
                {
                    cuts.push((i, k, at));
                    halves.push(chars[..at].iter().collect());
                    halves.push(chars[at + 1..].iter().collect());
                }
            }
        }
    }
    if cuts.is_empty() {
        return Ok(items);
    }
    let refs: Vec<&str> = halves.iter().map(String::as_str).collect();
    let embs = ctx.encoder.embed(&refs, EmbedKind::Query)?;
    // The best cut per clause: the highest lower probability of the two halves' themes.
    let mut best: std::collections::BTreeMap<(usize, usize), (f32, usize)> = Default::default();
    for (n, &(i, k, at)) in cuts.iter().enumerate() {
        let l = ctx.theme_classifier.classify(&embs[2 * n], &halves[2 * n]);
        let r = ctx
            .theme_classifier
            .classify(&embs[2 * n + 1], &halves[2 * n + 1]);
        let differ = l.theme.is_some() && r.theme.is_some() && l.theme != r.theme;
        let confidence = l.score.min(r.score);
        if differ && confidence >= HALF_THEME_PROBABILITY {
            let e = best.entry((i, k)).or_insert((0.0, 0));
            if confidence > e.0 {
                *e = (confidence, at);
            }
        }
    }
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, it)| Item {
            clauses: it
                .clauses
                .into_iter()
                .enumerate()
                .flat_map(|(k, c)| match best.get(&(i, k)) {
                    Some(&(_, at)) => {
                        let left: String = c.text.chars().take(at).collect();
                        let right: String = c.text.chars().skip(at + 1).collect();
                        vec![
                            Clause {
                                end: c.start + at,
                                text: left,
                                ..c.clone()
                            },
                            Clause {
                                start: c.start + at + 1,
                                text: right,
                                headline: false,
                                split_off: true,
                                ..c
                            },
                        ]
                    }
                    None => vec![c],
                })
                .collect(),
        })
        .collect())
}

/// Indices of the candidate clauses (outside a problems section, undecided by the rules) that
/// the problem detector judges to state a problem.
fn detected_problems(
    structure: &ReportStructure,
    ctx: &Summariser,
) -> Result<std::collections::BTreeSet<usize>> {
    let candidates: Vec<(usize, &str)> = structure
        .sentences
        .iter()
        .enumerate()
        .filter(|(_, s)| s.problem_candidate && s.role != Role::Shortcomings)
        .map(|(i, s)| (i, s.text.as_str()))
        .collect();
    if candidates.is_empty() {
        return Ok(Default::default());
    }
    let texts: Vec<&str> = candidates.iter().map(|(_, t)| *t).collect();
    let embs = ctx.encoder.embed(&texts, EmbedKind::Query)?;
    let probability: Vec<f32> = candidates
        .iter()
        .zip(&embs)
        .map(|((_, t), v)| ctx.problem_detector.probability(v, t))
        .collect();
    let sure: std::collections::BTreeSet<usize> = candidates
        .iter()
        .zip(&probability)
        .filter(|(_, &p)| p >= problem_detector::PROBLEM_PROBABILITY)
        .map(|((i, _), _)| *i)
        .collect();
    // Problems come in runs: a likely candidate in a paragraph that states two other problems
    // (by the rules or surely by the detector) is one of them ("从这一年的情况看，……很少；
    // 另外，乡司法所就1个人……；还有就是……钱太少").
    let problems_beside = |i: usize| {
        let para = structure.sentences[i].paragraph;
        structure
            .sentences
            .iter()
            .enumerate()
            .filter(|&(j, s)| {
                j != i && s.paragraph == para && (s.role == Role::Shortcomings || sure.contains(&j))
            })
            .count()
    };
    Ok(candidates
        .iter()
        .zip(&probability)
        .filter(|&(&(i, _), &p)| {
            p >= problem_detector::PROBLEM_PROBABILITY
                || (p >= problem_detector::PROBLEM_IN_A_RUN_PROBABILITY && problems_beside(i) >= 2)
        })
        .map(|((i, _), _)| *i)
        .collect())
}

fn summarise_plans(doc: &SourceDocument, structure: &ReportStructure) -> Vec<Plan> {
    role_items(doc, structure, |_, s| s.role == Role::Plans)
        .into_iter()
        .filter_map(|it| {
            let first = it.clauses.first()?;
            let last = it.clauses.last()?;
            // One quote for the point when its clauses are one stretch of one paragraph.
            let span = doc
                .slice(first.start, last.end)
                .filter(|q| !q.contains('\n'));
            let evidence: Vec<Evidence> = match span {
                Some(_) => evidence(doc, first.start, last.end).into_iter().collect(),
                None => it
                    .clauses
                    .iter()
                    .filter_map(|c| evidence(doc, c.start, c.end))
                    .collect(),
            };
            (!evidence.is_empty()).then(|| Plan {
                text: leading_clause(&first.text),
                evidence,
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
            // The title of a "title：what was done" text: the summary lists topics with their
            // first figure, and six clauses would not fit its length.
            let mut t = a
                .text
                .split_once(TITLE_SEPARATOR)
                .map_or(a.text.as_str(), |(title, _)| title)
                .to_string();
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
    // No work item found is our failure to read the report, not the report's silence: say
    // so instead of an empty list ("…工作：。").
    let achievements = if ach.is_empty() {
        "未能从报告中分条识别".to_string()
    } else {
        ach.join("；")
    };
    let summary = prompts.render(
        Template::SummaryFast,
        &[
            ("township", &township),
            ("year", &year),
            ("achievements", &achievements),
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

/// Fast mode, encoder only; a pure function of its inputs.
pub fn summarise_fast(
    id: &str,
    doc: &SourceDocument,
    structure: &ReportStructure,
    ctx: &Summariser,
) -> Result<ReportSummary> {
    let (themes, prompts) = (ctx.themes, ctx.prompts);
    let mut warnings = structure.warnings.clone();
    let (shortcomings, _) = summarise_shortcomings(doc, structure, ctx)?;
    let achievements = summarise_achievements(doc, structure, &shortcomings, &mut warnings);
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
    Ok(ReportSummary {
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
        summary_origin: Default::default(),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Format;
    use std::path::PathBuf;

    /// A template's sections after its prompt say how the answer is written; a malformed
    /// one is refused with the reason.
    #[test]
    fn template_sections_plan_the_answer() {
        let text = "合写成一句话。\n\n{items}\n=== 回答开头 ===\n{township}，\n=== 原话连接词 ===\n、 ， 等问题 。\n=== 收尾词 ===\n等问题\n=== 字数上限 ===\n50\n";
        let parts = TemplateParts::parse(text).expect("parses");
        assert_eq!(parts.prompt.trim(), "合写成一句话。\n\n{items}");
        assert_eq!(parts.opening, "{township}，");
        assert_eq!(parts.joiners, ["、", "，", "等问题", "。"]);
        assert_eq!(parts.closers, ["等问题"]);
        assert_eq!(parts.max_chars, 50);
        let prompts = Prompts::from_templates([(Template::SummaryProblems, text.to_string())]);
        let plan = prompts.render_answer(
            Template::SummaryProblems,
            &[("items", "- 经费紧张"), ("township", "高岭乡")],
        );
        assert_eq!(plan.prompt, "合写成一句话。\n\n- 经费紧张");
        assert_eq!(plan.opening, "高岭乡，");
        assert_eq!(plan.copy.map(|c| c.max_chars), Some(50));
        // Without joiners the answer is free.
        let free = TemplateParts::parse("写一句话。\n=== 回答开头 ===\n某乡").expect("parses");
        assert!(free.joiners.is_empty());

        for (bad, why) in [
            ("写。\n=== 回答 ===\n某", "unknown line"),
            ("写。\n=== 回答开头 ===\n某\n=== 回答开头 ===\n某", "twice"),
            (
                "写。\n=== 原话连接词 ===\n、\n=== 字数上限 ===\n五十",
                "number",
            ),
            ("写。\n=== 字数上限 ===\n50", "need"),
        ] {
            let err = TemplateParts::parse(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    fn doc_of(text: &str) -> SourceDocument {
        SourceDocument {
            source: PathBuf::from("test.txt"),
            sha256: String::new(),
            format: Format::Txt,
            encoding: Some("UTF-8".to_string()),
            text: text.to_string(),
        }
    }

    fn achievements_of(text: &str) -> Vec<Achievement> {
        let doc = doc_of(text);
        let structure = crate::structure::parse(&doc);
        summarise_achievements(&doc, &structure, &[], &mut Vec::new())
    }

    /// Given a leader's duty report (述法报告), the work items come from its section on the
    /// duty: it has no other section of work.
    #[test]
    fn a_duty_report_s_work_is_its_duty_section() {
        let text = "2022年度述法报告\n\
            按照通知要求，现将本人履职情况报告如下。\n\
            一、履行第一责任人职责情况\n\
            （一）带头尊法学法。本人全年参加苏木党委理论学习中心组学法12次。\n\
            （二）推动依法决策。苏木政府全年研究重大事项21项。\n\
            二、存在的不足\n\
            普法形式单一。\n";
        let got = achievements_of(text);
        let texts: Vec<&str> = got.iter().map(|a| a.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "带头尊法学法：本人全年参加苏木党委理论学习中心组学法12次",
                "推动依法决策：苏木政府全年研究重大事项21项",
            ]
        );
    }

    /// Given a report with a section on the leaders' duty beside its work section, both are
    /// work: what the Party secretary did as first responsible is an item with its figure.
    #[test]
    fn duty_section_beside_work_section_gives_work_items_too() {
        let text = "白水镇2024年法治政府建设情况报告\n\
            一、党政主要负责人履行推进法治建设第一责任人职责情况\n\
            镇党委书记带头学法，全年主持召开专题会议研究法治工作4次。\n\
            二、主要工作成效\n\
            （一）深化普法宣传。全年开展法治宣讲18场次，覆盖群众2600余人次。\n\
            三、存在的问题\n\
            普法经费不足。\n";
        let got = achievements_of(text);
        let texts: Vec<&str> = got.iter().map(|a| a.text.as_str()).collect();
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(texts[0].contains("研究法治工作4次"), "{texts:?}");
        assert!(texts[1].contains("法治宣讲18场次"), "{texts:?}");
    }

    /// Given untitled paragraphs: a profile of the township never titles an item, a clause
    /// measuring a gap is never what was done, and a sentence a shortcoming quotes (a problem
    /// stated among the work) is no work item.
    #[test]
    fn untitled_paragraphs_profile_gap_and_stated_problem() {
        let text = "洛加乡2024年法治政府建设情况报告\n\
            一、主要工作\n\
            洛加乡是半农半牧乡，年初与各村党支部书记签订法治建设责任书7份。\n\
            乡村两级开通线上咨询窗口，实际受理的咨询还不到20件。\n\
            移动调解终端配发以后，案件录入率还不到三成。\n\
            二、存在的问题\n\
            普法经费不足。\n";
        let doc = doc_of(text);
        let structure = crate::structure::parse(&doc);
        let quote = "移动调解终端配发以后，案件录入率还不到三成。";
        let start = text[..text.find(quote).expect("quote")].chars().count();
        let problem = Shortcoming {
            text: "移动调解终端配发以后".to_string(),
            theme: "other".to_string(),
            evidence: vec![Evidence {
                quote: quote.to_string(),
                start,
                end: start + quote.chars().count(),
            }],
        };
        let got = summarise_achievements(&doc, &structure, &[problem], &mut Vec::new());
        let texts: Vec<&str> = got.iter().map(|a| a.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "年初与各村党支部书记签订法治建设责任书7份",
                "乡村两级开通线上咨询窗口"
            ]
        );
    }

    /// Given titled work points, each item says what was done: the title, then the clause of
    /// its body with a figure (not a frame such as "按照每村不少于5名的标准"), else the body's
    /// first clause that is not a frame; a run-in title ("3.青少年重点学。") is never evidence;
    /// an untitled paragraph is named by its first clause unless that is a frame.
    #[test]
    fn titled_work_points_say_what_was_done() {
        let text = "青石乡2024年法治政府建设情况报告\n\
            一、主要工作成效\n\
            （一）坚持党建引领，压实法治建设责任。乡党委把法治建设纳入年度工作要点，理论学习中心组全年开展专题学法8次。\n\
            2.培育基层法治骨干。按照每村不少于5名的标准，择优选聘“法律明白人”，目前全乡共有“法律明白人”64名。\n\
            3.青少年重点学。结合学生特点，联合乡派出所在寄宿制学校开展法治宣讲，引导学生从小树立规则意识。\n\
            围绕宪法、民法典等，深入村社开展法治宣传活动19场次，受益群众1300余人次。\n\
            二、存在的问题\n\
            普法经费不足。\n";
        let got = achievements_of(text);
        let texts: Vec<&str> = got.iter().map(|a| a.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "坚持党建引领：理论学习中心组全年开展专题学法8次",
                "培育基层法治骨干：目前全乡共有“法律明白人”64名",
                "青少年重点学：联合乡派出所在寄宿制学校开展法治宣讲",
                // An untitled paragraph opened by a frame: what it did.
                "深入村社开展法治宣传活动19场次",
            ]
        );
        // The run-in title's item is backed by its body, not by the title sentence.
        assert!(got[2].evidence[0].quote.starts_with("结合学生特点"));
        for a in &got {
            for e in &a.evidence {
                assert_eq!(
                    text.chars()
                        .skip(e.start)
                        .take(e.end - e.start)
                        .collect::<String>(),
                    e.quote
                );
            }
        }
    }
}
