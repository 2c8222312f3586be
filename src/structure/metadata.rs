//! Metadata: township, county-level unit, city and report year, from title lines and body.
//! Everything is found in the normalised text and reported as spans of it; the caller maps the
//! spans back so names are written as in the source (traditional stays traditional).

use once_cell::sync::Lazy;
use regex::Regex;

/// A name found in the normalised text: char span `[start, end)`.
pub type Span = (usize, usize);

#[derive(Debug, Default, Clone)]
pub struct Metadata {
    pub township: Option<Span>,
    pub county: Option<Span>,
    pub city: Option<Span>,
    pub year: Option<i32>,
}

fn re(p: &str) -> Regex {
    Regex::new(p).expect("constant metadata pattern is valid")
}

/// Admin-name run at the start of a title line (before the year or 关于/法治…).
static TITLE_PREFIX: Lazy<Regex> = Lazy::new(|| re(r"^[\p{Han}]{2,40}"));
static YEAR_IN_TITLE: Lazy<Regex> = Lazy::new(|| re(r"((?:19|20)\d\d)\s*年"));
/// A year in the body that is not the first part of a full date (signing date).
static YEAR_IN_BODY: Lazy<Regex> = Lazy::new(|| re(r"((?:19|20)\d\d)\s*年(度)?(\d{1,2}月)?"));
/// `XX县委`, `XX区人民政府`, `青岚市、白泉县`: two-char names in government contexts.
static COUNTY_IN_BODY: Lazy<Regex> = Lazy::new(|| {
    re(
        r"([\p{Han}]{2})(县|区|旗)(委|人民政府|政府|司法局|法院|人民法院|财政|、|和|及|关于|法治|依法治)",
    )
});
/// "在林泉市委、青柏市委的领导下": a city's and a county's party committees named in a row; the
/// second is the county level (a county-level city when it is a 市).
static LEADERSHIP_CHAIN: Lazy<Regex> =
    Lazy::new(|| re(r"([\p{Han}]{2,4})(市|州|盟)委[、和及]([\p{Han}]{2,4})(市|县|区|旗)委"));
static CITY_IN_BODY: Lazy<Regex> = Lazy::new(|| {
    re(r"([\p{Han}]{2})(市|州|盟)(委|人民政府|政府|、|和|及|关于|法治|依法治|司法局)")
});
static TOWNSHIP_SIGNATURE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"^(?:中共)?([\p{Han}]{2,8}?(民族乡|乡|镇|街道|苏木))(人民政府|党委|政府|办事处|委员会|党工委)",
    )
});
static TOWNSHIP_IN_BODY: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?:^|[，,。：:\s]|年是|年|现将)([\p{Han}]{2,5}?(民族乡|乡|镇|街道|苏木))(党委|党工委|政府|人民政府|始终|坚持|在|以|深入|对照|立足|认真|紧紧|位于|地处|是|辖|法治政府|(?:19|20)\d\d年)",
    )
});

/// First chars of words that end in 县/区/市 but are no place names (山区, 社区, 全县, 集市…).
const NOT_NAME_BEFORE_SUFFIX: &str =
    "山牧社辖城镇园景片小地全本该各省乡村农校矿街分市县区专灾库林湖郊老禁盲误治超集门城一两每";

/// Chars that do not occur in the two-char names we accept from the body (function words,
/// admin suffixes): "湾头镇在县委" must not yield 镇在县.
const NOT_IN_NAME: &str = "在和与及对按照由向于的了为是将把被从镇乡村委府市县区、，";

fn is_place_pair(two: &str) -> bool {
    match two.chars().last() {
        Some(c) => {
            !NOT_NAME_BEFORE_SUFFIX.contains(c) && !two.chars().any(|c| NOT_IN_NAME.contains(c))
        }
        None => false,
    }
}

fn char_span(text: &str, bstart: usize, bend: usize) -> Span {
    let s = text[..bstart].chars().count();
    (s, s + text[bstart..bend].chars().count())
}

/// Split a title's leading Han run into admin segments: each segment ends at 市/州/盟/县/区/旗/
/// 乡/镇/街道 and is at least two chars long. Returns (segment char span in `line`, suffix kind).
fn admin_segments(prefix: &str) -> Vec<(usize, usize, char)> {
    let chars: Vec<char> = prefix.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let len = i + 1 - start;
        if c == '街' && chars.get(i + 1) == Some(&'道') && len >= 2 {
            out.push((start, i + 2, '街'));
            start = i + 2;
            i += 2;
            continue;
        }
        if c == '苏' && chars.get(i + 1) == Some(&'木') && len >= 2 {
            // 苏木: a township of Inner Mongolia.
            out.push((start, i + 2, '街'));
            start = i + 2;
            i += 2;
            continue;
        }
        if "市州盟县区旗乡镇".contains(c) && len >= 2 {
            out.push((start, i + 1, c));
            start = i + 1;
        }
        i += 1;
    }
    out
}

