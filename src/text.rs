//! Chinese report-text knowledge shared by the structure parser, the summaries and the
//! grounding checks: item markers ("一是", "（二）", "3.", "问题一：") and the discourse
//! openers that start a new point ("此外，", "例如，"). One home, so the parser that cuts a
//! report into points and the summariser that strips their markers agree. Numerals and
//! full-width folding are in [`numerals`].

pub mod numerals;

use numerals::with_item_numerals;
use once_cell::sync::Lazy;
use regex::Regex;

fn re(p: &str) -> Regex {
    Regex::new(p).expect("constant text pattern is valid")
}

/// A marker that opens a point at the start of a clause: 一是 / 其一， / （一） (1) / 1. 1、 /
/// 一、 / 第一， 第一件， / 问题一： / 整改措施一： / —— / 【…】.
static ITEM_MARKER: Lazy<Regex> = Lazy::new(|| {
    re(&with_item_numerals(
        r"^\s*(?:[{N}]{1,3}是[，,：:]?|其[{N}]{1,2}[，,、是：:]|[（(]\s*[{N}0-9]{1,3}\s*[）)][、，,.．：:]?|[0-9]{1,2}\s*[.．、](?:[^0-9]|$)|[{N}]{1,3}\s*[、.．]|第[{N}]{1,3}(?:件|条|点|个方面|方面|项)?[，,、：:是]|(?:存在的?)?问题[{N}0-9]{1,3}[：:，,、.．]|(?:整改|改进)?(?:措施|举措)[{N}0-9]{1,3}[：:，,、.．]|——+|[-—]\s|【[^】]{1,24}】)",
    ))
});

/// Words that open a new point inside a running paragraph ("此外，还存在……", "例如，……").
static DISCOURSE_OPENER: Lazy<Regex> = Lazy::new(|| {
    re(
        r"^\s*(?:此外|另外|同时|再者|其次|首先|最后|还有就是|还有|例如|比如|再比如|再如|譬如|另一方面)[，,：:]?",
    )
});

/// Words that state something is lacking or wrong ("不足", "偏少", "流于形式", "没人把关").
pub static PROBLEM_CUE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"不足|不够|不高|不多|不大|不好|不太|不会|不愿|不熟|不懂|不了解|不清|偏少|偏低|偏弱|偏大|偏紧|偏慢|较慢|短缺|不到位|不明显|滞后|薄弱|欠缺|流于形式|有待|尚未|尚显|尚不|仍存在|仍然存在|还存在|存在.{0,20}(问题|现象|情况|隐患|差距|盲区|风险)|缺乏|缺少|缺失|不强|不畅|不严|不规范|不完善|不健全|不全|不及时|不顺畅|难以|困难|差距|淡薄|有限|紧张|制约|短板|较少|很少|不深|不力|单一|不均衡|不平衡|冷热不均|盲区|走过场|重形式|轻实效|不紧密|推诿|较多|积压|未能|没有(经过|形成|建立|落实|开展|报|交|做|按|及时|真正|稳定|固定|专门|专项|保障)|挤占|没人|没钱|没什么|拿不出|跟不上|听不到|赶不上|用不上|难得|很难|老套|凭感觉|凭经验|凭老经验|挂名|屈指可数|身兼数职|一人多岗|疲于应付|力不从心|空着|拖|不出面|有意见|意见较大|逾期|败诉|太少|过少|太低|过低|不能及时",
    )
});
/// A plan clause that names the problem it answers: "针对部分群众遇事不找法的问题，" — the
/// problem is group 1.
pub static TARGETED_PROBLEM: Lazy<Regex> =
    Lazy::new(|| re(r"^针对([^。；]{6,90}?)(?:的)?(?:问题|情况|现象|短板|不足|状况)[，,：:]?$"));

