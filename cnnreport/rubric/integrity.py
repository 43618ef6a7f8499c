"""Were the report's numbers edited by hand? Three comparisons, each naming what differs.

1. report.html against report.json: the HTML is re-rendered from report.json with the same
   templates and the two texts' numbers are aligned in order; a number the HTML prints that the
   re-render does not is an edit. Only the stretch between the first and the last difference is
   aligned, and only while it is short enough (ALIGN_LIMIT): a longer one is named as one
   difference, so a hostile report's size cannot stall the check (alignment is quadratic).
2. report.pdf against report.html: the PDF's result numbers (those with decimals or thousands
   separators; page numbers are bare integers) must all be numbers the HTML prints.
3. report.json against runs/ (when the run records are at hand): each run.json must still hash to
   the sha256 the report was built from, each run must have been trained on the data the report
   describes (its data fingerprint), and each model's per-seed test accuracies, and parameter
   count, must be those of its runs.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Literal

from cnnreport.formatting import fmt_num

from cnnreport.report.html import html_from_context
from cnnreport.rubric.result import IntegrityPart, IntegrityResult
from cnnreport.rubric.submission import (
    Submission,
    is_measurement,
    numbers_in,
    parse_html,
)

MAX_LISTED = 5  # differences named per comparison; the rest are counted
# Numbers on each side of the differing stretch that are aligned one by one (about 1 s at worst:
# SequenceMatcher is quadratic when a text repeats few distinct numbers). A real report prints
# a few thousand numbers, so an edit anywhere in it is still aligned and named.
ALIGN_LIMIT = 4000


@dataclass
class Part:
    name: Literal["html", "pdf", "runs"]
    ok: bool | None  # None: could not be compared (says why in detail)
    detail: str
    differences: list[str] = field(default_factory=list)


@dataclass
class Integrity:
    parts: list[Part]

    @property
    def ok(self) -> bool:
        """Every comparison that applies was made and agreed."""
        # The HTML comparison must have been made; the PDF and runs ones count where they apply.
        return not any(p.ok is False for p in self.parts) and \
            any(p.name == "html" and p.ok for p in self.parts)

    @property
    def differences(self) -> list[str]:
        return [d for p in self.parts for d in p.differences]

    def summary(self) -> str:
        return "; ".join(p.detail for p in self.parts)

    def as_result(self) -> IntegrityResult:
        return IntegrityResult(ok=self.ok, differences=self.differences,
                               parts=[IntegrityPart(name=p.name, ok=p.ok, detail=p.detail) for p in self.parts])


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _context_tokens(chunks: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(number, section, a few words before it) for every number of the visible text."""
    out: list[tuple[str, str, str]] = []
    recent: list[str] = []  # the words before, across table cells, within one section
    last_section = None
    for section, text in chunks:
        if section != last_section:
            recent, last_section = [], section
        rest = text
        for tok in numbers_in(text):
            head, _, rest = rest.partition(tok)
            recent = (recent + head.split())[-4:]
            out.append((tok, section, " ".join(recent)))
            recent = (recent + [tok])[-4:]
        recent = (recent + rest.split())[-4:]
    return out


def _more(n: int) -> str:
    return f" (and {n - MAX_LISTED} more)" if n > MAX_LISTED else ""


def _differing(a: list[str], b: list[str], want: list[Any], have: list[Any]
               ) -> list[tuple[list[str], list[str], Any]]:
    """(expected numbers, printed numbers, where) for each stretch where `b` departs from `a`.

    Linear outside the stretch between the first and the last difference; that stretch is
    aligned only up to ALIGN_LIMIT numbers a side, else reported whole as one difference."""
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    if start == len(a) == len(b):
        return []
    end = 0  # numbers equal at the end of both
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    i_end, j_end = len(a) - end, len(b) - end

    def where(i: int, j: int) -> Any:
        return have[j] if j < len(have) else want[i] if i < len(want) else ("", "end", "the last number")

    if max(i_end - start, j_end - start) > ALIGN_LIMIT:
        return [(a[start:i_end], b[start:j_end], where(start, start))]
    sm = SequenceMatcher(a=a[start:i_end], b=b[start:j_end], autojunk=False)
    return [(a[start + i1:start + i2], b[start + j1:start + j2],
             have[start + j1] if j1 < j2 else where(start + i1, start + j1))
            for op, i1, i2, j1, j2 in sm.get_opcodes() if op != "equal"]


def _shown(tokens: list[str], limit: int = 12) -> str:
    if not tokens:
        return "nothing"
    more = f" … ({len(tokens)} numbers)" if len(tokens) > limit else ""
    return ", ".join(tokens[:limit]) + more


def html_vs_json(sub: Submission) -> Part:
    if sub.html is None:
        return Part("html", None, "report.html missing or unreadable: its numbers were not compared")
    # A report.json that parsed through the models renders: the templates read only those.
    expected = sub.rendered if sub.rendered is not None else html_from_context(sub.report)
    want = _context_tokens(parse_html(expected).chunks)
    have = _context_tokens(sub.html.chunks)
    diffs = [f"report.html §{ref[1] or 'title'} after “{ref[2]}”: prints {_shown(h)} where report.json "
             f"gives {_shown(w)}" for w, h, ref in _differing([t for t, _, _ in want], [t for t, _, _ in have],
                                                            want, have)]
    if diffs:
        return Part("html", False, f"report.html differs from report.json in {len(diffs)} place(s): "
                                   + "; ".join(diffs[:MAX_LISTED]) + _more(len(diffs)), diffs)
    return Part("html", True, f"report.html numbers equal report.json's ({len(have)} numbers)")


