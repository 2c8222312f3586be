//! PDF text layer via pdf-extract.
//!
//! The library can panic on unusual files: the call runs under `catch_unwind`, and a panic
//! hook installed once keeps its message off stderr while a PDF is being read on this thread
//! (other panics still reach the previous hook). A PDF whose text layer is empty is refused
//! ("PDF has no text layer (scanned?); OCR is not supported").
//!
//! Whitespace: pdf-extract emits one line per visual line. Lines the PDF broke inside a
//! paragraph are joined: a line is joined to the next when it does not end with 。！？；：
//! (or a closing quote/bracket after one), is about as long as the page's longest lines
//! (a short line ends a paragraph or is a heading), and the next line does not start a
//! heading (一、 （一） 1. …). CJK text is joined without a space, Latin words with one.

use crate::text::numerals::is_item_numeral;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

pub const NO_TEXT_LAYER: &str = "PDF has no text layer (scanned?); OCR is not supported";

thread_local! {
    static QUIET_PANICS: Cell<bool> = const { Cell::new(false) };
}

fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
}

pub fn read_pdf(bytes: &[u8]) -> Result<String, String> {
    install_quiet_hook();
    QUIET_PANICS.with(|q| q.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        pdf_extract::extract_text_from_mem(bytes)
    }));
    QUIET_PANICS.with(|q| q.set(false));
    let raw = match result {
        Ok(Ok(text)) => text,
        Ok(Err(e)) => return Err(format!("cannot read PDF: {e}")),
        Err(payload) => return Err(panic_reason(payload.as_ref())),
    };
    let text = join_broken_lines(&raw);
    if text.trim().is_empty() {
        return Err(NO_TEXT_LAYER.to_string());
    }
    Ok(text)
}

/// The error for a PDF the library panicked on, with the panic message when there is one.
fn panic_reason(payload: &(dyn std::any::Any + Send)) -> String {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .map(|s| format!(": {}", s.chars().take(200).collect::<String>()))
        .unwrap_or_default();
    format!(
        "cannot read PDF: the PDF library failed on this file (unsupported or corrupt PDF{detail})"
    )
}

/// Chars that end a sentence or clause: a line ending with one is not joined to the next.
fn ends_clause(line: &str) -> bool {
    let trimmed = line.trim_end_matches(['”', '’', '」', '』', '）', ')', '"', '\'']);
    matches!(
        trimmed.chars().last(),
        Some('。' | '！' | '？' | '；' | '：' | '!' | '?' | ';' | ':')
    )
}

/// True when the line starts like a heading or list item.
fn starts_heading(line: &str) -> bool {
    let mut chars = line.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let rest: String = line
        .chars()
        .skip_while(|c| is_item_numeral(*c))
        .take(1)
        .collect();
    if is_item_numeral(first) && rest == "、" {
        return true;
    }
    if first == '（' || first == '(' {
        let inner: String = chars
            .clone()
            .take_while(|c| *c != '）' && *c != ')')
            .collect();
        return !inner.is_empty()
            && inner.chars().count() <= 3
            && inner
                .chars()
                .all(|c| is_item_numeral(c) || c.is_ascii_digit());
    }
    if first.is_ascii_digit() {
        let after: String = line
            .chars()
            .skip_while(|c| c.is_ascii_digit())
            .take(1)
            .collect();
        return matches!(after.as_str(), "." | "、" | "．");
    }
    false
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF)
}

/// Join visual lines back into paragraphs (see the module doc). Output: one paragraph per
/// line, trimmed, blank lines dropped, ending with a newline.
pub fn join_broken_lines(raw: &str) -> String {
    let raw = raw.replace("\r\n", "\n").replace(['\r', '\u{c}'], "\n");
    let lines: Vec<&str> = raw.lines().map(str::trim).collect();
    let widths: Vec<usize> = lines.iter().map(|l| l.chars().count()).collect();
    // Typical full line length: the 90th percentile of non-empty line lengths.
    let mut sorted: Vec<usize> = widths.iter().copied().filter(|w| *w > 0).collect();
    sorted.sort_unstable();
    let full = sorted
        .get((sorted.len() * 9 / 10).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0);
    let mut out = String::new();
    let mut para = String::new();
    for (i, line) in lines.iter().enumerate() {
        if line.is_empty() {
            // A blank line in the extracted text ends the paragraph only if the text before
            // it ends a clause or is short; pdf-extract also emits blank lines between
            // visual lines of one paragraph.
            continue;
        }
        if !para.is_empty() {
            let join =
                !ends_clause(&para) && widths_ok(&lines, &widths, i, full) && !starts_heading(line);
            if join {
                let last = para.chars().last().unwrap_or(' ');
                let first = line.chars().next().unwrap_or(' ');
                if !(is_cjk(last) || is_cjk(first)) {
                    para.push(' ');
                }
            } else {
                out.push_str(&para);
                out.push('\n');
                para.clear();
            }
        }
        para.push_str(line);
    }
    if !para.is_empty() {
        out.push_str(&para);
        out.push('\n');
    }
    out
}

/// Whether the previous non-empty line before `i` was a full-width line (so it was broken by
/// the layout, not by the author).
fn widths_ok(lines: &[&str], widths: &[usize], i: usize, full: usize) -> bool {
    let prev = (0..i).rev().find(|j| !lines[*j].is_empty());
    match prev {
        Some(j) => full > 0 && widths[j] * 10 >= full * 8,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_lines_broken_mid_paragraph() {
        let raw = "柳坪县红崖乡2024年法治政府建设情况报告\n\n一、工作开展情况\n一是加强组织领导。乡党委、政府将法治\n建设纳入年度重点工作，明确党委书记为\n第一责任人。\n二是完善制度。\n";
        assert_eq!(
            join_broken_lines(raw),
            "柳坪县红崖乡2024年法治政府建设情况报告\n一、工作开展情况\n一是加强组织领导。乡党委、政府将法治建设纳入年度重点工作，明确党委书记为第一责任人。\n二是完善制度。\n"
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(read_pdf(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF").is_err());
        assert!(read_pdf(b"not a pdf at all").is_err());
    }
}
