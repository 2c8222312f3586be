//! Headings, sentences and roles over the normalised text.
//!
//! Lines are paragraphs. A line may be a heading (一、 （一） 1. 1、 (1)), a title line, a
//! signature/date line, or body. Section kinds come from heading titles; inside a section each
//! sentence gets a role, with problem/plan cues deciding inside mixed sections and after
//! openers such as "但也要清醒看到" or "下一步，我乡将…".

use super::Role;
use once_cell::sync::Lazy;
use regex::Regex;

/// A sentence in normalised char offsets.
#[derive(Debug, Clone)]
pub struct RawSentence {
    pub start: usize,
    pub end: usize,
    pub role: Role,
    pub section: Option<String>,
    pub paragraph: usize,
}

/// What a section holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Preamble,
    Achievements,
    Problems,
    /// 存在问题及下一步工作打算: classify sentence by sentence.
    Mixed,
    Plans,
    Responsibility,
}

fn re(p: &str) -> Regex {
    Regex::new(p).expect("constant structure pattern is valid")
}

const CN: &str = "[一二三四五六七八九十]{1,3}";

static H1: Lazy<Regex> =
    Lazy::new(|| re(&format!(r"^{CN}\s*[、.]|^第{CN}(部分|章|节)\s*[、.：:]?")));
static H2: Lazy<Regex> = Lazy::new(|| re(&format!(r"^[（(]\s*{CN}\s*[）)]")));
static H3: Lazy<Regex> = Lazy::new(|| re(r"^\d{1,2}\s*[、.](?:[^\d]|$)"));
static H4: Lazy<Regex> = Lazy::new(|| re(r"^[（(]\s*\d{1,2}\s*[）)]"));

static PROBLEM_TITLE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"存在(的)?(主要)?(问题|不足|短板|困难|差距|薄弱)|(问题|不足|短板|困难)(和|与|及|、)(不足|困难|短板|原因|差距|问题|挑战)|不足之处|短板|薄弱环节|^(主要)?问题$|面临的(问题|困难|挑战)|^(问题|不足)(和|与)",
    )
});
/// Achievement titles that use problem words for what was fixed (补短板, 解决…问题).
static FIXING_TITLE: Lazy<Regex> = Lazy::new(|| {
    re(r"补(齐|强)?短板|强弱项|聚焦短板|补强|破解|解决.{0,8}(问题|困难)|化解.{0,8}(问题|困难)")
});
static PLAN_TITLE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"下一步|打算|工作计划|工作思路|工作安排|努力方向|今后|展望|明年|(19|20)\d\d年(的)?(工作|重点|主要)(计划|打算|思路|安排|任务)",
    )
});
static RESPONSIBILITY_TITLE: Lazy<Regex> = Lazy::new(|| re(r"第一责任人|主要负责人履行"));
static RESPONSIBILITY_SENTENCE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"^([一二三四五六七八九十]是)?(严格|认真|切实|全面)?(落实|履行)?(乡|镇)?(党政主要负责人|主要负责人|党委书记|书记|乡长|镇长).{0,24}第一责任人",
    )
});

/// A sentence that opens a problems passage outside a problems section.
static PROBLEM_OPENER: Lazy<Regex> = Lazy::new(|| {
    re(
        r"但(也|仍|还)?(要|应|须|需)?(清醒|清楚)(地)?(看到|认识到)|(但|然而|不过).{0,40}(仍|还|依然|仍然|也)(存在|有)(一些|若干|不少|诸多)?.{0,12}(问题|不足|短板|差距|薄弱|困难)|(存在|面临)(的)?(主要)?(问题|不足|困难)(主要)?(有|是|表现)|不足之处(主要)?(有|是|表现)",
    )
});
/// A sentence after which the rest of a problems section is plans.
static PLAN_OPENER: Lazy<Regex> = Lazy::new(|| {
    re(
        r"^(下一步|今后|接下来|下阶段|下一阶段|针对(上述|以上|这些)(问题|不足))|(工作)?(打算|计划|思路|安排)(如下|是)|(重点|着力)(做好|抓好)以下|将(重点|着力)(做好|抓好|从以下)",
    )
});
static ITEM_START: Lazy<Regex> =
    Lazy::new(|| re(r"^([一二三四五六七八九十]是|[（(]?[一二三四五六七八九十\d]{1,3}[）)、.])"));
