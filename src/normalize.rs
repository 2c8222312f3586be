//! Normalisation with an offset map back to the decoded source text.
//!
//! Steps, line by line: traditional → simplified script (zhconv, an OpenCC-based converter;
//! a line whose char count would change is converted char by char so the map stays exact),
//! full-width digits/letters/some punctuation → half-width, conversion artefacts such as
//! `[bookmark: _GoBack]` removed, leading/trailing blanks trimmed, and portal clutter lines
//! (CLUTTER_PATTERNS) dropped. Every char of the normalised text comes from exactly one source
//! char, so spans map back exactly.

use crate::text::numerals::halfwidth;
use once_cell::sync::Lazy;
use regex::Regex;

/// Normalised text (simplified script, half-width digits/punctuation, portal clutter and
/// conversion artefacts removed) plus, for every char of `text`, the source char offset it
/// came from. Invariant: `source_offsets.len() == text.chars().count() + 1` (last = end).
#[derive(Debug, Clone)]
pub struct NormalizedText {
    pub text: String,
    pub source_offsets: Vec<usize>,
}

/// Lines of government portal pages that are not part of the report (matched against the
/// normalised, trimmed line). Data, not themes: extend freely.
pub const CLUTTER_PATTERNS: &[&str] = &[
    r"^(发布时间|发布日期|信息来源|来源|浏览次数|阅读次数|点击数|访问量|作者)\s*[:：]",
    r"(发布时间|信息来源|浏览次数)\s*[:：]",
    r"^字号\s*[:：]?\s*(\[?\s*大\s*\]?\s*\[?\s*中\s*\]?\s*\[?\s*小\s*\]?)",
    r"^(【?\s*)?(打印本页|打印此页|关闭窗口|关闭本页|收藏本页|返回顶部|我要打印)",
    r"^(上一篇|下一篇|上一条|下一条)\s*[:：]?",
    r"^(当前位置|您现在的位置|你现在的位置|所在位置)\s*[:：]",
    r"^首页\s*(>|›|»|/|＞)",
    r"^\S{1,12}\s*(>|›|»)\s*\S{1,12}\s*(>|›|»)",
    r"^(分享到|扫一扫|微信扫一扫)",
    r"版权所有|主办单位\s*[:：]|^主办\s*[:：]|承办\s*[:：]|ICP备|网站标识码|公网安备|技术支持\s*[:：]",
    r"^\S{2,20}(门户网站|政府网站|人民政府网)$",
];

/// Conversion artefacts removed wherever they stand (Word bookmarks and the like).
const ARTEFACT_PATTERN: &str = r"\[bookmark:[^\]]*\]|\[image:[^\]]*\]|\{\{[^}]*\}\}";

static CLUTTER: Lazy<Vec<Regex>> = Lazy::new(|| {
    CLUTTER_PATTERNS
        .iter()
        .filter_map(|p| Regex::new(p).ok())
        .collect()
});
static ARTEFACT: Lazy<Regex> =
    Lazy::new(|| Regex::new(ARTEFACT_PATTERN).expect("constant artefact pattern is valid"));

/// Whether a normalised, trimmed line is portal clutter.
pub fn is_clutter_line(line: &str) -> bool {
    CLUTTER.iter().any(|re| re.is_match(line))
}

/// ASCII punctuation typed into Chinese text (a badly converted file: "(一)", ",", ";", ":")
/// → the Chinese marks the structure parser reads. A comma or colon between two digits
/// (1,200; 10:30) stays; `.` ends a sentence only after a Chinese character or a closing
/// quote or bracket ("使用率低.镇综合执法队……"), never after a digit or a letter (decimals,
/// "1." item markers, web addresses).
fn chinese_punctuation(chars: &mut [(usize, char)]) {
    let digit = |i: Option<&(usize, char)>| i.is_some_and(|(_, c)| c.is_ascii_digit());
    // Not after a Chinese numeral: "一.工作开展情况" is an item marker typed in ASCII.
    let ends_words = |c: char| {
        (('\u{4e00}'..='\u{9fff}').contains(&c) && !"〇一二三四五六七八九十百千万两".contains(c))
            || "\"”’）)】」』".contains(c)
    };
    for i in 0..chars.len() {
        let between_digits = i > 0 && digit(chars.get(i - 1)) && digit(chars.get(i + 1));
        let after_words = i > 0 && ends_words(chars[i - 1].1) && !digit(chars.get(i + 1));
        let c = chars[i].1;
        chars[i].1 = match c {
            '.' if after_words => '。',
            ',' if !between_digits => '，',
            ':' if !between_digits => '：',
            ';' => '；',
            '(' => '（',
            ')' => '）',
            '?' => '？',
            '!' => '！',
            _ => c,
        };
    }
}

fn to_simplified_chars(line: &str) -> Vec<char> {
    let src: Vec<char> = line.chars().collect();
    // Fast path: nothing but ASCII / already-simplified text needs no conversion call.
    if line.is_ascii() {
        return src;
    }
    let conv: Vec<char> = zhconv::zhconv(line, zhconv::Variant::ZhCN)
        .chars()
        .collect();
    if conv.len() == src.len() {
        return conv;
    }
    // Phrase conversion changed the length: fall back to char by char.
    src.iter()
        .map(|&c| {
            if c.is_ascii() {
                return c;
            }
            let mut buf = [0u8; 4];
            let one = zhconv::zhconv(c.encode_utf8(&mut buf), zhconv::Variant::ZhCN);
            let mut it = one.chars();
            match (it.next(), it.next()) {
                (Some(x), None) => x,
                _ => c,
            }
        })
        .collect()
}

