//! Full mode: the generator rewrites item texts and the summary from prompt templates; every
//! generated sentence is checked (numbers in the source, meaning close to its evidence).

use super::grounding::{doubled_chars_absent_from_source, strip_markdown, unsupported_clause};
use super::{compose_fast_summary, numbers_absent_from_source, problem_labels, Prompts, Template};
use crate::document::SourceDocument;
use crate::models::encoder::{cosine, EmbedKind, Encoder};
use crate::models::generator::copy::CopyConstraint;
use crate::models::generator::{ChatMessage, GenerateOptions, Generator};
use crate::normalize::NormalizedText;
use crate::report::{Evidence, ReportSummary, Shortcoming, SummaryOrigin};
use crate::structure::ReportStructure;
use crate::themes::ThemeSet;
use anyhow::Result;

/// Minimum encoder cosine between a generated line and its evidence.
pub const MIN_SIMILARITY: f32 = 0.80;
const MAX_ITEMS: usize = 8;
/// Characters of an item's evidence given to the generator.
const MAX_ITEM_INPUT_CHARS: usize = 240;
/// An extractive item text this short is kept as it is when it is a whole heading or sentence.
const SHORT_ENOUGH_CHARS: usize = 24;
/// A generated item text longer than this is a copy of its evidence, not a summary of it.
const MAX_ITEM_CHARS: usize = 50;
/// A generated summary sentence longer than this is copied material.
const MAX_SUMMARY_SENTENCE_CHARS: usize = 150;
/// Work points the summary's first sentence is made from.
const SUMMARY_WORK_POINTS: usize = 3;
/// Token budget of one summary sentence (a Chinese character is about one token).
const SENTENCE_TOKENS: usize = 120;

fn is_chinese(s: &str) -> bool {
    let han = s
        .chars()
        .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
        .count();
    han >= 4 && han * 2 >= s.chars().filter(|c| !c.is_whitespace()).count()
}

/// The answer line of a one-item generation: its first non-empty line, without a short label
/// the model sometimes puts in front ("工作成绩：…", "问题：…").
fn answer_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let line = strip_markdown(line);
    let line = match line.split_once(['：', ':']) {
        Some((label, rest))
            if label.chars().count() <= 6
                && !label.chars().any(|c| c.is_ascii_digit())
                && !rest.trim().is_empty() =>
        {
            rest.trim().to_string()
        }
        _ => line,
    };
    // "三是健全领导机制" → "健全领导机制": the enumeration belongs to the report, not the item.
    crate::text::strip_item_marker(&line).to_string()
}

/// Runs of 4 characters the generated text shares with the prompt template but not with the
/// source: the model echoing its instructions ("乡镇法治政府建设报告中……是工作成绩").
fn echoes_template(text: &str, template: &str, source: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(4).find_map(|w| {
        let run: String = w.iter().collect();
        (template.contains(&run) && !source.contains(&run)).then_some(run)
    })
}

/// Accept a generated line if grounded and close to its evidence.
///
/// Numbers are checked against the item's own evidence, not the whole report: a number that
/// exists elsewhere in the source but is attached to this work point is still a fabrication.
fn check(
    candidate: &str,
    evidence: &str,
    source: &str,
    template: &str,
    encoder: &Encoder,
) -> Result<std::result::Result<String, String>> {
    let cleaned = strip_markdown(candidate);
    let c = cleaned.as_str();
    if c.is_empty() || !is_chinese(c) {
        return Ok(Err("not Chinese or empty".into()));
    }
    if template.contains(c) {
        return Ok(Err("copies the prompt".into()));
    }
    if let Some(run) = echoes_template(c, template, source) {
        return Ok(Err(format!("echoes the prompt (`{run}`)")));
    }
    let len = c.chars().count();
    if len > MAX_ITEM_CHARS {
        return Ok(Err(format!(
            "{len} characters, more than {MAX_ITEM_CHARS}: a copy, not a summary"
        )));
    }
    let absent = numbers_absent_from_source(c, evidence);
    if !absent.is_empty() {
        return Ok(Err(format!(
            "numbers absent from its evidence: {}",
            absent.join(", ")
        )));
    }
    let slips = doubled_chars_absent_from_source(c, source);
    if !slips.is_empty() {
        return Ok(Err(format!(
            "doubled characters the source does not have: {}",
            slips.join(", ")
        )));
    }
    let e = encoder.embed(&[c, evidence], EmbedKind::Query)?;
    let sim = cosine(&e[0], &e[1]);
    if sim < MIN_SIMILARITY {
        return Ok(Err(format!(
            "similarity to its evidence {sim:.2} below {MIN_SIMILARITY}"
        )));
    }
    Ok(Ok(c.to_string()))
}

