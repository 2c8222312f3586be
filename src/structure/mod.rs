//! Structure parser: metadata, headings, sentences with roles, figures. No model.
//!
//! Everything is found in the normalised text (`crate::normalize`) and every offset reported
//! is mapped back to the decoded source text, so slicing `SourceDocument::text` with a
//! sentence's or figure's `start..end` gives the source passage (figures: exactly `text`).

pub mod figures;
pub mod metadata;
pub mod sections;

use crate::document::{slice_chars, SourceDocument};
use crate::normalize::NormalizedText;
use crate::text::numerals::NUMERALS;
use once_cell::sync::Lazy;
use regex::Regex;
use serde::{Deserialize, Serialize};

/// What part of a report a sentence belongs to (CONTRACT.md, parse output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Preamble,
    Achievements,
    Shortcomings,
    Plans,
    Responsibility,
    Other,
}

/// One sentence (or title/heading/signature line) of a report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sentence {
    /// Char offsets in the decoded source text.
    pub start: usize,
    pub end: usize,
    pub role: Role,
    /// Normalised (simplified, clutter-free) text of the sentence.
    pub text: String,
    /// The top-level heading it stands under (normalised), if any.
    pub section: Option<String>,
    /// Index of its paragraph (non-empty line) in the normalised text.
    pub paragraph: usize,
    /// Index of the point it belongs to: clauses of one numbered item, one inline "一是……",
    /// or one unnumbered paragraph share it (increasing through the report).
    #[serde(default)]
    pub item: usize,
    /// A heading line with no body on the line.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub heading: bool,
    /// Outside a problems section, a clause the rules did not call a problem that may still
    /// state one; the summariser's problem detector decides.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub problem_candidate: bool,
}

/// A number + unit expression.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Figure {
    /// Exact source slice `start..end`.
    pub text: String,
    pub start: usize,
    pub end: usize,
    /// Index into `ReportStructure::sentences`.
    pub sentence: usize,
    /// The phrase it counts (normalised), e.g. "法律宣讲活动".
    pub counts: String,
}

/// A report's structure: `township-digest parse` prints one per file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportStructure {
    pub source: String,
    /// Names as written in the source (traditional stays traditional).
    pub township: Option<String>,
    pub county: Option<String>,
    pub city: Option<String>,
    pub year: Option<i32>,
    pub sentences: Vec<Sentence>,
    pub figures: Vec<Figure>,
    pub warnings: Vec<String>,
    /// Set when the document does not look like a township rule-of-law report at all (a menu,
    /// a poem, a report on another subject): the reason, said for a person. `run` fails such
    /// a file instead of summarising it into empty sections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_a_report: Option<String>,
}

impl ReportStructure {
    /// Sentences with a given role.
    pub fn with_role(&self, role: Role) -> impl Iterator<Item = &Sentence> {
        self.sentences.iter().filter(move |s| s.role == role)
    }
}

/// Parse one decoded report.
pub fn parse(doc: &SourceDocument) -> ReportStructure {
    let norm = NormalizedText::new(&doc.text);
    let chars: Vec<char> = norm.text.chars().collect();
    let lines = sections::lines(&chars);
    let n_title = sections::title_line_count(&lines, &chars);
    let title: Vec<(String, usize)> = lines[..n_title]
        .iter()
        .map(|&(s, e)| (chars[s..e].iter().collect(), s))
        .collect();
    let md = metadata::find(&title, &norm.text);
    let name = |span: Option<(usize, usize)>| {
        span.and_then(|(s, e)| {
            let (a, b) = norm.source_span(s, e);
            slice_chars(&doc.text, a, b).map(str::to_string)
        })
    };
    let mut warnings = Vec::new();
    let raw = sections::sentences(&chars, &lines, n_title);
    let sentences: Vec<Sentence> = raw
        .iter()
        .map(|r| {
            let (start, end) = norm.source_span(r.start, r.end);
            Sentence {
                start,
                end,
                role: r.role,
                text: chars[r.start..r.end].iter().collect(),
                section: r.section.clone(),
                paragraph: r.paragraph,
                item: r.item,
                heading: r.heading,
                problem_candidate: r.candidate,
            }
        })
        .collect();
    let mut figures = Vec::new();
    for f in figures::find(&norm.text) {
        // Only figures inside a body sentence (not the title, signature or date lines).
        let Some(si) = raw
            .iter()
            .position(|r| r.start <= f.start && f.end <= r.end)
        else {
            continue;
        };
        if raw[si].role == Role::Other && raw[si].paragraph < n_title {
            continue;
        }
        let (start, end) = norm.source_span(f.start, f.end);
        let Some(text) = slice_chars(&doc.text, start, end) else {
            continue;
        };
        figures.push(Figure {
            text: text.to_string(),
            start,
            end,
            sentence: si,
            counts: f.counts,
        });
    }
    let township = name(md.township);
    if township.is_none() {
        warnings.push("no township name found in the title or body".to_string());
    }
    if md.year.is_none() {
        warnings.push("no report year found".to_string());
    }
    if !sentences.iter().any(|s| s.role == Role::Shortcomings) {
        warnings
            .push("no shortcomings found (no problems section or problems passage)".to_string());
    }
    let not_a_report = not_a_report(&norm.text);
    if let Some(reason) = &not_a_report {
        warnings.push(reason.clone());
    }
    ReportStructure {
        source: doc.source.display().to_string(),
        not_a_report,
        township,
        county: name(md.county),
        city: name(md.city),
        year: md.year,
        sentences,
        figures,
        warnings,
    }
}

