"""A report folder as the rubric check sees it: report.json plus the rendered HTML and PDF.

Read once, lazily. report.json is parsed through the report's own models
(rubric/report_json.py): a folder without one, or with one that is not JSON, raises `NotAReport`;
one that breaks the contract raises `MalformedReport`, naming each field and what was expected.
A missing PDF or an unreadable HTML file is a fact the checks report (and score), not an
exception.

A submission is untrusted: every path it names (a figure's file, its study's name, a run id) and
every file it holds (which may be a link) is resolved first and read only when it stays inside
the submission folder (`inside`); a path that leads out reads as absent, with the reason.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from functools import cached_property
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from cnnreport.errors import UserError
from cnnreport.report.content import ReportContent
from cnnreport.results.checklist import LabJudgements, judge_questions
from cnnreport.results.findings import Comparison, primary_comparison
from cnnreport.results.summaries import ModelSummary, roles
from cnnreport.rubric.report_json import MalformedReport, parse_report

REPORT_FILE = "report.json"
HTML_FILE = "report.html"
PDF_FILE = "report.pdf"

# A number as the report prints it: optional sign, digits with thousands commas, decimals.
# Not part of a word (hashes, run ids, "conv1") and not a version's middle part.
NUMBER = re.compile(r"(?<![\w.])[-+−]?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.])[-+−]?\d+(?:\.\d+)?(?![\w])")


# A study name or run id as cnnreport writes them: one plain file name, never a path.
PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
OUTSIDE = "leads outside the submission folder (not read)"


class NotAReport(UserError):
    """The folder is not a cnnreport report (or its report.json is unreadable)."""


class InvalidReport(NotAReport):
    """report.json is JSON but not as cnnreport writes it; `problems` name each field."""

    def __init__(self, message: str, problems: list[str]):
        super().__init__(message)
        self.problems = problems


def inside(base: Path, relative: str | Path) -> Path | None:
    """`base / relative` with links and '..' resolved, or None when that leaves `base`."""
    root = Path(base).resolve()
    try:
        path = (root / relative).resolve()
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL byte
        return None
    return path if path == root or path.is_relative_to(root) else None


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

    def __init__(self, folder: str | Path, report: ReportContent | None = None, *,
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
    def report(self) -> ReportContent:
        """report.json through the report's models (the build hands in the content it checks)."""
        if self._report is not None:
            return self._report
        path = self.file(REPORT_FILE)
        if not self.folder.is_dir():
            raise NotAReport(f"{self.folder}: not a folder")
        if path is None:
            raise NotAReport(f"{self.folder}: {REPORT_FILE} {OUTSIDE}")
        if not path.is_file():
            raise NotAReport(f"{self.folder}: not a cnnreport report (no {REPORT_FILE})")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise NotAReport(f"{path}: damaged report.json ({exc})") from None
        try:
            return parse_report(text)
        except MalformedReport as exc:
            if not _looks_like_a_report(text):
                raise NotAReport(f"{path}: not a cnnreport report.json (no 'format' or 'models' key)") from None
            raise InvalidReport(f"{path}: {exc}", exc.problems) from None
        except ValueError as exc:  # json.JSONDecodeError, NaN or Infinity
            raise NotAReport(f"{path}: damaged report.json ({exc})") from None

    @cached_property
    def roles(self) -> dict[str, ModelSummary | None]:
        return roles(self.report.models)

    def model(self, role: str) -> ModelSummary | None:
        """The baseline or the reference CNN, as report.json states it."""
        return self.roles.get(role)

    @cached_property
    def primary(self) -> Comparison | None:
        """The reference CNN against the baseline."""
        return primary_comparison(self.report.comparisons)

    @cached_property
    def judgements(self) -> LabJudgements:
        """The lab's questions judged from report.json, as the report's checklist judged them
        (results/checklist.py): the rubric's items that ask them read these."""
        r = self.report
        return judge_questions(r.models, r.comparisons, r.experiment, r.headline.chance, r.study.seeds)

    def file(self, relative: str) -> Path | None:
        """A file of the submission, resolved; None when the path (or a link on it) leads out."""
        return inside(self.folder, relative) if isinstance(relative, str) else None

    # ------------------------------------------------------------------ rendered files
    @cached_property
    def html_source(self) -> str | None:
        if self._html is not None:
            return self._html
        path = self.file(HTML_FILE)
        if path is None:
            self.notes.append(f"{HTML_FILE} {OUTSIDE}")
            return None
        try:
            return path.read_text(encoding="utf-8")
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
        path = self.file(PDF_FILE)
        if path is None or not path.is_file():
            return None
        try:
            from pypdf import PdfReader  # a test extra: only when a PDF is read

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
        path = self.file(PDF_FILE)
        if path is None or not path.is_file():
            return "missing"
        return "read" if self.pdf_pages is not None else "damaged"

    # ------------------------------------------------------------------ runs
    def run_ids(self) -> list[str]:
        """report.json's run ids that are plain names (anything else names no run folder)."""
        return [r.run_id for r in self.report.runs if PLAIN_NAME.match(r.run_id)]

    def run_record(self, run_id: str) -> Path | None:
        """runs/<run-id>/run.json, when run_id is a plain name and the file stays in the runs folder."""
        if self.runs_dir is None or not PLAIN_NAME.match(run_id):
            return None
        return inside(self.runs_dir, f"{run_id}/run.json")

    @cached_property
    def runs_dir(self) -> Path | None:
        """Where the run records are: given by the grader, inside the submission (runs/<name>/ or
        runs/), or — the author's own workspace — reports/<name>/ beside runs/<name>/, taken only
        when the folder's own name is the study's (report.json cannot point elsewhere)."""
        if self._runs_dir is not None:
            return self._runs_dir if self._runs_dir.is_dir() else None
        name = self.report.study.name
        name = name if PLAIN_NAME.match(name) else ""
        candidates = [inside(self.folder, f"runs/{name}") if name else None, inside(self.folder, "runs")]
        if name and name == self.folder.resolve().name:
            candidates.append(self.folder.resolve().parent.parent / "runs" / name)
        ids = self.run_ids()
        for c in candidates:
            if c is not None and c.is_dir() and any(
                    (found := inside(c, f"{rid}/run.json")) is not None and found.is_file() for rid in ids):
                return c
        return None


def _looks_like_a_report(text: str) -> bool:
    """Whether a JSON object means to be a cnnreport report.json (has its `format` or `models`),
    so its problems are worth naming; anything else is simply not a report."""
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return isinstance(data, dict) and ("format" in data or "models" in data)
