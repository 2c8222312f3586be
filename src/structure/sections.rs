//! Headings, sections, clauses and their roles over the normalised text.
//!
//! Lines are paragraphs. A line may be a title, an addressee or signature line, a numbered
//! heading (一、 （一） 1. (1) 【…】), a short unnumbered section title ("存在的问题和不足"), a
//! line opened by a section label ("原因分析：……", "问题一：……", "整改措施一：……"), or body.
//!
//! Section kinds come from heading titles wherever the heading stands (problems may be the
//! 2nd or the 7th heading). Inside a section every clause gets a role of its own: a problems
//! section also holds remedies ("……。下一步将……"), causes and transitions that state no problem
//! ("存在以下几个方面的不足："), and an achievements or plans section may hold a passage of
//! self-criticism ("但也要清醒看到……", "不过，……还不够……"). A sentence that ends with a colon
//! and announces problems opens a problems passage over the points that follow it.
//!
//! Clauses, not sentences, carry roles: a line "一是……；二是……；三是……" gives three clauses, a
//! point "……不足，下一步将……" gives a problem clause and a plan clause. Every clause also carries
//! the index of the point (item) it belongs to, so the summariser groups without re-parsing.

use super::Role;
use crate::text::numerals::{is_item_numeral, with_item_numerals};
use crate::text::{
    discourse_opener_len, item_marker_len, strip_item_marker, PROBLEM_CUE, TARGETED_PROBLEM,
};
use once_cell::sync::Lazy;
use regex::Regex;

/// A clause in normalised char offsets.
#[derive(Debug, Clone)]
pub struct RawSentence {
    pub start: usize,
    pub end: usize,
    pub role: Role,
    pub section: Option<String>,
    pub paragraph: usize,
    /// Index of the point it belongs to (a numbered item, an inline 一是…, a paragraph).
    pub item: usize,
    /// A heading line on its own (no body on the line).
    pub heading: bool,
    /// Outside a problems section, a clause that may state a problem the rules could not
    /// decide (see [`is_problem_candidate`]).
    pub candidate: bool,
}

/// What a section holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Preamble,
    Achievements,
    Problems,
    /// 存在问题及下一步工作打算: classify clause by clause.
    Mixed,
    Plans,
    /// 原因分析: explanations of problems, not problems.
    Causes,
    Responsibility,
}

fn re(p: &str) -> Regex {
    Regex::new(p).expect("constant structure pattern is valid")
}

/// Heading levels, coarse to fine. Odd levels are passages opened by a sentence ("存在以下问题："),
/// which sit between the heading they stand under and that heading's sub-headings.
const L_H1: u8 = 2;
const L_H2: u8 = 4;
const L_H3: u8 = 6;
const L_H4: u8 = 8;
/// A label at the start of a line ("原因分析：", "问题一："): finer than any numbered heading.
const L_LABEL: u8 = 10;

static H1: Lazy<Regex> = Lazy::new(|| {
    re(&with_item_numerals(
        r"^[{N}]{1,3}\s*[、.．]|^第[{N}]{1,3}(部分|章|节)\s*[、.：:]?|^【[^】]{1,24}】",
    ))
});
static H2: Lazy<Regex> = Lazy::new(|| re(&with_item_numerals(r"^[（(]\s*[{N}]{1,3}\s*[）)]")));
static H3: Lazy<Regex> = Lazy::new(|| re(r"^\d{1,2}\s*[、.．](?:[^\d]|$)"));
static H4: Lazy<Regex> = Lazy::new(|| re(r"^[（(]\s*\d{1,2}\s*[）)]"));

static PROBLEM_TITLE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"存在(的)?(主要)?(问题|不足|短板|困难|差距|薄弱)|(问题|不足|短板|困难)(和|与|及|、)(不足|困难|短板|原因|差距|问题|挑战|整改|对策|建议)|不足之处|短板|弱项|薄弱环节|^(主要)?问题$|^(问题|不足)(清单)?$|面临的(问题|困难|挑战)|^(问题|不足)(和|与)|的(不足|问题|短板|困难|差距)$|需要(改进|加强|提升)的(地方|方面|问题)",
    )
});
/// Achievement titles that use problem words for what was fixed (补短板, 补齐去年短板,
/// 解决…问题) or say that last year's rectification was carried out ("落实整改任务").
static FIXING_TITLE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"补(齐|强|上)?[^，。；\s]{0,4}短板|强弱项|聚焦短板|补强|破解|解决.{0,8}(问题|困难)|化解.{0,8}(问题|困难)|(落实|完成|抓好|抓实|推进)[^，。；\s]{0,2}整改(任务|工作|要求)|^(着力|切实|全力|努力|重点|进一步)?(解决|破解|缓解|补齐|补上|弥补|扭转|克服|改变)[^，。；]{2,20}(问题|困难|短板|不足|现象|状况)",
    )
});
/// A paragraph that opens with its topic: "在普法宣传方面，……".
static RUN_IN_TOPIC: Lazy<Regex> = Lazy::new(|| re(r"^在[^，。；：]{2,16}方面[，,：:]"));
/// A line that details the point above it ("表现为：……", "具体表现在：……").
static SHOWS_AS: Lazy<Regex> = Lazy::new(|| re(r"^(具体|主要)?表现(为|在)[：:]"));
/// A title that faces the township's own gaps ("正视差距补短板", "直面问题 精准发力").
static FACING_TITLE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(正视|直面|查摆|查找|剖析|反思|认清|看清|找准|清醒认识)[^，。；\s]{0,4}(差距|短板|问题|不足|弱项)",
    )
});
/// Words of a title that announces next year's work, whatever else it says.
static NEXT_YEAR_TITLE: Lazy<Regex> = Lazy::new(|| re(r"下一步|下步|打算|计划|今后|明年"));
static PLAN_TITLE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"下一步|下步|打算|工作计划|工作思路|工作安排|努力方向|今后|展望|明年|整改|对策|改进措施|(19|20)\d\d年(的)?(工作)?(重点|主要)?(计划|打算|思路|安排|任务)|(19|20)\d\d年(的)?(主要)?工作(重点|要点|目标)|^(下一步|今后|明年)(的)?(主要)?工作(重点|要点|目标)",
    )
});
static CAUSE_TITLE: Lazy<Regex> = Lazy::new(|| re(r"原因|根源|成因|症结"));
static RESPONSIBILITY_TITLE: Lazy<Regex> = Lazy::new(|| re(r"第一责任人|主要负责人履行"));
static RESPONSIBILITY_SENTENCE: Lazy<Regex> = Lazy::new(|| {
    re(&with_item_numerals(
        r"^([{N}]是)?(严格|认真|切实|全面)?(落实|履行)?(乡|镇)?(党政主要负责人|主要负责人|党委书记|书记|乡长|镇长).{0,24}第一责任人",
    ))
});
/// A line opened by a section label: "原因分析：……", "问题一：……", "整改措施一：……".
static LABEL: Lazy<Regex> = Lazy::new(|| {
    re(&with_item_numerals(
        r"^(原因分析|原因|问题原因|存在原因|主要原因|存在(的)?(主要)?问题|主要问题|问题|不足|问题与不足|问题和不足|不足之处|短板弱项|(?:存在的?)?问题[{N}]{1,3}|整改措施[{N}]{1,3}?|整改举措[{N}]{1,3}?|改进措施[{N}]{1,3}?|措施|对策|整改|下一步(工作)?(打算|计划|措施|举措)?|下步打算|明年(工作)?(打算|计划)|今后(工作)?打算|(19|20)\d\d年(工作)?(打算|计划|思路))\s*[：:]",
    ))
});