/// Words a report on rule-of-law government work cannot avoid. Real reports use them dozens of
/// times (the shortest dev report: 20+); a menu, a poem or a report on another subject almost
/// never. Counted in the normalised (simplified) text, so traditional reports count too.
const RULE_OF_LAW_TERMS: &[&str] = &[
    "法治",
    "依法",
    "普法",
    "法律",
    "执法",
    "司法",
    "法制",
    "调解",
    "行政",
    "合法性",
];

/// Fewer mentions of [`RULE_OF_LAW_TERMS`] than this and the document is not a report.
const MIN_RULE_OF_LAW_MENTIONS: usize = 3;

/// How a township speaks of itself: "我乡", "我们街道", "全镇", "镇党委", "街道党工委", "街道工委"
/// (Beijing's name for a 街道's party committee), "苏木政府", "街道和社区".
static TOWNSHIP_VOICE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(
        r"(我|本|全|该|我们)(乡|镇|街道|苏木)|(乡|镇|街道|苏木)(党委|政府|人民政府|党工委|工委|办事处|干部|机关|班子)|(乡|镇)村(两级|干部)|街道(和|与|、)?社区|本人",
    )
    .unwrap_or_else(|e| panic!("static regex: {e}"))
});
/// An article heading of a law or regulation: "第十二条".
static LAW_ARTICLE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(&format!(r"(?m)^\s*第[{NUMERALS}]{{1,5}}条"))
        .unwrap_or_else(|e| panic!("static regex: {e}"))
});
/// Markdown or code: "# heading", "```", "- [x]", "| a | b |".
static MARKUP_LINE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?m)^\s*(#{1,6}\s|```|[-*]\s+\[|\|.*\|\s*$|\$\s)")
        .unwrap_or_else(|e| panic!("static regex: {e}"))
});

