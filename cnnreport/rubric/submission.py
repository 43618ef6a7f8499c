"""A report folder as the rubric check sees it: report.json plus the rendered HTML and PDF.

Read once, lazily, and tolerant of damage: a missing PDF or an unreadable HTML file is a fact
the checks report (and score), not an exception. Only a folder that is not a cnnreport report at
all (no report.json, or one that is not a JSON object) raises `NotAReport`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from cnnreport.errors import UserError

REPORT_FILE = "report.json"
HTML_FILE = "report.html"
PDF_FILE = "report.pdf"

# A number as the report prints it: optional sign, digits with thousands commas, decimals.
# Not part of a word (hashes, run ids, "conv1") and not a version's middle part.
NUMBER = re.compile(r"(?<![\w.])[-+−]?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.])[-+−]?\d+(?:\.\d+)?(?![\w])")


class NotAReport(UserError):
    """The folder is not a cnnreport report (or its report.json is unreadable)."""


def numbers_in(text: str) -> list[str]:
    """The number tokens of a text, as printed (unicode minus folded to '-')."""
    return [m.group(0).replace("−", "-") for m in NUMBER.finditer(text)]


def number_value(token: str) -> float:
    return float(token.replace(",", "").replace("−", "-"))


def decimals(token: str) -> int:
    return len(token.split(".", 1)[1]) if "." in token else 0


def is_measurement(token: str) -> bool:
    """A number that states a result (has decimals or thousands separators), not a page number."""
    return "." in token or "," in token


def words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z][A-Za-z'’-]*", text)


def squash(text: str) -> str:
    """Whitespace-insensitive form for finding a phrase in text extracted from a PDF."""
    return re.sub(r"\s+", "", text).lower()


@dataclass
class HtmlText:
    """Visible text of report.html, split by <section id>, with headings and image sources."""

    sections: dict[str, list[str]] = field(default_factory=dict)  # id -> text chunks
    headings: dict[str, str] = field(default_factory=dict)  # section id -> its <h2> text
    images: list[str] = field(default_factory=list)  # <img src> in document order
    # (section id, text) for every text chunk, in order: numbers keep their context.
    chunks: list[tuple[str, str]] = field(default_factory=list)
    pending: dict[str, list[str]] = field(default_factory=dict)  # section id -> "not yet" notes

    def text(self, section: str | None = None) -> str:
        if section is None:
            return " ".join(t for _, t in self.chunks)
        return " ".join(self.sections.get(section, []))


class _Parser(HTMLParser):
    SKIP = {"style", "script", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = HtmlText()
        self._section = ""
        self._stack: list[tuple[str, str, bool, bool]] = []  # tag, section, in_h2, pending
        self._skip = 0
        self._h2 = False
        self._pending = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("img", "br", "meta", "link", "hr", "input"):
            if tag == "img" and a.get("src"):
                self.out.images.append(a["src"] or "")
            return
        self._stack.append((tag, self._section, self._h2, self._pending))
        if tag in self.SKIP:
            self._skip += 1
        if tag == "section":
            self._section = a.get("id") or a.get("class") or ""
        if tag == "h2":
            self._h2 = True
        if "pending" in (a.get("class") or "").split():
            self._pending = True

    def handle_endtag(self, tag: str) -> None:
        # Pop to the matching tag (tolerates unclosed <p>, <li>, <td>).
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                for t, *_ in self._stack[i:]:
                    if t in self.SKIP:
                        self._skip -= 1
                _, self._section, self._h2, self._pending = self._stack[i]
                del self._stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if self._skip or not data.strip():
            return
        text = " ".join(data.split())
        sec = self._section
        self.out.chunks.append((sec, text))
        self.out.sections.setdefault(sec, []).append(text)
        if self._h2:
            self.out.headings[sec] = (self.out.headings.get(sec, "") + " " + text).strip()
        if self._pending:
            self.out.pending.setdefault(sec, []).append(text)


def parse_html(html: str) -> HtmlText:
    p = _Parser()
    p.feed(html)
    p.close()
    return p.out


class Submission:
    """One report folder. The build checks before it writes anything: it hands in `report`
    (report.json's content), `html` (the HTML just rendered) and `rendered` (what report.json
    renders to, which is that same HTML), so nothing is read back or rendered twice."""

    def __init__(self, folder: str | Path, report: dict[str, Any] | None = None, *,
                 runs_dir: str | Path | None = None, read_pdf: bool = True,
                 html: str | None = None, rendered: str | None = None) -> None:
        self.folder = Path(folder)
        self._report = report
        self._html = html
        self.rendered = rendered
        self._runs_dir = Path(runs_dir) if runs_dir else None
        self.read_pdf = read_pdf
        self.notes: list[str] = []
        self.integrity: Any = None  # integrity.Integrity, computed once by integrity.verify

    # ------------------------------------------------------------------ report.json
    @cached_property
    def report(self) -> dict[str, Any]:
        if self._report is not None:
            return self._report
        path = self.folder / REPORT_FILE
        if not self.folder.is_dir():
            raise NotAReport(f"{self.folder}: not a folder")
        if not path.is_file():
            raise NotAReport(f"{self.folder}: not a cnnreport report (no {REPORT_FILE})")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise NotAReport(f"{path}: damaged report.json ({exc})") from None
        if not isinstance(data, dict) or "models" not in data:
            raise NotAReport(f"{path}: not a cnnreport report.json (no 'models' key)")
        return data

    def get(self, dotted: str, default: Any = None) -> Any:
        """report.json value at 'a.b.c' (None/default where absent)."""
        cur: Any = self.report
        for part in dotted.split("."):
            if not isinstance(cur, dict) or part not in cur:
                return default
            cur = cur[part]
        return cur

    def models(self, role: str | None = None) -> list[dict[str, Any]]:
        ms = [m for m in (self.report.get("models") or []) if isinstance(m, dict)]
        return [m for m in ms if role is None or m.get("role") == role]

    def model(self, role: str) -> dict[str, Any] | None:
        return next(iter(self.models(role)), None)

    # ------------------------------------------------------------------ rendered files
    @cached_property
    def html_source(self) -> str | None:
        if self._html is not None:
            return self._html
        try:
            return (self.folder / HTML_FILE).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    @cached_property
    def html(self) -> HtmlText | None:
        return parse_html(self.html_source) if self.html_source is not None else None

    @cached_property
    def pdf_pages(self) -> list[str] | None:
        """Text of each PDF page (pypdf), or None when absent, unreadable or not read."""
        if not self.read_pdf:
            return None
        path = self.folder / PDF_FILE
        if not path.is_file():
            return None
        try:
            import logging

            from pypdf import PdfReader

            logging.getLogger("pypdf").setLevel(logging.ERROR)
            return [page.extract_text() or "" for page in PdfReader(str(path)).pages]
        except Exception as exc:  # noqa: BLE001 - any parser failure means "damaged PDF"
            self.notes.append(f"report.pdf unreadable ({type(exc).__name__}: {exc})")
            return None

    @cached_property
    def pdf_text(self) -> str | None:
        return None if self.pdf_pages is None else "\n".join(self.pdf_pages)

    @property
    def pdf_state(self) -> str:
        """'read', 'skipped' (the build checks before the PDF exists), 'missing' or 'damaged'."""
        if not self.read_pdf:
            return "skipped"
        if not (self.folder / PDF_FILE).is_file():
            return "missing"
        return "read" if self.pdf_pages is not None else "damaged"

    # ------------------------------------------------------------------ runs
    @cached_property
    def runs_dir(self) -> Path | None:
        """Where the run records are: given, or beside the report (submission or workspace layout)."""
        if self._runs_dir is not None:
            return self._runs_dir if self._runs_dir.is_dir() else None
        name = str(self.get("study.name") or "")
        candidates = [self.folder / "runs" / name, self.folder / "runs"]
        if name:
            candidates.append(self.folder.parent.parent / "runs" / name)
        for c in candidates:
            if c.is_dir() and any((c / r.get("run_id", "") / "run.json").is_file()
                                  for r in self.get("runs") or [] if isinstance(r, dict) and r.get("run_id")):
                return c
        return None