static REPORT_FOLLOWS: Lazy<Regex> = Lazy::new(|| re(r"^现将.{0,16}(报告|汇报)如下"));
/// Clause boundaries inside an item where a plan starts (split there).
static INLINE_PLAN: Lazy<Regex> =
    Lazy::new(|| re(r"[，,；;](下一步|今后|为此|对此|针对(此|这|上述))"));

static PROBLEM_CUE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"不足|不够|不高|偏少|偏低|偏弱|偏大|短缺|不到位|不明显|滞后|薄弱|欠缺|流于形式|有待|尚未|尚显|尚不|仍存在|仍然存在|存在.{0,20}(问题|现象|情况|隐患|差距)|缺乏|缺少|不强|不畅|不严|不规范|不完善|不健全|难以|困难|差距|淡薄|有限|紧张|制约|短板|较少|不深|不力|单一|不均衡|不平衡|冷热不均|盲区|不及时|走过场|重形式|轻实效|不紧密|推诿|较多|未能|没有",
    )
});
static PLAN_CUE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"^([一二三四五六七八九十]是|[（(]?[一二三四五六七八九十\d]+[）)、.]?)?(我(乡|镇|们|街道)?)?(将|要|计划|拟|下一步|继续|持续|进一步|加强|加大|建立|健全|完善|争取|推动|推进|推行|确保|力争|着力|深化|提升|注重|督促|积极|制定|组织|开展|强化|打造|扩大|丰富|严格|出台|落实|实行|加快|探索|引导|优化|针对|围绕|聚焦|坚持|拓展|拓宽|大力|全面|主动|及时|定期|充分|结合|创新|规范|用好|发挥|提高|增加|配齐|充实|补齐)",
    )
});

static SIGNATURE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"^[\p{Han}（）()]{2,30}(人民政府|政府|党委|委员会|办公室|办事处|人民代表大会)(（[^）]*）)?$",
    )
});
static DATE_LINE: Lazy<Regex> = Lazy::new(|| {
    re(r"^(19|20)\d\d\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日$|^(19|20)\d\d[-./]\d{1,2}[-./]\d{1,2}$")
});

/// Heading level of a line, if it is one, and the char length of its marker.
fn heading_level(line: &str) -> Option<(u8, usize)> {
    for (lvl, r) in [(1u8, &*H1), (2, &*H2), (3, &*H3), (4, &*H4)] {
        if let Some(m) = r.find(line) {
            let mut len = m.as_str().chars().count();
            if lvl == 3 && !m.as_str().ends_with(['、', '.']) {
                len -= 1; // the pattern consumed the first char of the title
            }
            return Some((lvl, len));
        }
    }
    None
}

/// A short unnumbered line that names a problems/plans/responsibility section
/// ("存在的问题和不足", "下一步工作打算") opens a top-level section.
fn unnumbered_heading(line: &str) -> Option<(u8, usize)> {
    let short = line.chars().count() <= 24;
    let sentence_like = line.contains(['。', '，', '；', ',', ';']);
    (short && !sentence_like && classify_title(line.trim_end_matches(['：', ':'])).is_some())
        .then_some((1, 0))
}

/// The title part of a heading line: up to the first 。 (or the whole line).
fn heading_title(line: &str, marker: usize) -> String {
    let rest: String = line.chars().skip(marker).collect();
    let t = rest.split(['。', '：', ':']).next().unwrap_or("").trim();
    t.to_string()
}

fn classify_title(title: &str) -> Option<Kind> {
    let p = PROBLEM_TITLE.is_match(title) && !FIXING_TITLE.is_match(title);
    let n = PLAN_TITLE.is_match(title);
    if RESPONSIBILITY_TITLE.is_match(title) {
        Some(Kind::Responsibility)
    } else if p && n {
        Some(Kind::Mixed)
    } else if p {
        Some(Kind::Problems)
    } else if n {
        Some(Kind::Plans)
    } else {
        None
    }
}

