//! The reader, given real files of every supported format (fixtures/formats, made by
//! fixtures/formats/make_fixtures.py from fixtures/reports/r07.txt) and bad input generated
//! here: good files decode to the report text, bad ones give an error naming the file.

use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};
use township_digest::document::Format;
use township_digest::read::{discover, read_document, ReadError};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/formats")
        .join(name)
}

/// r07's text as the reader should give it for any format: its non-empty lines, `\n`-ended.
fn r07_lines() -> String {
    let raw =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/reports/r07.txt"))
            .unwrap();
    raw.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("{}\n", l.trim()))
        .collect()
}

const SENTENCES: &[&str] = &[
    "柳坪县红崖乡2024年法治政府建设情况报告",
    "深入村社、学校、集市开展法治宣传活动19场次，受益群众1300余人次，发放各类宣传资料2100余份",
    "三是受经费制约，普法资料和宣传品配发数量偏少，个别村的法治宣传栏内容长期未更新。",
    "下一步，我乡将着力抓好以下工作：",
];

fn assert_is_r07(path: &Path, format: Format) -> township_digest::document::SourceDocument {
    let doc = read_document(path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc.format, format);
    for s in SENTENCES {
        assert!(
            doc.text.contains(s),
            "{} lacks {s}:\n{}",
            path.display(),
            doc.text
        );
    }
    assert_eq!(doc.text, r07_lines(), "{}", path.display());
    let bytes = fs::read(path).unwrap();
    assert_eq!(doc.sha256, hex::encode(Sha256::digest(&bytes)));
    doc
}

#[test]
fn gbk_txt_with_crlf_decodes_to_the_report() {
    let doc = assert_is_r07(&fixture("r07_gbk.txt"), Format::Txt);
    assert_eq!(doc.encoding.as_deref(), Some("GBK"));
    assert!(!doc.text.contains('\r'));
}

#[test]
fn utf8_bom_is_stripped() {
    let doc = assert_is_r07(&fixture("r07_bom.md"), Format::Md);
    assert_eq!(doc.encoding.as_deref(), Some("UTF-8"));
    assert!(!doc.text.starts_with('\u{feff}'));
}

#[test]
fn portal_html_gives_the_report_without_nav_scripts_or_footer() {
    for (name, enc) in [("r07_portal.html", "UTF-8"), ("r07_gb2312.htm", "GBK")] {
        let doc = assert_is_r07(&fixture(name), Format::Html);
        assert_eq!(doc.encoding.as_deref(), Some(enc));
        for chrome in [
            "首页",
            "政务公开",
            "当前位置",
            "_hmt",
            "统计代码",
            "alert",
            "分享到",
            "版权所有",
            "相关栏目",
            "无障碍",
            "color:",
        ] {
            assert!(!doc.text.contains(chrome), "{name} keeps {chrome:?}");
        }
    }
}

#[test]
fn html_without_content_container_keeps_body_blocks_and_clutter_lines_for_the_normaliser() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.htm");
    fs::write(
        &page,
        "<html><body><ul class=\"main-nav\"><li>首页</li><li>机构设置</li></ul>\
         <div class=\"crumbs\">您现在的位置：首页</div><script>var a='脚本';</script>\
         <div><h2>红崖乡2024年法治政府建设情况报告</h2><span>发布时间：2025-01-08</span>\
         <p>一、工作开展情况</p><table><tr><td>排查纠纷</td><td>34起</td></tr></table></div>\
         <div id=\"footer\">版权所有</div></body></html>",
    )
    .unwrap();
    let doc = read_document(&page).unwrap();
    assert_eq!(
        doc.text,
        "红崖乡2024年法治政府建设情况报告\n发布时间：2025-01-08\n一、工作开展情况\n排查纠纷\n34起\n"
    );
}

#[test]
fn docx_paragraphs_in_order_without_deleted_text_or_field_codes() {
    let doc = assert_is_r07(&fixture("r07.docx"), Format::Docx);
    assert_eq!(doc.encoding, None);
    assert!(!doc.text.contains("已删除文字"));
    assert!(!doc.text.contains("PAGE"));
}

