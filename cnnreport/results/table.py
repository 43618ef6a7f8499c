"""Per-run results as a pandas DataFrame, written as reports/<study>/results.csv: one row per run
(the locality probe's retrained runs included, marked in `probe`), for students who analyse
further than the report does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from cnnreport.files import write_text

RESULTS_CSV = "results.csv"


def runs_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per run; fractions in [0, 1], times in seconds, epochs 1-based."""
    rows = []
    for r in records:
        hist = r["history"]
        val = hist.get("val_accuracy") or []
        rows.append({
            "model": r["model"]["name"], "role": r["model"]["role"],
            "factor": r["model"].get("factor"), "level": r["model"].get("level"),
            "seed": r["seed"], "probe": r.get("probe", "none"),
            "test_accuracy": None if r["diverged"] else r["test"]["accuracy"],
            "test_loss": r["test"]["loss"],
            "best_val_accuracy": max(val) if val else None,
            "best_val_epoch": 1 + val.index(max(val)) if val else None,
            "final_train_accuracy": hist["accuracy"][-1] if hist.get("accuracy") else None,
            "final_val_accuracy": val[-1] if val else None,
            "epochs": len(hist.get("loss") or []),
            "train_time_s": r["train_time_s"],
            "mean_epoch_s": sum(hist["epoch_time_s"]) / len(hist["epoch_time_s"]) if hist.get("epoch_time_s") else None,
            "diverged": r["diverged"],
            "params": r["architecture"]["params"], "flops": r["architecture"]["flops"],
            "run_id": r["run_id"],
        })
    return pd.DataFrame(rows)


def write_results_csv(records: list[dict[str, Any]], path: Path) -> Path:
    return write_text(path, runs_frame(records).to_csv(index=False))