/// A sentence that opens a problems passage outside a problems section.
static PROBLEM_OPENER: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(清醒|清楚)(地)?(看到|认识到)|^(但|不过|同时)?[，,]?(需要|必须|应当)正视(的是)?|^(但|不过|同时)?[，,]?(不容|不可)忽视的是|(但|然而|不过).{0,40}(仍|还|依然|仍然|也)(存在|有)(一些|若干|不少|诸多)?.{0,12}(问题|不足|短板|差距|薄弱|困难)|(存在|面临)(的)?(主要)?(问题|不足|困难)(主要)?(有|是|表现)|不足之处(主要)?(有|是|表现)|(问题|不足|短板)(主要)?表现(在|为)",
    )
});
/// A clause from which the rest of its point (or, ending with a colon, the rest of the
/// passage) is plans. "2025年要……" opens plans; "2024年，我镇主要做了……" does not (the 要 of
/// 主要, 重要, 需要).
static PLAN_OPENER: Lazy<Regex> = Lazy::new(|| {
    re(
        r"^(下一步|下步|今后|接下来|下阶段|下一阶段|明年|来年|针对(上述|以上|这些|此|这一)(问题|不足|短板|情况)?|为此|对此|整改措施|整改举措|改进措施|我们(将|要|准备|计划)|(我|本)(乡|镇|街道|苏木)(将|要|准备|计划)|(19|20)\d\d年(将|要|计划|准备|[，,]?.{0,16}(将|计划|准备|[^主重需概纲首只]要)))|(工作)?(打算|计划|思路|安排)(如下|是)|(重点|着力)(做好|抓好)以下|将(重点|着力)(做好|抓好|从以下)",
    )
});
/// A sentence of a work section that says what will be done, not what was: "下一步，我镇将把普法
/// 宣讲向偏远村组延伸", "下一步，本人将带头系统学习……". It and the rest of its point are plans.
/// Narrower than `PLAN_OPENER`: "为此，……" and "针对……" open work in a work section.
static FUTURE_OPENER: Lazy<Regex> = Lazy::new(|| {
    re(
        r"^(下一步|下步|接下来|下阶段|下一阶段|明年|来年)|^(我们|本人|(我|本)(乡|镇|街道|苏木))(将|准备|打算)",
    )
});
/// A clause that announces the work points ("主要做了以下几方面工作：", "重点抓了以下几件事："):
/// its "以下几方面" is not a list of shortcomings.
static WORK_LEAD_IN: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(做了|抓了|开展了|完成了|推进了|做好了|抓好了|落实了)[^，。；]{0,12}[：:]$|(主要|重点)(工作|做法)(及|和)?(成效|成绩)?(如下|有)?[：:]$",
    )
});
static REPORT_FOLLOWS: Lazy<Regex> = Lazy::new(|| re(r"^现将.{0,16}(报告|汇报|总结)如下"));
/// A paragraph that describes the township: where it lies, what it governs.
static PROFILE: Lazy<Regex> =
    Lazy::new(|| re(r"^[^，。；,;]{0,16}(位于|地处|坐落于|坐落在|地处于)"));
/// The same lead-in anywhere in a line ("2024年，我镇……。现将有关情况报告如下：").
static REPORT_FOLLOWS_IN_LINE: Lazy<Regex> =
    Lazy::new(|| re(r"(^|[。，；：:])现将.{0,16}(报告|汇报|总结)如下"));
/// Clause boundaries inside a problem clause where its remedy starts (split there).
static INLINE_PLAN: Lazy<Regex> =
    Lazy::new(|| re(r"[，；](下一步|下步|今后|为此|对此|针对(此|这|上述))"));
/// "针对……的问题，" at the start of a plan: the problem it answers ends at that comma.
static TARGET_END: Lazy<Regex> = Lazy::new(|| {
    re(
        r"^((下一步|今后|明年|为此|对此)[，,]?)?针对[^。；]{6,90}?(的)?(问题|情况|现象|短板|不足|状况)[，,]",
    )
});
/// Clause boundaries inside a praise sentence where a concession starts ("……，但……不够"):
/// the concession becomes a clause of its own, for the self-criticism rules and the problem
/// detector to judge.
static INLINE_CONTRAST: Lazy<Regex> = Lazy::new(|| re(r"[，；](但是?|不过|然而|可是|只是)"));

/// Praise that names a problem it fixed: "解决了以往普法经费不足的问题".
static FIXED: Lazy<Regex> = Lazy::new(|| {
    re(
        r"((已经?|有效|较好|很好|基本|逐步|彻底|切实|成功|初步)(地)?(解决|缓解|改变|扭转|破解|弥补|补齐|补上|克服|消除|化解|杜绝|改善|改进)|(解决|缓解|改变|扭转|破解|弥补|补齐|补上|克服|消除|化解|杜绝|避免|改善|改进)了)[^，。；]{0,24}(问题|不足|短板|难题|现象|做法|局面|状况|短缺|困境|盲区|空白)|(没有|未|无|零)(发生|出现)|全部|均已|实现.{0,6}全覆盖",
    )
});
static PLAN_CUE: Lazy<Regex> = Lazy::new(|| {
    re(&with_item_numerals(
        r"^([{N}]是|[（(]?[{N}\d]+[）)、.]?)?(我(乡|镇|们|街道)?)?(将|要|计划|拟|下一步|继续|持续|进一步|加强|加大|建立|健全|完善|争取|推动|推进|推行|确保|力争|着力|深化|提升|注重|督促|积极|制定|组织|开展|强化|打造|扩大|丰富|严格|出台|落实|实行|加快|探索|引导|优化|针对|围绕|聚焦|坚持|拓展|拓宽|大力|全面|主动|及时|定期|充分|结合|创新|规范|用好|发挥|提高|增加|配齐|充实|补齐|激活|畅通|筹措|多方|每(季度|月|年|半年))",
    ))
});
/// A clause that explains why a problem exists.
static CAUSE_START: Lazy<Regex> = Lazy::new(|| {
    re(
        r"^(究其原因|分析原因|原因(主要)?(是|在于|有)|主要原因|问题的原因|产生(这些|上述)问题的原因|之所以|造成(这些|上述|以上)(问题|现象)的原因)",
    )
});
/// A concession that names no concrete problem ("还存在一些不足", "离上级要求还有不小差距").
static GENERIC_CONCESSION: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(还|仍|也|仍然|依然)?(存在|有)(着)?(一些|一定|若干|不少|诸多|几个|以下|较大|不小|明显|许多)?([^，。；]{0,8}的)?(差距|不足|问题|短板|弱项|薄弱环节|困难|挑战)(和|与|、|及)?(不足|问题|短板|差距|困难|挑战)?|差距|不足之处|短板|弱项|停留在面上|亟待解决|需要(正视|改进)|(有的|有些)(还|是)(比较|较为)?(突出|老问题)|(以下|如下)[^，。；]{0,10}(问题|不足|方面)|(问题|不足)(比较|较为|十分|更为)?突出|薄弱环节|(工作|亮点|特色|整体|总体|各项工作)[^，。；]{0,4}(还|仍)?(不够|有待)[^，。；]{0,4}(平衡|突出|均衡|提升|提高|加强)|(离|与)[^，。；]{0,20}(还有|仍有|存在)[^，。；]{0,6}(距离|差距)|工作[^，。；]{0,8}(还需|仍需|有待)(进一步)?(提高|提升|加强|完善)|(获得感|满意度|幸福感|安全感)[^，。；]{0,4}(不够|有待)(强|高|提升|提高)?",
    )
});
/// Words that begin a concession or self-criticism inside praise.
static CONTRAST_OPENER: Lazy<Regex> = Lazy::new(|| {
    re(
        r"^(但是?|不过|然而|可是|只是|当然|同时也|也要看到|美中不足的是|需要指出的是|值得注意的是|说实话|说实在的|老实说|坦率地(说|讲)|实事求是地(说|讲)|客观地(说|讲)|从实际(情况)?(看|来看)|(但|不过)?(对照|离|与).{0,16}(相比|比|来看|看)?[，,]?(我们)?(也)?(清醒地?)?(看到|认识到)?)",
    )
});
/// Self-critical wording strong enough without a contrast word ("……还不够", "有待提高").
static SELF_CRITICAL: Lazy<Regex> = Lazy::new(|| {
    re(
        r"还不够|还不太|还没有|差距还|有待(进一步)?(提高|加强|提升|改进|增强)|仍(然)?(存在|有)|还存在|尚(未|不|显)|不够(到位|深入|充分|理想|规范|严谨|明显|顺畅|及时|系统)|流于形式|走过场",
    )
});
/// A topic heading inside a problems section: "关于人员力量", "在普法宣传方面".
static TOPIC: Lazy<Regex> =
    Lazy::new(|| re(r"^(关于|在)[^，。；]{1,16}(方面|上)?[。：]?$|^[^，。；]{2,12}方面[：。]?$"));

static ITEM_START: Lazy<Regex> = Lazy::new(|| {
    re(&with_item_numerals(
        r"^([{N}]是|[（(]?[{N}\d]{1,3}[）)、.])",
    ))
});