/// A leading connective or concession that frames a point without stating it: "此外，",
/// "但说实话，", "从实际情况看，", "但对照群众期盼，我们也清醒地看到，".
static LEAD_PHRASE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"^\s*(?:(?:但是?|不过|然而|可是|只是|同时|此外|另外|再者|其次|首先|最后|还有就是|例如|比如|再比如|再如|譬如|说实话|说实在的|老实说|坦率地(?:说|讲)|实事求是地(?:说|讲)|客观地(?:说|讲)|但说实话|从实际(?:情况)?(?:看|来看)|总的(?:来)?看|总的来说)[，,：:]|(?:存在(?:的)?(?:主要)?问题|问题|不足|短板)[：:]|[^。；]{0,30}?(?:清醒|清楚)地?(?:看到|认识到)[，,：:]?)",
    )
});

/// A sentence that points at other sentences of its passage as its object instead of stating
/// one itself: "重点抓好以下工作：", "逐项抓好上述工作的落实", "把以上措施落到实处".
static REFERS_TO_LIST: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(上述|以上|以下|如下|下列|前述|前面|这些)(几项|各项|几个方面的?|[一二三四五六七八九十两]项)?(工作|措施|举措|任务|目标|计划|打算|要求|事项|内容|重点)",
    )
});
/// The closing formula of an official report ("特此报告", "以上报告，请审阅", "妥否，请批示").
static CLOSING_FORMULA: Lazy<Regex> = Lazy::new(|| {
    re(
        r"^\s*(特此|专此|谨此)(报告|汇报|呈报|报送|函告)|^\s*以上(报告|汇报)|妥否|请(予)?(审阅|审议|批示|审示|指正|批复)",
    )
});
/// The sign-off that ends a report after its last section: a date line ("2023年12月",
/// "二〇二三年十二月二十日") or the issuing body ("石磨乡人民政府", "XX街道办事处"), alone
/// on its line, so it lands in the plans section when plans come last.
static SIGN_OFF: Lazy<Regex> = Lazy::new(|| {
    re(
        r"^[0-9０-９〇○零一二三四五六七八九十]{2,4}\s*年(\s*[0-9０-９〇○零一二三四五六七八九十]{1,2}\s*月(\s*[0-9０-９〇○零一二三四五六七八九十]{1,3}\s*日)?)?[。.]?$|^(中共)?\p{Han}{1,12}(乡|镇|街道|乡镇)(人民政府|办事处|党委|委员会)[。.]?$",
    )
});

/// Whether one sentence of a plans section states an intended action of its own: not a
/// closing formula ("特此报告") or sign-off (a date, the issuing body) and not a sentence about the listed plans (a lead-in "重点抓好
/// 以下工作", a pledge to carry out "上述工作"). A number before 以上/以下 ("50名以上") is a
/// bound, not a reference. Expects simplified script.
pub fn states_intended_action(sentence: &str) -> bool {
    let s = sentence.trim();
    if s.is_empty() || CLOSING_FORMULA.is_match(s) || SIGN_OFF.is_match(s) {
        return false;
    }
    !REFERS_TO_LIST.find_iter(s).any(|m| {
        let before: Vec<char> = s[..m.start()].chars().rev().take(2).collect();
        let bound = matches!(m.as_str().get(..6), Some("以上" | "以下"))
            && before
                .iter()
                .any(|&c| c.is_ascii_digit() || numerals::is_numeral_any_script(c));
        !bound
    })
}

