//! Cross-township comparison: recurring themes, emerging problems (clusters of shortcomings
//! that fit no theme), near-duplicate reports, county grouping and the figures table.
//! Input is the per-report summaries only; nothing here re-parses a report.

pub mod duplicates;
pub mod emerging;
pub mod figures;
pub mod years;

use crate::models::generator::Generator;
use crate::report::{ReportSummary, OTHER_THEME};
use crate::themes::ThemeSet;
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// One report as `compare` sees it.
pub struct CompareInput<'a> {
    pub summary: &'a ReportSummary,
    /// The report's normalised full text in the form near-duplicate detection compares
    /// (`duplicates::comparable_text`): kept by shards, so a merge needs no source file.
    pub comparable: &'a str,
    /// One vector per `emerging::other_quotes(summary)`, from `emerging::embed_other_quotes`:
    /// embedded per report (by the run or its shard), so a merge needs no encoder pass.
    pub other_vectors: &'a [Vec<f32>],
}

/// `digest.json`. Contract fields first, in contract order; the rest are extensions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    pub reports: Vec<DigestReport>,
    pub themes: Vec<ThemeEntry>,
    pub emerging: Vec<EmergingEntry>,
    pub duplicates: Vec<DuplicatePair>,
    /// Extension: the near-duplicate pairs as groups of near-copies (connected components of
    /// the pair graph). Absent when there are no pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duplicate_clusters: Vec<DuplicateCluster>,
    /// Reports grouped by city and county (names unified across simplified/traditional).
    pub counties: Vec<CountyGroup>,
    /// Comparable indicators across townships.
    pub figures: FiguresTable,
    pub warnings: Vec<String>,
    /// Year over year (`run --previous`); absent from runs without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub years: Option<years::YearsPart>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestReport {
    pub id: String,
    pub township: Option<String>,
    pub county: Option<String>,
    pub year: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteRef {
    pub report: String,
    pub quote: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThemeEntry {
    pub id: String,
    pub label: String,
    pub reports: Vec<String>,
    pub count: usize,
    pub evidence: Vec<QuoteRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmergingEntry {
    pub label: String,
    pub reports: Vec<String>,
    pub evidence: Vec<QuoteRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicatePair {
    pub a: String,
    pub b: String,
    pub similarity: f64,
}

/// A group of reports linked by near-duplicate pairs ("these 8 reports share 98% of their
/// text").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicateCluster {
    /// Report ids in report order.
    pub reports: Vec<String>,
    /// How many near-duplicate pairs link them.
    pub pairs: usize,
    pub min_similarity: f64,
    pub max_similarity: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountyGroup {
    /// City as written in simplified characters (None if no report names it).
    pub city: Option<String>,
    /// County in simplified characters; None for reports that name no county.
    pub county: Option<String>,
    /// Report ids in input order.
    pub reports: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiguresTable {
    pub indicators: Vec<IndicatorColumn>,
    pub rows: Vec<FigureRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorColumn {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FigureRow {
    pub report: String,
    /// One cell per indicator, same order as `indicators`; None where the report is silent.
    pub cells: Vec<Option<FigureCell>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FigureCell {
    /// The figure string exactly as in the report.
    pub figure: String,
    /// The achievement evidence quote it was found in.
    pub quote: String,
}

/// Simplified-Chinese form of a name, used as the grouping key and for display.
pub fn simplified(name: &str) -> String {
    zhconv::zhconv(name.trim(), zhconv::Variant::ZhCN)
}

/// Compare the townships. `labeler` (full mode) writes short labels for emerging clusters.
pub fn compare(
    inputs: &[CompareInput],
    themes: &ThemeSet,
    labeler: Option<&mut Generator>,
    label_template: &str,
    indicators: &figures::Indicators,
) -> Result<Digest> {
    let mut warnings = Vec::new();
    let reports: Vec<DigestReport> = inputs
        .iter()
        .map(|i| DigestReport {
            id: i.summary.id.clone(),
            township: i.summary.township.clone(),
            county: i.summary.county.clone(),
            year: i.summary.year,
        })
        .collect();

    let theme_entries = recurring_themes(inputs, themes);
    let t = std::time::Instant::now();
    let emerging = emerging::emerging(inputs, labeler, label_template, &mut warnings)?;
    tracing::debug!("emerging problems: {:.2} s", t.elapsed().as_secs_f64());
    let t = std::time::Instant::now();
    let texts: Vec<(&str, &str)> = inputs
        .iter()
        .map(|i| (i.summary.id.as_str(), i.comparable))
        .collect();
    let duplicates = duplicates::near_duplicates(&texts, duplicates::DEFAULT_THRESHOLD);
    for d in &duplicates {
        warnings.push(format!(
            "reports {} and {} are near-duplicates (similarity {:.2}): one may re-submit the other's text with names and figures changed",
            d.a, d.b, d.similarity
        ));
    }
    let order: Vec<&str> = texts.iter().map(|(id, _)| *id).collect();
    let duplicate_clusters = duplicates::clusters(&order, &duplicates);
    tracing::debug!("near-duplicates: {:.2} s", t.elapsed().as_secs_f64());
    let counties = county_groups(inputs.iter().map(|i| i.summary));
    let figures = figures::figures_table(inputs.iter().map(|i| i.summary), indicators);
    Ok(Digest {
        reports,
        themes: theme_entries,
        emerging,
        duplicates,
        duplicate_clusters,
        counties,
        figures,
        warnings,
        years: None,
    })
}

/// Themes of the themes file found in at least one report, most reports first, then file order.
pub fn recurring_themes(inputs: &[CompareInput], themes: &ThemeSet) -> Vec<ThemeEntry> {
    let mut out: Vec<ThemeEntry> = Vec::new();
    for theme in &themes.themes {
        if theme.id == OTHER_THEME {
            continue;
        }
        let mut entry = ThemeEntry {
            id: theme.id.clone(),
            label: theme.label.clone(),
            reports: Vec::new(),
            count: 0,
            evidence: Vec::new(),
        };
        for input in inputs {
            let s = input.summary;
            let Some(sc) = s.shortcomings.iter().find(|sc| sc.theme == theme.id) else {
                continue;
            };
            entry.reports.push(s.id.clone());
            let quote = sc
                .evidence
                .first()
                .map(|e| e.quote.clone())
                .unwrap_or_else(|| sc.text.clone());
            entry.evidence.push(QuoteRef {
                report: s.id.clone(),
                quote,
            });
        }
        entry.count = entry.reports.len();
        if entry.count > 0 {
            out.push(entry);
        }
    }
    // Stable sort keeps themes-file order among equal counts.
    out.sort_by_key(|e| std::cmp::Reverse(e.count));
    out
}

/// Group reports by (city, county), keys in simplified characters, groups in order of first
/// appearance.
pub fn county_groups<'a>(reports: impl Iterator<Item = &'a ReportSummary>) -> Vec<CountyGroup> {
    let mut groups: Vec<CountyGroup> = Vec::new();
    for r in reports {
        let county = r
            .county
            .as_deref()
            .map(simplified)
            .filter(|c| !c.is_empty());
        let city = r.city.as_deref().map(simplified).filter(|c| !c.is_empty());
        // A county is identified by its name; the city fills in from any report that names it.
        let pos = groups.iter().position(|g| {
            g.county == county
                && (county.is_some() || g.city == city)
                && (g.city.is_none() || city.is_none() || g.city == city)
        });
        match pos {
            Some(i) => {
                if groups[i].city.is_none() {
                    groups[i].city = city;
                }
                groups[i].reports.push(r.id.clone());
            }
            None => groups.push(CountyGroup {
                city,
                county,
                reports: vec![r.id.clone()],
            }),
        }
    }
    groups
}
