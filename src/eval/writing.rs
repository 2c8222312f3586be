//! What full mode's generator wrote and what the checks refused, from a run's reports alone:
//! a quality measure that needs no person and no gold, and that copying cannot game (a copied
//! passage is refused by the checks and counted here as refused).

use crate::report::{ReportSummary, SummaryOrigin};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Counts over every report of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Writing {
    pub reports: usize,
    /// Summaries whose every sentence was generated and passed the checks.
    pub generated_summaries: usize,
    /// Summaries whose sentence on the work done was generated, the problems composed.
    pub partly_generated_summaries: usize,
    /// Summaries composed from the item texts (fast mode, or every generated sentence refused).
    pub composed_summaries: usize,
    /// Mean summary length in characters.
    pub summary_chars_mean: Option<f64>,
    /// Achievement and shortcoming items of the run.
    pub items: usize,
    /// Achievement items of the run.
    pub achievement_items: usize,
    /// Achievement items that say what was done, not only their topic: "heading：what was
    /// done", or a text with one of the item's figures in it. A bare heading ("强化组织领导")
    /// does neither.
    pub achievement_items_saying_what_was_done: usize,
    /// Generated item texts refused by the checks (the extractive text kept), by reason.
    pub item_rewrites_refused: BTreeMap<String, usize>,
    /// Generated summary sentences refused by the checks, by reason.
    pub summary_sentences_refused: BTreeMap<String, usize>,
}

impl Writing {
    pub fn of<'a>(reports: impl IntoIterator<Item = &'a ReportSummary>) -> Writing {
        let mut w = Writing::default();
        let mut chars = 0usize;
        for r in reports {
            w.reports += 1;
            match r.summary_origin {
                SummaryOrigin::Generated => w.generated_summaries += 1,
                SummaryOrigin::PartlyGenerated => w.partly_generated_summaries += 1,
                SummaryOrigin::Composed => w.composed_summaries += 1,
            }
            chars += r.summary.chars().count();
            w.items += r.achievements.len() + r.shortcomings.len();
            w.achievement_items += r.achievements.len();
            w.achievement_items_saying_what_was_done += r
                .achievements
                .iter()
                .filter(|a| says_what_was_done(&a.text, &a.figures))
                .count();
            for warning in &r.warnings {
                if let Some(reason) = item_refusal(warning) {
                    *w.item_rewrites_refused.entry(reason).or_default() += 1;
                } else if let Some(reason) = summary_refusal(warning) {
                    *w.summary_sentences_refused.entry(reason).or_default() += 1;
                }
            }
        }
        w.summary_chars_mean = (w.reports > 0).then(|| chars as f64 / w.reports as f64);
        w
    }

    /// The lines `eval` prints.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let share = |n: usize| {
            if self.reports == 0 {
                "n/a".to_string()
            } else {
                format!(
                    "{n} of {} ({:.0}%)",
                    self.reports,
                    100.0 * n as f64 / self.reports as f64
                )
            }
        };
        let _ = writeln!(
            s,
            "summaries generated:   {}",
            share(self.generated_summaries)
        );
        let _ = writeln!(
            s,
            "  partly generated:    {}",
            share(self.partly_generated_summaries)
        );
        let _ = writeln!(
            s,
            "  composed:            {}",
            share(self.composed_summaries)
        );
        if let Some(m) = self.summary_chars_mean {
            let _ = writeln!(s, "summary length (mean): {m:.0} characters");
        }
        if self.achievement_items > 0 {
            let _ = writeln!(
                s,
                "work items saying what was done: {} of {} ({:.0}%)",
                self.achievement_items_saying_what_was_done,
                self.achievement_items,
                100.0 * self.achievement_items_saying_what_was_done as f64
                    / self.achievement_items as f64
            );
        }
        let refused: usize = self.item_rewrites_refused.values().sum();
        let _ = writeln!(
            s,
            "item rewrites refused: {refused} ({} items in the run)",
            self.items
        );
        for (why, n) in &self.item_rewrites_refused {
            let _ = writeln!(s, "  {n:>4}  {why}");
        }
        let refused: usize = self.summary_sentences_refused.values().sum();
        let _ = writeln!(s, "summary sentences refused: {refused}");
        for (why, n) in &self.summary_sentences_refused {
            let _ = writeln!(s, "  {n:>4}  {why}");
        }
        s
    }
}

