"""The report's context: everything the report states, as plain data (saved as report.json).

Keys are a contract (DESIGN.md): the rubric check and graders read them. See
docs in README.md ("report.json") for each key.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from cnnreport import __version__
from cnnreport.study.schema import Study
from cnnreport.study.specs import DECISIONS
from cnnreport.study.variants import level_label, reference_level


def _shown_path(path: Path) -> str:
    """A study file as the user would name it: relative to the working folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _by_role(models: list[dict[str, Any]], role: str) -> list[dict[str, Any]]:
    return [m for m in models if m["role"] == role]


def experiment_summary(study: Study, models: list[dict[str, Any]]) -> dict[str, Any]:
    exp = study.experiment
    return {
        "factor": exp.factor,
        "layers": exp.layers,
        "levels": list(exp.levels),
        "level_labels": [level_label(exp.factor, lv) for lv in exp.levels],
        "reference_level": reference_level(study.cnn, exp),
        "models": [m["name"] for m in models if m["kind"] == "cnn"],
        "n_variants": len(_by_role(models, "variant")),
        "seeds": list(study.seeds),
        # Filled by the controlled-variable verification (experimental-rigour work).
        "controlled": None,
        "differences": [],
    }


def headline(models: list[dict[str, Any]], num_classes: int) -> dict[str, Any]:
    """The numbers the text quotes: best CNN, baseline, reference, chance."""
    baseline = next((m for m in models if m["role"] == "baseline"), None)
    reference = next((m for m in models if m["role"] == "reference"), None)
    cnns = [m for m in models if m["kind"] == "cnn" and m["test_accuracy"]["mean"] is not None]
    best = max(cnns, key=lambda m: m["test_accuracy"]["mean"]) if cnns else None
    out: dict[str, Any] = {"chance": 1.0 / num_classes,
                           "baseline": baseline["name"] if baseline else None,
                           "reference": reference["name"] if reference else None,
                           "best_cnn": best["name"] if best else None}
    if baseline and reference and baseline["test_accuracy"]["mean"] is not None \
            and reference["test_accuracy"]["mean"] is not None:
        out["reference_minus_baseline"] = reference["test_accuracy"]["mean"] - baseline["test_accuracy"]["mean"]
        out["reference_params_ratio"] = reference["params"] / baseline["params"] if baseline["params"] else None
    return out


def rationale_rows(study: Study) -> list[dict[str, Any]]:
    """Each design decision with the author's justification, or flagged as missing."""
    rows = []
    for decision in DECISIONS:
        text = study.text.rationale.get(decision, "").strip()
        rows.append({"decision": decision.replace("_", " "), "justification": text,
                     "missing": not text})
    return rows


def build_context(*, study: Study, study_file: Path, dataset: dict[str, Any],
                  models: list[dict[str, Any]], records: list[dict[str, Any]],
                  figures: list[dict[str, str]], environment: dict[str, Any],
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    ctx = {
        **stamp(),
        "study": {"name": study.name, "title": study.title, "author": study.author,
                  "profile": study.profile, "hash": study.digest(), "file": _shown_path(study_file),
                  "training": study.training.model_dump(mode="json"),
                  "data": study.data.model_dump(mode="json"), "seeds": list(study.seeds)},
        "dataset": dataset,
        "models": models,
        "experiment": experiment_summary(study, models),
        "headline": headline(models, dataset["num_classes"]),
        "comparisons": [],
        "figures": figures,
        "text": {"dataset": study.text.dataset, "preprocessing": study.text.preprocessing,
                 "interpretation": study.text.interpretation},
        "rationale": rationale_rows(study),
        "runs": [{"run_id": r["run_id"], "model": r["model"]["name"], "seed": r["seed"],
                  "probe": r.get("probe", "none"), "train_time_s": r["train_time_s"],
                  "diverged": r["diverged"], "sha256": r.get("_sha256")} for r in records],
        "environment": {**environment, "seeds": list(study.seeds)},
        "deployment": None,
        "rubric": None,
    }
    if extra:
        ctx.update(extra)
    return ctx
REPORT_FORMAT = 1  # bump when a report.json key changes meaning


def stamp() -> dict[str, Any]:
    return {"format": REPORT_FORMAT, "generator": f"cnnreport {__version__}",
            "generated_at": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
