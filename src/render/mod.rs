//! Rendering of the digest: digest.json, themes.csv, digest.md and digest.html (with an inline
//! SVG heatmap). Rendering works from the `Digest` and the report summaries only; it never
//! re-parses a report. All output is deterministic (input order, fixed formatting).

pub mod csv;
pub mod heatmap;
pub mod html;
pub mod markdown;
pub mod years;

use crate::compare::{simplified, Digest};
use crate::output::{write_atomic, write_json_atomic};
use crate::report::ReportSummary;
use crate::themes::ThemeSet;
use anyhow::Result;
use std::path::Path;

pub use csv::{render_changes_csv, render_themes_csv};
pub use html::render_html;
pub use markdown::render_markdown;

/// Write digest.json, themes.csv, digest.md and digest.html into `out_dir`, each atomically,
/// and changes.csv when the digest compares years.
pub fn write_digest(
    out_dir: &Path,
    digest: &Digest,
    reports: &[ReportSummary],
    themes: &ThemeSet,
) -> Result<()> {
    write_json_atomic(&out_dir.join("digest.json"), digest)?;
    write_atomic(
        &out_dir.join("themes.csv"),
        render_themes_csv(digest, reports, themes).as_bytes(),
    )?;
    write_atomic(
        &out_dir.join("digest.md"),
        render_markdown(digest, reports, themes).as_bytes(),
    )?;
    write_atomic(
        &out_dir.join("digest.html"),
        render_html(digest, reports, themes).as_bytes(),
    )?;
    let changes = out_dir.join("changes.csv");
    match &digest.years {
        Some(years) => write_atomic(&changes, render_changes_csv(years).as_bytes())?,
        // An earlier run with --previous into this folder must not leave its comparison behind.
        None if changes.exists() => std::fs::remove_file(&changes)?,
        None => {}
    }
    Ok(())
}

/// What the rendered pages show for one report.
pub(crate) struct View<'a> {
    pub id: &'a str,
    pub township: String,
    pub report: Option<&'a ReportSummary>,
}

/// Display name of a report (township, else id).
pub(crate) fn township_name(digest: &Digest, id: &str) -> String {
    digest
        .reports
        .iter()
        .find(|r| r.id == id)
        .and_then(|r| r.township.clone())
        .unwrap_or_else(|| id.to_string())
}

/// Reports grouped by county in digest order: (county display name, views).
pub(crate) fn grouped<'a>(
    digest: &'a Digest,
    reports: &'a [ReportSummary],
) -> Vec<(String, Vec<View<'a>>)> {
    let mut out = Vec::new();
    for g in &digest.counties {
        let county = g
            .county
            .clone()
            .unwrap_or_else(|| "（未注明县区）".to_string());
        let views = g
            .reports
            .iter()
            .map(|id| View {
                id: id.as_str(),
                township: township_name(digest, id),
                report: reports.iter().find(|r| &r.id == id),
            })
            .collect();
        out.push((county, views));
    }
    out
}

/// Does report `id` state theme `theme`?
pub(crate) fn has_theme(digest: &Digest, id: &str, theme: &str) -> bool {
    digest
        .themes
        .iter()
        .any(|t| t.id == theme && t.reports.iter().any(|r| r == id))
}

/// Overview facts: (report count, county count, years as text, cities).
pub(crate) fn overview(digest: &Digest) -> (usize, usize, String, Vec<String>) {
    let mut years: Vec<i32> = digest.reports.iter().filter_map(|r| r.year).collect();
    years.sort_unstable();
    years.dedup();
    let years = match (years.first(), years.last()) {
        (None, _) | (_, None) => "年份未注明".to_string(),
        (Some(a), Some(b)) if a == b => format!("{a}年"),
        (Some(a), Some(b)) => format!("{a}–{b}年"),
    };
    let counties = digest
        .counties
        .iter()
        .filter(|g| g.county.is_some())
        .count();
    let mut cities: Vec<String> = digest
        .counties
        .iter()
        .filter_map(|g| g.city.clone())
        .collect();
    cities.dedup();
    let mut seen = Vec::new();
    for c in cities {
        let c = simplified(&c);
        if !seen.contains(&c) {
            seen.push(c);
        }
    }
    (digest.reports.len(), counties, years, seen)
}

/// Escape text for HTML/SVG content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}