/// A Han character of the CJK Unified Ideographs block (simplified or traditional).
pub fn is_han(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// Char length of a framing phrase at the start of `s` (see [`LEAD_PHRASE`]).
pub fn lead_phrase_len(s: &str) -> Option<usize> {
    LEAD_PHRASE.find(s).map(|m| m.as_str().chars().count())
}

/// Char length of an item marker at the start of `s`, if any (the char after a "3." that
/// is part of the point is not counted).
pub fn item_marker_len(s: &str) -> Option<usize> {
    let m = ITEM_MARKER.find(s)?;
    let mut t = m.as_str();
    if let Some(c) = t.chars().last() {
        // "3.规范执法": the pattern consumed the first char of the point.
        if t.trim_start()
            .chars()
            .next()
            .is_some_and(|d| d.is_ascii_digit())
            && !".．、".contains(c)
        {
            t = &t[..t.len() - c.len_utf8()];
        }
    }
    Some(t.chars().count()).filter(|&n| n > 0)
}

/// Char length of a discourse opener ("此外，") at the start of `s`.
pub fn discourse_opener_len(s: &str) -> Option<usize> {
    DISCOURSE_OPENER.find(s).map(|m| m.as_str().chars().count())
}

/// `s` without a leading item marker.
pub fn strip_item_marker(s: &str) -> &str {
    match item_marker_len(s) {
        Some(n) => {
            let b = s.char_indices().nth(n).map_or(s.len(), |(b, _)| b);
            s[b..].trim_start()
        }
        None => s,
    }
}

/// Whether a clause starts with an item marker.
pub fn starts_with_item_marker(s: &str) -> bool {
    item_marker_len(s).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_of_every_style_are_recognised_and_stripped() {
        for (s, rest) in [
            ("一是普法覆盖不均衡", "普法覆盖不均衡"),
            ("（二）执法力量薄弱", "执法力量薄弱"),
            ("(3)经费不足", "经费不足"),
            ("3.规范执法", "规范执法"),
            ("12、加强调解", "加强调解"),
            ("四、下一步工作打算", "下一步工作打算"),
            ("第一件，抓班子带队伍", "抓班子带队伍"),
            ("问题二：不少老人碰到事", "不少老人碰到事"),
            ("整改措施一：制定计划", "制定计划"),
            ("其一，宣传不深入", "宣传不深入"),
            ("——普法宣传亮点纷呈", "普法宣传亮点纷呈"),
            ("【问题与整改】", ""),
        ] {
            assert_eq!(strip_item_marker(s), rest, "{s}");
        }
    }

    #[test]
    fn numbers_and_plain_text_are_not_markers() {
        for s in [
            "2024年，我镇",
            "3.5万元经费",
            "一年来，我们",
            "问题较多",
            "普法宣传",
        ] {
            assert!(!starts_with_item_marker(s), "{s}");
        }
        assert_eq!(discourse_opener_len("此外，还存在经费不足"), Some(3));
        assert_eq!(discourse_opener_len("普法经费不足"), None);
        assert_eq!(lead_phrase_len("但说实话，有的村干部"), Some(5));
        assert_eq!(
            lead_phrase_len("但对照群众期盼，我们也清醒地看到，乡里的文件"),
            Some(17)
        );
        assert_eq!(lead_phrase_len("普法经费不足，资料短缺"), None);
    }

    #[test]
    fn a_plan_states_an_action_a_formula_or_a_lead_in_does_not() {
        for plan in [
            "为其余2个村聘请村法律顾问，实现村法律顾问全覆盖",
            "对此，我们将编印汉藏双语普法宣传册",
            "全年完成10项以上任务，确保制度全覆盖",
            "针对上述问题，在全乡开展矛盾纠纷专项排查",
            "2024年完成镇人民政府法律顾问续聘",
            "推动成立村民调解委员会",
        ] {
            assert!(states_intended_action(plan), "{plan}");
        }
        for not_plan in [
            "特此报告",
            "以上报告，请审阅。",
            "2024年，我乡将针对上述问题，重点抓好以下工作：",
            "我乡将坚持问题导向，逐项抓好上述工作的落实，推动全乡法治政府建设再上新台阶",
            "2023年12月",
            "二〇二三年十二月二十日",
            "2024 年 1 月 5 日",
            "石磨乡人民政府",
            "中共石磨乡委员会",
            "鲤鱼洲街道办事处",
            "",
        ] {
            assert!(!states_intended_action(not_plan), "{not_plan}");
        }
    }
}