static SIGNATURE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"^[\p{Han}（）()]{2,30}(人民政府|政府|党委|委员会|办公室|办事处|人民代表大会)(（[^）]*）)?$",
    )
});
/// "XX镇党委书记 张XX": the author line of a 述法 report.
static AUTHOR_LINE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"^((述法人|报告人|汇报人)\s*[：:]\s*)?[\p{Han}、]{0,24}(书记|乡长|镇长|主任|苏木达|苏木长|街道办事处主任)[、\p{Han}]{0,8}\s+[\p{Han}·]{2,6}$",
    )
});
static DATE_LINE: Lazy<Regex> = Lazy::new(|| {
    // "2025年1月8日", "2025年1月" (a sign-off often has no day), "二〇二五年一月", "2025-01-08".
    re(
        r"^((19|20)\d\d|[二][〇零○][一二三四五六七八九〇零○]{2})\s*年\s*([\d一二三四五六七八九十]{1,3}\s*月\s*([\d一二三四五六七八九十]{1,3}\s*日)?)?$|^(19|20)\d\d[-./]\d{1,2}([-./]\d{1,2})?$",
    )
});

/// "三，下一步工作计划": a short line numbered with a comma (a badly converted "三、").
static H1_COMMA: Lazy<Regex> = Lazy::new(|| re(&with_item_numerals(r"^[{N}]{1,3}\s*[，,]\s*")));

/// Heading level of a line, if it is one, and the char length of its marker.
fn heading_level(line: &str) -> Option<(u8, usize)> {
    if let Some(m) = H1_COMMA.find(line) {
        let title = &line[m.end()..];
        if line.chars().count() <= 24 && !title.contains(['，', '。', '；']) {
            return Some((L_H1, m.as_str().chars().count()));
        }
    }
    for (lvl, r) in [(L_H1, &*H1), (L_H2, &*H2), (L_H3, &*H3), (L_H4, &*H4)] {
        if let Some(m) = r.find(line) {
            let s = m.as_str();
            if s.starts_with('【') {
                // The bracketed title is the heading; the marker is the opening bracket.
                return Some((lvl, 1));
            }
            let mut len = s.chars().count();
            if lvl == L_H3 && !s.ends_with(['、', '.', '．']) {
                len -= 1; // the pattern consumed the first char of the title
            }
            return Some((lvl, len));
        }
    }
    None
}

/// A short unnumbered line that names a problems/plans/causes/responsibility section
/// ("存在的问题和不足", "下一步工作打算") opens a top-level section.
fn unnumbered_heading(line: &str) -> Option<(u8, usize)> {
    let short = line.chars().count() <= 24;
    let sentence_like = line.contains(['。', '，', '；', ',', ';']);
    (short && !sentence_like && classify_title(line.trim_end_matches(['：', ':'])).is_some())
        .then_some((L_H1, 0))
}

/// Separators between the two halves of a topic heading ("履职尽责，扛牢法治建设主体责任",
/// "规范行政执法 提升依法行政水平").
const TOPIC_SEPARATORS: [char; 4] = ['，', ',', ' ', '\u{3000}'];

/// Unnumbered topic headings: many reports title their work points with a short line of one
/// or two phrases and no number ("履职尽责，扛牢法治建设主体责任" over its paragraph). Such a
/// line is a heading when it is short, ends no sentence, holds no figure, follows a finished
/// paragraph (not a line wrapped in mid-sentence) and stands over a paragraph of body; and
/// only in a report that has at least two of them and no numbered top-level heading (there,
/// a short line is a sub-point of its numbered section, which the numbering already orders).
fn topic_heading_lines(chars: &[char], lines: &[(usize, usize)], title_lines: usize) -> Vec<bool> {
    let texts: Vec<String> = lines.iter().map(|&(s, e)| text_of(chars, s, e)).collect();
    if texts
        .iter()
        .any(|t| heading_level(t).is_some_and(|(l, _)| l == L_H1))
    {
        return vec![false; texts.len()];
    }
    let finished = |t: &str| {
        t.ends_with(['。', '！', '？', '!', '?', '：', ':', '”', '；'])
            || heading_level(t).is_some()
            || unnumbered_heading(t).is_some()
    };
    let shaped = |t: &str| {
        let n = t.chars().count();
        let halves: Vec<&str> = t
            .split(TOPIC_SEPARATORS)
            .filter(|h| !h.is_empty())
            .collect();
        (4..=24).contains(&n)
            && !t.contains(['。', '；', ';', '：', ':', '！', '？', '!', '?', '、'])
            && !t
                .chars()
                .any(|c| c.is_ascii_digit() || ('０'..='９').contains(&c))
            && halves.len() <= 2
            && halves.iter().all(|h| h.chars().count() >= 2)
            && heading_level(t).is_none()
            && !SIGNATURE.is_match(t)
            && !DATE_LINE.is_match(t)
            && !AUTHOR_LINE.is_match(t)
    };
    let mut topic: Vec<bool> = (0..texts.len())
        .map(|i| {
            i >= title_lines
                && shaped(&texts[i])
                && (i == title_lines || finished(&texts[i - 1]))
                && texts
                    .get(i + 1)
                    .is_some_and(|next| next.chars().count() >= 20 && !shaped(next))
        })
        .collect();
    if topic.iter().filter(|&&t| t).count() < 2 {
        topic.iter_mut().for_each(|t| *t = false);
    }
    topic
}

/// The title part of a heading line: up to the first 。 or colon (or the whole line).
fn heading_title(line: &str, marker: usize) -> String {
    let rest: String = line.chars().skip(marker).collect();
    let rest = rest.trim_start_matches('【');
    let t = rest
        .split(['。', '：', ':', '】'])
        .next()
        .unwrap_or("")
        .trim();
    t.to_string()
}

fn classify_title(title: &str) -> Option<Kind> {
    // "正视差距补短板" faces this year's gaps before it promises to fix them: problems.
    let fixing = FIXING_TITLE.is_match(title) && !FACING_TITLE.is_match(title);
    let p = PROBLEM_TITLE.is_match(title) && !fixing;
    // "落实整改任务 补齐去年短板" reports the rectification done this year: a work section.
    let n = PLAN_TITLE.is_match(title) && (!fixing || NEXT_YEAR_TITLE.is_match(title));
    if RESPONSIBILITY_TITLE.is_match(title) {
        Some(Kind::Responsibility)
    } else if p && n {
        Some(Kind::Mixed)
    } else if p {
        Some(Kind::Problems)
    } else if CAUSE_TITLE.is_match(title) {
        Some(Kind::Causes)
    } else if n {
        Some(Kind::Plans)
    } else {
        None
    }
}

/// The kind of a line-start label ("问题一：" → problems, "整改措施一：" → plans).
fn label_kind(label: &str) -> Option<Kind> {
    if label.starts_with("问题") || label.starts_with("存在") || label == "不足" {
        return Some(Kind::Problems);
    }
    if label.contains("措施") || label.contains("举措") || label == "对策" || label == "整改"
    {
        return Some(Kind::Plans);
    }
    classify_title(label)
}

/// Whether a clause starts a new point: an item marker or a discourse opener.
fn starts_item(t: &str) -> bool {
    item_marker_len(t).is_some() || discourse_opener_len(t).is_some()
}

/// Inline markers that start a point after punctuation ("……；二是……", "……。问题二：……").
fn inline_marker_at(chars: &[char], i: usize) -> bool {
    if i == 0 || !"：:，,；;。".contains(chars[i - 1]) {
        return false;
    }
    let rest: String = chars[i..chars.len().min(i + 12)].iter().collect();
    let c = chars[i];
    let is_inline_kind =
        (c == '问' || c == '整' || c == '改' || c == '其' || c == '（' || c == '(')
            || (is_item_numeral(c) && rest.chars().nth(1) == Some('是'))
            || (is_item_numeral(c)
                && rest.chars().nth(1) == Some('十')
                && rest.chars().nth(2) == Some('是'));
    is_inline_kind && item_marker_len(&rest).is_some()
}

