//! The township × theme heatmap as inline SVG, rows grouped by county.

use super::{esc, grouped, has_theme};
use crate::compare::Digest;
use crate::report::ReportSummary;
use crate::themes::ThemeSet;
use std::fmt::Write;

const NAME_W: usize = 170;
const CELL_W: usize = 52;
const CELL_H: usize = 30;
const GROUP_H: usize = 26;
/// Longest column label shown in full; longer ones are cut (full text in the tooltip).
const MAX_LABEL: usize = 12;
const FONT: &str = "'Noto Sans CJK SC','Source Han Sans SC','WenQuanYi Micro Hei','Microsoft YaHei','PingFang SC',sans-serif";

pub fn render_heatmap(digest: &Digest, reports: &[ReportSummary], themes: &ThemeSet) -> String {
    let groups = grouped(digest, reports);
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
                let on = has_theme(digest, v.id, &t.id);
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