/// Find metadata. `title` holds the normalised title lines as (line text, char offset of the
/// line in `text`); `text` is the whole normalised text.
pub fn find(title: &[(String, usize)], text: &str) -> Metadata {
    let mut md = Metadata::default();
    for (line, off) in title {
        if md.year.is_none() {
            if let Some(c) = YEAR_IN_TITLE.captures(line) {
                md.year = c[1].parse().ok();
            }
        }
        let Some(m) = TITLE_PREFIX.find(line) else {
            continue;
        };
        let (lead, prefix) = admin_run(m.as_str());
        let off = off + m.as_str()[..lead].chars().count();
        let segs = admin_segments(prefix);
        let Some(town_idx) = segs.iter().position(|s| "乡镇街".contains(s.2)) else {
            continue;
        };
        if md.township.is_some() {
            continue;
        }
        let (ts, te, _) = segs[town_idx];
        md.township = Some((off + ts, off + te));
        let above: Vec<_> = segs[..town_idx].to_vec();
        match above.len() {
            0 => {}
            1 => {
                let (s, e, k) = above[0];
                if "县区旗".contains(k) {
                    md.county = Some((off + s, off + e));
                } else if "州盟".contains(k) {
                    md.city = Some((off + s, off + e));
                } else {
                    // A lone 市 directly above a township is a county-level city.
                    md.county = Some((off + s, off + e));
                }
            }
            _ => {
                let (cs, ce, _) = above[above.len() - 2];
                let (ks, ke, _) = above[above.len() - 1];
                md.city = Some((off + cs, off + ce));
                md.county = Some((off + ks, off + ke));
            }
        }
    }
    if md.year.is_none() {
        for c in YEAR_IN_BODY.captures_iter(text) {
            if c.get(3).is_none() {
                md.year = c[1].parse().ok();
                break;
            }
        }
    }
    if md.township.is_none() {
        for line in text.lines() {
            if let Some(c) = TOWNSHIP_SIGNATURE.captures(line.trim()) {
                if line.trim().chars().count() <= 16 {
                    let lstart = line.as_ptr() as usize - text.as_ptr() as usize;
                    let g = c.get(1).map(|g| (g.start(), g.end()));
                    if let Some((s, e)) = g {
                        let ws = lstart + (line.len() - line.trim_start().len());
                        let (cs, _) = char_span(text, ws + s, ws + e);
                        // "彝山县补约乡人民政府": the township is the last name of the chain.
                        let name = &line.trim()[s..e];
                        let segs = admin_segments(name);
                        if let Some(&(ts, te, _)) = segs.last() {
                            md.township = Some((cs + ts, cs + te));
                            if let Some(&(ks, ke, k)) = segs.iter().rev().nth(1) {
                                if md.county.is_none() && "县区旗市".contains(k) {
                                    md.county = Some((cs + ks, cs + ke));
                                }
                            }
                        }
                    }
                    break;
                }
            }
        }
    }
    if md.township.is_none() {
        if let Some(c) = TOWNSHIP_IN_BODY.captures(text) {
            if let Some(g) = c.get(1) {
                md.township = Some(char_span(text, g.start(), g.end()));
            }
        }
    }
    if md.county.is_none() || md.city.is_none() {
        anchored_names(text, &mut md);
    }
    if md.county.is_none() {
        leadership_chain(text, &mut md);
    }
    if md.county.is_none() {
        md.county = first_name(&COUNTY_IN_BODY, text);
    }
    if md.city.is_none() {
        md.city = first_name(&CITY_IN_BODY, text);
    }
    md
}

/// Words that begin a title or a government body's name after the place names:
/// "XX县委全面依法治县委员会办公室", "XX镇2024年法治政府建设情况报告".
const RUN_STOPS: &[&str] = &[
    "关于",
    "法治",
    "年度",
    "人民政府",
    "党委",
    "党工委",
    "政府",
    "委员会",
    "全面",
    "依法",
    "司法",
    "人民",
    "位于",
    "地处",
    "驻地",
    "辖",
    "委",
    "办",
];

/// The admin-name part of a Han run: without a leading 中共/关于, cut at the first stop word.
/// Returns the byte offset of that part in `run` and the part.
fn admin_run(run: &str) -> (usize, &str) {
    let mut lead = 0;
    for p in ["中共", "关于"] {
        if run[lead..].starts_with(p) {
            lead += p.len();
        }
    }
    let mut part = &run[lead..];
    for stop in RUN_STOPS {
        if let Some(p) = part.find(stop).filter(|&p| p > 0) {
            part = &part[..p];
        }
    }
    (lead, part)
}