/// Split a line (normalised chars `[ls, le)`) into clause spans: after 。！？；, before inline
/// item markers that follow punctuation, after a colon that ends a lead-in, and at inline
/// plan starts (`split_plans`) or concessions inside praise (`split_contrast`).
fn split_clauses(
    chars: &[char],
    ls: usize,
    le: usize,
    split_plans: bool,
    split_contrast: bool,
) -> Vec<(usize, usize)> {
    let mut cuts = Vec::new();
    let mut unit_start = ls;
    let mut i = ls;
    while i < le {
        let c = chars[i];
        if "。！？；!?;".contains(c) {
            let mut j = i + 1;
            while j < le && "”’\"'）)」』".contains(chars[j]) {
                j += 1;
            }
            cuts.push(j);
            unit_start = j;
            i = j;
            continue;
        }
        if i > unit_start && inline_marker_at(chars, i) {
            cuts.push(i);
            unit_start = i;
        }
        if c == '：' && i + 1 < le {
            // A colon ends a lead-in ("主要表现在：") unless it only closes a short label or
            // item marker ("问题一：", "原因分析：").
            let before: String = chars[unit_start..i].iter().collect();
            let body = strip_item_marker(&before);
            let label = LABEL.is_match(&format!("{before}："));
            if body.chars().count() >= 6 && !label {
                cuts.push(i + 1);
                unit_start = i + 1;
            }
        }
        i += 1;
    }
    cuts.push(le);
    let mut spans = Vec::new();
    let mut s = ls;
    for c in cuts {
        if c > s {
            spans.push((s, c));
        }
        s = c;
    }
    // Second pass: a remedy or a concession inside a clause becomes a clause of its own.
    let mut out = Vec::new();
    for (a, b) in spans {
        let t: String = chars[a..b].iter().collect();
        let body_at = t.chars().count() - body_of(&t).chars().count();
        let body: String = t.chars().skip(body_at).collect();
        let target = TARGET_END.find(&body).map(|m| {
            let cut = a + body_at + body[..m.end()].chars().count();
            (cut, cut)
        });
        if let Some((cut, _)) = target.filter(|&(c, _)| c < b) {
            out.push((a, cut));
            out.push((cut, b));
            continue;
        }
        let m = if split_plans {
            INLINE_PLAN.find(&t)
        } else if split_contrast {
            INLINE_CONTRAST.find(&t)
        } else {
            None
        };
        match m {
            Some(m) => {
                let cut = a + t[..m.start()].chars().count() + 1;
                if cut > a + 1 && cut < b {
                    out.push((a, cut));
                    out.push((cut, b));
                } else {
                    out.push((a, b));
                }
            }
            None => out.push((a, b)),
        }
    }
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
        if len > 60
            || t.contains('。')
            || heading_level(&t).is_some()
            || t.ends_with('：')
            || t.ends_with(':')
        {
            break;
        }
        n += 1;
    }
    n
}

/// The clause text without its item marker and discourse opener.
fn body_of(t: &str) -> &str {
    let t = strip_item_marker(t.trim());
    match discourse_opener_len(t) {
        Some(n) => {
            let b = t.char_indices().nth(n).map_or(t.len(), |(b, _)| b);
            &t[b..]
        }
        None => t,
    }
}

/// A clause that states no concrete problem: a lead-in to a list, or a concession in general
/// terms ("我镇法治政府建设还存在一些不足", "离上级要求还有不小差距，有些工作还停留在面上").
fn is_transition(body: &str) -> bool {
    let rest = GENERIC_CONCESSION.replace_all(body, "");
    let concrete = PROBLEM_CUE.is_match(&rest);
    if body.ends_with('：') || body.ends_with(':') {
        return !concrete || GENERIC_CONCESSION.is_match(body) || body.chars().count() <= 12;
    }
    !concrete && (GENERIC_CONCESSION.is_match(body) || PROBLEM_OPENER.is_match(body))
}

/// Whether a sentence that opens a problems passage ("但对照群众期盼，我们也清醒地看到，……")
/// states a problem itself: a concrete problem word, or a substantial statement after the
/// opening phrase that is not a concession in general terms.
fn states_problem_after_opener(body: &str) -> bool {
    if !is_transition(body) {
        return true;
    }
    let skip = crate::text::lead_phrase_len(body).unwrap_or(0);
    let rest: String = body.chars().skip(skip).collect();
    skip > 0
        && !GENERIC_CONCESSION.is_match(&rest)
        && rest.chars().filter(|c| c.is_alphabetic()).count() >= 15
}

/// Words without which a clause outside a problems section hardly states a problem: a
/// negation, a shortage, a concession. The net for the problem detector's candidates.
static CANDIDATE_NET: Lazy<Regex> = Lazy::new(|| {
    re(
        r"不|没|未|无|少|难|缺|差|慢|低|弱|紧|只有|仅|才[^能]|还是|但|不过|只是|可是|然而|坦白|客观|从.{0,10}看|问题|短板|拖|乱|空|旧|老",
    )
});

/// "存在问题：……" inside a line ("普法宣传：……；存在问题：形式单一"): what follows is a problem,
/// unless it is "无".
static INLINE_PROBLEM_LABEL: Lazy<Regex> =
    Lazy::new(|| re(r"^(存在(的)?(主要)?问题|问题|不足|短板)[：:]\s*(.*)$"));

/// Problems of an earlier year recalled as context ("去年报告中曾列出……等问题"): not this
/// year's problems.
static PAST_PROBLEM: Lazy<Regex> = Lazy::new(|| {
    re(
        r"曾(经)?(列出|指出|提出|存在|反映)|(去年|上年|上一年|往年|前些年)[^。；]{0,20}(问题|不足|短板)|(19|20)\d\d年度?[^。；]{0,16}(报告|考核)中",
    )
});

/// A clause outside a problems section that the rules did not call a problem but might be
/// one ("全年只收到线上申请14件，居民有事还是直接跑到调解室"): the summariser's problem
/// detector decides. Praise that names what it fixed, plans and transitions are not.
fn is_problem_candidate(body: &str) -> bool {
    body.chars().count() >= 8
        && !PAST_PROBLEM.is_match(body)
        && CANDIDATE_NET.is_match(body)
        && !FIXED.is_match(body)
        && !is_transition(body)
        && !PLAN_OPENER.is_match(body)
        && !PLAN_CUE.is_match(body)
        && !REPORT_FOLLOWS.is_match(body)
}

/// A clause in praise or plans that criticises the township's own work.
fn is_self_criticism(body: &str) -> bool {
    if !PROBLEM_CUE.is_match(body)
        || FIXED.is_match(body)
        || PAST_PROBLEM.is_match(body)
        || is_transition(body)
    {
        return false;
    }
    let plan = PLAN_OPENER.is_match(body) || PLAN_CUE.is_match(body);
    let contrast = CONTRAST_OPENER.is_match(body);
    !plan && (contrast || SELF_CRITICAL.is_match(body))
}

/// A heading frame: its level, what its section holds, and its title for `section`.
#[derive(Debug, Clone)]
struct Frame {
    level: u8,
    kind: Kind,
    title: String,
}

/// The role state carried from clause to clause.
#[derive(Debug, Default)]
struct State {
    /// The rest of the current point is a remedy / a cause.
    plan_in_item: bool,
    cause_in_item: bool,
    /// After "但也要清醒看到……" outside a problems section: problems until the next heading.
    problem_mode: bool,
    /// Inside such a passage, after "下一步……": plans until the next heading.
    plan_mode: bool,
    /// A clause so far stated a problem (other than a plan's "针对……的问题，"): then a plan's
    /// "针对……的问题，" restates one of them, and is part of the plan.
    problems_stated: bool,
    /// The clause just decided is a plan's "针对……的问题，".
    targeted: bool,
}

