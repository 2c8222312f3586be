//! The year-over-year section of digest.md and digest.html (only when the run compared years):
//! matched, renamed, appeared and disappeared townships, the two-year view of the heatmap
//! (township × theme: persisting / new / resolved), the quotes of both years side by side and
//! the follow-through of last year's plans.

use super::{esc, md};
use crate::compare::years::{Status, ThemeChange, YearComparison, YearsPart};
use crate::themes::ThemeSet;
use std::collections::HashMap;
use std::fmt::Write;

fn label(themes: &ThemeSet, id: &str) -> String {
    themes.get(id).map_or(id.to_string(), |t| t.label.clone())
}

fn status_zh(s: Status) -> &'static str {
    match s {
        Status::Persisting => "持续存在",
        Status::Resolved => "已解决",
        Status::New => "新出现",
    }
}

fn years_text(ys: &[i32]) -> String {
    match (ys.first(), ys.last()) {
        (Some(a), Some(b)) if a == b => format!("{a}年"),
        (Some(a), Some(b)) => format!("{a}–{b}年"),
        _ => "年份未注明".to_string(),
    }
}

fn title(c: &YearComparison) -> String {
    format!(
        "{}与{}比较",
        years_text(&c.current_years),
        years_text(&c.previous_years)
    )
}

fn name(t: &Option<String>, id: &str) -> String {
    t.clone().unwrap_or_else(|| id.to_string())
}

fn rate_text(carried: usize, plans: usize, rate: Option<f64>) -> String {
    match rate {
        Some(r) => format!("{carried}/{plans}（{:.0}%）", r * 100.0),
        None => "无上年工作打算".to_string(),
    }
}

/// Rows of the two-year view: (county, township, current id, previous id).
fn rows(c: &YearComparison) -> Vec<(String, String, &str, &str)> {
    let mut rows: Vec<(String, String, &str, &str)> = c
        .matches
        .iter()
        .map(|m| {
            (
                m.county.clone().unwrap_or_default(),
                name(&m.township, &m.current),
                m.current.as_str(),
                m.previous.as_str(),
            )
        })
        .collect();
    // Grouped by county, in order of first appearance (stable).
    let mut order: Vec<String> = Vec::new();
    for r in &rows {
        if !order.contains(&r.0) {
            order.push(r.0.clone());
        }
    }
    rows.sort_by_key(|r| order.iter().position(|o| *o == r.0));
    rows
}

/// Each (this year's report, theme) change, looked up per heatmap cell: one pass over the
/// changes instead of a search per cell (a province has thousands of rows). The first change of
/// a pair wins, as a search in order would find it.
fn change_index(c: &YearComparison) -> HashMap<(&str, &str), &ThemeChange> {
    let mut index = HashMap::with_capacity(c.changes.len());
    for ch in &c.changes {
        index
            .entry((ch.current.as_str(), ch.theme.as_str()))
            .or_insert(ch);
    }
    index
}

