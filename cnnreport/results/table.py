"""Per-run results as a pandas DataFrame, written as reports/<study>/results.csv for students
who analyse further.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def runs_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per run: the columns analysis and the report need."""
    rows = []
    for r in records:
        hist = r["history"]
        rows.append({
            "run_id": r["run_id"], "model": r["model"]["name"], "role": r["model"]["role"],
            "factor": r["model"].get("factor"), "level": r["model"].get("level"),
            "probe": r.get("probe", "none"), "seed": r["seed"],
            "test_accuracy": r["test"]["accuracy"], "test_loss": r["test"]["loss"],
            "best_val_accuracy": max(hist["val_accuracy"]) if hist["val_accuracy"] else None,
            "best_val_epoch": (1 + hist["val_accuracy"].index(max(hist["val_accuracy"])))
            if hist["val_accuracy"] else None,
            "final_train_accuracy": hist["accuracy"][-1] if hist["accuracy"] else None,
            "final_val_accuracy": hist["val_accuracy"][-1] if hist["val_accuracy"] else None,
            "epochs_run": len(hist["loss"]),
            "mean_epoch_s": sum(hist["epoch_time_s"]) / max(1, len(hist["epoch_time_s"])),
            "train_time_s": r["train_time_s"], "diverged": r["diverged"],
            "params": r["architecture"]["params"], "flops": r["architecture"]["flops"],
        })
    return pd.DataFrame(rows)
