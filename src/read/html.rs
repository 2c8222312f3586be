//! HTML pages (often saved from a government portal): charset from a BOM, `<meta charset>` /
//! `http-equiv` declaration, or detection; then the text of the main content in document
//! order, one block (p/div/h1-h6/li/td/…) per line.
//!
//! Structural only: script/style/nav/header/footer/aside/form and elements whose class or id
//! look like navigation, menus, breadcrumbs, footers, share bars or sidebars are dropped; when
//! the page has a recognisable content container (`#zoom`, `.TRS_Editor`, `article`,
//! `.content`…) only that container is read, with the page's `<h1>` title put first if it lies
//! outside. Portal clutter lines inside the content (发布时间, 字号 大中小…) are left for the
//! normaliser.

use super::charset;
use scraper::{ElementRef, Html, Node, Selector};

/// Elements never holding report text.
const SKIP_TAGS: &[&str] = &[
    "script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe", "select",
    "button", "template", "svg", "canvas", "object", "embed", "map", "head", "input", "textarea",
    "video", "audio",
];

/// class/id fragments (lower-case) marking page chrome, not report text.
const SKIP_CLASS_ID: &[&str] = &[
    "nav",
    "menu",
    "breadcrumb",
    "crumb",
    "footer",
    "share",
    "sidebar",
    "topbar",
    "toolbar",
    "copyright",
    "search",
    "login",
    "friendlink",
    "banner",
];

/// Main content containers, most specific first.
const CONTENT_SELECTORS: &[&str] = &[
    "#zoom",
    ".TRS_Editor",
    "#UCAP-CONTENT",
    ".article-content",
    ".article_content",
    "#article-content",
    ".content-text",
    "article",
    "#content",
    ".content",
    "main",
];

/// Elements that start and end a line of text.
const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "td",
    "th",
    "tr",
    "table",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "section",
    "article",
    "main",
    "blockquote",
    "pre",
    "br",
    "hr",
    "center",
    "title",
    "body",
    "tbody",
    "thead",
    "caption",
    "figure",
    "figcaption",
    "address",
];

/// Decode an HTML file's bytes and extract its text. Returns text and charset name.
pub fn read_html(bytes: &[u8]) -> Result<(String, &'static str), String> {
    let hint = declared_charset(bytes);
    let (markup, enc) = charset::decode_with_hint(bytes, hint)?;
    let text = extract_text(&markup);
    if text.trim().is_empty() {
        return Err("HTML page has no text".to_string());
    }
    Ok((text, enc))
}

/// The charset declared in a `<meta>` tag within the first 4 KB, if encoding_rs knows it.
fn declared_charset(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = &bytes[..bytes.len().min(4096)];
    let lower: Vec<u8> = head.iter().map(|b| b.to_ascii_lowercase()).collect();
    let needle = b"charset=";
    let pos = lower.windows(needle.len()).position(|w| w == needle)?;
    let rest = &lower[pos + needle.len()..];
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let label: Vec<u8> = rest
        .iter()
        .copied()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        .collect();
    encoding_rs::Encoding::for_label(&label)
}

/// Text of the main content of an HTML document, one block per line.
pub fn extract_text(markup: &str) -> String {
    let doc = Html::parse_document(markup);
    let root = content_root(&doc);
    let mut out = Writer::default();
    if let Some(root) = root {
        // The page title often stands outside the content container: put it first unless
        // the container has its own <h1>.
        if let Some(title) = outside_title(&doc, root) {
            walk(title, &mut out);
            out.newline();
        }
        walk(root, &mut out);
    } else {
        walk(doc.root_element(), &mut out);
    }
    out.finish()
}

/// Selectors of a page title, most specific first.
const TITLE_SELECTORS: &[&str] = &["h1", ".article-title", ".article_title", "#title", ".title"];

fn outside_title<'a>(doc: &'a Html, root: ElementRef<'a>) -> Option<ElementRef<'a>> {
    if let Ok(h1) = Selector::parse("h1") {
        if root.select(&h1).next().is_some() {
            return None;
        }
    }
    TITLE_SELECTORS.iter().find_map(|sel| {
        let selector = Selector::parse(sel).ok()?;
        doc.select(&selector).find(|h| {
            !is_skipped_anywhere(*h)
                && !is_descendant(*h, root)
                && !is_descendant(root, *h)
                && h.text().any(|t| t.chars().any(|c| !c.is_whitespace()))
        })
    })
}

fn content_root(doc: &Html) -> Option<ElementRef<'_>> {
    for sel in CONTENT_SELECTORS {
        let Ok(selector) = Selector::parse(sel) else {
            continue;
        };
        let found = doc.select(&selector).find(|e| {
            !is_skipped_anywhere(*e) && e.text().any(|t| t.chars().any(|c| !c.is_whitespace()))
        });
        if found.is_some() {
            return found;
        }
    }
    None
}

