//! Charset detection and decoding of plain-text reports (txt/md, and html without a declared
//! charset).
//!
//! Order: a BOM (UTF-8, UTF-16LE/BE) decides; else bytes that are valid UTF-8 are UTF-8; else
//! chardetng guesses (in practice GBK/GB18030 or Big5 for Chinese reports) and encoding_rs
//! decodes. The result is refused as "not text" when it holds NULs, too many control chars
//! or too many replacement chars (random bytes, images, archives renamed `.txt`).
//! Line endings are normalised (`\r\n` and lone `\r` → `\n`): that normalised string IS the
//! decoded source text every offset refers to.

use encoding_rs::{Encoding, BIG5, GB18030, GBK, UTF_16BE, UTF_16LE, UTF_8};

/// Largest share of U+FFFD replacement chars (per decoded char) still accepted as text.
const MAX_REPLACEMENT_SHARE: f64 = 0.01;
/// Largest share of control chars (other than tab/newline/CR/form feed) accepted as text.
const MAX_CONTROL_SHARE: f64 = 0.02;

pub const NOT_TEXT: &str = "not text (binary or unknown encoding)";

/// Decode bytes of a text file. Returns the text and the charset name.
pub fn decode_text(bytes: &[u8]) -> Result<(String, &'static str), String> {
    decode_with_hint(bytes, None)
}

/// Decode bytes, using `hint` (e.g. a charset declared in an HTML meta tag) when there is no
/// BOM and the bytes are not valid UTF-8 anyway.
pub fn decode_with_hint(
    bytes: &[u8],
    hint: Option<&'static Encoding>,
) -> Result<(String, &'static str), String> {
    let (text, enc) = if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (cow, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        (cow.into_owned(), enc)
    } else if let Ok(s) = std::str::from_utf8(bytes) {
        (s.to_string(), UTF_8)
    } else {
        let enc = match hint {
            Some(e) if e != UTF_8 && e != UTF_16LE && e != UTF_16BE => e,
            _ => guess_encoding(bytes),
        };
        let (cow, _, _) = enc.decode(bytes);
        (cow.into_owned(), enc)
    };
    check_plausible_text(&text)?;
    Ok((normalize_newlines(text), enc.name()))
}

/// chardetng's guess; reports are Chinese, so when it guesses a non-Chinese legacy encoding
/// (which can happen on short files) but the bytes are well-formed GBK, GBK wins.
fn guess_encoding(bytes: &[u8]) -> &'static Encoding {
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    det.feed(bytes, true);
    let guess = det.guess(None, chardetng::Utf8Detection::Allow);
    if guess == GBK || guess == GB18030 || guess == BIG5 {
        return guess;
    }
    let (_, malformed) = GBK.decode_without_bom_handling(bytes);
    if malformed {
        guess
    } else {
        GBK
    }
}

/// Refuse decoded text that is really binary content or the wrong encoding.
fn check_plausible_text(text: &str) -> Result<(), String> {
    let mut total = 0usize;
    let mut replacement = 0usize;
    let mut control = 0usize;
    for c in text.chars() {
        total += 1;
        match c {
            '\u{0}' => return Err(NOT_TEXT.to_string()),
            '\u{FFFD}' => replacement += 1,
            '\t' | '\n' | '\r' | '\u{c}' => {}
            c if c.is_control() => control += 1,
            _ => {}
        }
    }
    if total == 0 {
        return Ok(());
    }
    let total = total as f64;
    if replacement as f64 / total > MAX_REPLACEMENT_SHARE
        || control as f64 / total > MAX_CONTROL_SHARE
    {
        return Err(NOT_TEXT.to_string());
    }
    Ok(())
}

/// `\r\n` and lone `\r` → `\n`.
pub fn normalize_newlines(text: String) -> String {
    if !text.contains('\r') {
        return text;
    }
    text.replace("\r\n", "\n").replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_bom_is_stripped_and_crlf_normalised() {
        let bytes = b"\xEF\xBB\xBF\xE4\xB9\xA1\r\nb\rc";
        let (t, enc) = decode_text(bytes).unwrap();
        assert_eq!(t, "乡\nb\nc");
        assert_eq!(enc, "UTF-8");
    }

    #[test]
    fn gbk_is_detected() {
        let src = "红崖乡坚持以习近平法治思想为指导，扎实开展法治政府建设各项工作。全乡干部群众的法治意识进一步增强。";
        let (bytes, _, _) = encoding_rs::GBK.encode(src);
        let (t, enc) = decode_text(&bytes).unwrap();
        assert_eq!(t, src);
        assert!(enc == "GBK" || enc == "gb18030", "{enc}");
    }

    #[test]
    fn short_gbk_is_not_taken_for_a_western_encoding() {
        for src in ["乡", "红崖乡", "法治政府建设", "2024年"] {
            let (bytes, _, _) = encoding_rs::GBK.encode(src);
            let (t, _) = decode_text(&bytes).unwrap();
            assert_eq!(t, src);
        }
    }

    #[test]
    fn binary_is_refused() {
        let bytes: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        assert_eq!(decode_text(&bytes).unwrap_err(), NOT_TEXT);
        assert!(decode_text(b"abc\0def").is_err());
    }
}
