//! Figures: number + unit expressions (30余场次, 2000余册, 21个村, 95.5%, 近四成, 不少于2天),
//! found in the normalised text. Dates, years, list numbers, ordinals and numbers inside law
//! names are not figures.

use crate::text::numerals::is_numeral;
use once_cell::sync::Lazy;
use regex::Regex;

/// A figure in the normalised text: char span and the phrase it counts.
#[derive(Debug, Clone, PartialEq)]
pub struct RawFigure {
    pub start: usize,
    pub end: usize,
    pub counts: String,
}

/// Units, longest first so that 人次 wins over 人. Data: extend freely.
const UNITS: &[&str] = &[
    "个百分点",
    "平方公里",
    "平方米",
    "个月",
    "人次",
    "场次",
    "户次",
    "件次",
    "批次",
    "车次",
    "家次",
    "航次",
    "架次",
    "艘次",
    "村次",
    "课时",
    "学时",
    "小时",
    "公里",
    "公顷",
    "万元",
    "亿元",
    "%",
    "‰",
    "人",
    "名",
    "位",
    "户",
    "家",
    "个",
    "项",
    "件",
    "起",
    "份",
    "分",
    "册",
    "本",
    "条",
    "段",
    "篇",
    "期",
    "处",
    "所",
    "座",
    "块",
    "套",
    "台",
    "张",
    "幅",
    "次",
    "场",
    "轮",
    "批",
    "支",
    "队",
    "节",
    "堂",
    "组",
    "类",
    "种",
    "部",
    "首",
    "元",
    "天",
    "周",
    "成",
    "倍",
    "卷",
    "宗",
    "株",
    "辆",
    "艘",
    "间",
    "栋",
    "米",
    "吨",
    "亩",
    "单",
    "宗",
    "例",
    "年",
];

/// Nouns a `N个` figure may carry (21个村, 14个行政村). Data: extend freely.
const COUNTED_AFTER_GE: &[&str] = &[
    "行政村",
    "自然村",
    "村民小组",
    "村(社区)",
    "村（社区）",
    "村(居)",
    "村（居）",
    "村委会",
    "中心村",
    "社区",
    "村",
    "乡镇",
    "站所",
    "单位",
    "部门",
    "寺院",
    "学校",
    "企业",
    "网格",
    "小组",
    "项目",
];

/// A number (arabic, or a Chinese numeral that does not start with a lone 一: "一次" is an
/// article, "一千二百" a count) with its multiplier, approximation and unit. The Chinese
/// alternatives are a grammar over `text::numerals::NUMERALS`, not a set of them.
static FIGURE: Lazy<Regex> = Lazy::new(|| {
    let units: Vec<String> = UNITS.iter().map(|u| regex::escape(u)).collect();
    let pattern = format!(
        r"(?P<pre>近|约|逾|超过|不少于|不低于|不超过|不足)?(?P<num>\d+(?:\.\d+)?|[两二三四五六七八九十百千万][零〇一两二三四五六七八九十百千万]*|一[十百千万][零〇一二两三四五六七八九十百千万]*)(?P<mul>万|千|百|亿)?(?P<approx>余|多)?(?P<unit>{})",
        units.join("|")
    );
    Regex::new(&pattern).expect("constant figure pattern is valid")
});

/// Chinese-numeral figures followed by these words are names, not counts (三项制度, 八项规定).
const NAME_AFTER: &[&str] = &[
    "制度", "规定", "原则", "机制", "全会", "意识", "自信", "维护", "确立", "代表",
];

