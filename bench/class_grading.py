"""Grading a class: 30 submissions, some hostile, graded by `cnnreport check --csv` with --jobs 1
and with --jobs 2, each batch a process of its own; wall time, and peak resident memory (of the
largest process, and of the whole process tree, sampled every 0.1 s from /proc).

    python bench/class_grading.py --report reports/tiny [--out /tmp/class-bench] [--jobs 1 2]

`--report` is a report folder built by `cnnreport build` (its runs beside it). The class: 22
honest copies (4 of them missing a figure), and 8 hostile ones: two with 8 MB of numbers in the
interpretation, one whose report.json is 70 MiB (over the size a submission file may be), one
nested 100,000 lists deep, one not JSON, one breaking the contract (a number as text), one
whose figure is a link to /etc/passwd, and an empty folder.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

HONEST, MISSING_FIGURE = 18, 4


def _edit(folder: Path, edit) -> None:
    from cnnreport.files import write_json

    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    edit(data)
    write_json(folder / "report.json", data)


def numbers_heavy(folder: Path, megabytes: float) -> None:
    from cnnreport.report.html import render_html
    from cnnreport.rubric.report_json import ReportJson

    rng = random.Random(0)
    text = " ".join(f"0.{rng.randrange(10_000):04d}" for _ in range(int(megabytes * 1e6 / 7)))
    _edit(folder, lambda r: r["text"].update(interpretation=text))
    render_html(ReportJson.model_validate_json((folder / "report.json").read_text(encoding="utf-8")),
                folder / "report.html")
    (folder / "report.pdf").unlink(missing_ok=True)


def make_class(report: Path, out: Path) -> list[Path]:
    if out.exists():
        shutil.rmtree(out)
    subs: list[Path] = []

    def copy(name: str) -> Path:
        dest = out / name
        shutil.copytree(report, dest, ignore=shutil.ignore_patterns("cache"))
        subs.append(dest)
        return dest

    for i in range(HONEST):
        copy(f"student{i:02d}")
    for i in range(MISSING_FIGURE):
        (copy(f"nofig{i}") / "figures" / "variant_curves.png").unlink()
    for i in range(2):
        numbers_heavy(copy(f"numbers{i}"), 8)
    big = copy("huge")
    with open(big / "report.json", "a", encoding="utf-8") as f:
        f.write(" " * (70 * 2**20))  # valid JSON, 70 MiB
    (copy("nested") / "report.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    (copy("notjson") / "report.json").write_text("{not json", encoding="utf-8")
    _edit(copy("astext"), lambda r: r["models"][0]["test_accuracy"].update(mean="0.99"))
    link = copy("passwd")
    fig = link / "figures" / "samples.png"
    fig.unlink()
    fig.symlink_to("/etc/passwd")
    (out / "empty").mkdir()
    subs.append(out / "empty")
    return subs


def _group_rss(pgid: int) -> list[int]:
    """Resident bytes of each process in the process group (Linux /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:  # the process group (field 5 of stat)
                out.append(int(Path(f"/proc/{entry}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError, IndexError):
            continue
    return out


def grade(subs: list[Path], jobs: int, out: Path) -> dict[str, object]:
    grades = out.parent / f"grades-jobs{jobs}.csv"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "cnnreport", "check", *map(str, subs), "--csv", str(grades),
                             "--jobs", str(jobs)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    peak_tree = peak_one = 0
    while proc.poll() is None:
        sizes = _group_rss(proc.pid)
        peak_tree, peak_one = max(peak_tree, sum(sizes)), max([peak_one, *sizes])
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    rows = list(csv.DictReader(grades.open(encoding="utf-8")))
    return {"jobs": jobs, "wall_s": wall, "peak_process_mib": peak_one / 2**20, "peak_tree_mib": peak_tree / 2**20,
            "rows": len(rows), "exit": proc.returncode,
            "statuses": {r["student"]: r["status"][:90] for r in rows if r["status"] != "ok"}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report", required=True, type=Path)
    parser.add_argument("--out", type=Path, default=Path("/tmp/class-bench/submissions"))
    parser.add_argument("--jobs", nargs="+", type=int, default=[1, 2])
    args = parser.parse_args()
    subs = make_class(args.report.resolve(), args.out)
    print(f"{len(subs)} submissions in {args.out}")
    for jobs in args.jobs:
        r = grade(subs, jobs, args.out)
        print(f"--jobs {jobs}: {r['wall_s']:.1f} s wall, {r['rows']} rows, exit {r['exit']}, peak memory: largest "
              f"process {r['peak_process_mib']:.0f} MiB, process tree {r['peak_tree_mib']:.0f} MiB", flush=True)
        for student, status in sorted(r["statuses"].items()):
            print(f"    {student}: {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