/// A run of Han characters at an anchor: the start of a line or after punctuation, after
/// "中共", "位于", "地处", "隶属".
static ANCHORED_RUN: Lazy<Regex> = Lazy::new(|| re(r"(?m)^|中共|位于|地处于?|隶属于?|是|作为"));

/// A run of 3–24 Han chars right at the start of the text it is searched in.
static HAN_RUN: Lazy<Regex> = Lazy::new(|| re(r"^[\p{Han}]{3,24}"));

struct HanRun<'a> {
    start: usize,
    text: &'a str,
}

impl HanRun<'_> {
    fn as_str(&self) -> &str {
        self.text
    }
}

/// County and city from place-name chains at anchors: addressee lines ("漳北县委依法治县办："),
/// signatures ("中共尕曲县雪隆镇委员会"), "我乡地处彝山县东南部", "玛琼藏族自治州尕曲县人民政府
/// 驻地". A chain of two or more admin names, or one county/city name followed by a government
/// word, counts; the first found wins.
fn anchored_names(text: &str, md: &mut Metadata) {
    for a in ANCHORED_RUN.find_iter(text) {
        let Some(g) = HAN_RUN.find(&text[a.end()..]) else {
            continue;
        };
        let g = HanRun {
            start: a.end() + g.start(),
            text: g.as_str(),
        };
        // After "位于"/"地处" the first names are the place whatever follows ("……县北部").
        let locative = !a.as_str().is_empty() && a.as_str() != "是";
        let (lead, part) = admin_run(g.as_str());
        let segs = admin_segments(part);
        let followed_by_body = {
            let after = &g.as_str()[lead + part.len()..];
            RUN_STOPS.iter().any(|s| after.starts_with(s)) || after.is_empty()
        };
        // Every segment must be a plausible name and the chain must cover the whole part.
        let covered = segs.last().is_some_and(|s| s.1 == part.chars().count());
        if segs.is_empty() || !(locative || (covered && (segs.len() >= 2 || followed_by_body))) {
            continue;
        }
        if segs.iter().any(|&(s, e, _)| {
            !plausible_name(&part.chars().skip(s).take(e - s).collect::<String>())
        }) {
            continue;
        }
        let base = g.start + lead;
        let segs: Vec<_> = segs
            .into_iter()
            .filter(|s| "县区旗市州盟".contains(s.2))
            .collect();
        let span = |s: usize, e: usize| {
            let prefix: String = part.chars().take(s).collect();
            let start = char_span(text, base, base + prefix.len()).1;
            (start, start + (e - s))
        };
        for &(s, e, k) in &segs {
            match k {
                '县' | '区' | '旗' if md.county.is_none() => md.county = Some(span(s, e)),
                '市' | '州' | '盟' if md.city.is_none() => {
                    // A 市 directly above a township with no county between is a county-level
                    // city; elsewhere a city.
                    md.city = Some(span(s, e))
                }
                _ => {}
            }
        }
        if md.county.is_some() && md.city.is_some() {
            return;
        }
    }
}

/// County (and city, if not known yet) from "林泉市委、青柏市委": both names plausible and distinct.
fn leadership_chain(text: &str, md: &mut Metadata) {
    for c in LEADERSHIP_CHAIN.captures_iter(text) {
        let (Some(cn), Some(cs), Some(kn), Some(ks)) = (c.get(1), c.get(2), c.get(3), c.get(4))
        else {
            continue;
        };
        // "镇在林泉市委": the name starts after the last function word or admin suffix.
        let city_start = name_start(text, cn.start(), cn.end());
        let county_start = name_start(text, kn.start(), kn.end());
        let (city, county) = (&text[city_start..cs.end()], &text[county_start..ks.end()]);
        if city.chars().count() < 3
            || county.chars().count() < 3
            || text[city_start..cn.end()] == text[county_start..kn.end()]
            || !plausible_name(city)
            || !plausible_name(county)
        {
            continue;
        }
        if md.city.is_none() {
            md.city = Some(char_span(text, city_start, cs.end()));
        }
        md.county = Some(char_span(text, county_start, ks.end()));
        return;
    }
}

/// Byte offset in `text[start..end]` after its last char that cannot be part of a name.
fn name_start(text: &str, start: usize, end: usize) -> usize {
    text[start..end]
        .char_indices()
        .rfind(|(_, c)| NOT_IN_NAME.contains(*c))
        .map_or(start, |(i, c)| start + i + c.len_utf8())
}