pub fn render_years_markdown(years: &YearsPart, themes: &ThemeSet) -> String {
    let mut m = String::new();
    for c in &years.comparisons {
        let _ = writeln!(m, "## 年度对比：{}\n", md(&title(c)));
        let renamed = c.matches.iter().filter(|x| x.renamed).count();
        let _ = writeln!(
            m,
            "对上 {} 个乡镇（其中更名 {} 个）；问题主题持续存在 {} 项、已解决 {} 项、新出现 {} 项；上年工作打算落实 {}。引文均为各年报告原文。\n",
            c.matches.len(),
            renamed,
            c.counts.persisting,
            c.counts.resolved,
            c.counts.new,
            rate_text(
                c.city_follow_through.carried_out,
                c.city_follow_through.plans,
                c.city_follow_through.rate
            )
        );
        for w in &c.warnings {
            let _ = writeln!(m, "> 注意：{}\n", md(w));
        }
        for x in c.matches.iter().filter(|x| x.renamed) {
            let _ = writeln!(
                m,
                "- 更名：{} → {}",
                md(&name(&x.previous_township, &x.previous)),
                md(&name(&x.township, &x.current))
            );
        }
        for u in &c.appeared {
            let _ = writeln!(
                m,
                "- 今年新出现：{}（{}）",
                md(&name(&u.township, &u.report)),
                md(&u.reason)
            );
        }
        for u in &c.disappeared {
            let _ = writeln!(
                m,
                "- 今年未出现：{}（{}）",
                md(&name(&u.township, &u.report)),
                md(&u.reason)
            );
        }
        m.push('\n');

        m.push_str("### 问题变化（乡镇 × 问题主题）\n\n| 县区 | 乡镇 |");
        for t in &c.themes_compared {
            let _ = write!(m, " {} |", md(&label(themes, t)));
        }
        m.push_str("\n|---|---|");
        for _ in &c.themes_compared {
            m.push_str(":-:|");
        }
        m.push('\n');
        let index = change_index(c);
        for (county, township, cur, _) in rows(c) {
            let _ = write!(m, "| {} | {} |", md(&county), md(&township));
            for t in &c.themes_compared {
                match index.get(&(cur, t.as_str())) {
                    Some(ch) => {
                        let _ = write!(m, " {} |", status_zh(ch.status));
                    }
                    None => m.push_str("  |"),
                }
            }
            m.push('\n');
        }
        m.push('\n');

        m.push_str("### 两年引文对照\n\n");
        for ch in &c.changes {
            let _ = writeln!(
                m,
                "- **{}** 〔{}〕{}：上年“{}”；今年“{}”",
                md(&name(&ch.township, &ch.current)),
                md(&label(themes, &ch.theme)),
                status_zh(ch.status),
                md(ch.previous_quote.as_deref().unwrap_or("—")),
                md(ch.current_quote.as_deref().unwrap_or("—"))
            );
        }
        m.push('\n');

        m.push_str("### 上年工作打算落实情况\n\n");
        for f in &c.follow_through {
            let _ = writeln!(
                m,
                "- **{}**：{}",
                md(&name(&f.township, &f.current)),
                rate_text(f.rate.carried_out, f.rate.plans, f.rate.rate)
            );
        }
        m.push('\n');
        for p in &c.plans {
            let plan = p.plan_quote.as_deref().unwrap_or(&p.plan);
            match (&p.achievement_quote, p.carried_out) {
                (Some(a), true) => {
                    let _ = writeln!(
                        m,
                        "- {}：✓ 打算“{}” → 成绩“{}”",
                        md(&name(&p.township, &p.current)),
                        md(plan),
                        md(a)
                    );
                }
                _ => {
                    let _ = writeln!(
                        m,
                        "- {}：✗ 打算“{}” → 未找到对应的成绩（no matching achievement found）",
                        md(&name(&p.township, &p.current)),
                        md(plan)
                    );
                }
            }
        }
        m.push('\n');
    }
    m
}

/// Styles of the two-year view; inside the section so pages without it are unchanged.
const CSS: &str = "table.yoy td.persisting{background:#f5b7b1;color:#7b241c;text-align:center}table.yoy td.new{background:#fad7a0;color:#7e5109;text-align:center}table.yoy td.resolved{background:#abebc6;color:#186a3b;text-align:center}table.yoy td.none{color:#bbb;text-align:center}.legend span{display:inline-block;padding:0 8px;margin-right:8px;border-radius:4px}.plan.ok{color:#186a3b}.plan.no{color:#7b241c}@media print{table.yoy td{print-color-adjust:exact;-webkit-print-color-adjust:exact}}";