/// Why a normalised text is not a township rule-of-law report, or `None` if it may be one.
///
/// Deliberately lenient with real reports: one without a title, a year or a problems section
/// still passes (those are warnings). Refused: a text that never talks about rule-of-law work
/// (a menu, a poem), a law or regulation (its articles "第十二条……"), a README or other
/// markdown/code document, and a text that never speaks as a township ("我镇", "乡党委").
pub fn not_a_report(normalized: &str) -> Option<String> {
    let mentions: usize = RULE_OF_LAW_TERMS
        .iter()
        .map(|t| normalized.matches(t).count())
        .sum();
    if mentions < MIN_RULE_OF_LAW_MENTIONS {
        return Some(format!(
            "does not look like a township rule-of-law report: {mentions} mention(s) of \
             rule-of-law terms ({} …), at least {MIN_RULE_OF_LAW_MENTIONS} expected",
            RULE_OF_LAW_TERMS[..4].join("、")
        ));
    }
    let articles = LAW_ARTICLE.find_iter(normalized).count();
    if articles >= 5 {
        return Some(format!(
            "looks like a law or regulation ({articles} articles such as \"第一条\"), not a \
             township's report"
        ));
    }
    let lines = normalized
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
        .max(1);
    let markup = MARKUP_LINE.find_iter(normalized).count();
    let latin = normalized
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .count();
    let han = normalized
        .chars()
        .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
        .count();
    if markup * 5 >= lines || latin > han {
        return Some(format!(
            "looks like a README or other markdown/code document ({markup} markup line(s), \
             {latin} Latin letters against {han} Chinese characters), not a township's report"
        ));
    }
    let voice = TOWNSHIP_VOICE.find_iter(normalized).count();
    if voice < 2 {
        return Some(
            "never speaks as a township (我乡/我镇/全镇/镇党委/街道办事处 …): not a township's \
             report"
                .to_string(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Format;

    fn doc(text: &str) -> SourceDocument {
        SourceDocument {
            source: "t.txt".into(),
            sha256: String::new(),
            format: Format::Txt,
            encoding: None,
            text: text.to_string(),
        }
    }

    fn check_offsets(text: &str) -> ReportStructure {
        let d = doc(text);
        let s = parse(&d);
        for x in &s.sentences {
            let t =
                slice_chars(text, x.start, x.end).unwrap_or_else(|| panic!("{x:?} out of range"));
            assert!(!t.trim().is_empty(), "{x:?}");
        }
        for f in &s.figures {
            assert_eq!(slice_chars(text, f.start, f.end), Some(f.text.as_str()));
            assert!(f.sentence < s.sentences.len());
        }
        s
    }

    #[test]
    fn odd_inputs_do_not_panic_and_keep_offsets_exact() {
        for t in [
            "",
            "\n\n\r\n",
            "。。。；；",
            "[bookmark: _GoBack]",
            "一、\n（一）\n1.\n一是",
            "某镇\r\n2024年报告\r\n一、工作\r\n开展宣讲３０余场次，覆盖１２００余人次。\r\n二、存在问题\r\n经费不足。",
            "\u{FEFF}臺灣鄉鎮報告\n開展宣講三十餘場次。",
            "没有任何标点的一行很长很长的文字没有任何标点的一行很长很长的文字没有任何标点的一行很长很长的文字没有任何标点",
            "🙂🙂 emoji 行\n2024年 1 月",
        ] {
            check_offsets(t);
        }
    }

    #[test]
    fn a_menu_or_a_poem_is_not_a_report_but_a_short_untitled_report_is() {
        let menu = "春风小馆菜单\n凉菜\n拍黄瓜 12元\n热菜\n宫保鸡丁 38元\n营业时间10:00-22:00。";
        let poem = "静夜思\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。";
        for t in [menu, poem] {
            let reason = parse(&doc(t)).not_a_report.expect(t);
            assert!(reason.contains("rule-of-law"), "{reason}");
        }
        let report = "一、主要成效\n我镇坚持依法行政，开展普法宣传12场。\n二、存在问题\n全镇法治宣传不平衡。";
        assert_eq!(parse(&doc(report)).not_a_report, None);
        // Traditional script counts after normalisation.
        let traditional =
            "一、主要成效\n我鎮堅持依法行政，開展普法宣傳。\n二、存在問題\n全鎮法治宣傳不平衡。";
        assert_eq!(parse(&doc(traditional)).not_a_report, None);
        // A 街道 in Beijing has a 街道工委 and speaks of "我们街道".
        let jiedao = "一、主要成效\n街道工委坚持依法行政，开展普法宣传12场。\n二、存在问题\n我们街道的法治宣传还不平衡。";
        assert_eq!(parse(&doc(jiedao)).not_a_report, None);
        // A README about such reports, and a law, are not reports either.
        let readme = "# township-digest\n\nReads 法治政府建设情况报告 (rule-of-law reports).\n\n## Usage\n\n```\ntownship-digest run reports --out out\n```\n- 普法 outreach, 执法 enforcement, 法律明白人 liaisons\n";
        assert!(parse(&doc(readme)).not_a_report.unwrap().contains("README"));
        let law = "中华人民共和国行政处罚法\n第一章 总则\n第一条 为了规范行政处罚的设定和实施，根据宪法，制定本法。\n第二条 行政处罚是指行政机关依法对违反行政管理秩序的公民给予惩戒的行为。\n第三条 行政处罚的设定和实施，适用本法。\n第四条 公民违反行政管理秩序的行为，应当给予行政处罚的，依照本法由法律规定。\n第五条 行政处罚遵循公正、公开的原则。\n第六条 实施行政处罚，纠正违法行为，应当坚持处罚与教育相结合。";
        assert!(parse(&doc(law)).not_a_report.unwrap().contains("law"));
    }

    #[test]
    fn fullwidth_figures_map_back_to_the_source_text() {
        let s = check_offsets("某镇\r\n2024年报告\r\n一、工作\r\n开展宣讲３０余场次，覆盖１２００余人次。\r\n二、存在问题\r\n经费不足。");
        let texts: Vec<&str> = s.figures.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(texts, ["３０余场次", "１２００余人次"]);
        assert!(s
            .with_role(Role::Shortcomings)
            .any(|x| x.text == "经费不足。"));
    }
}