def pdf_vs_html(sub: Submission) -> Part:
    state = sub.pdf_state
    if state != "read" or sub.html is None:
        return Part("pdf", None, {"skipped": "report.pdf not compared (checked before the PDF is rendered)",
                                  "missing": "no report.pdf to compare",
                                  "damaged": "report.pdf unreadable: not compared"}.get(state, "no HTML to compare the PDF with"))
    html_nums = Counter(t for t in numbers_in(sub.html.text()) if is_measurement(t))
    pdf_nums = Counter(t for t in numbers_in(sub.pdf_text or "") if is_measurement(t))
    extra = pdf_nums - html_nums
    if extra:
        where = []
        for tok in list(extra)[:MAX_LISTED]:
            page = next((i + 1 for i, p in enumerate(sub.pdf_pages or []) if tok in numbers_in(p)), "?")
            where.append(f"{tok} (p. {page})")
        diffs = [f"report.pdf prints {w}, which report.html does not" for w in where]
        return Part("pdf", False, f"report.pdf has {sum(extra.values())} number(s) report.html lacks: "
                                  + ", ".join(where) + _more(len(extra)), diffs)
    return Part("pdf", True, f"report.pdf numbers all in report.html ({sum(pdf_nums.values())} numbers)")


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def json_vs_runs(sub: Submission) -> Part:
    runs = sub.report.runs
    if sub.runs_dir is None:
        return Part("runs", None, "run records not at hand: report.json not compared with runs/")
    diffs: list[str] = []
    records: dict[str, dict[str, Any]] = {}
    hashed = 0
    described = sub.report.dataset.fingerprint
    for r in runs:
        rid = r.run_id
        path = sub.run_record(rid)
        if path is None:
            diffs.append(f"run {rid[:80]!r} listed in report.json names no run folder inside {sub.runs_dir.name}/")
            continue
        if not path.is_file():
            diffs.append(f"run {rid} listed in report.json is missing from {sub.runs_dir.name}/")
            continue
        if r.sha256:
            hashed += 1
            if sha256_file(path) != r.sha256:
                diffs.append(f"runs/{rid}/run.json changed since the report was built (sha256 differs)")
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            diffs.append(f"runs/{rid}/run.json unreadable ({exc})")
            continue
        if not isinstance(record, dict):
            diffs.append(f"runs/{rid}/run.json is not a run record")
            continue
        records[rid] = record
        if record.get("data_fingerprint") != described:
            diffs.append(f"run {rid} was trained on data with fingerprint {record.get('data_fingerprint')}, "
                         f"but report.json describes data with fingerprint {described}")
    diffs += _models_vs_records(sub, records)
    if diffs:
        return Part("runs", False, "report.json differs from its runs: " + "; ".join(diffs[:MAX_LISTED])
                    + _more(len(diffs)), diffs)
    detail = f"report.json equals its {len(records)} run records"
    detail += f" ({hashed} sha256 match)" if hashed else " (report.json carries no run hashes)"
    return Part("runs", True, detail)


def _record_accuracy(record: dict[str, Any]) -> Any:
    """A run record's test accuracy as run.json holds it (None for a diverged run or a record not
    as cnnreport writes it: then it matches no number the report states)."""
    test = record.get("test")
    return test.get("accuracy") if isinstance(test, dict) and not record.get("diverged") else None


def _record_params(record: dict[str, Any]) -> Any:
    arch = record.get("architecture")
    return arch.get("params") if isinstance(arch, dict) else None


def _numbers(values: list[Any]) -> list[str]:
    return [fmt_num(v, 4) if isinstance(v, (int, float)) else str(v) for v in values]


def _models_vs_records(sub: Submission, records: dict[str, dict[str, Any]]) -> list[str]:
    """Each model's per-seed test accuracies, their mean and its parameter count against its runs."""
    diffs = []
    for m in sub.report.models:
        have = [records[i] for i in m.run_ids if i in records]
        if len(have) != len(m.run_ids):
            continue  # missing runs already named
        values = [_record_accuracy(r) for r in have if not r.get("diverged")]
        stated = m.test_accuracy.values
        if len(values) != len(stated) or not all(_close(a, b) for a, b in zip(values, stated)):
            diffs.append(f"models[{m.name}].test_accuracy: report.json {_numbers(stated)}, runs {_numbers(values)}")
        elif values and not _close(sum(values) / len(values), m.test_accuracy.mean):
            diffs.append(f"models[{m.name}].test_accuracy.mean {m.test_accuracy.mean} is not the "
                         f"mean of its runs ({fmt_num(sum(values) / len(values), 4)})")
        params = {_record_params(r) for r in have}
        if have and params != {m.params}:
            diffs.append(f"models[{m.name}].params: report.json {m.params}, runs {sorted(params, key=str)}")
    return diffs


def verify(sub: Submission) -> Integrity:
    """All three comparisons, made once per submission (the rubric item and the score share them)."""
    if sub.integrity is None:
        sub.integrity = Integrity([html_vs_json(sub), pdf_vs_html(sub), json_vs_runs(sub)])
    return sub.integrity
