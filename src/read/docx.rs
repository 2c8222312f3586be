//! Word `.docx`: the paragraphs (`w:p`) of `word/document.xml` in document order, one per
//! line; text runs (`w:t`) concatenated, `w:tab` as a space, `w:br`/`w:cr` as a newline.
//! Deleted revisions (`w:delText`), field codes (`w:instrText`) and the duplicate fallback
//! copy of drawings/text boxes (`mc:Fallback`) are skipped.

use quick_xml::events::Event;
use quick_xml::Reader;
use std::io::{Cursor, Read};

/// Largest uncompressed `word/document.xml` accepted (guards against zip bombs).
const MAX_DOCUMENT_XML_BYTES: u64 = 200 * 1024 * 1024;

pub fn read_docx(bytes: &[u8]) -> Result<String, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("not a valid .docx (corrupt or truncated zip: {e})"))?;
    let mut entry = archive
        .by_name("word/document.xml")
        .map_err(|e| format!("not a valid .docx (no word/document.xml in the zip: {e})"))?;
    if entry.size() > MAX_DOCUMENT_XML_BYTES {
        return Err(format!(
            "not a valid .docx (word/document.xml is {} bytes uncompressed, over the {} limit)",
            entry.size(),
            MAX_DOCUMENT_XML_BYTES
        ));
    }
    let mut xml = Vec::with_capacity(entry.size() as usize);
    (&mut entry)
        .take(MAX_DOCUMENT_XML_BYTES)
        .read_to_end(&mut xml)
        .map_err(|e| format!("not a valid .docx (cannot unpack word/document.xml: {e})"))?;
    let xml = String::from_utf8(xml)
        .map_err(|_| "not a valid .docx (word/document.xml is not UTF-8)".to_string())?;
    let text = paragraphs(&xml)?;
    if text.trim().is_empty() {
        return Err("the .docx document has no text".to_string());
    }
    Ok(text)
}

/// Text of a WordprocessingML body, one paragraph per line (empty paragraphs dropped).
pub fn paragraphs(xml: &str) -> Result<String, String> {
    let mut reader = Reader::from_str(xml);
    let mut out = String::new();
    let mut para = String::new();
    let mut in_text = false;
    let mut fallback_depth = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("not a valid .docx (bad XML in word/document.xml: {e})"))?;
        match event {
            Event::Start(e) => match e.name().as_ref() {
                b"mc:Fallback" => fallback_depth += 1,
                b"w:t" if fallback_depth == 0 => in_text = true,
                b"w:p" if fallback_depth == 0 => flush(&mut para, &mut out),
                _ => {}
            },
            Event::Empty(e) if fallback_depth == 0 => match e.name().as_ref() {
                b"w:tab" => para.push(' '),
                b"w:br" | b"w:cr" => para.push('\n'),
                b"w:noBreakHyphen" => para.push('-'),
                b"w:p" => flush(&mut para, &mut out),
                _ => {}
            },
            Event::End(e) => match e.name().as_ref() {
                b"mc:Fallback" => fallback_depth = fallback_depth.saturating_sub(1),
                b"w:t" => in_text = false,
                b"w:p" if fallback_depth == 0 => flush(&mut para, &mut out),
                _ => {}
            },
            Event::Text(t) if in_text && fallback_depth == 0 => {
                // An unknown entity should not lose the whole document: keep the raw text.
                match t.unescape() {
                    Ok(s) => para.push_str(&s),
                    Err(_) => para.push_str(&String::from_utf8_lossy(&t)),
                }
            }
            Event::CData(t) if in_text && fallback_depth == 0 => {
                para.push_str(&String::from_utf8_lossy(&t));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    flush(&mut para, &mut out);
    Ok(out)
}

/// End the current paragraph: its trimmed lines, non-empty ones, each on a line of `out`.
fn flush(para: &mut String, out: &mut String) {
    for line in para.split('\n') {
        let line = line.trim();
        if !line.is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    para.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_runs_tabs_and_breaks() {
        let xml = r#"<w:document xmlns:w="x" xmlns:mc="m"><w:body>
            <w:p><w:r><w:t>一、工作</w:t></w:r><w:r><w:t xml:space="preserve">开展情况</w:t></w:r></w:p>
            <w:p/><w:p><w:r><w:t>一是</w:t><w:tab/><w:t>加强&amp;领导</w:t><w:br/><w:t>第二行</w:t></w:r>
            <w:r><w:delText>删除</w:delText><w:instrText>PAGE</w:instrText></w:r></w:p>
            <w:p><mc:AlternateContent><mc:Choice><w:p><w:r><w:t>框</w:t></w:r></w:p></mc:Choice>
            <mc:Fallback><w:p><w:r><w:t>框</w:t></w:r></w:p></mc:Fallback></mc:AlternateContent></w:p>
            </w:body></w:document>"#;
        assert_eq!(
            paragraphs(xml).unwrap(),
            "一、工作开展情况\n一是 加强&领导\n第二行\n框\n"
        );
    }
}