pub fn render_years_html(years: &YearsPart, themes: &ThemeSet) -> String {
    let mut h = String::new();
    if years.comparisons.is_empty() {
        return h;
    }
    let _ = writeln!(h, "<style>{CSS}</style>");
    for c in &years.comparisons {
        let _ = writeln!(h, "<h2>年度对比：{}</h2>", esc(&title(c)));
        let _ = writeln!(
            h,
            "<div class=\"stats\"><div class=\"stat\"><b>{}</b>个乡镇对上</div><div class=\"stat\"><b>{}</b>项持续存在</div><div class=\"stat\"><b>{}</b>项已解决</div><div class=\"stat\"><b>{}</b>项新出现</div><div class=\"stat\"><b>{}</b>上年打算落实</div></div>",
            c.matches.len(),
            c.counts.persisting,
            c.counts.resolved,
            c.counts.new,
            esc(&rate_text(
                c.city_follow_through.carried_out,
                c.city_follow_through.plans,
                c.city_follow_through.rate
            ))
        );
        if !c.warnings.is_empty() {
            h.push_str("<div class=\"warn\"><ul>");
            for w in &c.warnings {
                let _ = write!(h, "<li>{}</li>", esc(w));
            }
            h.push_str("</ul></div>\n");
        }
        let mut notes = Vec::new();
        for x in c.matches.iter().filter(|x| x.renamed) {
            notes.push(format!(
                "更名：{} → {}",
                esc(&name(&x.previous_township, &x.previous)),
                esc(&name(&x.township, &x.current))
            ));
        }
        for u in &c.appeared {
            notes.push(format!(
                "今年新出现：{}（{}）",
                esc(&name(&u.township, &u.report)),
                esc(&u.reason)
            ));
        }
        for u in &c.disappeared {
            notes.push(format!(
                "今年未出现：{}（{}）",
                esc(&name(&u.township, &u.report)),
                esc(&u.reason)
            ));
        }
        if !notes.is_empty() {
            let _ = writeln!(h, "<ul><li>{}</li></ul>", notes.join("</li><li>"));
        }

        h.push_str("<h3>问题变化（乡镇 × 问题主题）</h3>\n<p class=\"legend\"><span class=\"persisting\" style=\"background:#f5b7b1\">持续存在</span><span style=\"background:#fad7a0\">新出现</span><span style=\"background:#abebc6\">已解决</span>鼠标停在格子上可看两年引文。</p>\n<div class=\"heatwrap\"><table class=\"yoy\">\n<thead><tr><th>县区</th><th>乡镇</th>");
        for t in &c.themes_compared {
            let _ = write!(h, "<th>{}</th>", esc(&label(themes, t)));
        }
        h.push_str("</tr></thead>\n<tbody>\n");
        let index = change_index(c);
        for (county, township, cur, _) in rows(c) {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td>",
                esc(&county),
                esc(&township)
            );
            for t in &c.themes_compared {
                match index.get(&(cur, t.as_str())) {
                    Some(ch) => {
                        let tip = format!(
                            "上年：{}\n今年：{}",
                            ch.previous_quote.as_deref().unwrap_or("—"),
                            ch.current_quote.as_deref().unwrap_or("—")
                        );
                        let _ = write!(
                            h,
                            "<td class=\"{}\" title=\"{}\">{}</td>",
                            ch.status.as_str(),
                            esc(&tip),
                            status_zh(ch.status)
                        );
                    }
                    None => h.push_str("<td class=\"none\">—</td>"),
                }
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody>\n</table></div>\n");

        h.push_str("<h3>两年引文对照</h3>\n<table>\n<thead><tr><th>乡镇</th><th>问题主题</th><th>变化</th><th>上年原文</th><th>今年原文</th></tr></thead>\n<tbody>\n");
        for ch in &c.changes {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&name(&ch.township, &ch.current)),
                esc(&label(themes, &ch.theme)),
                status_zh(ch.status),
                esc(ch.previous_quote.as_deref().unwrap_or("—")),
                esc(ch.current_quote.as_deref().unwrap_or("—"))
            );
        }
        h.push_str("</tbody>\n</table>\n");

        h.push_str("<h3>上年工作打算落实情况</h3>\n<table>\n<thead><tr><th>乡镇</th><th>上年工作打算</th><th>今年对应的成绩</th></tr></thead>\n<tbody>\n");
        for f in &c.follow_through {
            let _ = writeln!(
                h,
                "<tr><th>{}</th><th colspan=\"2\">落实 {}</th></tr>",
                esc(&name(&f.township, &f.current)),
                esc(&rate_text(f.rate.carried_out, f.rate.plans, f.rate.rate))
            );
            for p in c
                .plans
                .iter()
                .filter(|p| p.current == f.current && p.previous == f.previous)
            {
                let plan = p.plan_quote.as_deref().unwrap_or(&p.plan);
                let found = match (&p.achievement_quote, p.carried_out) {
                    (Some(a), true) => format!("<span class=\"plan ok\">✓</span> “{}”", esc(a)),
                    _ => "<span class=\"plan no\">✗</span> 未找到对应的成绩".to_string(),
                };
                let _ = writeln!(
                    h,
                    "<tr><td></td><td>“{}”</td><td>{found}</td></tr>",
                    esc(plan)
                );
            }
        }
        h.push_str("</tbody>\n</table>\n");
    }
    h
}
