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
import operator
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from array import array
from typing import Any, Iterator, Literal, Sequence

from cnnreport.formatting import fmt_num

from cnnreport.report.html import html_from_context
from cnnreport.rubric.result import IntegrityPart, IntegrityResult
from cnnreport.rubric.submission import (
    NUMBER,
    PDF_STATE_WORDS,
    Submission,
    is_measurement,
    iter_numbers,
    numbers_in,
    parse_html,
    too_large,
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
    digest = hashlib.sha256()
    with open(path, "rb") as f:  # in blocks: a run.json handed in may be any size
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------- numbers of a text, in one pass
#
# A text's numbers are compared as hashes in a flat array (8 bytes each), not as a list of
# strings with their context (about 200 bytes each): 7 million numbers in a 50 MB report are
# 56 MB, not 1.4 GB. The few numbers a difference shows, and the words before them, are found
# again by a second pass over the text. Every pass is linear in the text's length. Equal hashes
# of different numbers (a chance of about n²/2⁶⁴) would hide one edit; nothing else depends on it.

Chunks = list[tuple[str, str]]  # (section id, visible text) in document order


def _positions(chunks: Chunks) -> Iterator[tuple[str, int, int]]:
    """(number as printed, chunk index, offset in the chunk) for every number of the text."""
    for ci, (_, text) in enumerate(chunks):
        for m in NUMBER.finditer(text):
            yield m.group(0).replace("−", "-"), ci, m.start()


def _hashes(chunks: Chunks) -> array:
    out = array("q")
    for _, text in chunks:  # C loops only: about 0.1 s per million numbers
        out.extend(map(hash, map(_GROUP, NUMBER.finditer(text.replace("−", "-")))))
    return out


_GROUP = operator.methodcaller("group", 0)


WORDS_BEFORE = 4
LOOK_BACK = 400  # characters searched for the words before a number (a context, not evidence)


def _words_before(chunks: Chunks, ci: int, offset: int) -> str:
    """The last few words before a number, across the chunks (table cells) of its section."""
    section = chunks[ci][0]
    found = chunks[ci][1][max(0, offset - LOOK_BACK):offset].split()[-WORDS_BEFORE:]
    j = ci - 1
    while len(found) < WORDS_BEFORE and j >= 0 and chunks[j][0] == section:
        found = chunks[j][1][-LOOK_BACK:].split()[-(WORDS_BEFORE - len(found)):] + found
        j -= 1
    return " ".join(found)


@dataclass(frozen=True)
class Where:
    section: str
    before: str  # the words before the number


def _look_up(chunks: Chunks, tokens: set[int], places: set[int]) -> tuple[dict[int, str], dict[int, Where]]:
    """The numbers at `tokens` (indices in the text's numbers) and where those at `places` are."""
    found: dict[int, str] = {}
    where: dict[int, Where] = {}
    last = max(tokens | places, default=-1)
    for i, (tok, ci, offset) in enumerate(_positions(chunks)):
        if i > last:
            break
        if i in tokens:
            found[i] = tok
        if i in places:
            where[i] = Where(chunks[ci][0], _words_before(chunks, ci, offset))
    return found, where


def _more(n: int) -> str:
    return f" (and {n - MAX_LISTED} more)" if n > MAX_LISTED else ""


Stretch = tuple[range, range, int | None, int | None]  # want's, have's indices; where (have, want)


def _differing(a: Sequence[int], b: Sequence[int]) -> list[Stretch]:
    """(indices in a, indices in b, where) for each stretch where `b` departs from `a`; where is
    the index in `b` of the first differing number (None at the end of b), else in `a`.

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

    def at(i: int, j: int) -> tuple[int | None, int | None]:
        return (j if j < len(b) else None), (i if i < len(a) else None)

    if max(i_end - start, j_end - start) > ALIGN_LIMIT:
        return [(range(start, i_end), range(start, j_end), *at(start, start))]
    sm = SequenceMatcher(a=list(a[start:i_end]), b=list(b[start:j_end]), autojunk=False)
    return [(range(start + i1, start + i2), range(start + j1, start + j2),
             *(at(start + i1, start + j1) if j1 == j2 else (start + j1, None)))
            for op, i1, i2, j1, j2 in sm.get_opcodes() if op != "equal"]


SHOWN = 12  # numbers shown of one differing stretch


def _shown(indices: range, tokens: dict[int, str]) -> str:
    if not indices:
        return "nothing"
    more = f" … ({len(indices):,} numbers)" if len(indices) > SHOWN else ""
    return ", ".join(tokens[i] for i in indices[:SHOWN]) + more


def html_vs_json(sub: Submission) -> Part:
    if sub.html is None:
        return Part("html", None, "report.html missing or unreadable: its numbers were not compared")
    # A report.json that parsed through the models renders: the templates read only those.
    expected = sub.rendered if sub.rendered is not None else html_from_context(sub.report)
    want_chunks = parse_html(expected).chunks
    del expected  # a hostile report's rendering is as large as its text: not kept beside it
    have_chunks = sub.html.chunks
    want, have = _hashes(want_chunks), _hashes(have_chunks)
    stretches = _differing(want, have)
    if not stretches:
        return Part("html", True, f"report.html numbers equal report.json's ({len(have):,} numbers)")
    # The numbers shown and where each stretch is, found in one more pass over each text.
    want_tokens, want_where = _look_up(want_chunks, {i for w, _, _, _ in stretches for i in w[:SHOWN]},
                                       {i for _, _, j, i in stretches if j is None and i is not None})
    have_tokens, have_where = _look_up(have_chunks, {j for _, h, _, _ in stretches for j in h[:SHOWN]},
                                       {j for _, _, j, _ in stretches if j is not None})
    diffs = []
    for w, h, j, i in stretches:
        place = have_where[j] if j is not None else want_where[i] if i is not None else Where("end", "the last number")
        diffs.append(f"report.html §{place.section or 'title'} after “{place.before}”: prints "
                     f"{_shown(h, have_tokens)} where report.json gives {_shown(w, want_tokens)}")
    return Part("html", False, f"report.html differs from report.json in {len(diffs)} place(s): "
                               + "; ".join(diffs[:MAX_LISTED]) + _more(len(diffs)), diffs)


def pdf_vs_html(sub: Submission) -> Part:
    state = sub.pdf_state
    if state != "read" or sub.html is None:
        why = {"skipped": "report.pdf not compared (checked before the PDF is rendered)",
               "missing": "no report.pdf to compare"}.get(state, f"report.pdf {PDF_STATE_WORDS.get(state, state)}: "
                                                                 "not compared")
        return Part("pdf", None, why if sub.html is not None or state != "read" else "no HTML to compare the PDF with")
    # The PDF's result numbers, counted; the HTML's are streamed against them, so memory follows
    # the PDF's distinct numbers, never the HTML's length.
    extra = Counter(t for t in iter_numbers(sub.pdf_text or "") if is_measurement(t))
    printed = sum(extra.values())
    for _, text in sub.html.chunks:
        for tok in iter_numbers(text):
            if extra.get(tok):
                extra[tok] -= 1
    extra = +extra  # only those the HTML lacks
    if extra:
        where = []
        for tok in list(extra)[:MAX_LISTED]:
            page = next((i + 1 for i, p in enumerate(sub.pdf_pages or []) if tok in numbers_in(p)), "?")
            where.append(f"{tok} (p. {page})")
        diffs = [f"report.pdf prints {w}, which report.html does not" for w in where]
        return Part("pdf", False, f"report.pdf has {sum(extra.values())} number(s) report.html lacks: "
                                  + ", ".join(where) + _more(len(extra)), diffs)
    return Part("pdf", True, f"report.pdf numbers all in report.html ({printed:,} numbers)")


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
        if (why := too_large(path)) is not None:
            diffs.append(f"runs/{rid}/{why}")
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
