"""One Markdown file per submission, to hand back: the points, what the check found and how to
fix each item, addressed to the student, the items worth most first.

What a submission wrote (its file names, quoted sentences) reaches the file only escaped, so a
Markdown viewer shows it as text: no link, image or HTML a student slipped into a report runs in
the instructor's or another student's viewer. Whom a submission shares work with is not said
here: that is for the instructor to look into first (the CSV and the JSON say it).
"""

from __future__ import annotations

import re
from pathlib import Path

from cnnreport.files import write_text
from cnnreport.formatting import fmt_num, fmt_points
from cnnreport.rubric.result import CheckResult, Graded, ItemResult, Reproduction

# What Markdown could read as markup in a line of text, backslash-escaped (CommonMark lets any
# ASCII punctuation be): emphasis, code, links and images (their brackets), HTML, tables,
# strikethrough. An underscore inside a word (file_name) opens no emphasis and stays as it is;
# parentheses, `#`, `+` and `!` are markup only after a bracket or at a line's start, which an
# escaped bracket and a line that starts with our own words rule out.
_SPECIAL = re.compile(r"[\\`*\[\]<>|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_CODE = re.compile(r"(`[^`\n]+`)")


def _escaped(text: str) -> str:
    return _SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def md_text(text: str) -> str:
    """Text shown as written, on one line."""
    return _escaped(" ".join((text or "").split()))


def md_fix(text: str) -> str:
    """A fix (ours: rubric.toml, the checks), its `commands` kept as code, the rest as text."""
    # Lines joined once, then each piece escaped as it is: the spaces around a command are kept.
    parts = _CODE.split(" ".join((text or "").split()))
    return "".join(part if i % 2 else _escaped(part) for i, part in enumerate(parts))


def safe_name(student: str) -> str:
    """A file name for the student's feedback (the folder's name, with anything odd replaced)."""
    name = re.sub(r"[^\w.-]", "_", student).strip("._") or "submission"
    return name[:100]


def _item(item: ItemResult) -> str:
    mark = "✓" if item.passed else ("partly" if item.earned else "✗")
    found = md_text(item.evidence).rstrip(".") or "nothing"
    line = f"- **{md_text(item.name)}** — {fmt_points(item.earned)} of {fmt_points(item.points)} ({mark}). " \
           f"What we found: {found}."
    if not item.passed and item.fix:
        line += f"\n  *How to fix:* {md_fix(item.fix)}"
    return line


def feedback_markdown(student: str, result: Graded, reproduction: Reproduction | None = None) -> str:
    """The feedback file's text for one submission."""
    if not isinstance(result, CheckResult):
        return (f"# Feedback for {md_text(student)}\n\nYour submission could not be graded: "
                f"{md_text(result.error)}.\n\nHand in the report folder that `cnnreport build` wrote "
                "(reports/<study>/ with report.json, report.html, report.pdf, figures/ and study.toml).\n")
    s = result.score
    lines = [f"# Feedback for {md_text(student)}", "",
             f"{md_text(result.rubric.title)}: the automatic check verified **{fmt_points(s.earned)} of "
             f"{fmt_points(s.automatic)} points**"
             + (f" (and {fmt_points(s.bonus_earned)} of {fmt_points(s.bonus_automatic)} bonus points)"
                if s.bonus_automatic else "")
             + f". Your instructor reads the rest ({fmt_points(s.human + s.bonus_human)} points): "
               "those items are listed at the end with what the check found for them.", ""]
    if not s.integrity:
        lines += ["**The report's numbers do not match its data.** "
                  + md_text("; ".join(result.integrity.differences[:3]))
                  + ". Rebuild it with `cnnreport render` and never edit its numbers by hand.", ""]
    auto = [(c, i) for c in result.criteria for i in c.items if i.kind == "auto"]
    missing = sorted((ci for ci in auto if not ci[1].passed), key=lambda ci: ci[1].earned - ci[1].points)
    if missing:
        lines += ["## What to fix first", "", "The items that lost points, those worth most first:", ""]
        lines += [_item(i) for _, i in missing] + [""]
    else:
        lines += ["Every item the check verifies is complete.", ""]
    lines += ["## Every item", ""]
    for c in result.criteria:
        lines += [f"### {md_text(c.name)}{' (bonus)' if c.bonus else ''}: {fmt_points(c.earned)} of "
                  f"{fmt_points(c.automatic)}", ""]
        lines += [_item(i) for i in c.items if i.kind == "auto"] + [""]
    if result.human:
        lines += ["## Read by your instructor", ""]
        lines += [f"- **{md_text(i.name)}** ({fmt_points(i.points)} points): {md_text(i.evidence) or 'nothing found'}."
                  for i in result.human] + [""]
    if reproduction is not None and reproduction.passed is not None:
        lines += ["## Your runs, trained again", ""]
        for run in reproduction.runs:
            lines.append(f"- {md_text(run.model)}, seed {run.seed}: you reported a test accuracy of "
                         f"{fmt_num(run.claimed_accuracy, 4)}; trained again from your study file it reached "
                         f"{fmt_num(run.retrained_accuracy, 4)} (differences up to ± {fmt_num(run.accuracy_tolerance, 4)} "
                         "are expected). "
                         + ("Reproduced." if run.passed else "**Not reproduced**: your instructor will ask about it."))
        lines.append("")
    return "\n".join(lines)


def write_feedback(folder: Path, student: str, result: Graded, reproduction: Reproduction | None,
                   taken: set[str]) -> Path:
    """feedback/<student>.md (a name already written in this batch gets a number)."""
    name, k = safe_name(student), 2
    base = name
    while name in taken:
        name, k = f"{base}-{k}", k + 1
    taken.add(name)
    return write_text(folder / f"{name}.md", feedback_markdown(student, result, reproduction))