/// True when an item's text says what was done: a heading with what was done after its
/// "：", or a figure of the item in the text.
fn says_what_was_done(text: &str, figures: &[String]) -> bool {
    let done = text
        .split_once('：')
        .is_some_and(|(_, done)| done.chars().count() >= 4);
    done || figures.iter().any(|f| text.contains(f.as_str()))
}

/// The reason of a refused item rewrite ("achievements.txt: generated text for item 3 rejected
/// (78 characters, more than 50: a copy, not a summary); extractive text kept").
fn item_refusal(warning: &str) -> Option<String> {
    let (_, rest) = warning.split_once(" rejected (")?;
    let reason = rest.strip_suffix("); extractive text kept").unwrap_or(rest);
    Some(reason_key(reason))
}

/// The reason of a refused summary sentence ("summary: generated sentence dropped (WHY): …").
fn summary_refusal(warning: &str) -> Option<String> {
    let rest = warning.strip_prefix("summary: ")?;
    if rest.starts_with("no generated sentence") || rest.starts_with("too little") {
        return None;
    }
    // The refused sentence follows the last "): " or ": ".
    let reason = match rest.rfind("): ") {
        Some(at) => &rest[..at + 1],
        None => rest.split_once(": ").map_or(rest, |(r, _)| r),
    };
    Some(reason_key(reason))
}

/// A reason without its particulars: quoted text and numbers replaced, so that refusals of
/// one kind count together.
fn reason_key(reason: &str) -> String {
    let mut out = String::new();
    let mut in_quote = false;
    let mut last_digit = false;
    for c in reason.chars() {
        if c == '`' {
            if !in_quote {
                out.push('…');
            }
            in_quote = !in_quote;
            continue;
        }
        if in_quote {
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && last_digit) {
            if !last_digit {
                out.push('N');
            }
            last_digit = true;
            continue;
        }
        last_digit = false;
        out.push(c);
    }
    // Anything after a colon inside the reason names particulars (numbers, characters).
    match out.split_once("absent from its") {
        Some((head, tail)) => {
            let tail = tail.split_once(':').map_or(tail, |(t, _)| t);
            format!("{head}absent from its{tail}")
        }
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_count_by_kind_not_by_particulars() {
        assert_eq!(
            item_refusal("achievements.txt: generated text for item 3 rejected (78 characters, more than 50: a copy, not a summary); extractive text kept").as_deref(),
            Some("N characters, more than N: a copy, not a summary")
        );
        assert_eq!(
            summary_refusal("summary: generated sentence dropped (`需要进一步加强管理`: no item says it (best 0% of its words)): 工作中仍存在不少问题，需要进一步加强管理。").as_deref(),
            Some("generated sentence dropped (…: no item says it (best N% of its words))")
        );
        assert_eq!(
            summary_refusal(
                "summary: generated sentence dropped (numbers absent from its material: 10, 15)"
            )
            .as_deref(),
            Some("generated sentence dropped (numbers absent from its material")
        );
        assert!(says_what_was_done(
            "健全工作机制：全年召开专题会议4次",
            &["4次".into()]
        ));
        assert!(says_what_was_done("全年召开专题会议4次", &["4次".into()]));
        assert!(!says_what_was_done("强化组织领导", &[]));
        assert!(!says_what_was_done("强化组织领导", &["4次".into()]));
        assert_eq!(
            summary_refusal("summary: no generated sentence on the work done passed the checks; summary composed from the items"),
            None
        );
    }
}
