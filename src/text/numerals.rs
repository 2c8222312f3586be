//! Numerals in Chinese report text: which chars write a number, which number a list item, and
//! full-width digits folded to ASCII. One home, so the structure parser, the figures, the
//! grounding checks, the near-duplicate mask and the PDF line joiner agree on what a numeral is.
//! (`eval` keeps its own number reader on purpose: it scores this code and must not share its
//! mistakes.)

/// Numerals that number list items and headings: 一 … 十 (十一 … 九十九 as runs: "十二、").
/// No 零/两/百: "两是" or "（百）" is no marker.
pub const ITEM_NUMERALS: &str = "一二三四五六七八九十";

/// Chars that write a count in simplified script: the digits with 零/〇 and 两, and the
/// multipliers 十百千万亿 ("一千二百", "两万", "三亿").
pub const NUMERALS: &str = "零〇一二两三四五六七八九十百千万亿";

/// The traditional forms of [`NUMERALS`] (兩, 萬, 億), for text that has not been through
/// `normalize` (generated text, raw quotes).
pub const TRADITIONAL_NUMERALS: &str = "兩萬億";

/// Whether `c` writes part of a count in simplified script (see [`NUMERALS`]).
pub fn is_numeral(c: char) -> bool {
    NUMERALS.contains(c)
}

/// Whether `c` writes part of a count in either script ([`NUMERALS`], [`TRADITIONAL_NUMERALS`]).
pub fn is_numeral_any_script(c: char) -> bool {
    is_numeral(c) || TRADITIONAL_NUMERALS.contains(c)
}

/// Whether `c` can number a list item (see [`ITEM_NUMERALS`]).
pub fn is_item_numeral(c: char) -> bool {
    ITEM_NUMERALS.contains(c)
}

/// `pattern` with every `{N}` replaced by the item numerals, for regexes of markers and
/// headings: `"[{N}]是"` matches "三是".
pub fn with_item_numerals(pattern: &str) -> String {
    pattern.replace("{N}", ITEM_NUMERALS)
}

/// A full-width form as its half-width one where that helps to match numbers and codes:
/// digits, Latin letters, `％ ． ＋ － ／ ＠ ＃ ＆ ＊ ＝ ＜ ＞`, and the ideographic and no-break
/// spaces as a space. Chinese punctuation (，。；：（）！？) is kept: the parser reads it.
pub fn halfwidth(c: char) -> char {
    match c {
        '０'..='９'
        | 'Ａ'..='Ｚ'
        | 'ａ'..='ｚ'
        | '％'
        | '．'
        | '＋'
        | '－'
        | '／'
        | '＠'
        | '＃'
        | '＆'
        | '＊'
        | '＝'
        | '＜'
        | '＞' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' | '\u{00A0}' => ' ',
        _ => c,
    }
}

/// `s` with every char through [`halfwidth`]: "３０．５％" → "30.5%".
pub fn fold_halfwidth(s: &str) -> String {
    s.chars().map(halfwidth).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_digits_and_signs_fold_to_ascii_and_chinese_punctuation_stays() {
        assert_eq!(
            fold_halfwidth("３０．５％，ＡＢ１２　（一）"),
            "30.5%，AB12 （一）"
        );
    }

    #[test]
    fn item_numerals_are_a_subset_of_the_count_numerals() {
        assert!(ITEM_NUMERALS.chars().all(is_numeral));
        assert!(is_numeral('两') && !is_item_numeral('两'));
        assert!(is_numeral_any_script('萬') && !is_numeral('萬'));
        assert!(!is_numeral('3') && !is_numeral('年'));
        assert_eq!(with_item_numerals("[{N}]是"), "[一二三四五六七八九十]是");
    }
}