impl NormalizedText {
    pub fn new(source: &str) -> NormalizedText {
        let mut text = String::with_capacity(source.len());
        let mut offsets = Vec::with_capacity(source.len() / 2);
        let mut pos = 0usize; // source char offset of the current line start
        let total = source.chars().count();
        for raw in source.split_inclusive('\n') {
            let line_chars = raw.chars().count();
            let (body, eol_len) = match raw.strip_suffix("\r\n") {
                Some(b) => (b, 2),
                None => match raw.strip_suffix('\n') {
                    Some(b) => (b, 1),
                    None => (raw, 0),
                },
            };
            let body = body.strip_suffix('\r').unwrap_or(body);
            // Chars of the body kept after artefact removal: (source offset, char).
            let mut removed = vec![false; body.chars().count()];
            for m in ARTEFACT.find_iter(body) {
                let s = body[..m.start()].chars().count();
                let e = s + m.as_str().chars().count();
                for r in removed.iter_mut().take(e).skip(s) {
                    *r = true;
                }
            }
            let conv = to_simplified_chars(body);
            let mut kept: Vec<(usize, char)> = conv
                .iter()
                .enumerate()
                .filter(|(i, _)| !removed[*i])
                .map(|(i, &c)| (pos + i, halfwidth(c)))
                .collect();
            chinese_punctuation(&mut kept);
            // Trim blanks (incl. BOM) at both ends.
            let blank = |c: char| c.is_whitespace() || c == '\u{FEFF}';
            while kept.last().is_some_and(|(_, c)| blank(*c)) {
                kept.pop();
            }
            let lead = kept.iter().take_while(|(_, c)| blank(*c)).count();
            kept.drain(..lead);
            let line: String = kept.iter().map(|(_, c)| *c).collect();
            if !line.is_empty() && !is_clutter_line(&line) {
                for (o, c) in kept {
                    text.push(c);
                    offsets.push(o);
                }
            }
            if eol_len > 0 {
                text.push('\n');
                offsets.push(pos + line_chars - 1);
            }
            pos += line_chars;
        }
        offsets.push(total);
        NormalizedText {
            text,
            source_offsets: offsets,
        }
    }

    /// Normalised char span → source char span. Ends map to just after the source char of the
    /// last normalised char, so chars removed right after a span are never included.
    pub fn source_span(&self, start: usize, end: usize) -> (usize, usize) {
        let last = self.source_offsets.len().saturating_sub(1);
        let s = self.source_offsets[start.min(last)];
        if end <= start {
            return (s, s);
        }
        let e = self.source_offsets[(end - 1).min(last)] + 1;
        (s, e.max(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::slice_chars;

    fn check_map(src: &str, n: &NormalizedText) {
        assert_eq!(n.source_offsets.len(), n.text.chars().count() + 1);
        for w in n.source_offsets.windows(2) {
            assert!(w[0] < w[1] || w[1] == src.chars().count());
        }
    }

    #[test]
    fn traditional_becomes_simplified_with_exact_offsets() {
        let src = "青嵐市白泉縣黃渠鄉\n受教育群眾2900餘人次";
        let n = NormalizedText::new(src);
        assert_eq!(n.text, "青岚市白泉县黄渠乡\n受教育群众2900余人次");
        check_map(src, &n);
        let i = n.text.chars().position(|c| c == '2').unwrap();
        let (s, e) = n.source_span(i, i + 7);
        assert_eq!(slice_chars(src, s, e), Some("2900餘人次"));
    }

    #[test]
    fn fullwidth_digits_and_percent_become_halfwidth() {
        let n = NormalizedText::new("成功率９５．５％（一）");
        assert_eq!(n.text, "成功率95.5%（一）");
    }

    #[test]
    fn ascii_punctuation_becomes_chinese_except_inside_numbers() {
        let n = NormalizedText::new("(一)开展宣讲10场,覆盖1,200人;时间10:30:第1.2项");
        assert_eq!(
            n.text,
            "（一）开展宣讲10场，覆盖1,200人；时间10:30：第1.2项"
        );
        let n = NormalizedText::new(
            "二.存在的问题\n1.平台使用率低.仅录入12.5%,\"线上补录\"仍然存在.见www.gov.cn",
        );
        assert_eq!(
            n.text,
            "二.存在的问题\n1.平台使用率低。仅录入12.5%，\"线上补录\"仍然存在。见www.gov.cn"
        );
    }

    #[test]
    fn portal_clutter_and_bookmarks_are_dropped() {
        let src = "当前位置：首页 > 政务公开 > 年度报告\n发布时间:2025-03-12 信息来源:湾头镇人民政府 浏览次数:286\n字号:大 中 小\n[bookmark: _GoBack]（二）部分普法活动重形式。\n打印本页 关闭窗口\n上一篇：某某通知\n主办：白泉县人民政府办公室　承办：白泉县融媒体中心";
        let n = NormalizedText::new(src);
        assert_eq!(n.text.trim(), "（二）部分普法活动重形式。");
        check_map(src, &n);
        let start = n.text.chars().position(|c| c == '（').unwrap();
        let (s, e) = n.source_span(start, start + 13);
        assert_eq!(slice_chars(src, s, e), Some("（二）部分普法活动重形式。"));
    }

    #[test]
    fn body_text_is_not_clutter() {
        for l in [
            "2024年，湾头镇在县委、县政府的正确领导下，坚持以习近平新时代中国特色社会主义思想为指导。",
            "三、下一步工作计划",
            "湾头镇人民政府",
        ] {
            assert!(!is_clutter_line(l), "{l}");
        }
    }
}