/// Split a line (normalised chars `[ls, le)`) into sentence spans: on 。！？； (closing
/// quotes stay with the sentence), before 一是/二是… that follow punctuation, and at
/// inline plan starts when `split_plans` is true.
fn split_sentences(chars: &[char], ls: usize, le: usize) -> Vec<(usize, usize)> {
    let mut cuts = Vec::new();
    let mut i = ls;
    while i < le {
        let c = chars[i];
        if "。！？；!?;".contains(c) {
            let mut j = i + 1;
            while j < le && "”’\"'）)」』".contains(chars[j]) {
                j += 1;
            }
            cuts.push(j);
            i = j;
            continue;
        }
        // 一是/二是 after ：or ，
        if i > ls
            && "：:，,".contains(chars[i - 1])
            && i + 1 < le
            && chars[i + 1] == '是'
            && "一二三四五六七八九十".contains(c)
        {
            cuts.push(i);
        }
        i += 1;
    }
    cuts.push(le);
    let mut out = Vec::new();
    let mut s = ls;
    for c in cuts {
        if c > s {
            out.push((s, c));
        }
        s = c;
    }
    // trim blanks
    out.into_iter()
        .filter_map(|(mut a, mut b)| {
            while a < b && chars[a].is_whitespace() {
                a += 1;
            }
            while b > a && chars[b - 1].is_whitespace() {
                b -= 1;
            }
            let has_content = chars[a..b].iter().any(|c| c.is_alphanumeric());
            (b > a && has_content).then_some((a, b))
        })
        .collect()
}

fn text_of(chars: &[char], s: usize, e: usize) -> String {
    chars[s..e].iter().collect()
}

/// Number of leading title lines (no sentence punctuation, short, not a heading).
pub fn title_line_count(lines: &[(usize, usize)], chars: &[char]) -> usize {
    let mut n = 0;
    for &(s, e) in lines.iter().take(3) {
        let t = text_of(chars, s, e);
        let len = e - s;
        if len > 60 || t.contains('。') || heading_level(&t).is_some() || t.ends_with('：') {
            break;
        }
        n += 1;
    }
    n
}