/// Whether `text` stands in the (normalised) report as a whole line or sentence: it is followed
/// by a sentence end or a line break, not by a comma that continues the sentence.
fn is_whole_unit(text: &str, normalized: &str) -> bool {
    let t = text.trim_end_matches(['。', '；', '！', '：']);
    if t.is_empty() {
        return false;
    }
    normalized.match_indices(t).any(|(at, m)| {
        normalized[at + m.len()..]
            .chars()
            .next()
            .is_none_or(|c| "。；！？：\n".contains(c))
    })
}

/// One report's full-mode refinement: what every generated line is checked against (the
/// source and its normalised text), the models and prompts, and the warnings gathered.
struct Refinement<'a> {
    source: &'a str,
    normalized: String,
    encoder: &'a Encoder,
    generator: &'a mut Generator,
    prompts: &'a Prompts,
    warnings: Vec<String>,
}

impl Refinement<'_> {
    /// Rewrite the long item texts, one item per generator call; `evidence[i]` is item i's
    /// evidence text. Small models copy their input when asked to rewrite a numbered list in
    /// one go, but condense a single passage well, and a short prompt costs little to prefill.
    fn rewrite_items<'t>(
        &mut self,
        name: Template,
        texts: impl IntoIterator<Item = &'t mut String>,
        evidence: &[String],
    ) -> Result<()> {
        for (i, (text, evidence)) in texts.into_iter().zip(evidence).take(MAX_ITEMS).enumerate() {
            // A short extractive text that is a whole heading or sentence of the report is
            // already the best summary of its item, and a rewrite could only blur it. A clause
            // cut out of a longer sentence ("在普法宣传上", "此外，还存在……") is not, and goes
            // to the generator.
            if text.chars().count() <= SHORT_ENOUGH_CHARS && is_whole_unit(text, &self.normalized) {
                continue;
            }
            // Fast mode's "heading：clause of its body" is two exact pieces of the report that
            // already say what was done; a rewrite could only blur them.
            if let Some((title, done)) = text.split_once(super::TITLE_SEPARATOR) {
                if is_whole_unit(title, &self.normalized) && self.normalized.contains(done) {
                    continue;
                }
            }
            let item: String = evidence.chars().take(MAX_ITEM_INPUT_CHARS).collect();
            let prompt = self.prompts.render(name, &[("item", &item)]);
            let gen = self.generator.chat(
                &[ChatMessage::user(prompt)],
                &GenerateOptions {
                    max_new_tokens: 48,
                    ..Default::default()
                },
            )?;
            let line = answer_line(&gen.text);
            if line.is_empty() {
                self.warnings.push(format!(
                    "{name}: no generated text for item {}; extractive text kept",
                    i + 1
                ));
                continue;
            }
            let template = self.prompts.template(name);
            match check(&line, evidence, self.source, template, self.encoder)? {
                Ok(t) => *text = t,
                Err(why) => self.warnings.push(format!(
                    "{name}: generated text for item {} rejected ({why}); extractive text kept",
                    i + 1
                )),
            }
        }
        Ok(())
    }

    /// One sentence of the summary from `points`, or `None` (with a warning) when the
    /// generated sentence fails a check. The model is given the points one per line and the
    /// opening of its answer (the template's part after [`super::ANSWER_MARKER`]), never sees
    /// a line break, and stops at its first full stop: one short task per call is what a
    /// small model does well. A template with joiners ([`super::JOINERS_MARKER`]) has the
    /// model copy whole clauses of the points and join them: left free, a small model pads
    /// a sentence on problems with words of its own ("需要进一步完善") or blends two of them.
    fn generate_sentence(
        &mut self,
        name: Template,
        m: &SummaryMaterial,
        points: &[SummaryPoint],
    ) -> Result<Option<String>> {
        let items: Vec<String> = points.iter().map(|p| format!("- {}", p.shown)).collect();
        let plan = self.prompts.render_answer(
            name,
            &[
                ("township", &m.township),
                ("year", &m.year),
                ("items", &items.join("\n")),
            ],
        );
        let copy = plan
            .copy
            .map(|rules| CopyConstraint {
                passages: points.iter().map(|p| p.shown.clone()).collect(),
                joiners: rules.joiners,
                max_chars: rules.max_chars,
                closers: rules.closers,
            })
            .unwrap_or_default();
        let opening = plan.opening;
        let gen = self.generator.chat(
            &[ChatMessage::user(plan.prompt)],
            &GenerateOptions {
                max_new_tokens: SENTENCE_TOKENS,
                answer_prefix: opening.clone(),
                stop_after: "。".into(),
                single_line: true,
                copy,
                ..Default::default()
            },
        )?;
        let mut body = strip_markdown(gen.text.trim());
        if gen.stopped && !body.ends_with(['。', '！']) {
            // The model ended its turn instead of the sentence.
            body.push('。');
        }
        let sentence = format!("{opening}{body}");
        let template = self.prompts.template(name);
        let support: Vec<String> = points.iter().map(|p| p.support.clone()).collect();
        let refused = summary_sentence_form(&sentence, !gen.stopped, &[], template)
            // The opening is the template's, its year checked against the report already.
            .or_else(|| summary_sentence_grounding(&body, &support.join("\n"), self.source))
            .or_else(|| {
                echoes_template(&body, template, self.source).map(|run| {
                    format!("summary: generated sentence echoes the prompt (`{run}`): {sentence}")
                })
            })
            .or_else(|| {
                unsupported_clause(&body, &support)
                    .map(|why| format!("summary: generated sentence dropped ({why}): {sentence}"))
            });
        if let Some(warning) = refused {
            self.warnings.push(warning);
            return Ok(None);
        }
        let shown: Vec<&str> = points.iter().map(|p| p.shown.as_str()).collect();
        let e = self
            .encoder
            .embed(&[sentence.as_str(), &shown.join("\n")], EmbedKind::Query)?;
        let sim = cosine(&e[0], &e[1]);
        if sim < MIN_SIMILARITY {
            self.warnings.push(format!(
                "summary: generated sentence dropped (similarity {sim:.2} to its material): {sentence}"
            ));
            return Ok(None);
        }
        Ok(Some(sentence))
    }
}

