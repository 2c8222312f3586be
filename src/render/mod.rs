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
use std::collections::{HashMap, HashSet};
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

/// The digest's facts by report id, looked up in constant time (the pages ask for them once per
/// quote and heatmap cell: tens of thousands of times at province scale).
pub(crate) struct Lookup<'a> {
    digest: &'a Digest,
    /// Report id → its township, first report of that id (as a search in report order finds).
    names: HashMap<&'a str, Option<&'a str>>,
    /// (report id, theme id) of every theme a report states.
    themes: HashSet<(&'a str, &'a str)>,
    reports: HashMap<&'a str, &'a ReportSummary>,
}

impl<'a> Lookup<'a> {
    pub fn new(digest: &'a Digest, reports: &'a [ReportSummary]) -> Lookup<'a> {
        let mut names = HashMap::new();
        for r in &digest.reports {
            names.entry(r.id.as_str()).or_insert(r.township.as_deref());
        }
        let mut by_id = HashMap::new();
        for r in reports {
            by_id.entry(r.id.as_str()).or_insert(r);
        }
        let themes = digest
            .themes
            .iter()
            .flat_map(|t| t.reports.iter().map(move |r| (r.as_str(), t.id.as_str())))
            .collect();
        Lookup {
            digest,
            names,
            themes,
            reports: by_id,
        }
    }

    /// Display name of a report (township, else id).
    pub fn name(&self, id: &str) -> String {
        match self.names.get(id) {
            Some(Some(t)) => t.to_string(),
            _ => id.to_string(),
        }
    }

    /// Does report `id` state theme `theme`?
    pub fn has_theme(&self, id: &str, theme: &str) -> bool {
        self.themes.contains(&(id, theme))
    }

    /// Reports grouped by county in digest order: (county display name, views).
    pub fn grouped(&self) -> Vec<(String, Vec<View<'a>>)> {
        let mut out = Vec::new();
        for g in &self.digest.counties {
            // Reports without a county are grouped by city: say which.
            let county = g.county.clone().unwrap_or_else(|| match &g.city {
                Some(city) => format!("{city}（未注明县区）"),
                None => "（未注明县区）".to_string(),
            });
            let views = g
                .reports
                .iter()
                .map(|id| View {
                    id: id.as_str(),
                    township: self.name(id),
                    report: self.reports.get(id.as_str()).copied(),
                })
                .collect();
            out.push((county, views));
        }
        out
    }
}

/// Most members named in one near-copy group's line; the rest are counted.
const CLUSTER_NAMES: usize = 30;

/// One line of text per group of near-copies (plain text, to be escaped by the page), largest
/// groups first, then in digest order.
pub(crate) fn cluster_lines(digest: &Digest, look: &Lookup) -> Vec<String> {
    let mut clusters: Vec<&crate::compare::DuplicateCluster> =
        digest.duplicate_clusters.iter().collect();
    clusters.sort_by_key(|c| std::cmp::Reverse(c.reports.len()));
    let pct = |s: f64| (s * 100.0).round() as i64;
    clusters
        .into_iter()
        .map(|c| {
            let mut names: Vec<String> = c
                .reports
                .iter()
                .take(CLUSTER_NAMES)
                .map(|id| format!("{}（{id}）", look.name(id)))
                .collect();
            if c.reports.len() > CLUSTER_NAMES {
                names.push(format!("等{}份", c.reports.len()));
            }
            let share = if pct(c.min_similarity) == pct(c.max_similarity) {
                format!("{}%", pct(c.max_similarity))
            } else {
                format!("{}%–{}%", pct(c.min_similarity), pct(c.max_similarity))
            };
            if c.reports.len() == 2 {
                format!(
                    "{}：2份报告文字重合度{share}，可能是套用他人报告、只改了名称和数字。",
                    names.join("与")
                )
            } else {
                format!(
                    "这{}份报告文字重合度{share}（{}对相似）：{}。可能是套用同一份报告、只改了名称和数字。",
                    c.reports.len(),
                    c.pairs,
                    names.join("、")
                )
            }
        })
        .collect()
}

/// Overview facts: (report count, county count, years as text, what the inputs cover).
pub(crate) fn overview(
    digest: &Digest,
    reports: &[ReportSummary],
) -> (usize, usize, String, String) {
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
    (
        digest.reports.len(),
        counties,
        years,
        coverage(reports, counties),
    )
}

/// What the inputs cover, as the title's opening words (乡镇… follows): the city when most
/// reports name a city and every one that does names that one (or up to three cities when every
/// report names its city); otherwise the counts, "N个县区M个" (or "M个" when no report names a
/// county); nothing when no report names its township either. A title must not name one city
/// for a batch most of whose reports name none.
pub(crate) fn coverage(reports: &[ReportSummary], counties: usize) -> String {
    let mut cities: Vec<String> = Vec::new();
    let mut named = 0;
    for r in reports {
        let Some(c) = r.city.as_deref().map(simplified).filter(|c| !c.is_empty()) else {
            continue;
        };
        named += 1;
        if !cities.contains(&c) {
            cities.push(c);
        }
    }
    let most = named * 2 > reports.len();
    if most && (cities.len() == 1 || (named == reports.len() && cities.len() <= 3)) {
        return cities.join("、");
    }
    let townships: HashSet<(Option<String>, String)> = reports
        .iter()
        .filter_map(|r| {
            let t = simplified(r.township.as_deref()?);
            (!t.is_empty()).then(|| (r.county.as_deref().map(simplified), t))
        })
        .collect();
    match (counties, townships.len()) {
        (_, 0) => String::new(),
        (0, t) => format!("{t}个"),
        (c, t) => format!("{c}个县区{t}个"),
    }
}

/// Make text safe inside a Markdown table cell or list item.
pub(crate) fn md(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => o.push_str("\\|"),
            '\n' | '\r' => o.push(' '),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '*' | '_' | '`' | '[' | ']' | '\\' => {
                o.push('\\');
                o.push(c);
            }
            _ => o.push(c),
        }
    }
    o
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
