//! Grounding checks: no number in generated or composed text that the source lacks, no
//! generation slip (a doubled character) the source does not have.

use crate::text::is_han;
use crate::text::numerals::{
    fold_halfwidth, is_numeral_any_script, NUMERALS, TRADITIONAL_NUMERALS,
};
use once_cell::sync::Lazy;
use regex::Regex;
use std::collections::BTreeSet;

static ARABIC: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"[0-9]+(?:[.．][0-9]+)?").unwrap_or_else(|e| panic!("static regex: {e}"))
});

/// Chinese numerals (either script) followed by a unit or an approximation word (“三场”,
/// “二十余名”, “近百人”).
static CHINESE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(&format!(
        r"[{NUMERALS}{TRADITIONAL_NUMERALS}]+[余餘多]?(?:个|個|名|次|场|場|人|项|項|件|起|份|条|條|户|戶|村|所|家|元|期|批|类|類|种|種|支|位|处|處|座|本|册|冊|场次|场|年|个月|天|小时|万|萬|亿|億|%|％)",
    ))
    .unwrap_or_else(|e| panic!("static regex: {e}"))
});

fn arabic_numbers(s: &str) -> BTreeSet<String> {
    ARABIC
        .find_iter(s)
        .map(|m| m.as_str().trim_start_matches('0').to_string())
        .map(|n| {
            if n.is_empty() || n.starts_with('.') {
                format!("0{n}")
            } else {
                n
            }
        })
        .collect()
}

/// Numbers in `text` (arabic numbers incl. decimals and percentages, Chinese numerals with a
/// unit or approximation) that do not occur in `source`. Empty means the text is grounded.
pub fn numbers_absent_from_source(text: &str, source: &str) -> Vec<String> {
    // Full-width digits, points and percent signs compare as ASCII (the rest of the folding
    // touches no char a number token is made of).
    let text = fold_halfwidth(text);
    let src = fold_halfwidth(source);
    let simplified = zhconv::zhconv(&src, zhconv::Variant::ZhCN);
    let src_numbers: BTreeSet<String> = arabic_numbers(&src)
        .into_iter()
        .chain(arabic_numbers(&simplified))
        .collect();
    let mut absent = Vec::new();
    for m in ARABIC.find_iter(&text) {
        let n = m.as_str().trim_start_matches('0');
        let n = if n.is_empty() || n.starts_with('.') {
            format!("0{n}")
        } else {
            n.to_string()
        };
        if !src_numbers.contains(&n) && !absent.contains(&m.as_str().to_string()) {
            absent.push(m.as_str().to_string());
        }
        // A percentage must be a percentage in the source too.
        let pct = format!("{}%", m.as_str());
        if text[m.end()..].starts_with('%')
            && !src.contains(&pct)
            && !simplified.contains(&pct)
            && !absent.contains(&pct)
        {
            absent.push(pct);
        }
    }
    for m in CHINESE.find_iter(&text) {
        let s = m.as_str();
        if !src.contains(s) && !simplified.contains(s) && !absent.contains(&s.to_string()) {
            absent.push(s.to_string());
        }
    }
    // Any other Chinese numeral with the character it qualifies ("三步到位" made up from
    // "三是……"): no list of units is complete, so the numeral and its next character must
    // stand in the source as written. A lone 一 is left out: it is part of too many words
    // (一些, 统一, 进一步) to be a number.
    for token in numeral_phrases(&text) {
        if !src.contains(&token) && !simplified.contains(&token) && !absent.contains(&token) {
            absent.push(token);
        }
    }
    absent
}

/// Each maximal run of Chinese numeral characters other than a lone 一, with the Han
/// character that follows it.
fn numeral_phrases(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_numeral_any_script(chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_numeral_any_script(chars[i]) {
            i += 1;
        }
        let run: String = chars[start..i].iter().collect();
        if run == "一" {
            continue;
        }
        if let Some(&next) = chars.get(i).filter(|c| is_han(**c)) {
            out.push(format!("{run}{next}"));
        }
    }
    out
}

/// Doubled Han characters in `text` ("高高位推动") that `source` never doubles. Small models
/// slip like this while copying, and a slip changes a phrase's meaning without moving its
/// embedding much, so the similarity check alone lets it through. Genuine reduplication
/// ("常常", "人人") copied from the source passes.
pub fn doubled_chars_absent_from_source(text: &str, source: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<String> = Vec::new();
    for w in chars.windows(2) {
        if w[0] == w[1] && is_han(w[0]) {
            let pair: String = w.iter().collect();
            if !source.contains(&pair) && !out.contains(&pair) {
                out.push(pair);
            }
        }
    }
    out
}

/// Generated text without markdown decoration (`**bold**`, `# heading`, `- item`, `` `code` ``):
/// the reports are plain text and the digest renders its own emphasis.
pub fn strip_markdown(text: &str) -> String {
    let t = text.replace("**", "").replace("__", "").replace('`', "");
    t.trim()
        .trim_start_matches(['#', '-', '*', '·', '•', '>', ' '])
        .trim()
        .to_string()
}

/// Words that join a summary's clauses and state no fact of their own ("……等问题"): left out
/// when a clause's support is measured.
const CONNECTIVES: [&str; 6] = ["等问题", "的问题", "问题", "以及", "存在", "方面"];

/// Share of a generated clause's character pairs that must occur in one single item of its
/// material. Below it the clause says something no item says: a blend of two items ("专题学习
/// 活动41场次" from "专题学习9次" and "普法活动41场次") or filler ("需要进一步完善法律体系").
pub const MIN_CLAUSE_SUPPORT: f32 = 0.6;