/// Why a generated summary sentence is dropped for its form (the warning), or `None`:
/// unfinished, too long, repeated, a copied list, a fragment, not Chinese, or the prompt's
/// own words.
fn summary_sentence_form(
    s: &str,
    unfinished: bool,
    kept: &[String],
    template: &str,
) -> Option<String> {
    if unfinished {
        return Some(format!(
            "summary: unfinished generated sentence dropped: {s}"
        ));
    }
    let len = s.chars().count();
    if len > MAX_SUMMARY_SENTENCE_CHARS {
        return Some(format!(
            "summary: generated sentence of {len} characters dropped (copied material, not a summary)"
        ));
    }
    if kept.iter().any(|k| k == s) {
        return Some(format!("summary: repeated generated sentence dropped: {s}"));
    }
    if s.matches('；').count() >= 2 || s.starts_with(|c: char| c.is_ascii_digit()) {
        return Some(format!(
            "summary: generated sentence dropped (a copied list, not a summary): {s}"
        ));
    }
    let han = s
        .chars()
        .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
        .count();
    if han < 8 || s.contains("- ") || s.ends_with('：') || s.ends_with(':') {
        return Some(format!("summary: generated fragment dropped: {s}"));
    }
    if !is_chinese(s) || template.contains(s) {
        return Some(format!(
            "summary: generated sentence dropped (not Chinese or copies the prompt): {s}"
        ));
    }
    None
}

/// Why a generated summary sentence is dropped for what it states (the warning), or `None`.
/// Numbers must come from the material the generator was given (its items' evidence and
/// figures, `grounding`), so a true number is never attached to the wrong work point.
fn summary_sentence_grounding(s: &str, grounding: &str, source: &str) -> Option<String> {
    let absent = numbers_absent_from_source(s, grounding);
    if !absent.is_empty() {
        return Some(format!(
            "summary: generated sentence dropped (numbers absent from its material: {})",
            absent.join(", ")
        ));
    }
    let slips = doubled_chars_absent_from_source(s, source);
    if !slips.is_empty() {
        return Some(format!(
            "summary: generated sentence dropped (doubled characters the source does not have: {})",
            slips.join(", ")
        ));
    }
    None
}

