//! themes.csv: header `township,county,<theme ids...>`, one row per report, 1/0 cells.

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
