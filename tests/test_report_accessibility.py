"""Accessible output, checked by tools nobody here wrote: report.html against html-validate's
`html-validate:recommended` rules (installed by `make test` where node is present), and the PDF's
tag tree (PDF/UA) read back with pypdf: headings, tables with header cells, figures with their
alt text, the document's language."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject

from helpers import html_validate_messages


def test_report_html_passes_html_validate_recommended(trained_study, tmp_path: Path) -> None:
    messages, problem = html_validate_messages(trained_study.report_dir / "report.html", tmp_path)
    assert not messages and not problem, messages[:20] or problem


class _Tags(HTMLParser):
    """Every <th> and its scope, inline styles, and rows outside a row group."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.th_without_scope = self.styles = self.loose_rows = self.images_without_alt = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.styles += "style" in a
        if tag == "th" and a.get("scope") not in ("row", "col", "rowgroup", "colgroup"):
            self.th_without_scope += 1
        if tag == "tr" and self.stack and self.stack[-1] == "table":
            self.loose_rows += 1
        if tag == "img" and not a.get("alt"):
            self.images_without_alt += 1
        if tag not in ("img", "br", "meta", "link", "col", "hr", "input"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop() != tag:
            pass


def test_report_html_has_scoped_headers_no_inline_styles_and_row_groups(trained_study) -> None:
    """The three defects html-validate reported, checked without node as well."""
    tags = _Tags()
    tags.feed((trained_study.report_dir / "report.html").read_text(encoding="utf-8"))
    assert (tags.th_without_scope, tags.styles, tags.loose_rows, tags.images_without_alt) == (0, 0, 0, 0)


def _walk(node: Any, out: list[DictionaryObject]) -> None:
    node = node.get_object() if hasattr(node, "get_object") else node
    if isinstance(node, ArrayObject):
        for child in node:
            _walk(child, out)
    elif isinstance(node, DictionaryObject) and "/S" in node:
        out.append(node)
        if "/K" in node:
            _walk(node["/K"], out)


def test_pdf_is_tagged_with_headings_tables_and_figure_alt_text(trained_study) -> None:
    reader = PdfReader(str(trained_study.report_dir / "report.pdf"))
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"]) and str(root["/Lang"]) == "en"
    assert 'pdfuaid:part="1"' in reader.xmp_metadata.stream.get_data().decode()  # declares PDF/UA-1
    elements: list[DictionaryObject] = []
    _walk(root["/StructTreeRoot"]["/K"], elements)
    kinds = [str(e["/S"]) for e in elements]
    for tag in ("/Document", "/H1", "/H2", "/H3", "/Table", "/TH", "/TD", "/Figure", "/Caption", "/P"):
        assert tag in kinds, tag
    report = trained_study.report()
    alts = sorted(str(e["/Alt"]) for e in elements if str(e["/S"]) == "/Figure")
    assert alts == sorted(f["alt"] for f in report["figures"])
    assert kinds.count("/H2") >= 8  # the numbered sections and the appendices