/// Structure of the normalised text: sentences with roles, in order.
pub fn sentences(chars: &[char], lines: &[(usize, usize)], title_lines: usize) -> Vec<RawSentence> {
    let mut out = Vec::new();
    // stack of (level, kind, title)
    let mut stack: Vec<(u8, Kind, String)> = Vec::new();
    let any_heading = lines
        .iter()
        .any(|&(s, e)| heading_level(&text_of(chars, s, e)).is_some());
    let mut plan_mode = false; // sticky: rest of the problems section is plans
    let mut problem_mode = false; // sticky: after an opener outside a problems section
    let mut seen_body = false;
    for (pi, &(ls, le)) in lines.iter().enumerate() {
        let line = text_of(chars, ls, le);
        if pi < title_lines {
            out.push(RawSentence {
                start: ls,
                end: le,
                role: Role::Other,
                section: None,
                paragraph: pi,
            });
            continue;
        }
        if line.chars().count() <= 40 && (SIGNATURE.is_match(&line) || DATE_LINE.is_match(&line)) {
            out.push(RawSentence {
                start: ls,
                end: le,
                role: Role::Other,
                section: None,
                paragraph: pi,
            });
            continue;
        }
        let mut heading_only = false;
        if let Some((lvl, marker)) = heading_level(&line).or_else(|| unnumbered_heading(&line)) {
            let title = heading_title(&line, marker);
            while stack.last().is_some_and(|t| t.0 >= lvl) {
                stack.pop();
            }
            let parent = stack.last().map(|t| t.1);
            let short = title.chars().count() <= 24;
            let kind = match (parent, classify_title(&title)) {
                (None, Some(k)) => k,
                (None, None) => Kind::Achievements,
                (Some(p @ (Kind::Achievements | Kind::Preamble)), c) => match c {
                    Some(k) if short => k,
                    _ => p,
                },
                (Some(Kind::Problems | Kind::Mixed), Some(Kind::Plans | Kind::Mixed)) if short => {
                    Kind::Plans
                }
                (Some(p), _) => p,
            };
            let kind = if plan_mode && matches!(kind, Kind::Problems | Kind::Mixed) && lvl > 1 {
                Kind::Plans
            } else {
                kind
            };
            if lvl == 1 || stack.is_empty() {
                plan_mode = false;
                problem_mode = false;
            }
            stack.push((
                lvl,
                kind,
                line.chars().take(marker).collect::<String>() + &title,
            ));
            heading_only = !line.contains('。') && line.chars().count() <= 60;
        }
        let section_kind = match stack.last() {
            Some(t) => t.1,
            None if !any_heading && seen_body => Kind::Achievements,
            None => Kind::Preamble,
        };
        let section = stack.first().map(|t| t.2.clone());
        seen_body = true;
        if heading_only {
            let top_level = stack.len() == 1;
            let role = if top_level {
                Role::Other
            } else {
                kind_role(section_kind)
            };
            out.push(RawSentence {
                start: ls,
                end: le,
                role,
                section,
                paragraph: pi,
            });
            continue;
        }
        for (ss, se) in split_sentences(chars, ls, le) {
            let sent = text_of(chars, ss, se);
            let mut pieces = vec![(ss, se)];
            let in_problems = matches!(section_kind, Kind::Problems | Kind::Mixed) || problem_mode;
            if in_problems && !plan_mode {
                if let Some(m) = INLINE_PLAN.find(&sent) {
                    let cut = ss + sent[..m.start()].chars().count() + 1;
                    if cut > ss + 1 && cut < se {
                        pieces = vec![(ss, cut), (cut, se)];
                    }
                }
            }
            for (k, &(a, b)) in pieces.iter().enumerate() {
                let t = text_of(chars, a, b);
                let role = if k == 1 {
                    Role::Plans
                } else {
                    decide(section_kind, &t, &mut plan_mode, &mut problem_mode)
                };
                out.push(RawSentence {
                    start: a,
                    end: b,
                    role,
                    section: section.clone(),
                    paragraph: pi,
                });
            }
        }
    }
    out
}

fn kind_role(k: Kind) -> Role {
    match k {
        Kind::Preamble => Role::Preamble,
        Kind::Achievements => Role::Achievements,
        Kind::Problems | Kind::Mixed => Role::Shortcomings,
        Kind::Plans => Role::Plans,
        Kind::Responsibility => Role::Responsibility,
    }
}

/// Role of one sentence in a section of kind `k`, updating the sticky modes.
fn decide(k: Kind, t: &str, plan_mode: &mut bool, problem_mode: &mut bool) -> Role {
    let body =
        t.trim_start_matches(|c: char| "一二三四五六七八九十是（）()、.0123456789 ".contains(c));
    match k {
        Kind::Plans => Role::Plans,
        Kind::Responsibility => Role::Responsibility,
        Kind::Problems | Kind::Mixed => {
            if *plan_mode {
                // In a problems section a plan clause ends with its item: the next item that
                // states a problem (二是…不足) is a shortcoming again.
                if k == Kind::Problems
                    && ITEM_START.is_match(t)
                    && PROBLEM_CUE.is_match(t)
                    && !PLAN_CUE.is_match(t)
                {
                    *plan_mode = false;
                    return Role::Shortcomings;
                }
                return Role::Plans;
            }
            if PLAN_OPENER.is_match(t) || PLAN_OPENER.is_match(body) {
                *plan_mode = true;
                return Role::Plans;
            }
            if k == Kind::Mixed && PLAN_CUE.is_match(t) && !PROBLEM_CUE.is_match(t) {
                return Role::Plans;
            }
            Role::Shortcomings
        }
        Kind::Achievements | Kind::Preamble => {
            if REPORT_FOLLOWS.is_match(t) {
                // "现将有关情况报告如下": ends any problems passage of the opening paragraph.
                *problem_mode = false;
                *plan_mode = false;
                return kind_role(k);
            }
            if *problem_mode {
                if *plan_mode {
                    return Role::Plans;
                }
                if PLAN_OPENER.is_match(body) {
                    *plan_mode = true;
                    return Role::Plans;
                }
                if PLAN_CUE.is_match(t) && !PROBLEM_CUE.is_match(t) {
                    return Role::Plans;
                }
                return Role::Shortcomings;
            }
            if PROBLEM_OPENER.is_match(t) {
                *problem_mode = true;
                return Role::Shortcomings;
            }
            if RESPONSIBILITY_SENTENCE.is_match(t) {
                return Role::Responsibility;
            }
            kind_role(k)
        }
    }
}