/// Find figures in `text` (normalised). Char offsets.
pub fn find(text: &str) -> Vec<RawFigure> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let in_law_name = law_name_mask(&chars);
    for m in FIGURE.captures_iter(text) {
        let Some(whole) = m.get(0) else { continue };
        let num = &m["num"];
        let unit = &m["unit"];
        let mut start = text[..whole.start()].chars().count();
        let mut end = start + whole.as_str().chars().count();
        // 约 that ends a word (村规民约63份, 签约12家) is not "about".
        if m.name("pre").is_some_and(|p| p.as_str() == "约")
            && start > 0
            && "规民公合条契预节制签违履守".contains(chars[start - 1])
        {
            start += 1;
        }
        let before = if start > 0 {
            Some(chars[start - 1])
        } else {
            None
        };
        let after: String = chars[end..chars.len().min(end + 6)].iter().collect();
        let arabic = num.chars().all(|c| c.is_ascii_digit() || c == '.');
        // Inside a longer number or code (v1.2, 2024-01), after 第 (ordinal), inside 《…》.
        if let Some(b) = before {
            if b.is_ascii_alphanumeric() || b == '.' || b == '第' || b == '-' || b == '/' {
                continue;
            }
            if !arabic && is_numeral(b) {
                continue;
            }
        }
        if in_law_name.get(start).copied().unwrap_or(false) {
            continue;
        }
        // 分 is a score ("测评得分92.6分"), not 十分 (very), 30分钟 or 分局/分类-like words.
        if unit == "分"
            && (!arabic
                || after.starts_with(|c: char| {
                    "钟之局院类别批期组工析流成配解队会所行布散担享站区".contains(c)
                }))
        {
            continue;
        }
        // Years and dates.
        if unit == "年" {
            let y: f64 = num.parse().unwrap_or(0.0);
            if !arabic || (1900.0..=2100.0).contains(&y) || after.starts_with('度') {
                continue;
            }
        }
        if !arabic {
            // 一次/一张 (not a count worth reporting), 千家/万户 (no digit), 两个维护 (个 names).
            if num == "一"
                || num.chars().all(|c| "百千万".contains(c))
                || unit == "个"
                || unit == "年"
            {
                continue;
            }
            if matches!(before, Some('“' | '"' | '‘' | '《' | '「')) {
                continue;
            }
            if NAME_AFTER.iter().any(|w| after.starts_with(w)) {
                continue;
            }
            // 一次/一轮 etc. are excluded above; 三中全会-like words have no unit.
        }
        // 十四五期间, 3场所: the unit char starts another word.
        if ["期间", "场所", "人员", "名单", "家庭", "所有", "次日"]
            .iter()
            .any(|w| w.starts_with(unit) && after.starts_with(&w[unit.len()..]))
        {
            continue;
        }
        let mut counted_noun = None;
        if unit == "个" {
            if let Some(noun) = COUNTED_AFTER_GE.iter().find(|n| after.starts_with(**n)) {
                end += noun.chars().count();
                counted_noun = Some(noun.to_string());
            }
        }
        // A following digit means the unit char was part of something else (e.g. 3月15).
        if chars.get(end).is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        let counts = counted_noun.unwrap_or_else(|| counted_phrase(&chars, start, end));
        out.push(RawFigure { start, end, counts });
    }
    out
}

/// true for chars inside 《…》.
fn law_name_mask(chars: &[char]) -> Vec<bool> {
    let mut mask = vec![false; chars.len()];
    let mut depth = 0i32;
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '《' => depth += 1,
            '》' => depth = (depth - 1).max(0),
            '\n' => depth = 0,
            _ => {}
        }
        mask[i] = depth > 0;
    }
    mask
}

const NOUN_STOPS: &[&str] = &[
    "在", "全部", "均", "都", "参加", "同步", "进行", "开展", "通过", "对", "于", "为",
];
const CLAUSE_BREAK: &str = "，,。；;：:！？!?\n、（）()";
const LEADING_FILLERS: &[&str] = &[
    "全年共",
    "全年",
    "累计",
    "共计",
    "共",
    "其中",
    "目前",
    "今年",
    "同时",
    "另",
    "并",
    "已",
    "先后",
    "组织开展了",
    "组织开展",
    "开展了",
    "开展",
    "组织",
    "举办",
    "召开",
    "发放了",
    "发放",
    "印发",
    "办理",
    "受理",
    "排查",
    "接待",
    "解答了",
    "解答",
    "推送",
    "发布",
    "完成了",
    "完成",
];
const TRAILING_FILLERS: &[&str] = &[
    "共计", "累计", "达到", "共", "达", "为", "约", "计", "了", "各类",
];

