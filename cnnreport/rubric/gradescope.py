"""Gradescope's autograder results.json from a check's result.

The shape is Gradescope's documented one (gradescope-autograders.readthedocs.io, "Autograder
Specifications"): a top-level `score`, `output` and `tests[]`, each test with `name`, `score`,
`max_score`, `output` and `visibility` (and `status`, which colours it). One test per rubric
item, in the rubric's order. An automatic item scores what the check verified. A human item is
listed with its `max_score`, a score of 0 and a note that a reader grades it (on Gradescope, as
a manual question): it adds nothing to `score`, and the tests add up to `score`. A bonus item
counts like any automatic item: Gradescope lets a score pass the assignment's total.

A submission that could not be graded (no report, over the time budget) still gets a results.json:
score 0 and the reason, so the student sees why instead of a failed autograder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from cnnreport.formatting import fmt_points
from cnnreport.rubric.result import CheckResult, Graded, ItemResult
from cnnreport.rubric.submission import NotAReport

Visibility = Literal["visible", "hidden", "after_due_date", "after_published"]
# Gradescope's visibility values; tests default to what the assignment shows students.
VISIBILITIES = get_args(Visibility)

HUMAN_NOTE = ("graded by a reader, not by the autograder (add it as a manual question worth "
              "{points} points); what the check found: {evidence}")


def _points(x: float) -> float:
    return round(float(x), 2)


def _test(criterion: str, item: ItemResult, visibility: Visibility, number: str) -> dict[str, Any]:
    name = f"{criterion} — {item.name}"
    if item.kind == "human":
        return {"name": f"{name} (read by a person)", "number": number, "score": 0.0,
                "max_score": _points(item.points), "visibility": visibility,
                "output": HUMAN_NOTE.format(points=fmt_points(item.points), evidence=item.evidence or "nothing")}
    output = item.evidence
    if not item.passed and item.fix:
        output += f"\n\nHow to fix: {item.fix}"
    return {"name": name, "number": number, "score": _points(item.earned), "max_score": _points(item.points),
            "status": "passed" if item.passed else "failed", "visibility": visibility, "output": output}


def results_json(result: Graded, visibility: Visibility = "visible", notes: list[str] | None = None) -> dict[str, Any]:
    """Gradescope's results.json for one submission. `notes`: lines for the top-level output
    (a reproduction, shared work), shown to whoever sees the submission's output."""
    extra = list(notes or [])
    if not isinstance(result, CheckResult):
        return {"score": 0.0, "output": "\n".join([f"Not graded: {result.error}", *extra]),
                "visibility": visibility, "stdout_visibility": "hidden", "tests": []}
    tests = [_test(c.name + (" (bonus)" if c.bonus else ""), i, visibility, f"{ci + 1}.{ii + 1}")
             for ci, c in enumerate(result.criteria) for ii, i in enumerate(c.items)]
    # The score is the tests' sum (rounded as they are), so the two never disagree.
    score = _points(sum(t["score"] for t in tests))
    s = result.score
    lines = [s.line]
    if not s.integrity:
        lines.append("Integrity check failed: " + "; ".join(result.integrity.differences[:3]))
    return {"score": score, "output": "\n".join(lines + extra), "visibility": visibility,
            "stdout_visibility": "hidden", "tests": tests}


HIDDEN = ("__MACOSX",)


def locate_report(root: Path, depth: int = 3) -> Path:
    """The report folder in what a student uploaded: `root` itself when it holds report.json,
    else the one folder below it (at most `depth` levels, links not followed, hidden and
    archive-tool folders skipped) that does. None: `root` (which reads as not a report);
    several: NotAReport naming them."""
    root = Path(root)
    if (root / "report.json").is_file():
        return root
    found: list[Path] = []
    level = [root]
    for _ in range(depth):
        below = []
        for folder in level:
            try:
                children = sorted(folder.iterdir())
            except OSError:
                continue
            for child in children:
                if child.name.startswith(".") or child.name in HIDDEN or child.is_symlink() or not child.is_dir():
                    continue
                if (child / "report.json").is_file():
                    found.append(child)
                else:
                    below.append(child)
        level = below
        if found:
            break
    if len(found) > 1:
        raise NotAReport(f"{root}: {len(found)} report folders in the submission "
                         f"({', '.join(str(f.relative_to(root)) for f in found[:4])}): hand in one")
    return found[0] if found else root
