//! themes.csv: header `township,county,<theme ids...>`, one row per report, 1/0 cells.
//! changes.csv (year over year): one row per matched township and compared theme.

use crate::compare::years::YearsPart;
use crate::compare::Digest;
use crate::report::ReportSummary;
use crate::themes::ThemeSet;

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn render_themes_csv(digest: &Digest, reports: &[ReportSummary], themes: &ThemeSet) -> String {
    let look = super::Lookup::new(digest, reports);
    let mut out = String::from("township,county");
    for t in &themes.themes {
        out.push(',');
        out.push_str(&field(&t.id));
    }
    out.push('\n');
    for r in &digest.reports {
        out.push_str(&field(r.township.as_deref().unwrap_or(&r.id)));
        out.push(',');
        out.push_str(&field(r.county.as_deref().unwrap_or("")));
        for t in &themes.themes {
            out.push_str(if look.has_theme(&r.id, &t.id) {
                ",1"
            } else {
                ",0"
            });
        }
        out.push('\n');
    }
    out
}

/// changes.csv: `township,county,theme,status,previous_quote,current_quote,previous_years,current_years`,
/// one row per matched township and compared theme, comparisons in `--previous` order. Years
/// joined by `;` (usually one each).
pub fn render_changes_csv(years: &YearsPart) -> String {
    let mut out = String::from(
        "township,county,theme,status,previous_quote,current_quote,previous_years,current_years\n",
    );
    let join = |ys: &[i32]| {
        ys.iter()
            .map(|y| y.to_string())
            .collect::<Vec<_>>()
            .join(";")
    };
    for c in &years.comparisons {
        let (py, cy) = (join(&c.previous_years), join(&c.current_years));
        for ch in &c.changes {
            let cells = [
                ch.township.as_deref().unwrap_or(&ch.current),
                ch.county.as_deref().unwrap_or(""),
                &ch.theme,
                ch.status.as_str(),
                ch.previous_quote.as_deref().unwrap_or(""),
                ch.current_quote.as_deref().unwrap_or(""),
                &py,
                &cy,
            ];
            let row: Vec<String> = cells.iter().map(|c| field(c)).collect();
            out.push_str(&row.join(","));
            out.push('\n');
        }
    }
    out
}
