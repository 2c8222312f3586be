//! The figures table: comparable indicators across townships. Indicators are DATA
//! (`prompts/indicators.toml`): each names the unit(s) a figure ends with and words that must
//! stand near the figure (same clause) in its achievement evidence quote. A cell is the figure
//! string exactly as the report gives it (one of the achievement's `figures`) plus the quote it
//! stands in; a report that gives no matching figure leaves the cell blank.

use super::{simplified, FigureCell, FigureRow, FiguresTable, IndicatorColumn};
use crate::report::ReportSummary;
use anyhow::{bail, Result};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Indicator {
    pub id: String,
    pub label: String,
    /// The figure (in simplified script) must end with one of these.
    pub units: Vec<String>,
    /// One of these must occur in the clause before the figure (empty: no condition).
    #[serde(default)]
    pub near: Vec<String>,
    /// None of these may occur in that clause before the figure.
    #[serde(default)]
    pub not_near: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Indicators {
    /// How many characters before the figure count as "near" (default 24).
    #[serde(default = "default_window")]
    pub window: usize,
    #[serde(rename = "indicator")]
    pub indicators: Vec<Indicator>,
}

fn default_window() -> usize {
    24
}

impl Indicators {
    pub fn parse(text: &str) -> Result<Indicators> {
        let set: Indicators = toml::from_str(text)?;
        for i in &set.indicators {
            if i.id.trim().is_empty() || i.label.trim().is_empty() || i.units.is_empty() {
                bail!("every indicator needs an id, a label and at least one unit");
            }
        }
        Ok(set)
    }
}

/// The clause around the figure: up to `window` characters on each side, cut at 。；; etc.
fn context_around(quote: &str, byte_pos: usize, fig_len: usize, window: usize) -> String {
    let is_stop = |c: &char| "。；;！？\n".contains(*c);
    let before: Vec<char> = quote[..byte_pos].chars().collect();
    let mut start = before.len().saturating_sub(window);
    if let Some(p) = before[start..].iter().rposition(is_stop) {
        start += p + 1;
    }
    let after: String = quote[byte_pos + fig_len..]
        .chars()
        .take(window)
        .take_while(|c| !is_stop(c))
        .collect();
    let mut ctx: String = before[start..].iter().collect();
    ctx.push('|');
    ctx.push_str(&after);
    ctx
}

fn matches(ind: &Indicator, figure: &str, context: &str) -> bool {
    let fig = simplified(figure);
    let ctx = simplified(context);
    // `not_near` words are looked for before the figure only ("调解成功45起").
    let before = ctx.split('|').next().unwrap_or("");
    ind.units.iter().any(|u| fig.ends_with(u.as_str()))
        && (ind.near.is_empty() || ind.near.iter().any(|w| ctx.contains(w.as_str())))
        && !ind.not_near.iter().any(|w| before.contains(w.as_str()))
}

/// The first matching figure for each indicator in one report (achievement order, figure order).
pub fn report_cells(report: &ReportSummary, set: &Indicators) -> Vec<Option<FigureCell>> {
    let mut cells: Vec<Option<FigureCell>> = vec![None; set.indicators.len()];
    for ach in &report.achievements {
        for fig in &ach.figures {
            if fig.is_empty() {
                continue;
            }
            // The first evidence quote holding the figure; a figure without one is not shown.
            let Some((quote, pos)) = ach
                .evidence
                .iter()
                .find_map(|e| e.quote.find(fig.as_str()).map(|p| (e.quote.as_str(), p)))
            else {
                continue;
            };
            let ctx = context_around(quote, pos, fig.len(), set.window);
            for (k, ind) in set.indicators.iter().enumerate() {
                if cells[k].is_none() && matches(ind, fig, &ctx) {
                    cells[k] = Some(FigureCell {
                        figure: fig.clone(),
                        quote: quote.to_string(),
                    });
                    break; // one figure fills one indicator
                }
            }
        }
    }
    cells
}

pub fn figures_table<'a>(
    reports: impl Iterator<Item = &'a ReportSummary>,
    set: &Indicators,
) -> FiguresTable {
    FiguresTable {
        indicators: set
            .indicators
            .iter()
            .map(|i| IndicatorColumn {
                id: i.id.clone(),
                label: i.label.clone(),
            })
            .collect(),
        rows: reports
            .map(|r| FigureRow {
                report: r.id.clone(),
                cells: report_cells(r, set),
            })
            .collect(),
    }
}