/// One work point or problem as the summary's generator sees it.
struct SummaryPoint {
    /// What the model is given: the item's text, or its "what was done" part.
    shown: String,
    /// What a sentence drawn from it may say: the item's text, evidence and figures.
    support: String,
}

/// What the summary is made from: the (checked) short item texts, never long passages (given
/// those, small models copy them instead of summarising).
struct SummaryMaterial {
    township: String,
    /// "2024年", or empty when the report states no year.
    year: String,
    /// The leading work points with figures (else the first ones), for the first sentence.
    achievements: Vec<SummaryPoint>,
    problems: Vec<SummaryPoint>,
    /// The problems' theme labels, for a summary whose problems sentence is composed.
    labels: Vec<String>,
}

impl SummaryMaterial {
    fn new(
        out: &ReportSummary,
        structure: &ReportStructure,
        doc: &SourceDocument,
        themes: &ThemeSet,
        achievement_evidence: &[String],
        shortcoming_evidence: &[String],
    ) -> Self {
        let township = structure
            .township
            .as_deref()
            .map(|t| NormalizedText::new(t).text)
            .unwrap_or_else(|| "本乡镇".to_string());
        let year = structure
            .year
            .map(|y| y.to_string())
            .filter(|y| doc.text.contains(y.as_str()))
            .map(|y| format!("{y}年"))
            .unwrap_or_default();
        let with_figures: Vec<usize> = (0..out.achievements.len())
            .filter(|&i| !out.achievements[i].figures.is_empty())
            .collect();
        let chosen: Vec<usize> = if with_figures.is_empty() {
            (0..out.achievements.len()).collect()
        } else {
            with_figures
        };
        let achievements = chosen
            .into_iter()
            .take(SUMMARY_WORK_POINTS)
            .map(|i| {
                let a = &out.achievements[i];
                // "title：what was done": the numbers are in what was done.
                let shown = a
                    .text
                    .split_once(super::TITLE_SEPARATOR)
                    .map_or(a.text.as_str(), |(_, done)| done)
                    .to_string();
                let mut support = vec![NormalizedText::new(&a.text).text];
                support.extend(achievement_evidence.get(i).cloned());
                support.extend(a.figures.iter().map(|f| NormalizedText::new(f).text));
                SummaryPoint {
                    shown,
                    support: support.join("\n"),
                }
            })
            .collect();
        let problems = out
            .shortcomings
            .iter()
            .zip(shortcoming_evidence)
            .take(MAX_ITEMS)
            .map(|(s, evidence)| SummaryPoint {
                shown: s.text.clone(),
                support: format!("{}\n{evidence}", NormalizedText::new(&s.text).text),
            })
            .collect();
        SummaryMaterial {
            township,
            year,
            achievements,
            problems,
            labels: problem_labels(&out.shortcomings, themes),
        }
    }
}