/// Han characters and digits of `s`, as adjacent pairs.
fn char_pairs(s: &str) -> Vec<String> {
    let kept: Vec<char> = s
        .chars()
        .filter(|&c| is_han(c) || c.is_ascii_digit())
        .collect();
    kept.windows(2).map(|w| w.iter().collect()).collect()
}

/// The first clause of a generated sentence that no single item of `material` supports, and
/// why; `None` when every clause is supported. A clause is supported by the item holding the
/// most of its character pairs when that item holds at least [`MIN_CLAUSE_SUPPORT`] of them
/// and every number of the clause: a true number attached to the wrong work point is refused.
/// `material` is normalised text (simplified, half-width), as is `sentence`.
pub fn unsupported_clause(sentence: &str, material: &[String]) -> Option<String> {
    for clause in sentence.split(['，', '、', '；', '。', '！', '：', ',', ';', ':']) {
        let mut c = clause.to_string();
        for w in CONNECTIVES {
            c = c.replace(w, "");
        }
        let pairs = char_pairs(&c);
        let numbers = numbers_absent_from_source(&c, "");
        if pairs.len() < 2 && numbers.is_empty() {
            continue;
        }
        let held = |m: &String| pairs.iter().filter(|p| m.contains(p.as_str())).count();
        // The first best item wins a tie: deterministic.
        let best = material.iter().fold(None::<&String>, |b, m| match b {
            Some(b) if held(b) >= held(m) => Some(b),
            _ => Some(m),
        });
        let Some(best) = best else {
            return Some(format!("`{clause}` has no material"));
        };
        let share = if pairs.is_empty() {
            1.0
        } else {
            held(best) as f32 / pairs.len() as f32
        };
        if share < MIN_CLAUSE_SUPPORT {
            return Some(format!(
                "`{clause}`: no item says it (best {:.0}% of its words)",
                share * 100.0
            ));
        }
        let absent = numbers_absent_from_source(&c, best);
        if !absent.is_empty() {
            return Some(format!(
                "`{clause}`: {} not in the item it summarises",
                absent.join(", ")
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_clause_must_be_said_by_one_item_with_its_numbers() {
        let items: Vec<String> = [
            "全年开展法治专题学习9次",
            "深入冬春草场、牧民定居点开展马背上的普法活动41场次",
            "全年开展草原执法巡查96次",
        ]
        .map(String::from)
        .to_vec();
        // Items joined into one sentence: every clause is one item's.
        assert_eq!(
            unsupported_clause(
                "全年开展法治专题学习9次，马背上的普法活动41场次，草原执法巡查96次。",
                &items
            ),
            None
        );
        // A true number moved to another work point.
        let moved = unsupported_clause("全年开展法治专题学习41次", &items);
        assert!(moved.is_some_and(|w| w.contains("41")));
        // A blend of two items, and filler no item says.
        assert!(unsupported_clause("普法专题学习活动41场次", &items).is_some());
        assert!(unsupported_clause("需要进一步完善法律体系", &items).is_some());
        // Joining words are not facts.
        let problems = vec!["普法专项工作经费紧张".to_string()];
        assert_eq!(
            unsupported_clause("普法专项工作经费紧张等问题。", &problems),
            None
        );
    }

    #[test]
    fn numbers_present_in_the_source_pass() {
        let src = "开展宣传活动36场次，受益3800余人次，化解率达95.5%，新选三名调解员。";
        assert!(numbers_absent_from_source("开展36场次，化解率95.5%", src).is_empty());
        assert!(numbers_absent_from_source("新选三名调解员", src).is_empty());
        assert!(numbers_absent_from_source("普法覆盖不均衡", src).is_empty());
    }

    #[test]
    fn invented_numbers_are_reported() {
        let src = "开展宣传活动36场次，化解率达95.5%。";
        assert_eq!(numbers_absent_from_source("开展40场次", src), vec!["40"]);
        assert_eq!(
            numbers_absent_from_source("化解率95.6%", src),
            vec!["95.6", "95.6%"]
        );
        assert_eq!(numbers_absent_from_source("培训五次", src), vec!["五次"]);
        // 36 is in the source but not as a percentage.
        assert_eq!(numbers_absent_from_source("覆盖率36%", src), vec!["36%"]);
        // 3 is not 36.
        assert_eq!(numbers_absent_from_source("开展3场", src), vec!["3"]);
    }

    #[test]
    fn chinese_numerals_with_any_unit_must_stand_in_the_source() {
        let src = "三是健全领导机制，确保依法决策。统一部署，进一步加强。";
        assert_eq!(
            numbers_absent_from_source("三步到位，确保依法决策", src),
            vec!["三步"]
        );
        assert!(numbers_absent_from_source("三是健全领导机制", src).is_empty());
        assert!(numbers_absent_from_source("统一部署，进一步加强", src).is_empty());
    }

    #[test]
    fn doubled_characters_the_source_lacks_are_slips() {
        let src = "坚持高位推动，常常深入村组。";
        assert_eq!(
            doubled_chars_absent_from_source("坚持高高位推动", src),
            vec!["高高"]
        );
        assert!(doubled_chars_absent_from_source("常常深入村组", src).is_empty());
        assert!(doubled_chars_absent_from_source("aa 11", src).is_empty());
    }

    #[test]
    fn markdown_is_stripped_from_generated_lines() {
        assert_eq!(
            strip_markdown("**普法宣传**覆盖不均衡"),
            "普法宣传覆盖不均衡"
        );
        assert_eq!(strip_markdown("- 经费保障不足"), "经费保障不足");
        assert_eq!(strip_markdown("### 摘要"), "摘要");
    }

    #[test]
    fn traditional_source_grounds_simplified_text() {
        let src = "發放資料2100餘份，4個村";
        assert!(numbers_absent_from_source("发放资料2100余份，4个村", src).is_empty());
    }
}