#[test]
fn pdf_text_layer_is_read_and_broken_lines_rejoined() {
    let doc = assert_is_r07(&fixture("r07.pdf"), Format::Pdf);
    assert_eq!(doc.encoding, None);
}

#[test]
fn pdf_without_text_layer_is_a_clear_error() {
    let path = fixture("scanned.pdf");
    let err = read_document(&path).unwrap_err();
    assert_eq!(err.path, path);
    assert!(err.reason.contains("no text layer"), "{err}");
    assert!(err.to_string().contains("scanned.pdf"));
}

#[test]
fn pdf_the_library_cannot_decode_is_a_clear_error_not_a_panic() {
    // Non-embedded CID font with encoding UniGB-UCS2-H: pdf-extract panics on it.
    let path = fixture("cid_unembedded.pdf");
    let err = read_document(&path).unwrap_err();
    assert_eq!(err.path, path);
    assert!(
        err.reason
            .starts_with("cannot read PDF: the PDF library failed on this file"),
        "{err}"
    );
    assert!(err.to_string().contains("cid_unembedded.pdf"));
}

/// A folder mixing good reports with every kind of bad input.
struct Mixed {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn mixed_folder() -> Mixed {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let sub = root.join("县/乡");
    fs::create_dir_all(&sub).unwrap();
    for (name, to) in [
        ("r07_gbk.txt", root.join("a_gbk.txt")),
        ("r07.docx", sub.join("b.DOCX")),
        ("r07_portal.html", sub.join("c.html")),
        ("r07.pdf", root.join("d.pdf")),
        ("scanned.pdf", root.join("scanned.pdf")),
        ("cid_unembedded.pdf", root.join("cid.pdf")),
    ] {
        fs::copy(fixture(name), to).unwrap();
    }
    fs::write(root.join("empty.txt"), b"").unwrap();
    let noise: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).rotate_left(7) >> 11) as u8)
        .collect();
    fs::write(root.join("random.txt"), &noise).unwrap();
    let docx = fs::read(fixture("r07.docx")).unwrap();
    fs::write(sub.join("truncated.docx"), &docx[..docx.len() / 2]).unwrap();
    fs::write(
        root.join("garbage.pdf"),
        b"%PDF-1.7\n1 0 obj <</Type/Catalog>> endobj\n%%EOF",
    )
    .unwrap();
    let big = fs::File::create(root.join("huge.txt")).unwrap();
    big.set_len(50 * 1024 * 1024).unwrap();
    // skipped silently inside folders
    fs::write(root.join("table.xls"), b"xls").unwrap();
    fs::write(root.join("r07.gold.json"), b"{}").unwrap();
    fs::write(root.join(".hidden.txt"), "隐藏文件").unwrap();
    fs::write(root.join(".tmp-abc.tmp"), "临时文件").unwrap();
    fs::create_dir(root.join(".git")).unwrap();
    fs::write(root.join(".git/x.txt"), "git").unwrap();
    Mixed { _dir: dir, root }
}

fn reason_for<'a>(errors: &'a [ReadError], name: &str) -> &'a str {
    errors
        .iter()
        .find(|e| e.path.file_name().and_then(|n| n.to_str()) == Some(name))
        .map(|e| e.reason.as_str())
        .unwrap_or_else(|| panic!("no error for {name}: {errors:?}"))
}