/// Words of two or more chars ending in an admin suffix that are no place names.
const NOT_NAMES: &[&str] = &[
    "邀请",
    "围绕",
    "参加",
    "按照",
    "根据",
    "配合",
    "协调",
    "联合",
    "报请",
    "提请",
    "组织",
    "争取",
    "对接",
    "会同",
    "联系",
    "依托",
    "协助",
    "上报",
    "报送",
    "积极",
    "主动",
    "及时",
    "推动",
    "督促",
    "东部",
    "西部",
    "南部",
    "北部",
    "中部",
    "东南部",
    "西南部",
    "东北部",
    "西北部",
    "请",
    "接受",
    "落实",
    "完成",
    "今年",
    "全年",
    "认真",
    "贯彻",
    "向",
    "全",
    "本",
    "该",
    "各",
    "我",
    "辖",
    "城",
    "山",
    "社",
    "园",
    "景",
    "片",
    "小",
    "地",
    "牧",
    "郊",
    "老",
    "灾",
    "库",
    "林",
    "湖",
    "盲",
    "超",
    "集",
    "门",
    "每",
];

fn plausible_name(seg: &str) -> bool {
    let n = seg.chars().count();
    (2..=10).contains(&n)
        && !NOT_NAMES
            .iter()
            .any(|w| seg.starts_with(w) && (w.chars().count() >= 2 || n <= w.chars().count() + 1))
        && !seg
            .chars()
            .any(|c| "，。、的了和与及在对为是将把被从".contains(c))
}

fn first_name(re: &Regex, text: &str) -> Option<Span> {
    for c in re.captures_iter(text) {
        let (Some(n), Some(suf)) = (c.get(1), c.get(2)) else {
            continue;
        };
        // "邀请县司法局", "积极争取县里": a verb before 县 (the county) is no name.
        let verb_before = NOT_NAMES.iter().any(|w| n.as_str() == *w);
        if is_place_pair(n.as_str()) && !verb_before {
            return Some(char_span(text, n.start(), suf.end()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(
        title: &[&str],
        body: &str,
    ) -> (Option<String>, Option<String>, Option<String>, Option<i32>) {
        let mut text = String::new();
        let mut t = Vec::new();
        for l in title {
            t.push((l.to_string(), text.chars().count()));
            text.push_str(l);
            text.push('\n');
        }
        text.push_str(body);
        let md = find(&t, &text);
        let get =
            |s: Option<Span>| s.map(|(a, b)| text.chars().skip(a).take(b - a).collect::<String>());
        (get(md.township), get(md.county), get(md.city), md.year)
    }

    #[test]
    fn seed_title_lines() {
        let r = names(
            &["西宁市湟中区海子沟乡", "2024年法治政府建设情况报告"],
            "海子沟乡人民政府\n2025年1月6日",
        );
        assert_eq!(
            r,
            (
                Some("海子沟乡".into()),
                Some("湟中区".into()),
                Some("西宁市".into()),
                Some(2024)
            )
        );
    }

    #[test]
    fn untitled_report_names_township_and_a_county_level_city_in_the_leadership_line() {
        let r = names(
            &[],
            "2024年是双河口镇法治政府建设提质增效的一年。镇党委、政府在林泉市委、青柏市委的领导下，推动依法行政。",
        );
        assert_eq!(
            r,
            (
                Some("双河口镇".into()),
                Some("青柏市".into()),
                Some("林泉市".into()),
                Some(2024)
            )
        );
    }

    #[test]
    fn verbs_and_directions_before_an_admin_suffix_are_no_names() {
        // "请县司法局干警……授课" opens a paragraph; "西部湿地保护区" is a part of a city.
        let r = names(
            &["杏坪镇2024年法治政府建设情况报告"],
            "杏坪镇在梓川市委、平渚县委的领导下推进法治建设。\n请县司法局干警到村授课24场。\n杏坪镇地处梓川市西部湿地保护区边缘。",
        );
        assert_eq!(r.0.as_deref(), Some("杏坪镇"));
        assert_eq!(r.1.as_deref(), Some("平渚县"));
        assert_eq!(r.2.as_deref(), Some("梓川市"));
    }

    #[test]
    fn county_and_city_from_body_when_title_lacks_them() {
        let r = names(
            &["湾头镇2024年法治政府建设情况报告"],
            "2024年，湾头镇在县委、县政府的正确领导下，按照青岚市、白泉县法治政府建设工作部署。",
        );
        assert_eq!(
            r,
            (
                Some("湾头镇".into()),
                Some("白泉县".into()),
                Some("青岚市".into()),
                Some(2024)
            )
        );
        let r = names(
            &["柳坪县沙沟镇2024年法治政府建设工作情况报告"],
            "在青岚市委、柳坪县委的坚强领导下",
        );
        assert_eq!(r.2, Some("青岚市".into()));
        assert_eq!(r.1, Some("柳坪县".into()));
    }
}