/// An item's evidence quotes, normalised, one per line (never run together: two quotes joined
/// without a break could form a number neither of them contains).
fn evidence_text(evidence: &[Evidence]) -> String {
    evidence
        .iter()
        .map(|e| NormalizedText::new(&e.quote).text)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Full mode: rewrite texts and summary with the generator, each generated sentence checked.
///
/// Steps: achievements, then shortcomings, one generator call per item that needs one; then
/// the summary from the checked item texts, sentence by sentence, composed from the items
/// instead when too little of it passes. Themes stay the classifier's: the generator is not
/// asked (see `summarise::theme_classifier`).
pub fn refine_full(
    fast: ReportSummary,
    doc: &SourceDocument,
    structure: &ReportStructure,
    themes: &ThemeSet,
    encoder: &Encoder,
    generator: &mut Generator,
    prompts: &Prompts,
) -> Result<ReportSummary> {
    let mut out = fast;
    let mut r = Refinement {
        source: doc.text.as_str(),
        normalized: NormalizedText::new(&doc.text).text,
        encoder,
        generator,
        prompts,
        warnings: Vec::new(),
    };

    let achievement_evidence: Vec<String> = out
        .achievements
        .iter()
        .map(|a| evidence_text(&a.evidence))
        .collect();
    let texts = out.achievements.iter_mut().map(|a| &mut a.text);
    r.rewrite_items(Template::Achievements, texts, &achievement_evidence)?;
    let shortcoming_evidence: Vec<String> = out
        .shortcomings
        .iter()
        .map(|s| evidence_text(&s.evidence))
        .collect();
    let texts = out.shortcomings.iter_mut().map(|s| &mut s.text);
    r.rewrite_items(Template::Shortcomings, texts, &shortcoming_evidence)?;

    let material = SummaryMaterial::new(
        &out,
        structure,
        doc,
        themes,
        &achievement_evidence,
        &shortcoming_evidence,
    );
    let achievements = if material.achievements.is_empty() {
        None
    } else {
        r.generate_sentence(
            Template::SummaryAchievements,
            &material,
            &material.achievements,
        )?
    };
    let problems = match achievements {
        Some(_) if !material.problems.is_empty() => {
            r.generate_sentence(Template::SummaryProblems, &material, &material.problems)?
        }
        _ => None,
    };
    let mut warnings = r.warnings;
    (out.summary, out.summary_origin) = match (achievements, problems) {
        (Some(a), Some(p)) => {
            let mut summary = format!("{a}{p}");
            // The themes too, as the digest names them: a reader comparing townships looks
            // for those labels, and the sentence says the problems in the report's words.
            let missing: Vec<&str> = material
                .labels
                .iter()
                .map(String::as_str)
                .filter(|l| !summary.contains(l))
                .collect();
            if !missing.is_empty() {
                summary.push_str(&format!("问题归类：{}。", material.labels.join("、")));
            }
            (summary, SummaryOrigin::Generated)
        }
        (Some(a), None) if material.problems.is_empty() => (
            format!(
                "{a}{}",
                composed_problems(&material.labels, &out.shortcomings)
            ),
            SummaryOrigin::Generated,
        ),
        (Some(a), None) => (
            format!(
                "{a}{}",
                composed_problems(&material.labels, &out.shortcomings)
            ),
            SummaryOrigin::PartlyGenerated,
        ),
        (None, _) => {
            // Compose the summary from the full-mode item texts instead: every one of them
            // was checked against its evidence.
            warnings.push(
                "summary: no generated sentence on the work done passed the checks; summary composed from the items"
                    .into(),
            );
            let composed = compose_fast_summary(
                prompts,
                structure,
                doc,
                &out.achievements,
                &out.shortcomings,
                themes,
                &mut warnings,
            );
            (composed, SummaryOrigin::Composed)
        }
    };
    out.warnings.extend(warnings);
    Ok(out)
}

/// The problems part of a summary whose problems sentence is not generated: the problems'
/// theme labels, else the leading clauses of the first shortcomings.
fn composed_problems(labels: &[String], shortcomings: &[Shortcoming]) -> String {
    let named: Vec<String> = if labels.is_empty() {
        shortcomings
            .iter()
            .take(3)
            .map(|s| super::leading_clause(&s.text))
            .collect()
    } else {
        labels.to_vec()
    };
    if named.is_empty() {
        "存在的主要问题：报告未列出。".to_string()
    } else {
        format!("存在的主要问题：{}。", named.join("；"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_and_sentences_are_whole_units_but_cut_clauses_are_not() {
        let text = "（一）健全制度体系，夯实法治建设根基\n一是普法覆盖存在盲区。在普法宣传上，尽管利用微信群转发，但深度不足。";
        assert!(is_whole_unit("健全制度体系，夯实法治建设根基", text));
        assert!(is_whole_unit("普法覆盖存在盲区", text));
        assert!(is_whole_unit("普法覆盖存在盲区。", text));
        assert!(!is_whole_unit("在普法宣传上", text));
        assert!(!is_whole_unit("不在原文里", text));
    }

    #[test]
    fn answer_lines_lose_labels_markers_and_markdown() {
        assert_eq!(
            answer_line("\n工作成绩：修订完善制度9项\n其他"),
            "修订完善制度9项"
        );
        assert_eq!(answer_line("三是健全领导机制"), "健全领导机制");
        assert_eq!(answer_line("**基层调解力量薄弱**"), "基层调解力量薄弱");
    }

    #[test]
    fn template_echoes_are_found() {
        let template = "下面这段话摘自一份乡镇法治政府建设报告";
        let source = "镇党委始终把法治政府建设摆在突出位置";
        assert_eq!(
            echoes_template("乡镇法治政府建设报告中，是工作成绩", template, source),
            Some("乡镇法治".to_string())
        );
        assert_eq!(
            echoes_template("法治政府建设摆在突出位置", template, source),
            None
        );
    }
}
