//! The township × theme heatmap as inline SVG, rows grouped by county. Past `LARGE_ROWS`
//! townships a row per township no longer reads (thousands of rows), so the heatmap becomes
//! county × theme shares (each county's share of reports stating each theme), and the township
//! rows move into one collapsed `<details>` per county (`render_township_tables`, HTML only).

use super::{esc, Lookup};
use crate::compare::Digest;
use crate::themes::ThemeSet;
use std::fmt::Write;

const NAME_W: usize = 170;
const CELL_W: usize = 52;
const CELL_H: usize = 30;
const GROUP_H: usize = 26;
/// Longest column label shown in full; longer ones are cut (full text in the tooltip).
const MAX_LABEL: usize = 12;
const FONT: &str = "'Noto Sans CJK SC','Source Han Sans SC','WenQuanYi Micro Hei','Microsoft YaHei','PingFang SC',sans-serif";

/// Most township rows drawn in one heatmap: 60 rows of 30 px are about two screens, still
/// scanned at a glance and as large as a city's batch; a province's thousands are not.
pub const LARGE_ROWS: usize = 60;

/// Is this digest drawn as county × theme shares?
pub(crate) fn by_county(look: &Lookup) -> bool {
    look.grouped().iter().map(|(_, v)| v.len()).sum::<usize>() > LARGE_ROWS
}

/// The heatmap: township rows (`LARGE_ROWS` or fewer), else county × theme shares.
pub(crate) fn render_heatmap(digest: &Digest, look: &Lookup, themes: &ThemeSet) -> String {
    if by_county(look) {
        render_county_heatmap(look, themes)
    } else {
        render_township_heatmap(digest, look, themes)
    }
}

/// Colour of a share in [0, 1]: from the empty cell's grey to the accent red.
fn shade(share: f64) -> String {
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * share).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(0xf1, 0xc0),
        mix(0xf1, 0x39),
        mix(0xf1, 0x2b)
    )
}

fn short_label(label: &str) -> String {
    if label.chars().count() > MAX_LABEL {
        label
            .chars()
            .take(MAX_LABEL - 1)
            .chain(std::iter::once('…'))
            .collect()
    } else {
        label.to_string()
    }
}

/// County × theme: one row per county, each cell the share of the county's reports that state
/// the theme (shade and percent; counts in the tooltip).
fn render_county_heatmap(look: &Lookup, themes: &ThemeSet) -> String {
    let groups = look.grouped();
    let longest = themes
        .themes
        .iter()
        .map(|t| t.label.chars().count().min(MAX_LABEL + 1))
        .max()
        .unwrap_or(4);
    let head_h = 30 + longest * 12;
    let width = NAME_W + CELL_W * themes.themes.len() + 90;
    let height = head_h + groups.len() * CELL_H + 10;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg class=\"heatmap counties\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"县区 × 问题主题热力图（提及该问题的报告占比）\" font-family=\"{FONT}\" font-size=\"14\">"
    );
    for (k, t) in themes.themes.iter().enumerate() {
        let x = NAME_W + k * CELL_W + CELL_W / 2;
        let y = head_h - 8;
        let _ = writeln!(
            s,
            "<text x=\"{x}\" y=\"{y}\" transform=\"rotate(-55 {x} {y})\" fill=\"#222\"><title>{}（{}）</title>{}</text>",
            esc(&t.label),
            esc(&t.id),
            esc(&short_label(&t.label))
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"8\" y=\"{}\" fill=\"#555\" font-size=\"12\">县区（报告数）</text>",
        head_h - 8
    );
    let mut y = head_h;
    for (county, views) in &groups {
        let n = views.len();
        let name: String = county.chars().take(9).collect();
        let _ = writeln!(
            s,
            "<text x=\"8\" y=\"{}\" fill=\"#1f3a5f\"><title>{}</title>{}<tspan fill=\"#555\" font-size=\"12\">（{n}）</tspan></text>",
            y + CELL_H - 10,
            esc(county),
            esc(&name)
        );
        for (k, t) in themes.themes.iter().enumerate() {
            let c = views.iter().filter(|v| look.has_theme(v.id, &t.id)).count();
            let share = if n == 0 { 0.0 } else { c as f64 / n as f64 };
            let pct = (share * 100.0).round() as u32;
            let x = NAME_W + k * CELL_W;
            let _ = writeln!(
                s,
                "<g data-county=\"{}\" data-theme=\"{}\" data-count=\"{c}\" data-reports=\"{n}\"><title>{}：{} {c}/{n}份（{pct}%）</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"2\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\" fill=\"{}\">{}</text></g>",
                esc(county),
                esc(&t.id),
                esc(county),
                esc(&t.label),
                x + 1,
                y + 1,
                CELL_W - 2,
                CELL_H - 2,
                shade(share),
                x + CELL_W / 2,
                y + CELL_H - 10,
                if share > 0.5 { "#fff" } else { "#333" },
                if c == 0 { String::new() } else { format!("{pct}%") }
            );
        }
        y += CELL_H;
    }
    s.push_str("</svg>\n");
    s
}

