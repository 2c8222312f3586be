//! digest.md: the same content as digest.html, in Markdown (the heatmap as inline SVG plus a
//! table fallback).

use super::heatmap::{by_county, render_heatmap};
use super::{cluster_lines, md, overview, Lookup};
use crate::compare::Digest;
use crate::report::{ReportSummary, OTHER_THEME};
use crate::themes::ThemeSet;
use std::collections::HashMap;
use std::fmt::Write;

pub fn render_markdown(digest: &Digest, reports: &[ReportSummary], themes: &ThemeSet) -> String {
    let (n_reports, n_counties, years, coverage) = overview(digest, reports);
    let look = Lookup::new(digest, reports);
    let mut m = String::new();
    let _ = writeln!(
        m,
        "# {}乡镇法治政府建设情况报告比较摘要（{}）\n",
        md(&coverage),
        md(&years)
    );
    let _ = writeln!(
        m,
        "共 {n_reports} 份报告，{n_counties} 个县区；{} 个反复出现的问题主题，{} 个新出现的问题。引文均为报告原文。\n",
        digest.themes.len(),
        digest.emerging.len()
    );
    if !digest.duplicates.is_empty() {
        let _ = writeln!(
            m,
            "> **注意：发现内容高度雷同的报告（{}组，{}对）。**",
            digest.duplicate_clusters.len(),
            digest.duplicates.len()
        );
        for line in cluster_lines(digest, &look) {
            let _ = writeln!(m, "> - {}", md(&line));
        }
        m.push('\n');
    }

    if by_county(&look) {
        m.push_str("## 问题热力图（县区 × 问题主题：提及该问题的报告占比）\n\n");
    } else {
        m.push_str("## 问题热力图（乡镇 × 问题主题，按县区分组）\n\n");
    }
    m.push_str(&render_heatmap(digest, &look, themes));
    m.push('\n');
    m.push_str("| 县区 | 乡镇 |");
    for t in &themes.themes {
        let _ = write!(m, " {} |", md(&t.label));
    }
    m.push_str("\n|---|---|");
    for _ in &themes.themes {
        m.push_str(":-:|");
    }
    m.push('\n');
    for (county, views) in look.grouped() {
        for v in views {
            let _ = write!(m, "| {} | {} |", md(&county), md(&v.township));
            for t in &themes.themes {
                m.push_str(if look.has_theme(v.id, &t.id) {
                    " ● |"
                } else {
                    "  |"
                });
            }
            m.push('\n');
        }
    }
    m.push('\n');

    m.push_str("## 反复出现的问题\n\n");
    if digest.themes.is_empty() {
        m.push_str("各报告未提及主题表中的问题。\n\n");
    }
    for t in &digest.themes {
        let _ = writeln!(m, "### {}（{}/{}）\n", md(&t.label), t.count, n_reports);
        for e in &t.evidence {
            let _ = writeln!(m, "- **{}**：“{}”", md(&look.name(&e.report)), md(&e.quote));
        }
        m.push('\n');
    }

    m.push_str("## 新出现的问题（主题表之外、两个以上乡镇提到）\n\n");
    if digest.emerging.is_empty() {
        m.push_str("无。\n\n");
    }
    for e in &digest.emerging {
        let _ = writeln!(
            m,
            "### {}（{}/{}）\n",
            md(&e.label),
            e.reports.len(),
            n_reports
        );
        for q in &e.evidence {
            let _ = writeln!(m, "- **{}**：“{}”", md(&look.name(&q.report)), md(&q.quote));
        }
        m.push('\n');
    }

    if let Some(years) = &digest.years {
        m.push_str(&super::years::render_years_markdown(years, themes));
    }
    m.push_str("## 主要数字对比\n\n每个数字都照录报告原文，方括号内为出处编号；空白表示该报告未提供。\n\n| 乡镇 |");
    for c in &digest.figures.indicators {
        let _ = write!(m, " {} |", md(&c.label));
    }
    m.push_str("\n|---|");
    for _ in &digest.figures.indicators {
        m.push_str("---|");
    }
    m.push('\n');
    let mut sources: Vec<(String, String)> = Vec::new();
    let mut source_no: HashMap<(&str, &str), usize> = HashMap::new();
    for row in &digest.figures.rows {
        let name = look.name(&row.report);
        let _ = write!(m, "| {} |", md(&name));
        for cell in &row.cells {
            match cell {
                Some(c) => {
                    let n = *source_no
                        .entry((row.report.as_str(), c.quote.as_str()))
                        .or_insert_with(|| {
                            sources.push((row.report.clone(), c.quote.clone()));
                            sources.len()
                        });
                    let _ = write!(m, " {} \\[{n}\\] |", md(&c.figure));
                }
                None => m.push_str("  |"),
            }
        }
        m.push('\n');
    }
    m.push('\n');
    for (i, (r, q)) in sources.iter().enumerate() {
        let _ = writeln!(m, "{}. {}：“{}”", i + 1, md(&look.name(r)), md(q));
    }
    m.push('\n');

    m.push_str("## 各乡镇情况\n\n");
    for (county, views) in look.grouped() {
        for v in views {
            let _ = writeln!(m, "### {}（{}）\n", md(&v.township), md(&county));
            let Some(r) = v.report else { continue };
            if let Some(y) = r.year {
                let _ = writeln!(m, "年度：{y}年；来源：{}\n", md(&r.source));
            } else {
                let _ = writeln!(m, "来源：{}\n", md(&r.source));
            }
            if !r.summary.is_empty() {
                let _ = writeln!(m, "{}\n", md(&r.summary));
            }
            if !r.achievements.is_empty() {
                m.push_str("**主要成绩**\n\n");
                for a in &r.achievements {
                    let figs = if a.figures.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "（{}）",
                            a.figures
                                .iter()
                                .map(|f| md(f))
                                .collect::<Vec<_>>()
                                .join("、")
                        )
                    };
                    let _ = writeln!(m, "- {}{}", md(&a.text), figs);
                }
                m.push('\n');
            }
            if !r.shortcomings.is_empty() {
                m.push_str("**存在问题**\n\n");
                for s in &r.shortcomings {
                    let label = if s.theme == OTHER_THEME {
                        "其他".to_string()
                    } else {
                        themes
                            .get(&s.theme)
                            .map_or(s.theme.clone(), |t| t.label.clone())
                    };
                    let _ = writeln!(m, "- {} 〔{}〕", md(&s.text), md(&label));
                }
                m.push('\n');
            }
            if !r.warnings.is_empty() {
                let _ = writeln!(m, "提示：{}\n", md(&r.warnings.join("；")));
            }
        }
    }
    if !digest.warnings.is_empty() {
        m.push_str("## 提示\n\n");
        for w in &digest.warnings {
            let _ = writeln!(m, "- {}", md(w));
        }
        m.push('\n');
    }
    m
}