fn is_descendant(node: ElementRef<'_>, ancestor: ElementRef<'_>) -> bool {
    node.ancestors().any(|a| a.id() == ancestor.id())
}

/// True when the element or any ancestor is page chrome.
fn is_skipped_anywhere(e: ElementRef<'_>) -> bool {
    std::iter::once(*e)
        .chain(e.ancestors())
        .filter_map(ElementRef::wrap)
        .any(is_chrome)
}

fn is_chrome(e: ElementRef<'_>) -> bool {
    let el = e.value();
    let name = el.name();
    if SKIP_TAGS.contains(&name) {
        return true;
    }
    if name == "html" || name == "body" {
        return false;
    }
    let mut marks = String::new();
    if let Some(id) = el.id() {
        marks.push_str(id);
        marks.push(' ');
    }
    if let Some(class) = el.attr("class") {
        marks.push_str(class);
    }
    if marks.is_empty() {
        return false;
    }
    let marks = marks.to_ascii_lowercase();
    // Words of the class/id attributes ("nav-bar" → "nav", "bar"); a word that starts or ends
    // with a marker counts ("navigation", "topnav", "bdshare"), one merely containing it
    // ("canvas", "unavailable") does not.
    marks
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .any(|w| {
            SKIP_CLASS_ID
                .iter()
                .any(|k| w.starts_with(k) || w.ends_with(k))
        })
}

#[derive(Default)]
struct Writer {
    lines: Vec<String>,
    current: String,
    pending_space: bool,
}

impl Writer {
    fn text(&mut self, t: &str) {
        for c in t.chars() {
            if c.is_whitespace() {
                if !self.current.is_empty() {
                    self.pending_space = true;
                }
            } else {
                if self.pending_space {
                    self.current.push(' ');
                    self.pending_space = false;
                }
                self.current.push(c);
            }
        }
    }

    fn newline(&mut self) {
        self.pending_space = false;
        let line = std::mem::take(&mut self.current);
        if !line.is_empty() {
            self.lines.push(line);
        }
    }

    fn finish(mut self) -> String {
        self.newline();
        let mut s = self.lines.join("\n");
        if !s.is_empty() {
            s.push('\n');
        }
        s
    }
}

/// Nesting depth beyond which an element's text is taken flat (no recursion), so that a
/// pathological page cannot overflow the stack.
const MAX_DEPTH: usize = 200;

fn walk(e: ElementRef<'_>, out: &mut Writer) {
    walk_at(e, out, 0)
}

fn walk_at(e: ElementRef<'_>, out: &mut Writer, depth: usize) {
    if is_chrome(e) {
        return;
    }
    let block = BLOCK_TAGS.contains(&e.value().name());
    if block {
        out.newline();
    }
    if depth >= MAX_DEPTH {
        for t in e.text() {
            out.text(t);
        }
    } else {
        for child in e.children() {
            match child.value() {
                Node::Text(t) => out.text(t),
                Node::Element(_) => {
                    if let Some(ce) = ElementRef::wrap(child) {
                        walk_at(ce, out, depth + 1);
                    }
                }
                _ => {}
            }
        }
    }
    if block {
        out.newline();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_chrome_and_keeps_blocks() {
        let html = r#"<html><head><title>t</title><script>var x=1;</script></head><body>
            <div class="nav-bar"><a>首页</a><a>政务公开</a></div>
            <div class="breadcrumb">当前位置：首页 &gt; 政务公开</div>
            <h1>红崖乡2024年法治政府建设情况报告</h1>
            <div id="zoom"><p>　　一、工作开展情况</p><p>一是加强<b>组织</b>领导。</p>
            <div class="share">分享到：微信</div></div>
            <footer>版权所有</footer></body></html>"#;
        let t = extract_text(html);
        assert_eq!(
            t,
            "红崖乡2024年法治政府建设情况报告\n一、工作开展情况\n一是加强组织领导。\n"
        );
    }

    #[test]
    fn title_inside_the_container_is_not_repeated() {
        let html = "<h1>站点名称</h1><article><h1>报告标题</h1><p>正文。</p></article>";
        assert_eq!(extract_text(html), "报告标题\n正文。\n");
    }

    #[test]
    fn deeply_nested_markup_does_not_overflow_the_stack() {
        let depth = 3_000; // > MAX_DEPTH; html5ever itself is quadratic in depth, keep it small
        let html = format!("{}红崖乡{}", "<div>".repeat(depth), "</div>".repeat(depth));
        assert_eq!(extract_text(&html), "红崖乡\n");
    }

    #[test]
    fn meta_charset_is_read() {
        let e = declared_charset(
            b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\">",
        );
        assert_eq!(e.map(|e| e.name()), Some("GBK"));
        let e = declared_charset(b"<meta charset='utf-8'>");
        assert_eq!(e.map(|e| e.name()), Some("UTF-8"));
    }
}