/// The phrase a figure counts: the noun after it (`8名班子成员`, `30余场次的法律宣讲活动`),
/// else the clause before it (`开展集中宣讲和法律咨询活动共36场次`).
fn counted_phrase(chars: &[char], start: usize, end: usize) -> String {
    // After: "的" + phrase, or a noun directly (名/个 + noun).
    let mut j = end;
    if chars.get(j) == Some(&'的') {
        j += 1;
    }
    let after: String = chars[j..]
        .iter()
        .take_while(|c| !CLAUSE_BREAK.contains(**c))
        .take(16)
        .collect();
    let unit_is_person = matches!(chars.get(end.saturating_sub(1)), Some('名' | '位'));
    if (chars.get(end) == Some(&'的') || unit_is_person) && after.chars().count() >= 2 {
        // Stop the noun at the verb that follows it (8名班子成员在年终述职时…).
        let mut noun = after.as_str();
        for stop in NOUN_STOPS {
            if let Some(p) = noun.find(stop) {
                if noun[..p].chars().count() >= 2 {
                    noun = &noun[..p];
                }
            }
        }
        return trim_phrase(noun);
    }
    let mut b = start;
    while b > 0 && !CLAUSE_BREAK.contains(chars[b - 1]) && start - b < 24 {
        b -= 1;
    }
    let before: String = chars[b..start].iter().collect();
    let p = trim_phrase(&before);
    if p.chars().count() >= 2 {
        p
    } else {
        trim_phrase(&after)
    }
}

fn trim_phrase(s: &str) -> String {
    let mut p = s.trim();
    let mut changed = true;
    while changed {
        changed = false;
        for f in LEADING_FILLERS {
            if let Some(r) = p.strip_prefix(f) {
                if r.chars().count() >= 2 {
                    p = r;
                    changed = true;
                }
            }
        }
        for f in TRAILING_FILLERS {
            if let Some(r) = p.strip_suffix(f) {
                if r.chars().count() >= 2 {
                    p = r;
                    changed = true;
                }
            }
        }
    }
    p.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(t: &str) -> Vec<String> {
        let c: Vec<char> = t.chars().collect();
        find(t)
            .iter()
            .map(|f| c[f.start..f.end].iter().collect())
            .collect()
    }

    #[test]
    fn finds_counts_with_markers() {
        assert_eq!(
            texts("我乡累计开展了30余场次的法律宣讲活动，发放了普法读本及宣传折页2000余册。完成了21个村的聘用工作"),
            ["30余场次", "2000余册", "21个村"]
        );
        assert_eq!(
            texts("成功率为95.5%，近四成群众，每村不少于5名，1.2万份，8万元"),
            ["95.5%", "近四成", "不少于5名", "1.2万份", "8万元"]
        );
        assert_eq!(texts("开展法治宣讲三场次"), ["三场次"]);
        assert_eq!(
            texts("会前学法二十一次，审查合同三十一份，包案十一件"),
            ["二十一次", "三十一份", "十一件"]
        );
        assert_eq!(
            texts("千家万户，两个维护，一张桌子，十四五期间"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn scores_and_villages_with_their_kind_are_figures() {
        assert_eq!(
            texts("群众满意度测评得分92.6分，全镇19个村（社区）均建立调解委员会，8个村委会"),
            ["92.6分", "19个村（社区）", "8个村委会"]
        );
        assert!(texts("十分重视，每次30分钟，设立2分局，三分之一").is_empty());
    }

    #[test]
    fn a_word_ending_in_yue_is_no_approximation() {
        assert_eq!(
            texts("审查村级合同和村规民约63份，约40人参加，人均学法40学时，录制音频12段"),
            ["63份", "约40人", "40学时", "12段"]
        );
    }

    #[test]
    fn dates_list_numbers_and_names_are_not_figures() {
        assert!(texts(
            "2024年，二十届三中全会，2025年1月6日，1.领导干部，浏览次数:286，第一责任人"
        )
        .is_empty());
        assert!(texts(
            "落实行政执法“三项制度”，《法治政府建设实施纲要（2021—2025年）》，一是，每季度一次"
        )
        .is_empty());
    }

    #[test]
    fn counted_phrase_is_the_counted_thing() {
        let t = "我乡累计开展了30余场次的法律宣讲活动";
        assert_eq!(find(t)[0].counts, "法律宣讲活动");
        let t = "8名班子成员在年终述职时同步进行述法";
        assert_eq!(find(t)[0].counts, "班子成员");
        assert_eq!(find("完成了21个村的聘用工作")[0].counts, "村");
        let t = "开展集中宣讲和法律咨询活动共36场次";
        assert_eq!(find(t)[0].counts, "集中宣讲和法律咨询活动");
    }
}
