"""The class's grades as a CSV, in one of three column layouts, written row by row.

- `full` (the default): one row per submission with its status, scores, integrity, the other
  submissions it shares work with, the reproduction's verdict, and a column per criterion and
  item. For the grader's own analysis.
- `canvas`: Canvas's gradebook import (Grades → Import): `Student`, `ID`, `SIS User ID`,
  `SIS Login ID`, `Section`, then one assignment column named after the rubric, and the
  "Points Possible" row Canvas's own export has under its header. The student is the submission
  folder's name, written in `Student` and `SIS Login ID` (Canvas matches a row by one of them).
- `moodle`: Moodle's "Import grades → CSV file": a `username` column (the folder's name; map it
  to the user field the folders are named by), the grade and a one-line feedback column (map them
  to the grade item and its feedback).

Rows are written as each submission is graded and flushed to disk, so a batch killed half-way
keeps every finished row. `--resume` reads a file of the same layout and rubric back, keeps its
finished rows and grades only the others (a row over a budget is graded again). Without
`--resume` the file is started afresh. When the batch ends, the file is rewritten once, whole and
in the order the submissions were given, with the copy check's findings, which need every
submission (a batch killed before that keeps the rows as they were written).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from cnnreport.errors import UserError
from cnnreport.files import write_text
from cnnreport.formatting import fmt_points
from cnnreport.rubric.copies import describe as describe_shared
from cnnreport.rubric.result import CheckResult, Graded, Reproduction, SharedWith
from cnnreport.rubric.schema import Rubric

Layout = Literal["full", "canvas", "moodle"]
LAYOUTS = get_args(Layout)
CANVAS_IDS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
POINTS_POSSIBLE = "    Points Possible"  # how Canvas's export labels that row (leading spaces its own)
RETRY_MARK = "(graded again by --resume)"


def reproduced_words(r: Reproduction | None) -> str:
    if r is None:
        return ""
    if r.passed is None:
        return f"not attempted: {r.problem}"
    failed = [run for run in r.runs if not run.passed]
    return ("reproduced" if r.passed else "NOT reproduced") + f" ({len(r.runs) - len(failed)} of {len(r.runs)} runs; " \
        f"seed {r.seed})" + (f": {r.problem}" if r.problem else "")


def header(layout: Layout, rubric: Rubric) -> list[str]:
    if layout == "canvas":
        return CANVAS_IDS + [rubric.title]
    if layout == "moodle":
        return ["username", rubric.title, "feedback"]
    return (["student", "submission", "status", "earned", "automatic", "human", "bonus_earned", "integrity",
             "shared_with", "reproduced"]
            + [c.id for c in rubric.criteria] + [i.id for _, i in rubric.items()])


def key_of(layout: Layout) -> str:
    """The column a row is found again by."""
    return {"canvas": "Student", "moodle": "username"}.get(layout, "submission")


def row(layout: Layout, rubric: Rubric, student: str, result: Graded, shared: list[SharedWith] | None = None,
        reproduction: Reproduction | None = None) -> list[Any]:
    graded = isinstance(result, CheckResult)
    earned = _total(result) if graded else ""
    if layout == "canvas":
        return [student, "", "", student, "", earned]
    if layout == "moodle":
        feedback = result.score.line if isinstance(result, CheckResult) else f"not graded: {result.error}"
        return [student, earned, feedback]
    width = len(header(layout, rubric))
    if not isinstance(result, CheckResult):
        status = result.error + (f" {RETRY_MARK}" if result.retry else "")
        return [student, result.report_dir, status] + [""] * (width - 3)
    s = result.score
    out = [student, result.report_dir, "ok" if s.integrity else "integrity: " + "; ".join(result.integrity.differences[:3]),
           s.earned, s.automatic, s.human, s.bonus_earned, s.integrity, describe_shared(shared or []),
           reproduced_words(reproduction)]
    out += [c.earned for c in result.criteria]
    out += ["human" if i.kind == "human" else i.earned for c in result.criteria for i in c.items]
    return out


def _total(result: CheckResult) -> str:
    """The points verified, bonus included: what a gradebook records before a reader adds theirs."""
    return fmt_points(result.score.earned + result.score.bonus_earned)


@dataclass
class Sheet:
    """The CSV being written: rows appended and flushed as submissions finish."""

    path: Path
    layout: Layout
    rubric: Rubric
    kept: dict[str, list[str]] = field(default_factory=dict)  # key -> row read back by --resume
    _file: Any = None
    _writer: Any = None

    @classmethod
    def open(cls, path: Path, layout: Layout, rubric: Rubric, resume: bool) -> "Sheet":
        sheet = cls(Path(path), layout, rubric)
        head = header(layout, rubric)
        if resume and sheet.path.is_file():
            sheet.kept = sheet._read_back(head)
            sheet._file = open(sheet.path, "a", newline="", encoding="utf-8")
            sheet._writer = csv.writer(sheet._file)
        else:
            sheet._file = open(sheet.path, "w", newline="", encoding="utf-8")
            sheet._writer = csv.writer(sheet._file)
            for line in sheet._head_rows():
                sheet._write(line)
        return sheet

    def _head_rows(self) -> list[list[Any]]:
        """The header, and under it the "Points Possible" row a Canvas export has."""
        head: list[list[Any]] = [header(self.layout, self.rubric)]
        if self.layout == "canvas":
            head.append([POINTS_POSSIBLE, "", "", "", "", fmt_points(self.rubric.total)])
        return head

    def _read_back(self, head: list[str]) -> dict[str, list[str]]:
        """The finished rows of a file this layout and rubric wrote; a last row cut off by a kill
        is dropped (the file is truncated to its last complete line)."""
        whole = self.path.read_bytes()
        data = whole if not whole or whole.endswith(b"\n") else whole[: whole.rfind(b"\n") + 1]
        try:
            rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise UserError(f"{self.path}: not a grades file --resume can continue ({type(exc).__name__}); "
                            "remove it or name another") from None
        if not rows or rows[0] != head:
            raise UserError(f"{self.path}: not a grades file of this rubric in the {self.layout} layout "
                            "(its header differs): --resume continues only such a file; remove it or name another")
        if len(data) < len(whole):  # the row a kill cut off: rows are appended after the last whole one
            with open(self.path, "r+b") as f:
                f.truncate(len(data))
        key = head.index(key_of(self.layout))
        kept = {}
        grade = {"canvas": len(head) - 1, "moodle": 1}.get(self.layout)
        for r in rows[1:]:
            if len(r) != len(head) or r[0] == POINTS_POSSIBLE:
                continue
            # Graded again: a row over a budget (full layout), or without a grade (a gradebook
            # layout, which cannot say why a submission was not graded).
            if RETRY_MARK in r[2 if grade is None else 0] or (grade is not None and not r[grade]):
                continue
            kept[r[key]] = r
        return kept

    def _write(self, values: list[Any]) -> None:
        self._writer.writerow(values)
        self._file.flush()
        os.fsync(self._file.fileno())  # a killed batch, or a machine that loses power, keeps the row

    def add(self, values: list[Any]) -> None:
        self._write(values)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def rewrite(self, rows: list[list[Any]]) -> None:
        """The whole file again, atomically: header and rows in the given order."""
        self.close()
        buf = io.StringIO()
        csv.writer(buf).writerows(self._head_rows() + rows)
        write_text(self.path, buf.getvalue())


def kept_with_shares(layout: Layout, rubric: Rubric, kept: list[str], shared: list[SharedWith]) -> list[str]:
    """A row kept by --resume, its shared_with column brought up to date with this batch."""
    if layout != "full":
        return kept
    out = list(kept)
    out[header(layout, rubric).index("shared_with")] = describe_shared(shared)
    return out