#[test]
fn folder_mixing_bad_input_still_reads_every_good_report() {
    let m = mixed_folder();
    let (files, errors) = discover(std::slice::from_ref(&m.root));
    assert!(errors.is_empty(), "{errors:?}");
    let names: Vec<String> = files
        .iter()
        .map(|p| {
            p.strip_prefix(&m.root)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "a_gbk.txt",
            "cid.pdf",
            "d.pdf",
            "empty.txt",
            "garbage.pdf",
            "huge.txt",
            "random.txt",
            "scanned.pdf",
            "县/乡/b.DOCX",
            "县/乡/c.html",
            "县/乡/truncated.docx",
        ]
    );

    let mut good = Vec::new();
    let mut bad = Vec::new();
    for f in &files {
        match read_document(f) {
            Ok(doc) => good.push(doc),
            Err(e) => {
                assert_eq!(&e.path, f);
                let name = f.file_name().unwrap().to_string_lossy().into_owned();
                assert!(e.to_string().contains(&name), "{e}");
                bad.push(e);
            }
        }
    }
    assert_eq!(good.len(), 4);
    for doc in &good {
        assert_eq!(doc.text, r07_lines(), "{}", doc.source.display());
    }
    assert_eq!(bad.len(), 7);
    assert!(reason_for(&bad, "cid.pdf").starts_with("cannot read PDF"));
    assert_eq!(reason_for(&bad, "empty.txt"), "empty file");
    assert_eq!(
        reason_for(&bad, "random.txt"),
        "not text (binary or unknown encoding)"
    );
    assert!(reason_for(&bad, "truncated.docx").contains("not a valid .docx"));
    assert!(reason_for(&bad, "huge.txt").contains("file too large (50.0 MB"));
    assert!(reason_for(&bad, "scanned.pdf").contains("no text layer"));
    assert!(reason_for(&bad, "garbage.pdf").starts_with("cannot read PDF"));
}

#[test]
fn explicit_inputs_unsupported_missing_duplicated() {
    let m = mixed_folder();
    let xls = m.root.join("table.xls");
    let missing = m.root.join("nope.txt");
    let gbk = m.root.join("a_gbk.txt");
    let inputs = vec![
        gbk.clone(),
        xls.clone(),
        missing.clone(),
        m.root.join("县"),
        gbk.clone(),
    ];
    let (files, errors) = discover(&inputs);
    assert_eq!(
        files,
        [
            gbk,
            m.root.join("县/乡/b.DOCX"),
            m.root.join("县/乡/c.html"),
            m.root.join("县/乡/truncated.docx"),
        ]
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].path, xls);
    assert!(errors[0]
        .to_string()
        .contains("table.xls: unsupported file type"));
    assert_eq!(errors[1].path, missing);
    assert!(errors[1]
        .to_string()
        .contains("nope.txt: no such file or directory"));
    // read_document refuses an unsupported type too, naming it
    let err = read_document(&xls).unwrap_err();
    assert!(err.to_string().contains("table.xls"));
}

#[test]
fn content_decides_when_the_extension_lies() {
    let dir = tempfile::tempdir().unwrap();
    let pdf_as_txt = dir.path().join("report.txt");
    fs::copy(fixture("r07.pdf"), &pdf_as_txt).unwrap();
    let doc = read_document(&pdf_as_txt).unwrap();
    assert_eq!(doc.format, Format::Pdf);
    assert_eq!(doc.text, r07_lines());

    let html_as_txt = dir.path().join("saved_page.txt");
    fs::copy(fixture("r07_portal.html"), &html_as_txt).unwrap();
    let doc = read_document(&html_as_txt).unwrap();
    assert_eq!(doc.format, Format::Html);
    assert!(!doc.text.contains("首页"));

    let old_doc = dir.path().join("old.docx");
    let mut bytes = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    bytes.extend_from_slice(&[0u8; 512]);
    fs::write(&old_doc, bytes).unwrap();
    let err = read_document(&old_doc).unwrap_err();
    assert!(
        err.to_string()
            .contains("old.docx: an old binary Word .doc"),
        "{err}"
    );
}

#[test]
fn whitespace_only_and_utf16_text() {
    let dir = tempfile::tempdir().unwrap();
    let blank = dir.path().join("blank.md");
    fs::write(&blank, " \r\n\t\n").unwrap();
    let err = read_document(&blank).unwrap_err();
    assert!(err.to_string().contains("blank.md: no text"), "{err}");

    let u16 = dir.path().join("u16.txt");
    let mut bytes = vec![0xFF, 0xFE];
    for unit in "红崖乡\r\n法治".encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    fs::write(&u16, bytes).unwrap();
    let doc = read_document(&u16).unwrap();
    assert_eq!(doc.text, "红崖乡\n法治");
    assert_eq!(doc.encoding.as_deref(), Some("UTF-16LE"));
}