/// Structure of the normalised text: clauses with roles, in order.
pub fn sentences(chars: &[char], lines: &[(usize, usize)], title_lines: usize) -> Vec<RawSentence> {
    let mut out = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let topic = topic_heading_lines(chars, lines, title_lines);
    let any_heading = topic.contains(&true)
        || lines
            .iter()
            .any(|&(s, e)| heading_level(&text_of(chars, s, e)).is_some());
    let mut st = State::default();
    let mut seen_body = false;
    // "现将有关情况报告如下：" seen: what follows is the report's body, even before any heading
    // (work paragraphs opened by a run-in topic, "在普法宣传方面，……", are no preamble).
    let mut body_announced = false;
    let mut item = 0usize;
    // A heading line followed by an unmarked paragraph: one point (the paragraph explains it).
    let mut after_heading = false;
    let push = |out: &mut Vec<RawSentence>, start, end, role, section, paragraph, item, heading| {
        out.push(RawSentence {
            start,
            end,
            role,
            section,
            paragraph,
            item,
            heading,
            candidate: false,
        })
    };
    for (pi, &(ls, le)) in lines.iter().enumerate() {
        let line = text_of(chars, ls, le);
        let continues_heading = after_heading
            && !topic[pi]
            && heading_level(&line).is_none()
            && unnumbered_heading(&line).is_none()
            && !starts_item(&line)
            && LABEL.find(&line).is_none();
        after_heading = false;
        // "问题1：……。" then "表现为：……" on the next line: one problem, shown in detail.
        let shows_the_point = SHOWS_AS.is_match(&line);
        if !continues_heading && !shows_the_point {
            item += 1;
        }
        if pi < title_lines {
            push(&mut out, ls, le, Role::Other, None, pi, item, true);
            continue;
        }
        let short = line.chars().count() <= 40;
        if short
            && (SIGNATURE.is_match(&line)
                || DATE_LINE.is_match(&line)
                || AUTHOR_LINE.is_match(&line))
        {
            push(&mut out, ls, le, Role::Other, None, pi, item, false);
            continue;
        }
        // Headings and line-start labels open (or switch) a section.
        let mut heading_only = false;
        let mut own_kind: Option<Kind> = None;
        let heading = heading_level(&line)
            .or_else(|| unnumbered_heading(&line))
            .or_else(|| topic[pi].then_some((L_H1, 0)));
        if let Some((lvl, marker)) = heading {
            let title = heading_title(&line, marker);
            while stack.last().is_some_and(|t| t.level >= lvl) {
                stack.pop();
            }
            let parent = stack.last().map(|t| t.kind);
            let short_title = title.chars().count() <= 24;
            own_kind = classify_title(&title).filter(|_| short_title);
            let kind = match (parent, own_kind) {
                (None, Some(k)) => k,
                (None, None) => Kind::Achievements,
                (Some(Kind::Achievements | Kind::Preamble), Some(k)) => k,
                (Some(p @ (Kind::Achievements | Kind::Preamble)), None) => p,
                (Some(Kind::Problems | Kind::Mixed), Some(Kind::Plans | Kind::Causes)) => {
                    own_kind.unwrap_or(Kind::Plans)
                }
                (Some(Kind::Causes), Some(Kind::Plans | Kind::Problems | Kind::Mixed)) => {
                    own_kind.unwrap_or(Kind::Causes)
                }
                (Some(Kind::Plans), Some(Kind::Problems | Kind::Mixed | Kind::Causes)) => {
                    own_kind.unwrap_or(Kind::Plans)
                }
                (Some(p), _) => p,
            };
            if lvl == L_H1 || stack.is_empty() {
                // A new part of the report; whether it stated problems is the report's.
                st = State {
                    problems_stated: st.problems_stated,
                    ..State::default()
                };
            }
            st.plan_in_item = false;
            st.cause_in_item = false;
            let marker_text: String = line.chars().take(marker).collect();
            stack.push(Frame {
                level: lvl,
                kind,
                title: marker_text + &title,
            });
            heading_only = !line.contains('。') && line.chars().count() <= 60;
        } else if let Some(m) = LABEL.find(&line) {
            let label = m.as_str().trim_end_matches(['：', ':']).trim();
            if let Some(kind) = label_kind(label) {
                while stack.last().is_some_and(|t| t.level >= L_LABEL) {
                    stack.pop();
                }
                stack.push(Frame {
                    level: L_LABEL,
                    kind,
                    title: label.to_string(),
                });
                st.plan_in_item = false;
                st.cause_in_item = false;
            }
        }
        let section_kind = match stack.last() {
            Some(t) => t.kind,
            None if !any_heading && seen_body => Kind::Achievements,
            // The township's profile ("莲塘街道位于滨湖区东部，辖11个社区") is no work point.
            None if body_announced && !PROFILE.is_match(&line) => Kind::Achievements,
            // A marked point before the first heading is a work point, not the preamble
            // ("——普法宣传亮点纷呈。……", "第一件，抓班子带队伍。……" after "一年来，我们重点
            // 抓了以下几件事："): reports that title their work points this way often give the
            // work no heading of its own, only the problems that follow.
            None if seen_body && item_marker_len(&line).is_some() => Kind::Achievements,
            None => Kind::Preamble,
        };
        let section = stack
            .iter()
            .find(|f| f.level % 2 == 0 && f.level < L_LABEL)
            .map(|t| t.title.clone());
        seen_body = true;
        body_announced |= REPORT_FOLLOWS_IN_LINE.is_match(&line);
        if heading_only {
            let top_level = stack.len() == 1;
            let role = match section_kind {
                _ if top_level || own_kind.is_some() => Role::Other,
                Kind::Problems | Kind::Mixed => {
                    // A sub-heading in a problems section states the problem ("（一）执法办案
                    // 还不够规范"), unless it only names a topic ("（一）关于人员力量").
                    let body = body_of(&line);
                    if TOPIC.is_match(body) || is_transition(body) {
                        Role::Other
                    } else {
                        Role::Shortcomings
                    }
                }
                k => kind_role(k),
            };
            push(&mut out, ls, le, role, section, pi, item, true);
            after_heading = true;
            continue;
        }
        // A paragraph opened by a run-in topic ("在安置社区治理方面，……") is the next work point:
        // a problems passage of the paragraph before ends there.
        if RUN_IN_TOPIC.is_match(&line)
            && matches!(section_kind, Kind::Achievements | Kind::Preamble)
        {
            st.problem_mode = false;
        }
        let problem_like = matches!(section_kind, Kind::Problems | Kind::Mixed) || st.problem_mode;
        let praise_like = matches!(section_kind, Kind::Achievements | Kind::Preamble);
        let clauses = split_clauses(chars, ls, le, problem_like, praise_like && !st.problem_mode);
        st.plan_in_item = false;
        st.cause_in_item = false;
        let mut sentence_start = true;
        for (k, &(a, b)) in clauses.iter().enumerate() {
            let t = text_of(chars, a, b);
            if k > 0 && starts_item(&t) {
                item += 1;
                st.plan_in_item = false;
                st.cause_in_item = false;
            } else if sentence_start && states_new_problem(body_of(&t)) {
                // "……。究其原因，……。下一步，……。抖音号上的内容多是转发……": a new sentence that
                // states a problem ends the cause or remedy before it.
                st.plan_in_item = false;
                st.cause_in_item = false;
                st.plan_mode = false;
            }
            sentence_start = t.trim_end().ends_with(['。', '！', '？', '!', '?']);
            // The section a lead-in opens is a frame below the current one.
            let kind_now = stack.last().map_or(section_kind, |f| f.kind);
            let (role, opens) = decide(kind_now, &t, &mut st);
            if let Some(kind) = opens {
                let level = stack.last().map_or(1, |f| f.level | 1);
                while stack.last().is_some_and(|f| f.level >= level) {
                    stack.pop();
                }
                stack.push(Frame {
                    level,
                    kind,
                    title: String::new(),
                });
            }
            push(&mut out, a, b, role, section.clone(), pi, item, false);
            if matches!(
                role,
                Role::Achievements | Role::Preamble | Role::Plans | Role::Responsibility
            ) && is_problem_candidate(body_of(&t))
            {
                if let Some(last) = out.last_mut() {
                    last.candidate = true;
                }
            }
        }
    }
    category_titles_are_no_problems(&mut out, chars, lines);
    out
}

/// A one-sentence problem point whose next line opens a deeper point that is a problem
/// ("1.基层法治力量发挥作用不够均衡。" then "（1）常年在外务工人员……" "（2）部分村法律顾问……")
/// names the category of the problems below it; they are the problems.
fn category_titles_are_no_problems(
    out: &mut [RawSentence],
    chars: &[char],
    lines: &[(usize, usize)],
) {
    let level = |pi: usize| {
        lines
            .get(pi)
            .and_then(|&(s, e)| heading_level(&text_of(chars, s, e)))
            .map(|(l, _)| l)
    };
    for (pi, &(s, e)) in lines.iter().enumerate() {
        let (Some(l), Some(next)) = (level(pi), level(pi + 1)) else {
            continue;
        };
        if next <= l || e - s > 30 {
            continue;
        }
        let of_line: Vec<usize> = (0..out.len()).filter(|&i| out[i].paragraph == pi).collect();
        let one_problem = of_line.len() == 1 && out[of_line[0]].role == Role::Shortcomings;
        let problem_below = out
            .iter()
            .any(|x| x.paragraph == pi + 1 && x.role == Role::Shortcomings);
        if one_problem && problem_below {
            out[of_line[0]].role = Role::Other;
        }
    }
}

fn kind_role(k: Kind) -> Role {
    match k {
        Kind::Preamble => Role::Preamble,
        Kind::Achievements => Role::Achievements,
        Kind::Problems | Kind::Mixed => Role::Shortcomings,
        Kind::Plans => Role::Plans,
        Kind::Causes => Role::Other,
        Kind::Responsibility => Role::Responsibility,
    }
}

/// A clause that ends with a colon and announces problems ("有几个短板需要正视：") or plans
/// ("我乡下一步的工作打算如下："): the points that follow belong to that kind.
fn lead_in_kind(body: &str) -> Option<Kind> {
    // "2025年，我镇将重点做好以下几方面工作。" leads in like a colon does.
    let announces = (body.ends_with('。') || body.ends_with('.')) && body.contains("以下");
    if !(body.ends_with('：') || body.ends_with(':') || announces) {
        return None;
    }
    if PLAN_OPENER.is_match(body) || PLAN_TITLE.is_match(body) {
        return Some(Kind::Plans);
    }
    if WORK_LEAD_IN.is_match(body) {
        // The points that follow are work points: marked ones open sections of their own.
        return None;
    }
    if CAUSE_START.is_match(body) || (CAUSE_TITLE.is_match(body) && !PROBLEM_TITLE.is_match(body)) {
        return Some(Kind::Causes);
    }
    if GENERIC_CONCESSION.is_match(body) || PROBLEM_OPENER.is_match(body) {
        return Some(Kind::Problems);
    }
    None
}

