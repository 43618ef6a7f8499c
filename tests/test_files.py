"""files.py: JSON as run records and report.json need it (NaN and infinity written as null)."""

from __future__ import annotations

import json
import math

from cnnreport import files


def test_write_json_writes_nan_as_null(tmp_path):
    files.write_json(tmp_path / "x.json", {"loss": math.nan, "acc": [1.0, math.inf], "n": 2})
    assert json.loads((tmp_path / "x.json").read_text()) == {"loss": None, "acc": [1.0, None], "n": 2}