/// Non-empty line spans of the normalised text (char offsets, trimmed).
pub fn lines(chars: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut s = 0;
    for i in 0..=chars.len() {
        if i == chars.len() || chars[i] == '\n' {
            let (mut a, mut b) = (s, i);
            while a < b && chars[a].is_whitespace() {
                a += 1;
            }
            while b > a && chars[b - 1].is_whitespace() {
                b -= 1;
            }
            if b > a {
                out.push((a, b));
            }
            s = i + 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(text: &str) -> Vec<(Role, String)> {
        let chars: Vec<char> = text.chars().collect();
        let ls = lines(&chars);
        let n = title_line_count(&ls, &chars);
        sentences(&chars, &ls, n)
            .into_iter()
            .map(|s| (s.role, text_of(&chars, s.start, s.end)))
            .collect()
    }

    fn role_of(rs: &[(Role, String)], needle: &str) -> Role {
        rs.iter()
            .find(|(_, t)| t.contains(needle))
            .unwrap_or_else(|| panic!("no sentence with {needle}: {rs:#?}"))
            .0
    }

    #[test]
    fn closing_paragraph_after_qingxing_kandao_holds_problems() {
        let rs = roles(
            "某某镇2024年法治政府建设情况报告\n2024年，我镇扎实推进法治建设。\n一、主要工作\n全年开展宣讲20场次，充分发挥“法律明白人”作用。\n但也要清醒看到，我镇普法经费仍然不足。部分村法律顾问作用发挥不明显。下一步，我镇将争取专项经费。一是建立考核制度。\n某某镇人民政府\n2025年1月6日",
        );
        assert_eq!(role_of(&rs, "充分发挥"), Role::Achievements);
        assert_eq!(role_of(&rs, "但也要清醒看到"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "作用发挥不明显"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "争取专项经费"), Role::Plans);
        assert_eq!(role_of(&rs, "建立考核制度"), Role::Plans);
        assert_eq!(role_of(&rs, "某某镇人民政府"), Role::Other);
        assert_eq!(role_of(&rs, "2025年1月6日"), Role::Other);
        assert_eq!(role_of(&rs, "2024年法治政府建设情况报告"), Role::Other);
        assert_eq!(role_of(&rs, "扎实推进"), Role::Preamble);
    }

    #[test]
    fn preamble_admitting_problems_does_not_swallow_the_report_line() {
        let rs = roles("2024年，我镇取得积极成效，但仍存在一些问题和不足。现将有关情况报告如下。\n第一部分 主要工作\n开展宣讲10场。");
        assert_eq!(role_of(&rs, "但仍存在"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "现将有关情况"), Role::Preamble);
        assert_eq!(role_of(&rs, "开展宣讲"), Role::Achievements);
    }

    #[test]
    fn plan_sentence_inside_a_problems_section_ends_with_its_item() {
        let rs = roles("一、工作成效\n开展宣讲10场。\n二、存在问题\n一是调解员能力不足。下一步将组织专题培训。\n二是经费紧张，资料偏少。");
        assert_eq!(role_of(&rs, "调解员能力不足"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "组织专题培训"), Role::Plans);
        assert_eq!(role_of(&rs, "经费紧张"), Role::Shortcomings);
    }

    #[test]
    fn unnumbered_section_titles_open_sections() {
        let rs = roles(
            "全年开展宣讲10场。\n存在的问题和不足\n普法形式单一。\n下一步工作打算\n丰富普法形式。",
        );
        assert_eq!(role_of(&rs, "开展宣讲"), Role::Preamble);
        assert_eq!(role_of(&rs, "普法形式单一"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "丰富普法形式"), Role::Plans);
    }

    #[test]
    fn achievement_titles_about_fixing_weak_points_stay_achievements() {
        let rs = roles("一、主要工作\n（一）补短板强弱项，推进依法行政。全年办理案件9件。\n（二）解决群众急难愁盼问题。开展宣讲10场。\n二、存在的不足\n经费紧张。");
        assert_eq!(role_of(&rs, "全年办理案件"), Role::Achievements);
        assert_eq!(role_of(&rs, "开展宣讲"), Role::Achievements);
        assert_eq!(role_of(&rs, "经费紧张"), Role::Shortcomings);
    }

    #[test]
    fn problems_in_the_last_paragraph_of_an_achievements_section_then_plans_section() {
        let rs = roles(concat!(
            "青岚市柳坪县石门乡2024年法治政府建设工作总结\n",
            "2024年以来，石门乡坚持依法行政。现将有关情况报告如下：\n",
            "一、主要做法和成效\n",
            "（一）强化普法宣传。开展普法宣传活动25场次，覆盖群众近四成。\n",
            "（二）化解矛盾纠纷。受理纠纷20起，全部化解。\n",
            "成绩虽然明显，但也要清醒看到：一是村级法律顾问进村次数偏少；二是执法人员数量不足，专业素质有待提高。\n",
            "二、下一步工作安排\n",
            "一是建立法律顾问坐班制度。二是组织执法人员培训。\n",
        ));
        assert_eq!(role_of(&rs, "开展普法宣传活动25场次"), Role::Achievements);
        assert_eq!(role_of(&rs, "受理纠纷20起"), Role::Achievements);
        assert_eq!(role_of(&rs, "但也要清醒看到"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "进村次数偏少"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "执法人员数量不足"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "坐班制度"), Role::Plans);
        assert_eq!(role_of(&rs, "组织执法人员培训"), Role::Plans);
    }

    #[test]
    fn item_stating_a_problem_then_a_plan_is_split() {
        let rs = roles("一、工作成效\n开展宣讲10场。\n二、存在问题\n一是调解员专业能力不足，下一步将组织专题培训；二是经费紧张。");
        assert_eq!(role_of(&rs, "调解员专业能力不足"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "组织专题培训"), Role::Plans);
        assert_eq!(role_of(&rs, "经费紧张"), Role::Shortcomings);
    }

    #[test]
    fn headings_of_every_style_open_sections() {
        let rs = roles("（一）工作开展情况\n1、开展宣讲10场。\n（二）存在的不足\n1.宣传形式单一。\n（三）下一步工作打算\n(1)丰富宣传形式。\n（四）党政主要负责人履行推进法治建设第一责任人职责情况\n书记带头学法。");
        assert_eq!(role_of(&rs, "开展宣讲"), Role::Achievements);
        assert_eq!(role_of(&rs, "宣传形式单一"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "丰富宣传形式"), Role::Plans);
        assert_eq!(role_of(&rs, "书记带头学法"), Role::Responsibility);
    }

    #[test]
    fn mixed_section_classifies_each_sentence() {
        let rs = roles("一、工作成效\n开展宣讲10场。\n二、存在问题及下一步打算\n普法覆盖不均衡，偏远村开展较少。\n将加强偏远村宣讲。\n法律明白人作用发挥不明显。");
        assert_eq!(role_of(&rs, "偏远村开展较少"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "将加强偏远村宣讲"), Role::Plans);
        assert_eq!(role_of(&rs, "作用发挥不明显"), Role::Shortcomings);
    }
}
