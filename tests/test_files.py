"""files.py: JSON as run records and report.json need it (NaN and infinity written as null); a
system error names the file being written; a set of files replaced together or not at all;
dead writers' temporaries cleaned."""

from __future__ import annotations

import errno
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnnreport import files


def test_write_json_writes_nan_as_null(tmp_path):
    files.write_json(tmp_path / "x.json", {"loss": math.nan, "acc": [1.0, math.inf], "n": 2})
    assert json.loads((tmp_path / "x.json").read_text()) == {"loss": None, "acc": [1.0, None], "n": 2}


# ------------------------------------------------------- a system error names the file, not a temporary


def test_a_full_disk_while_writing_names_the_destination_not_the_temporary(tmp_path):
    dest = tmp_path / "report.html"
    with pytest.raises(OSError) as caught:
        with files.atomic_path(dest) as tmp:
            tmp.write_text("half")
            raise OSError(errno.ENOSPC, "No space left on device")  # as a write through an open file says it
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(dest)
    assert list(tmp_path.iterdir()) == []  # the temporary is gone, nothing replaced


def test_an_error_naming_a_real_file_keeps_its_name(tmp_path):
    with pytest.raises(PermissionError) as caught:
        with files.naming(tmp_path / "report.pdf"):
            raise PermissionError(errno.EACCES, "Permission denied", "/tmp/somewhere/else")
    assert caught.value.filename == "/tmp/somewhere/else"


# ----------------------------------------------------------------- files replaced together or not at all


def _old_set(folder):
    folder.mkdir()
    for name in ("report.html", "report.json", "report.pdf"):
        (folder / name).write_text(f"old {name}")


def test_a_set_replaces_every_file_at_once(tmp_path):
    out = tmp_path / "report"
    _old_set(out)
    with files.replace_together(out, ["report.html", "report.json", "report.pdf"]) as tmp:
        for name, path in tmp.items():
            path.write_text(f"new {name}")
            assert (out / name).read_text() == f"old {name}"  # nothing replaced while the set is written
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json", "report.pdf"]
    assert all((out / n).read_text() == f"new {n}" for n in ("report.html", "report.json", "report.pdf"))


def test_a_failure_while_writing_the_set_leaves_the_old_one_whole(tmp_path):
    out = tmp_path / "report"
    _old_set(out)
    with pytest.raises(OSError):
        with files.replace_together(out, ["report.html", "report.json", "report.pdf"]) as tmp:
            tmp["report.html"].write_text("new")
            tmp["report.json"].write_text("new")
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp["report.pdf"]))
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json", "report.pdf"]
    assert all((out / n).read_text() == f"old {n}" for n in ("report.html", "report.json", "report.pdf"))


def test_a_file_the_new_set_lacks_is_removed_not_left_stale(tmp_path):
    out = tmp_path / "report"
    _old_set(out)
    with files.replace_together(out, ["report.html", "report.json", "report.pdf"]) as tmp:
        tmp["report.html"].write_text("new")
        tmp["report.json"].write_text("new")  # --no-pdf: the old PDF would contradict them
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json"]


def test_a_commit_killed_among_its_renames_is_completed_by_the_next(tmp_path, monkeypatch):
    out = tmp_path / "report"
    _old_set(out)
    real_replace, calls = os.replace, []

    def dies_after_one_rename(src, dst):
        if Path(dst).name.startswith("report."):
            if calls:
                raise SystemExit("killed")  # stands for kill -9 between two renames
            calls.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", dies_after_one_rename)
    with pytest.raises(SystemExit):
        with files.replace_together(out, ["report.html", "report.json", "report.pdf"]) as tmp:
            for name, path in tmp.items():
                path.write_text(f"new {name}")
    monkeypatch.setattr(files.os, "replace", real_replace)
    assert (out / files.JOURNAL).exists() and len(calls) == 1  # one file new, two old: a mixed set
    assert files.finish_replacing(out)
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json", "report.pdf"]
    assert all((out / n).read_text() == f"new {n}" for n in ("report.html", "report.json", "report.pdf"))


def test_dead_writers_temporaries_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    (tmp_path / f"{files.TMP_PREFIX}{dead}-abcd1234-report.pdf").write_text("half")
    alive = tmp_path / f"{files.TMP_PREFIX}1-abcd1234-report.pdf"  # pid 1 never dies
    alive.write_text("being written")
    removed = files.remove_dead_temporaries(tmp_path)
    assert [p.name for p in removed] == [f"{files.TMP_PREFIX}{dead}-abcd1234-report.pdf"]
    assert alive.exists()