/// Role of one clause in a section of kind `k`, updating the state; and the kind of passage
/// the clause opens, if it is a lead-in.
fn decide(k: Kind, t: &str, st: &mut State) -> (Role, Option<Kind>) {
    st.targeted = false;
    let decided = decide_clause(k, t, st);
    if decided.0 == Role::Shortcomings && !st.targeted {
        st.problems_stated = true;
    }
    decided
}

fn decide_clause(k: Kind, t: &str, st: &mut State) -> (Role, Option<Kind>) {
    let body = body_of(t);
    if let Some(c) = INLINE_PROBLEM_LABEL.captures(body) {
        let rest = c
            .get(4)
            .map_or("", |m| m.as_str())
            .trim_end_matches(['。', '；', ';']);
        let none = rest.is_empty() || ["无", "没有", "暂无", "无明显问题"].contains(&rest);
        return (
            if none {
                Role::Other
            } else {
                Role::Shortcomings
            },
            None,
        );
    }
    match k {
        Kind::Causes => {
            if let Some(kind @ (Kind::Plans | Kind::Problems)) = lead_in_kind(body) {
                return (Role::Other, Some(kind));
            }
            (Role::Other, None)
        }
        Kind::Problems | Kind::Mixed => (problem_clause(k, t, body, st), lead_in_kind(body)),
        Kind::Plans => {
            if st.problem_mode {
                return (passage_clause(body, st), None);
            }
            if PROBLEM_OPENER.is_match(body) && states_problem_after_opener(body) {
                st.problem_mode = true;
                return (Role::Shortcomings, None);
            }
            if let Some(kind @ Kind::Problems) = lead_in_kind(body) {
                return (Role::Other, Some(kind));
            }
            // "针对部分群众遇事不找法的问题，我们将……": the problem a plan answers, when the
            // report has not stated it (nor any other) before its plans.
            if !st.problems_stated
                && TARGETED_PROBLEM
                    .captures(body)
                    .and_then(|c| c.get(1))
                    .is_some_and(|x| PROBLEM_CUE.is_match(x.as_str()))
            {
                st.targeted = true;
                return (Role::Shortcomings, None);
            }
            (Role::Plans, None)
        }
        Kind::Achievements | Kind::Preamble | Kind::Responsibility => {
            if REPORT_FOLLOWS.is_match(body) {
                // "现将有关情况报告如下": ends any problems passage of the opening paragraph.
                st.problem_mode = false;
                st.plan_mode = false;
                return (kind_role(k), None);
            }
            if st.problem_mode {
                return (passage_clause(body, st), lead_in_kind(body));
            }
            if let Some(kind) = lead_in_kind(body) {
                return (Role::Other, Some(kind));
            }
            if st.plan_in_item || FUTURE_OPENER.is_match(body) {
                st.plan_in_item = true;
                return (Role::Plans, None);
            }
            if PROBLEM_OPENER.is_match(t) || PROBLEM_OPENER.is_match(body) {
                st.problem_mode = true;
                let role = if states_problem_after_opener(body) {
                    Role::Shortcomings
                } else {
                    Role::Other
                };
                return (role, None);
            }
            if is_self_criticism(body) {
                return (Role::Shortcomings, None);
            }
            if k != Kind::Responsibility && RESPONSIBILITY_SENTENCE.is_match(t) {
                return (Role::Responsibility, None);
            }
            (kind_role(k), None)
        }
    }
}

/// A sentence that states a problem of its own: not a remedy, a cause or a transition.
fn states_new_problem(body: &str) -> bool {
    PROBLEM_CUE.is_match(body)
        && !PLAN_OPENER.is_match(body)
        && !PLAN_CUE.is_match(body)
        && !CAUSE_START.is_match(body)
        && !TARGET_END.is_match(body)
        && !is_transition(body)
}

/// A clause of a problems passage opened outside a problems section.
fn passage_clause(body: &str, st: &mut State) -> Role {
    if st.plan_mode {
        return Role::Plans;
    }
    if PLAN_OPENER.is_match(body) {
        st.plan_mode = true;
        return Role::Plans;
    }
    if PLAN_CUE.is_match(body) && !PROBLEM_CUE.is_match(body) {
        return Role::Plans;
    }
    if is_transition(body) {
        return Role::Other;
    }
    Role::Shortcomings
}

