//! digest.html: one self-contained page (inline CSS and SVG, no script, no network fetch, a
//! print stylesheet). Every text is escaped.

use super::heatmap::{by_county, render_heatmap, render_township_tables};
use super::{cluster_lines, esc, overview, Lookup};
use crate::compare::Digest;
use crate::report::{ReportSummary, OTHER_THEME};
use crate::themes::ThemeSet;
use std::collections::HashMap;
use std::fmt::Write;

const CSS: &str = r#"
:root{--ink:#1d2329;--muted:#5b6570;--line:#d9dee4;--accent:#c0392b;--head:#1f3a5f}
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:var(--ink);font:15px/1.65 'Noto Sans CJK SC','Source Han Sans SC','WenQuanYi Micro Hei','Microsoft YaHei','PingFang SC',sans-serif}
main{max-width:1180px;margin:0 auto;padding:28px 32px 60px;background:#fff}
h1{font-size:26px;margin:0 0 6px;color:var(--head)}
h2{font-size:20px;margin:36px 0 12px;padding-bottom:6px;border-bottom:2px solid var(--head);color:var(--head)}
h3{font-size:16px;margin:18px 0 6px}
.sub{color:var(--muted);margin:0 0 18px}
.stats{display:flex;gap:14px;flex-wrap:wrap;margin:12px 0}
.stat{border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:120px}
.stat b{display:block;font-size:24px;color:var(--head)}
.warn details{margin:6px 0 0;font-size:14px}
.warn summary{cursor:pointer;color:var(--muted)}
.warn{border-left:5px solid #e67e22;background:#fff6ec;padding:10px 14px;margin:12px 0;border-radius:4px}
.heatwrap{overflow-x:auto}
.heatmap rect.cell.on{fill:var(--accent)}
details.county{margin:2px 0}
details.quotes summary{cursor:pointer;color:var(--muted);margin:4px 0}
details.county summary{cursor:pointer;padding:3px 6px;background:#eef2f7;border-radius:4px}
table.hm{width:auto;font-size:13px;margin:4px 0 10px}
table.hm th,table.hm td{padding:2px 6px;text-align:center}
table.hm td:first-child{text-align:left;white-space:nowrap}
table.hm td.on{background:var(--accent);color:#fff}
blockquote{margin:4px 0 4px 0;padding:4px 12px;border-left:3px solid var(--line);color:#333;background:#fafbfc}
blockquote .who{color:var(--muted);font-size:13px;margin-right:8px}
.count{display:inline-block;min-width:2.2em;padding:0 8px;border-radius:10px;background:var(--accent);color:#fff;font-size:13px;text-align:center;margin-right:6px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{border:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eef2f7}
td.blank{color:#bbb;text-align:center}
sup a{text-decoration:none;color:var(--head)}
ol.sources{font-size:13px;color:#333}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:16px}
.card{border:1px solid var(--line);border-radius:8px;padding:14px 16px;break-inside:avoid;page-break-inside:avoid}
.card h3{margin:0;color:var(--head)}
.card .meta{color:var(--muted);font-size:13px;margin-bottom:6px}
.card ul{padding-left:18px;margin:4px 0}
.chip{display:inline-block;border:1px solid #9fb3c8;border-radius:10px;padding:0 7px;margin:0 3px;font-size:12px;color:var(--head);white-space:nowrap}
.theme{display:inline-block;border-radius:10px;padding:0 7px;font-size:12px;background:#fbe3e0;color:#8e2a1f;white-space:nowrap}
.theme.other{background:#eceff3;color:var(--muted)}
footer{margin-top:40px;color:var(--muted);font-size:12px}
@media print{
 body{background:#fff;font-size:11pt}
 main{max-width:none;padding:0}
 h2{break-after:avoid;page-break-after:avoid}
 .heatwrap{overflow:visible}
 .cards{display:block}
 .card{margin-bottom:10px}
 a{color:inherit;text-decoration:none}
 .heatmap rect.cell{print-color-adjust:exact;-webkit-print-color-adjust:exact}
}
"#;

/// Near-copy groups listed in the warning; the rest are behind a collapsed "其余N组".
const SHOWN_CLUSTERS: usize = 20;

/// Quotes shown under a theme of a large digest; the rest are behind a collapsed "其余N条".
const SHOWN_QUOTES: usize = 10;

/// A theme's or emerging problem's quotes: all of them, or in a large digest the first
/// `SHOWN_QUOTES` and the rest collapsed.
fn quotes(h: &mut String, look: &Lookup, evidence: &[crate::compare::QuoteRef], large: bool) {
    let shown = if large { SHOWN_QUOTES } else { usize::MAX };
    for (i, e) in evidence.iter().enumerate() {
        if i == shown {
            let _ = writeln!(
                h,
                "<details class=\"quotes\"><summary>其余{}条</summary>",
                evidence.len() - shown
            );
        }
        let _ = writeln!(
            h,
            "<blockquote><span class=\"who\">{}</span>“{}”</blockquote>",
            esc(&look.name(&e.report)),
            esc(&e.quote)
        );
    }
    if evidence.len() > shown {
        h.push_str("</details>\n");
    }
}

pub fn render_html(digest: &Digest, reports: &[ReportSummary], themes: &ThemeSet) -> String {
    let (n_reports, n_counties, years, coverage) = overview(digest, reports);
    let look = Lookup::new(digest, reports);
    let large = by_county(&look);
    let title = format!("{coverage}乡镇法治政府建设情况报告比较摘要（{years}）");
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        esc(&title)
    );
    let _ = writeln!(h, "<h1>{}</h1>", esc(&title));
    let _ = writeln!(
        h,
        "<p class=\"sub\">本摘要由 township-digest 根据各乡镇报告自动生成；引文均为报告原文。</p>"
    );
    let _ = writeln!(
        h,
        "<div class=\"stats\"><div class=\"stat\"><b>{n_reports}</b>份报告</div><div class=\"stat\"><b>{n_counties}</b>个县区</div><div class=\"stat\"><b>{}</b>个反复出现的问题主题</div><div class=\"stat\"><b>{}</b>个新出现的问题</div><div class=\"stat\"><b>{}</b>年度</div></div>",
        digest.themes.len(),
        digest.emerging.len(),
        esc(&years)
    );
    if !digest.duplicates.is_empty() {
        let _ = write!(
            h,
            "<div class=\"warn\"><b>注意：发现内容高度雷同的报告（{}组，{}对）。</b><ul>",
            digest.duplicate_clusters.len(),
            digest.duplicates.len()
        );
        let lines = cluster_lines(digest, &look);
        for line in lines.iter().take(SHOWN_CLUSTERS) {
            let _ = write!(h, "<li>{}</li>", esc(line));
        }
        h.push_str("</ul>");
        if lines.len() > SHOWN_CLUSTERS {
            let _ = write!(
                h,
                "<details><summary>其余{}组</summary><ul>",
                lines.len() - SHOWN_CLUSTERS
            );
            for line in &lines[SHOWN_CLUSTERS..] {
                let _ = write!(h, "<li>{}</li>", esc(line));
            }
            h.push_str("</ul></details>");
        }
        let _ = write!(
            h,
            "<details><summary>逐对相似度（{}对）</summary><ul class=\"pairs\">",
            digest.duplicates.len()
        );
        for d in &digest.duplicates {
            let _ = write!(
                h,
                "<li>{}（{}）与 {}（{}）：{:.2}</li>",
                esc(&look.name(&d.a)),
                esc(&d.a),
                esc(&look.name(&d.b)),
                esc(&d.b),
                d.similarity
            );
        }
        h.push_str("</ul></details></div>\n");
    }

    if by_county(&look) {
        h.push_str("<h2>问题热力图（县区 × 问题主题：提及该问题的报告占比）</h2>\n<p class=\"sub\">颜色越深，该县区提到这一问题的报告越多；悬停可见份数。各县区的乡镇明细在图下，点击县区展开。</p>\n<div class=\"heatwrap\">\n");
        h.push_str(&render_heatmap(digest, &look, themes));
        h.push_str("</div>\n<h3>各县区乡镇明细</h3>\n<div class=\"heatwrap\">\n");
        h.push_str(&render_township_tables(&look, themes));
        h.push_str("</div>\n");
    } else {
        h.push_str(
            "<h2>问题热力图（乡镇 × 问题主题，按县区分组）</h2>\n<div class=\"heatwrap\">\n",
        );
        h.push_str(&render_heatmap(digest, &look, themes));
        h.push_str("</div>\n");
    }

    h.push_str("<h2>反复出现的问题</h2>\n");
    if digest.themes.is_empty() {
        h.push_str("<p>各报告未提及主题表中的问题。</p>\n");
    }
    for t in &digest.themes {
        let _ = writeln!(
            h,
            "<h3><span class=\"count\">{}/{}</span>{}</h3>",
            t.count,
            n_reports,
            esc(&t.label)
        );
        quotes(&mut h, &look, &t.evidence, large);
    }

    h.push_str("<h2>新出现的问题（主题表之外、两个以上乡镇提到）</h2>\n");
    if digest.emerging.is_empty() {
        h.push_str("<p>无。</p>\n");
    }
    for e in &digest.emerging {
        let _ = writeln!(
            h,
            "<h3><span class=\"count\">{}/{}</span>{}</h3>",
            e.reports.len(),
            n_reports,
            esc(&e.label)
        );
        quotes(&mut h, &look, &e.evidence, large);
    }

    if let Some(years) = &digest.years {
        h.push_str(&super::years::render_years_html(years, themes));
    }
    h.push_str("<h2>主要数字对比</h2>\n<p class=\"sub\">每个数字都照录报告原文，上标为出处编号；空白表示该报告未提供。</p>\n");
    if large {
        let _ = writeln!(
            h,
            "<details class=\"quotes\"><summary>展开数字表（{}个乡镇）</summary>",
            digest.figures.rows.len()
        );
    }
    h.push_str("<table class=\"figures\">\n<thead><tr><th>乡镇</th>");
    for c in &digest.figures.indicators {
        let _ = write!(h, "<th>{}</th>", esc(&c.label));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    let mut sources: Vec<(String, String, String)> = Vec::new();
    let mut source_no: HashMap<(&str, &str), usize> = HashMap::new();
    for row in &digest.figures.rows {
        let _ = write!(h, "<tr><td>{}</td>", esc(&look.name(&row.report)));
        for cell in &row.cells {
            match cell {
                Some(c) => {
                    let n = *source_no
                        .entry((row.report.as_str(), c.quote.as_str()))
                        .or_insert_with(|| {
                            sources.push((
                                row.report.clone(),
                                c.quote.clone(),
                                look.name(&row.report),
                            ));
                            sources.len()
                        });
                    let _ = write!(
                        h,
                        "<td title=\"{}\">{}<sup><a href=\"#src-{n}\">[{n}]</a></sup></td>",
                        esc(&c.quote),
                        esc(&c.figure)
                    );
                }
                None => h.push_str("<td class=\"blank\">—</td>"),
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
    if !sources.is_empty() {
        h.push_str("<ol class=\"sources\">\n");
        for (i, (_, q, name)) in sources.iter().enumerate() {
            let _ = writeln!(
                h,
                "<li id=\"src-{}\">{}：“{}”</li>",
                i + 1,
                esc(name),
                esc(q)
            );
        }
        h.push_str("</ol>\n");
    }
    if large {
        h.push_str("</details>\n");
    }

    h.push_str("<h2>各乡镇情况</h2>\n");
    for (county, views) in look.grouped() {
        if large {
            let _ = writeln!(
                h,
                "<details class=\"county\"><summary>{}（{}个乡镇）</summary>\n<div class=\"cards\">",
                esc(&county),
                views.len()
            );
        } else {
            let _ = writeln!(h, "<h3>{}</h3>\n<div class=\"cards\">", esc(&county));
        }
        for v in views {
            let _ = writeln!(h, "<section class=\"card\" id=\"report-{}\">", esc(v.id));
            let _ = writeln!(h, "<h3>{}</h3>", esc(&v.township));
            let Some(r) = v.report else {
                let _ = writeln!(h, "<p class=\"meta\">{}</p></section>", esc(v.id));
                continue;
            };
            let place: Vec<&str> = [r.city.as_deref(), r.county.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            let _ = writeln!(
                h,
                "<div class=\"meta\">{}{} · {}</div>",
                esc(&place.join(" ")),
                r.year.map(|y| format!(" · {y}年")).unwrap_or_default(),
                esc(&r.source)
            );
            if !r.summary.is_empty() {
                let _ = writeln!(h, "<p>{}</p>", esc(&r.summary));
            }
            if !r.achievements.is_empty() {
                h.push_str("<b>主要成绩</b><ul>\n");
                for a in &r.achievements {
                    let chips: String = a
                        .figures
                        .iter()
                        .map(|f| format!("<span class=\"chip\">{}</span>", esc(f)))
                        .collect();
                    let _ = writeln!(h, "<li>{}{}</li>", esc(&a.text), chips);
                }
                h.push_str("</ul>\n");
            }
            if !r.shortcomings.is_empty() {
                h.push_str("<b>存在问题</b><ul>\n");
                for s in &r.shortcomings {
                    let (cls, label) = if s.theme == OTHER_THEME {
                        (" other", "其他".to_string())
                    } else {
                        (
                            "",
                            themes
                                .get(&s.theme)
                                .map_or(s.theme.clone(), |t| t.label.clone()),
                        )
                    };
                    let _ = writeln!(
                        h,
                        "<li>{} <span class=\"theme{cls}\">{}</span></li>",
                        esc(&s.text),
                        esc(&label)
                    );
                }
                h.push_str("</ul>\n");
            }
            if !r.warnings.is_empty() {
                let _ = writeln!(
                    h,
                    "<p class=\"meta\">提示：{}</p>",
                    esc(&r.warnings.join("；"))
                );
            }
            h.push_str("</section>\n");
        }
        h.push_str(if large {
            "</div>\n</details>\n"
        } else {
            "</div>\n"
        });
    }
    if !digest.warnings.is_empty() {
        h.push_str("<h2>提示</h2>\n<ul>\n");
        for w in &digest.warnings {
            let _ = writeln!(h, "<li>{}</li>", esc(w));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("<footer>township-digest · 本页不含脚本，不从网络加载任何资源，可直接打印。</footer>\n</main>\n</body>\n</html>\n");
    h
}
