"""How `cnnreport check` scales with a submission's size: a built report's interpretation replaced
by 0.1 / 2 / 8 / 50 MB of numbers (a hostile student's "numbers-heavy" text), the HTML rendered
from it as cnnreport would, each size checked in a process of its own.

    python bench/check_scaling.py --report reports/tiny [--sizes 0.1 2 8 50] [--timeout 900]

`--report` is a report folder built by `cnnreport build` (its runs found beside it, as `check`
finds them). Prints one row per size: the numbers in the text, wall time of the check alone
(imports excluded), peak resident memory of the process, the score line and the integrity
verdict; a size still running at `--timeout` seconds is killed and shown as such.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from cnnreport.rubric.scoring import check_report
t0 = time.perf_counter()
result = check_report(sys.argv[1])
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mib": peak, "line": result.score.line,
                  "integrity": result.score.integrity}))
"""


def numbers_text(megabytes: float, seed: int = 0) -> str:
    """About `megabytes` MB of four-decimal numbers, as a results table pasted as prose would be."""
    rng = random.Random(seed)
    count = int(megabytes * 1e6 / 7)  # "0.1234 " is 7 bytes
    return " ".join(f"0.{rng.randrange(10_000):04d}" for _ in range(count))


def hostile_copy(report: Path, dest: Path, megabytes: float) -> int:
    """A copy of the report folder (its runs beside it, as built) whose interpretation is numbers."""
    from cnnreport.files import write_json
    from cnnreport.report.html import render_html
    from cnnreport.rubric.report_json import ReportJson

    shutil.copytree(report, dest / "reports" / report.name)
    (dest / "reports" / report.name / "report.pdf").unlink(missing_ok=True)  # its numbers are the original text's
    runs = report.parent.parent / "runs" / report.name
    if runs.is_dir():
        shutil.copytree(runs, dest / "runs" / report.name)
    folder = dest / "reports" / report.name
    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    text = numbers_text(megabytes)
    data["text"]["interpretation"] = text
    write_json(folder / "report.json", data)
    render_html(ReportJson.model_validate(data), folder / "report.html")
    return text.count(" ") + 1


def measure(folder: Path, timeout: float) -> dict[str, object]:
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, str(folder)], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"seconds": None, "killed_after": time.perf_counter() - t0}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report", required=True, type=Path)
    parser.add_argument("--sizes", nargs="+", type=float, default=[0.1, 2, 8, 50])
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    print("| text | numbers | check | peak memory | result |")
    print("| --- | --- | --- | --- | --- |")
    for mb in args.sizes:
        with tempfile.TemporaryDirectory(prefix="check-scaling-") as tmp:
            n = hostile_copy(args.report.resolve(), Path(tmp), mb)
            got = measure(Path(tmp) / "reports" / args.report.name, args.timeout)
        if got.get("seconds") is None:
            shown = (f"killed after {got['killed_after']:.0f} s" if "killed_after" in got
                     else f"failed: {got.get('error')}")
            print(f"| {mb:g} MB | {n:,} | {shown} | | |", flush=True)
            continue
        print(f"| {mb:g} MB | {n:,} | {got['seconds']:.1f} s | {got['peak_mib']:.0f} MiB | "
              f"{got['line']}; integrity {'ok' if got['integrity'] else 'failed'} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
