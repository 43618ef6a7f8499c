"""`cnnreport check`: score one report (table or JSON), or grade a class.

One report that is not a cnnreport report — no report.json, one that is not JSON, or one that
breaks report.json's contract (each field it breaks named: `models[0].test_accuracy.mean:
expected a number`) — is bad input (exit 2). Grading several, each submission is graded in a
process of its own within a time and memory budget (batch.py), such a folder gets a row saying
why, and the others are still graded; the rows go to the CSV as they finish (gradebook.py), each
student's feedback file is written (feedback.py), and once all are in, the copy check compares
them (copies.py). `--gradescope` writes Gradescope's results.json for one submission
(gradescope.py); `--reproduce N` retrains N drawn runs of each (reproduce.py).

Exit 0 when every report verifies at least --min-score automatic points and passes the integrity
check (no number edited by hand, runs trained on the data it describes) and, with --reproduce,
no reproduction fails; 1 when one does not (docs/exit-codes.md).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from rich.markup import escape
from rich.table import Table

from cnnreport.errors import UserError
from cnnreport.files import write_json
from cnnreport.formatting import fmt_points, fmt_seconds
from cnnreport.rubric.batch import Budget, Outcome, Reproduce, Task, default_jobs, grade_all, student_id
from cnnreport.rubric.copies import shared_work
from cnnreport.rubric.copies import describe as describe_shared
from cnnreport.rubric.feedback import write_feedback
from cnnreport.rubric.gradebook import Layout, Sheet, kept_with_shares, reproduced_words, row
from cnnreport.rubric.gradescope import Visibility, locate_report, results_json
from cnnreport.rubric.output import make_console, print_table
from cnnreport.rubric.reproduce import describe as describe_reproduction
from cnnreport.rubric.result import CheckResult, Graded, NotGraded
from cnnreport.rubric.schema import Rubric, load_rubric
from cnnreport.rubric.submission import NotAReport


@dataclass(frozen=True)
class Options:
    """What `check` was asked for, beyond the folders."""

    rubric_file: str | None = None
    runs_dir: str | None = None
    min_score: float = 0.0
    as_json: bool = False
    csv_file: str | None = None
    csv_layout: Layout = "full"
    resume: bool = False
    jobs: int | None = None  # None: the cores this process may use
    budget: Budget = Budget()
    gradescope: str | None = None
    visibility: Visibility = "visible"
    feedback_dir: str | None = None
    reproduce: Reproduce | None = None


def _validate(folders: list[Path], o: Options) -> None:
    if o.resume and not o.csv_file:
        raise UserError("--resume continues a --csv file: name it with --csv")
    if o.gradescope and len(folders) != 1:
        raise UserError("--gradescope writes one submission's results.json: give one folder (Gradescope runs "
                        "the autograder once per submission)")
    if o.jobs is not None and o.jobs < 1:
        raise UserError(f"--jobs {o.jobs}: expected at least 1")
    if o.budget.seconds <= 0:
        raise UserError(f"--time-budget {o.budget.seconds:g}: expected a number of seconds above 0")
    if o.reproduce is not None and o.reproduce.runs < 1:
        raise UserError(f"--reproduce {o.reproduce.runs}: expected at least 1 run")


def run_check(folders: list[Path], options: Options, echo: Callable[[str], None] = print) -> int:
    _validate(folders, options)
    rubric = load_rubric(options.rubric_file)
    if options.gradescope:
        try:
            folders = [locate_report(folders[0])]
        except NotAReport as exc:  # Gradescope must get a results.json whatever was handed in
            _write_gradescope(options, NotGraded(report_dir=str(folders[0]), error=str(exc)), None)
            raise
    many = len(folders) > 1 or bool(options.csv_file)
    # --json prints data on stdout: progress goes to stderr there.
    note = (lambda msg: print(msg, file=sys.stderr, flush=True)) if options.as_json else echo
    sheet = Sheet.open(Path(options.csv_file), options.csv_layout, rubric, options.resume) if options.csv_file else None
    # A row is found again by its key column: the student in a gradebook layout, else the folder.
    key: Callable[[Path], str] = str if options.csv_layout == "full" else student_id
    kept = {str(f): sheet.kept[key(f)] for f in folders if sheet is not None and key(f) in sheet.kept}
    if kept:
        note(f"resume: {len(kept)} of {len(folders)} submissions already graded in {options.csv_file}")
    tasks = [Task(str(f), rubric, options.runs_dir, options.reproduce, fingerprint_only=str(f) in kept, many=many,
                  memory_mib=options.budget.memory_mib if many else None)
             for f in folders]
    if options.reproduce:
        note(f"reproduce: {options.reproduce.runs} run(s) of each submission, drawn with seed {options.reproduce.seed} "
             f"(--reproduce-seed {options.reproduce.seed} draws the same runs again)")
    outcomes: dict[str, Outcome] = {}
    taken_names: set[str] = set()

    def finished(o: Outcome) -> None:
        outcomes[o.folder] = o
        if o.result is None:
            return  # a kept row: fingerprinted for the copy check only
        if sheet is not None:
            sheet.add(row(options.csv_layout, rubric, student_id(o.folder), o.result, None, o.reproduction))
        if options.feedback_dir:
            write_feedback(Path(options.feedback_dir), student_id(o.folder), o.result, o.reproduction, taken_names)
        if many:
            graded = sum(1 for x in outcomes.values() if x.result is not None)
            note(f"graded {graded}/{len(tasks) - len(kept)}: {student_id(o.folder)} — {_brief(o.result)} "
                 f"({fmt_seconds(o.seconds)})")

    if options.feedback_dir:
        Path(options.feedback_dir).mkdir(parents=True, exist_ok=True)
    try:
        grade_all(tasks, options.jobs or default_jobs(), options.budget, finished, in_process=not many)
    except NotAReport as exc:
        if options.gradescope:  # Gradescope must get a results.json whatever was handed in
            _write_gradescope(options, NotGraded(report_dir=str(folders[0]), error=str(exc)), None)
        raise
    finally:
        if sheet is not None:
            sheet.close()

    shares = shared_work([o.fingerprint for o in outcomes.values() if o.fingerprint is not None]) if many else {}
    results: list[Graded] = []
    final_rows: list[list[Any]] = []
    for f in folders:
        o = outcomes[str(f)]
        shared = shares.get(student_id(f), [])
        if o.result is None:
            final_rows.append(kept_with_shares(options.csv_layout, rubric, kept[str(f)], shared))
            continue
        result = o.result
        if isinstance(result, CheckResult):
            result = result.model_copy(update={"shared_with": shared, "reproduction": o.reproduction})
        results.append(result)
        final_rows.append(row(options.csv_layout, rubric, student_id(f), result, shared, o.reproduction))
    if sheet is not None:
        sheet.rewrite(final_rows)
    if options.gradescope:
        o = outcomes[str(folders[0])]
        _write_gradescope(options, results[0], o.reproduction)
    _print(results, rubric, many, options, echo)
    if options.csv_file:
        note(f"wrote {options.csv_file}: {len(final_rows)} row(s)" + (f" ({len(kept)} kept by --resume)" if kept else ""))
    if options.feedback_dir:
        note(f"wrote {len(taken_names)} feedback file(s) to {options.feedback_dir}/")
    passed = [isinstance(r, CheckResult) and r.score.earned >= options.min_score and r.score.integrity
              and (r.reproduction is None or r.reproduction.passed is not False) for r in results]
    return 0 if all(passed) else 1


def _brief(result: Graded) -> str:
    if isinstance(result, CheckResult):
        return f"{fmt_points(result.score.earned)} / {fmt_points(result.score.automatic)}" + (
            "" if result.score.integrity else ", integrity failed")
    return f"not graded: {result.error}"


def _write_gradescope(options: Options, result: Graded, reproduction: Any) -> None:
    lines = describe_reproduction(reproduction) if reproduction is not None else []
    assert options.gradescope is not None
    write_json(Path(options.gradescope), results_json(result, options.visibility, notes=lines))


def _print(results: list[Graded], rubric: Rubric, many: bool, options: Options, echo: Callable[[str], None]) -> None:
    if options.as_json:
        out = [r.model_dump(mode="json") for r in results]
        data: Any = out[0] if not many else {"submissions": out}
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    if not many and isinstance(results[0], CheckResult):
        print_table(results[0])
        if results[0].reproduction is not None:
            for line in describe_reproduction(results[0].reproduction):
                echo(line)
        return
    _print_summary(results, rubric)


def _print_summary(results: list[Graded], rubric: Rubric) -> None:
    t = Table(title=f"{rubric.title}: {len(results)} reports", expand=True)
    t.add_column("report", ratio=3)
    t.add_column("verified", justify="right", no_wrap=True)
    t.add_column("per criterion / why not graded", ratio=7)
    for r in results:
        if isinstance(r, NotGraded):
            t.add_row(escape(r.report_dir), "—", f"[red]{escape(r.error)}[/]")
            continue
        s = r.score
        per = ", ".join(f"{c.id} {fmt_points(c.earned)}/{fmt_points(c.automatic)}" for c in r.criteria)
        flags = "" if s.integrity else " [red]integrity![/]"
        if r.shared_with:
            flags += f" [yellow]shares work with {escape(describe_shared(r.shared_with))}[/]"
        if r.reproduction is not None:
            flags += f" [{'green' if r.reproduction.passed else 'red'}]{escape(reproduced_words(r.reproduction))}[/]"
        t.add_row(escape(r.report_dir), f"{fmt_points(s.earned)} / {fmt_points(s.automatic)}", escape(per) + flags)
    make_console().print(t)