/// A clause inside a problems (or problems-and-plans) section.
fn problem_clause(k: Kind, t: &str, body: &str, st: &mut State) -> Role {
    if st.cause_in_item {
        return Role::Other;
    }
    if CAUSE_START.is_match(body) {
        st.cause_in_item = true;
        return Role::Other;
    }
    if st.plan_in_item {
        // A new point that states a problem ends the remedy of the previous one.
        if ITEM_START.is_match(t) && PROBLEM_CUE.is_match(body) && !PLAN_CUE.is_match(body) {
            st.plan_in_item = false;
        } else {
            return Role::Plans;
        }
    }
    if PLAN_OPENER.is_match(body) {
        st.plan_in_item = true;
        return Role::Plans;
    }
    let plan_like = PLAN_CUE.is_match(t) || PLAN_CUE.is_match(body);
    if plan_like && !PROBLEM_CUE.is_match(body) && (k == Kind::Mixed || !body.is_empty()) {
        return Role::Plans;
    }
    if is_transition(body) || TOPIC.is_match(body) {
        return Role::Other;
    }
    Role::Shortcomings
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
        sentences_of(text)
            .into_iter()
            .map(|(role, text, _)| (role, text))
            .collect()
    }

    /// Each clause's role, text and point (`item`).
    fn sentences_of(text: &str) -> Vec<(Role, String, usize)> {
        let chars: Vec<char> = text.chars().collect();
        let ls = lines(&chars);
        let n = title_line_count(&ls, &chars);
        sentences(&chars, &ls, n)
            .into_iter()
            .map(|s| (s.role, text_of(&chars, s.start, s.end), s.item))
            .collect()
    }

    #[test]
    fn a_work_point_that_says_what_will_be_done_is_a_plan() {
        let rs = roles(
            "一、工作成效\n（一）抓好普法。全年开展宣讲20场。下一步，我镇将把宣讲向偏远村组延伸，每村每年至少2场。建立积分管理制度。\n（二）化解纠纷。全年调处纠纷30件。",
        );
        assert_eq!(role_of(&rs, "全年开展宣讲20场"), Role::Achievements);
        assert_eq!(role_of(&rs, "下一步，我镇将"), Role::Plans);
        assert_eq!(role_of(&rs, "建立积分管理制度"), Role::Plans);
        assert_eq!(role_of(&rs, "全年调处纠纷30件"), Role::Achievements);
        // "为此" opens work in a work section.
        let rs = roles("一、工作成效\n群众矛盾多发。为此，我镇成立了调解中心，调处纠纷30件。");
        assert_eq!(role_of(&rs, "成立了调解中心"), Role::Achievements);
    }

    fn role_of(rs: &[(Role, String)], needle: &str) -> Role {
        rs.iter()
            .find(|(_, t)| t.contains(needle))
            .unwrap_or_else(|| panic!("no sentence with {needle}: {rs:#?}"))
            .0
    }

    #[test]
    fn a_plan_that_names_a_problem_stated_before_restates_it() {
        let rs = roles(
            "一、工作成效\n全年开展宣讲20场。\n二、存在的问题\n群众法治意识还不够强。一些村民遇事先找熟人。\n三、下一步打算\n针对群众法治意识还不够强的问题，我们将把留守老人作为普法重点对象。",
        );
        assert_eq!(role_of(&rs, "一些村民遇事先找熟人"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "针对群众法治意识还不够强的问题"), Role::Plans);
        // A report that states its problems only in its plans: the plan names the problem.
        let rs = roles(
            "一、工作成效\n全年开展宣讲20场。\n二、下一步打算\n针对群众法治意识还不够强的问题，我们将开展送法上门。",
        );
        assert_eq!(
            role_of(&rs, "针对群众法治意识还不够强的问题"),
            Role::Shortcomings
        );
    }

    #[test]
    fn a_section_on_last_years_rectification_is_work_done() {
        let rs = roles(
            "一、落实整改任务，补齐去年短板\n针对去年述法点评指出的“法律明白人作用发挥不充分”问题，我镇对全镇232名法律明白人逐一建档，全年调整不履职人员17名。\n二、存在的不足\n普法经费偏紧。\n三、下一步打算\n落实整改措施，加大普法经费投入。",
        );
        assert_eq!(role_of(&rs, "逐一建档"), Role::Achievements);
        assert_eq!(role_of(&rs, "普法经费偏紧"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "加大普法经费投入"), Role::Plans);
        // A plan's point titled by the problem it is to fix.
        let rs = roles(
            "一、工作成效\n全年开展宣讲20场。\n二、存在的问题\n合法性审查把关不够严。\n三、下一步打算\n（一）着力补齐合法性审查把关不严短板。凡以乡政府名义签订的合同一律送审。",
        );
        assert_eq!(role_of(&rs, "合法性审查把关不够严"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "着力补齐合法性审查把关不严短板"), Role::Plans);
        assert_eq!(role_of(&rs, "一律送审"), Role::Plans);
    }

    #[test]
    fn unnumbered_topic_headings_open_sections() {
        let rs = roles(
            "某某镇2024年法治政府建设情况报告\n2024年，我镇在区委区政府的坚强领导下，扎实推进法治政府建设，现报告如下。\n履职尽责，扛牢法治建设主体责任\n镇党委专题研究法治建设工作4次，制定年度工作要点。\n规范行政执法 提升依法行政水平\n全年办理行政执法案件12件，无一被复议纠错。\n正视短板，查找存在的问题\n村级法律明白人作用发挥不充分，普法经费保障不足。\n对标对表，谋划下步工作\n我镇将加大普法经费投入，开展法律明白人培训。\n某某镇人民政府\n2025年1月6日",
        );
        assert_eq!(role_of(&rs, "专题研究法治建设工作4次"), Role::Achievements);
        assert_eq!(role_of(&rs, "行政执法案件12件"), Role::Achievements);
        assert_eq!(role_of(&rs, "作用发挥不充分"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "加大普法经费投入"), Role::Plans);
        assert_eq!(role_of(&rs, "某某镇人民政府"), Role::Other);
    }

    #[test]
    fn a_single_short_line_or_numbered_report_has_no_topic_headings() {
        // One short line over a paragraph is not a structure; in a numbered report short lines
        // are sub-points, which the numbering orders.
        let has_topic_heading = |text: &str| {
            let chars: Vec<char> = text.chars().collect();
            let ls = lines(&chars);
            let n = title_line_count(&ls, &chars);
            topic_heading_lines(&chars, &ls, n).contains(&true)
        };
        assert!(!has_topic_heading(
            "某某镇2024年法治政府建设情况报告\n加强组织领导\n全年开展宣讲20场次，普法经费仍然不足，群众满意。"
        ));
        assert!(!has_topic_heading(
            "某某镇2024年法治政府建设情况报告\n一、主要工作\n加强组织领导\n全年开展宣讲20场次，覆盖群众3000人次。\n规范行政执法\n全年办理行政执法案件12件，无一被复议纠错。"
        ));
    }

    #[test]
    fn work_lead_in_with_yixia_fangmian_opens_no_problems() {
        let rs = roles(
            "某某镇2024年法治政府建设情况报告\n2024年，我镇主要做了以下几方面工作：\n1.抓干部学法。全年组织集中学法10次。\n2.抓普法宣传。开展宣讲18场次。\n二、存在的问题\n普法经费不足。",
        );
        assert_eq!(role_of(&rs, "集中学法10次"), Role::Achievements);
        assert_eq!(role_of(&rs, "宣讲18场次"), Role::Achievements);
        assert_eq!(role_of(&rs, "普法经费不足"), Role::Shortcomings);
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
        // A concession in general terms names no problem.
        assert_eq!(role_of(&rs, "但仍存在"), Role::Other);
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
    fn marked_points_before_the_first_heading_are_work_points() {
        let rs = roles(
            "雪隆镇2024年法治政府建设情况报告\n2024年，镇党委坚持依法行政，各项工作取得新进展。\n——普法宣传亮点纷呈。全年开展主题宣传43场次。\n第二件，抓渔村普法。开展活动27场次。\n二、存在的问题\n普法经费不足。",
        );
        assert_eq!(role_of(&rs, "各项工作取得新进展"), Role::Preamble);
        assert_eq!(role_of(&rs, "开展主题宣传43场次"), Role::Achievements);
        assert_eq!(role_of(&rs, "开展活动27场次"), Role::Achievements);
        assert_eq!(role_of(&rs, "普法经费不足"), Role::Shortcomings);
    }

    #[test]
    fn a_plan_that_something_must_be_done_first_is_no_problem_candidate() {
        // 才能 ("only then may") is no shortage; 才 alone ("只有3人，才……") may be.
        assert!(!is_problem_candidate(
            "明确村级合同必须经乡法律顾问审查后才能签订，乡经管站负责备案把关。"
        ));
        assert!(is_problem_candidate("全年才开展了2场宣讲，覆盖面很窄。"));
    }

    #[test]
    fn a_problem_whose_subject_starts_with_a_plan_verb_is_a_problem() {
        let rs = roles(
            "二、存在的问题\n（一）村法律顾问服务不到位。\n（二）开展普法工作的经费没有稳定来源，宣讲员误工补贴主要靠临时挤占办公经费解决。\n三、下一步工作打算\n（一）积极争取经费保障。",
        );
        assert_eq!(role_of(&rs, "开展普法工作的经费"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "积极争取经费保障"), Role::Plans);
    }

    #[test]
    fn a_problem_and_how_it_shows_are_one_point() {
        let rs = sentences_of(
            "一、查摆出的问题及整改措施\n问题1：村法律顾问作用发挥不充分。\n表现为：部分顾问每月到村服务不足1次，村民有事找不到人。\n整改措施：建立法律顾问驻村服务签到制度。\n问题2：普法宣传覆盖不够均衡。\n表现为：普法活动多集中在镇区。",
        );
        let item = |needle: &str| rs.iter().find(|s| s.1.contains(needle)).map(|s| s.2);
        assert_eq!(item("作用发挥不充分"), item("每月到村服务不足"));
        assert_ne!(item("作用发挥不充分"), item("覆盖不够均衡"));
        assert_eq!(item("覆盖不够均衡"), item("多集中在镇区"));
    }

    #[test]
    fn slogan_titles_that_face_gaps_open_problems_and_a_plain_lead_in_opens_plans() {
        let rs = roles(
            "一、凝心聚力抓落实\n全年开展普法宣传20场。\n二、锚定目标再发力 奋楫扬帆启新程\n2025年，我镇将重点做好以下几方面工作。\n（一）建立法律明白人积分管理制度。\n三、正视差距补短板 久久为功求实效\n首先，数字化法治建设相对滞后。\n部分村干部对智慧治理平台操作不熟悉。",
        );
        assert_eq!(role_of(&rs, "积分管理制度"), Role::Plans);
        assert_eq!(role_of(&rs, "操作不熟悉"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "开展普法宣传20场"), Role::Achievements);
    }

    #[test]
    fn a_problem_point_over_deeper_problem_points_names_their_category() {
        let rs = roles(
            "三、存在的问题\n1.基层法治力量发挥作用不够均衡。\n（1）常年在外务工人员接受普法教育的机会少。\n（2）部分村法律顾问到村服务次数偏少。\n2.合同审查把关不严。部分村集体经济合同未经法律顾问审查就签订。",
        );
        assert_eq!(role_of(&rs, "发挥作用不够均衡"), Role::Other);
        assert_eq!(role_of(&rs, "接受普法教育的机会少"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "合同审查把关不严"), Role::Shortcomings);
    }

    #[test]
    fn a_concession_about_the_peoples_sense_of_gain_states_no_problem() {
        assert!(is_transition(
            "我镇法治政府建设与上级要求相比仍有差距，有些工作还停留在面上，群众的获得感还不够强。"
        ));
    }

    #[test]
    fn a_run_in_topic_paragraph_ends_the_problems_passage_before_it() {
        let rs = roles(
            "2024年，我乡扎实推进法治建设。现将全年工作情况报告如下。\n在矛盾纠纷化解方面，全年化解纠纷125起。存在的问题是，村调解员年纪偏大，碰到复杂纠纷办法不多。\n在安置社区治理方面，乡里设立法律服务站，帮助搬迁群众办理事项260余件。不过社区网格员配得太少，诉求不能及时上报。",
        );
        assert_eq!(role_of(&rs, "调解员年纪偏大"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "办理事项260余件"), Role::Achievements);
        assert_eq!(role_of(&rs, "网格员配得太少"), Role::Shortcomings);
    }

    #[test]
    fn work_paragraphs_after_the_report_lead_in_are_achievements() {
        let rs = roles(
            "某镇2024年法治政府建设年度报告\n2024年，我镇认真落实法治政府建设各项任务。现将有关情况报告如下：\n某镇地处岩阳县南部，辖15个村。\n在普法宣传方面，开展“法律进烟区”活动38场次。\n在查找问题方面，我镇主要存在以下问题：\n1.合同审查不到位。\n部分合同未经法律顾问审查。",
        );
        assert_eq!(role_of(&rs, "认真落实"), Role::Preamble);
        assert_eq!(role_of(&rs, "地处岩阳县南部"), Role::Preamble);
        assert_eq!(role_of(&rs, "活动38场次"), Role::Achievements);
        assert_eq!(role_of(&rs, "部分合同未经"), Role::Shortcomings);
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
    fn a_years_work_focus_title_opens_plans_and_an_undated_sign_off_states_nothing() {
        // "2025年工作重点" names next year's plans; the sign-off date often has no day.
        let rs = roles(concat!(
            "依法化解矛盾\n调委会全年受理纠纷39件。\n当前面临的困难\n",
            "一是经费没有保障；二是岛上2个村很少覆盖到。\n",
            "2025年工作重点\n一是落实履职登记；二是采取船上送法等方式，把岛上村民纳入宣讲范围。\n",
            "芦荡乡人民政府\n2025年1月",
        ));
        assert_eq!(role_of(&rs, "经费没有保障"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "采取船上送法"), Role::Plans);
        assert_eq!(role_of(&rs, "2025年1月"), Role::Other);
        let rs = roles("一、存在问题\n经费紧张。\n二〇二五年一月");
        assert_eq!(role_of(&rs, "二〇二五年一月"), Role::Other);
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
        // The opener announces the problems; the points after it state them.
        assert_eq!(role_of(&rs, "但也要清醒看到"), Role::Other);
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

    fn items_of(rs: &[(Role, String)], text: &str) -> Vec<usize> {
        let chars: Vec<char> = text.chars().collect();
        let ls = lines(&chars);
        let n = title_line_count(&ls, &chars);
        let raw = sentences(&chars, &ls, n);
        assert_eq!(raw.len(), rs.len());
        raw.iter().map(|r| r.item).collect()
    }

    #[test]
    fn three_problems_on_one_line_are_three_points() {
        let text = "一、工作成效\n开展宣讲10场。\n二、存在问题\n工作中还存在一些不足：一是宣传活动集中在集镇，山区村组很少顾及；二是调解员多为兼职，业务生疏；三是镇级财力紧张，宣传品印得少。\n三、下一步打算\n一是送法进山。";
        let rs = roles(text);
        assert_eq!(role_of(&rs, "工作中还存在一些不足"), Role::Other);
        for p in ["山区村组很少顾及", "业务生疏", "宣传品印得少"] {
            assert_eq!(role_of(&rs, p), Role::Shortcomings, "{p}");
        }
        let items = items_of(&rs, text);
        let item = |needle: &str| items[rs.iter().position(|(_, t)| t.contains(needle)).unwrap()];
        assert_ne!(item("山区村组"), item("业务生疏"));
        assert_ne!(item("业务生疏"), item("宣传品印得少"));
    }

    #[test]
    fn unnumbered_problems_joined_by_semicolons_and_besides_are_separate_points() {
        let text = "一、主要做法\n开展宣讲10场。\n二、存在的不足\n偏远村寨的群众很少参加学法活动；村里懂法的带头人平时不出面。此外，网上调解小程序几乎没人用。\n三、下一步工作打算\n加强宣传。";
        let rs = roles(text);
        let items = items_of(&rs, text);
        let item = |needle: &str| items[rs.iter().position(|(_, t)| t.contains(needle)).unwrap()];
        for p in ["很少参加学法活动", "平时不出面", "几乎没人用"] {
            assert_eq!(role_of(&rs, p), Role::Shortcomings, "{p}");
        }
        assert_ne!(item("平时不出面"), item("几乎没人用"));
    }

    #[test]
    fn problem_lines_and_remedy_lines_in_one_section() {
        let text = "一、工作开展情况\n开展宣讲10场。\n二、问题与整改\n问题一：送法活动多放在集镇；问题二：个别上门检查只去了一个人。\n整改措施一：制定进村送法计划；整改措施二：严格执行两人执法制度。\n三、明年打算\n加大普法经费投入。";
        let rs = roles(text);
        assert_eq!(role_of(&rs, "送法活动多放在集镇"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "只去了一个人"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "制定进村送法计划"), Role::Plans);
        assert_eq!(role_of(&rs, "两人执法制度"), Role::Plans);
        assert_eq!(role_of(&rs, "加大普法经费投入"), Role::Plans);
    }

    #[test]
    fn self_criticism_inside_achievements_is_a_problem_and_praise_is_not() {
        let rs = roles("一、抓学法\n全年集中学法8次，干部依法办事的自觉性有所增强。不过，有的村干部办事还是凭感觉，拍板前不问合不合规矩。\n二、抓宣传\n印发资料3000份，解决了以往宣传资料不足的问题。充分发挥法律明白人作用。\n三、明年打算\n加大普法经费投入，充实法律明白人队伍。");
        assert_eq!(role_of(&rs, "有的村干部办事还是凭感觉"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "解决了以往宣传资料不足"), Role::Achievements);
        assert_eq!(role_of(&rs, "充分发挥法律明白人作用"), Role::Achievements);
        assert_eq!(role_of(&rs, "加大普法经费投入"), Role::Plans);
    }

    #[test]
    fn bare_problem_headings_then_causes_then_plans() {
        let text = "一、工作成效\n开展宣讲10场。\n二、存在的问题\n（一）外出务工人员很少受到普法\n（二）调解质量不高\n三、原因分析\n一是务工人员多在外地；二是调解员缺乏系统培训。\n四、下一步工作打算\n（一）开展返乡普法。";
        let rs = roles(text);
        assert_eq!(role_of(&rs, "外出务工人员很少受到普法"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "调解质量不高"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "务工人员多在外地"), Role::Other);
        assert_eq!(role_of(&rs, "调解员缺乏系统培训"), Role::Other);
        assert_eq!(role_of(&rs, "开展返乡普法"), Role::Plans);
    }

    #[test]
    fn problems_as_a_late_topic_heading_and_a_lead_in_sentence_before_points() {
        let rs = roles("强化组织领导\n召开会议4次。\n深化普法宣传\n开展宣讲12场。\n规范行政执法\n办理案件9件。\n工作中的不足\n执法记录仪配备不全，部分现场检查没有录像。\n下步打算\n配齐执法记录仪。");
        assert_eq!(role_of(&rs, "开展宣讲12场"), Role::Achievements);
        assert_eq!(role_of(&rs, "部分现场检查没有录像"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "配齐执法记录仪"), Role::Plans);
        let rs = roles("第一件，抓普法。开展宣讲27场次。\n总的来看，今年工作有一定进展，但还有几个短板需要正视：\n（一）普法经费偏紧。全年经费只有3万元。下一步将争取专项资金。\n（二）执法程序还不够严谨。\n明年打算：一是继续普法。");
        assert_eq!(role_of(&rs, "还有几个短板需要正视"), Role::Other);
        assert_eq!(role_of(&rs, "普法经费偏紧"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "全年经费只有3万元"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "争取专项资金"), Role::Plans);
        assert_eq!(role_of(&rs, "执法程序还不够严谨"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "继续普法"), Role::Plans);
    }

    #[test]
    fn ascii_punctuation_and_an_addressee_line_first() {
        let text = "某某县委依法治县办:\n现将某某镇2024年度法治政府建设情况报告如下:\n一、工作开展情况\n1.开展普法活动38场次,覆盖群众1.8万人次.\n二、存在的问题\n一是外出务工人员普法覆盖不到位;二是执法程序不够严谨.\n三、下一步工作打算\n(一)开展返乡普法.";
        let norm = crate::normalize::NormalizedText::new(text);
        let rs = roles(&norm.text);
        assert_eq!(
            role_of(&rs, "外出务工人员普法覆盖不到位"),
            Role::Shortcomings
        );
        assert_eq!(role_of(&rs, "执法程序不够严谨"), Role::Shortcomings);
        assert_eq!(role_of(&rs, "开展返乡普法"), Role::Plans);
        assert_eq!(role_of(&rs, "开展普法活动38场次"), Role::Achievements);
    }
}