/// The township rows of a large digest, one collapsed `<details>` per county (read without
/// script; a compact table, not SVG, so thousands of townships stay a light page).
pub(crate) fn render_township_tables(look: &Lookup, themes: &ThemeSet) -> String {
    let mut s = String::new();
    let mut head = String::from("<thead><tr><th>乡镇</th>");
    for t in &themes.themes {
        let _ = write!(
            head,
            "<th title=\"{}\">{}</th>",
            esc(&t.label),
            esc(&short_label(&t.label))
        );
    }
    head.push_str("<th>项数</th></tr></thead>");
    for (county, views) in look.grouped() {
        let _ = write!(
            s,
            "<details class=\"county\"><summary>{}（{}个乡镇）</summary><table class=\"hm\">{head}<tbody>",
            esc(&county),
            views.len()
        );
        for v in &views {
            let _ = write!(s, "<tr><td>{}</td>", esc(&v.township));
            let mut n = 0;
            for t in &themes.themes {
                if look.has_theme(v.id, &t.id) {
                    n += 1;
                    s.push_str("<td class=\"on\">●</td>");
                } else {
                    s.push_str("<td></td>");
                }
            }
            let _ = write!(s, "<td>{n}</td></tr>");
        }
        s.push_str("</tbody></table></details>\n");
    }
    s
}

fn render_township_heatmap(digest: &Digest, look: &Lookup, themes: &ThemeSet) -> String {
    let groups = look.grouped();
    let rows: usize = groups.iter().map(|(_, v)| v.len()).sum();
    // Header tall enough for the longest rotated label (14px per character, rotated 55°).
    let longest = themes
        .themes
        .iter()
        .map(|t| t.label.chars().count().min(MAX_LABEL + 1))
        .max()
        .unwrap_or(4);
    let head_h = 30 + longest * 12;
    let width = NAME_W + CELL_W * themes.themes.len() + 70;
    let height = head_h + rows * CELL_H + groups.len() * GROUP_H + CELL_H + 10;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg class=\"heatmap\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"乡镇 × 问题主题热力图\" font-family=\"{FONT}\" font-size=\"14\">"
    );
    // Column headers: theme labels, rotated.
    for (k, t) in themes.themes.iter().enumerate() {
        let x = NAME_W + k * CELL_W + CELL_W / 2;
        let y = head_h - 8;
        let short: String = if t.label.chars().count() > MAX_LABEL {
            t.label
                .chars()
                .take(MAX_LABEL - 1)
                .chain(std::iter::once('…'))
                .collect()
        } else {
            t.label.clone()
        };
        let _ = writeln!(
            s,
            "<text x=\"{x}\" y=\"{y}\" transform=\"rotate(-55 {x} {y})\" fill=\"#222\"><title>{}（{}）</title>{}</text>",
            esc(&t.label),
            esc(&t.id),
            esc(&short)
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" fill=\"#555\" font-size=\"12\">县区 / 乡镇</text>",
        8,
        head_h - 8
    );
    let mut y = head_h;
    for (county, views) in &groups {
        let _ = writeln!(
            s,
            "<rect x=\"0\" y=\"{y}\" width=\"{}\" height=\"{GROUP_H}\" fill=\"#eef2f7\"/><text x=\"8\" y=\"{}\" font-weight=\"bold\" fill=\"#1f3a5f\">{}</text>",
            NAME_W + CELL_W * themes.themes.len(),
            y + GROUP_H - 8,
            esc(county)
        );
        y += GROUP_H;
        for v in views {
            let _ = writeln!(
                s,
                "<text x=\"20\" y=\"{}\" fill=\"#222\">{}</text>",
                y + CELL_H - 10,
                esc(&v.township)
            );
            let mut n = 0;
            for (k, t) in themes.themes.iter().enumerate() {
                let on = look.has_theme(v.id, &t.id);
                n += on as usize;
                let x = NAME_W + k * CELL_W;
                let _ = writeln!(
                    s,
                    "<rect class=\"cell{}\" data-township=\"{}\" data-report=\"{}\" data-theme=\"{}\" data-value=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"2\"><title>{}：{}（{}）</title></rect>",
                    if on { " on" } else { "" },
                    esc(&v.township),
                    esc(v.id),
                    esc(&t.id),
                    on as u8,
                    x + 1,
                    y + 1,
                    CELL_W - 2,
                    CELL_H - 2,
                    if on { "#c0392b" } else { "#f1f1f1" },
                    esc(&v.township),
                    esc(&t.label),
                    if on { "有" } else { "无" }
                );
            }
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" fill=\"#555\" font-size=\"12\">{n}项</text>",
                NAME_W + CELL_W * themes.themes.len() + 8,
                y + CELL_H - 10
            );
            y += CELL_H;
        }
    }
    // Totals row.
    let _ = writeln!(
        s,
        "<text x=\"8\" y=\"{}\" fill=\"#555\" font-size=\"12\">报告数</text>",
        y + CELL_H - 10
    );
    for (k, t) in themes.themes.iter().enumerate() {
        let n = digest
            .themes
            .iter()
            .find(|e| e.id == t.id)
            .map_or(0, |e| e.count);
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\" font-size=\"12\">{n}</text>",
            NAME_W + k * CELL_W + CELL_W / 2,
            y + CELL_H - 10
        );
    }
    s.push_str("</svg>\n");
    s
}
