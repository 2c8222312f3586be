//! digest.html: one self-contained page (inline CSS and SVG, no script, no network fetch, a
//! print stylesheet). Every text is escaped.

use super::{esc, grouped, heatmap::render_heatmap, overview, township_name};
use crate::compare::Digest;
use crate::report::{ReportSummary, OTHER_THEME};
use crate::themes::ThemeSet;
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
.warn{border-left:5px solid #e67e22;background:#fff6ec;padding:10px 14px;margin:12px 0;border-radius:4px}
.heatwrap{overflow-x:auto}
.heatmap rect.cell.on{fill:var(--accent)}
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

pub fn render_html(digest: &Digest, reports: &[ReportSummary], themes: &ThemeSet) -> String {
    let (n_reports, n_counties, years, cities) = overview(digest);
    let title = format!(
        "{}乡镇法治政府建设情况报告比较摘要（{}）",
        cities.join("、"),
        years
    );
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
        h.push_str("<div class=\"warn\"><b>注意：发现内容高度雷同的报告。</b><ul>");
        for d in &digest.duplicates {
            let _ = write!(
                h,
                "<li>{}（{}）与 {}（{}）：相似度 {:.2}，可能是套用他人报告、只改了名称和数字。</li>",
                esc(&township_name(digest, &d.a)),
                esc(&d.a),
                esc(&township_name(digest, &d.b)),
                esc(&d.b),
                d.similarity
            );
        }
        h.push_str("</ul></div>\n");
    }

    h.push_str("<h2>问题热力图（乡镇 × 问题主题，按县区分组）</h2>\n<div class=\"heatwrap\">\n");
    h.push_str(&render_heatmap(digest, reports, themes));
    h.push_str("</div>\n");

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
        for e in &t.evidence {
            let _ = writeln!(
                h,
                "<blockquote><span class=\"who\">{}</span>“{}”</blockquote>",
                esc(&township_name(digest, &e.report)),
                esc(&e.quote)
            );
        }
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
        for q in &e.evidence {
            let _ = writeln!(
                h,
                "<blockquote><span class=\"who\">{}</span>“{}”</blockquote>",
                esc(&township_name(digest, &q.report)),
                esc(&q.quote)
            );
        }
    }

    if let Some(years) = &digest.years {
        h.push_str(&super::years::render_years_html(years, themes));
    }
    h.push_str("<h2>主要数字对比</h2>\n<p class=\"sub\">每个数字都照录报告原文，上标为出处编号；空白表示该报告未提供。</p>\n<table class=\"figures\">\n<thead><tr><th>乡镇</th>");
    for c in &digest.figures.indicators {
        let _ = write!(h, "<th>{}</th>", esc(&c.label));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    let mut sources: Vec<(String, String, String)> = Vec::new();
    for row in &digest.figures.rows {
        let _ = write!(
            h,
            "<tr><td>{}</td>",
            esc(&township_name(digest, &row.report))
        );
        for cell in &row.cells {
            match cell {
                Some(c) => {
                    let n = match sources
                        .iter()
                        .position(|(r, q, _)| *r == row.report && *q == c.quote)
                    {
                        Some(i) => i + 1,
                        None => {
                            sources.push((
                                row.report.clone(),
                                c.quote.clone(),
                                township_name(digest, &row.report),
                            ));
                            sources.len()
                        }
                    };
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

    h.push_str("<h2>各乡镇情况</h2>\n");
    for (county, views) in grouped(digest, reports) {
        let _ = writeln!(h, "<h3>{}</h3>\n<div class=\"cards\">", esc(&county));
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
        h.push_str("</div>\n");
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
