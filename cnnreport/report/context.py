"""report.json: everything the report states, as plain data, built in one place.

`build_report` is the only function that assembles report.json: each key comes from one step
below, in the order the report reads. Keys are a contract (DESIGN.md): the rubric check and
graders read them; README.md ("report.json") documents each. Only the rubric check's own result
(`rubric`) is added afterwards, by the render step that runs the check on the rendered HTML.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from cnnreport import __version__, resources
from cnnreport.data.eda import describe
from cnnreport.data.splits import Splits
from cnnreport.report import cache as memo
from cnnreport.report import evidence, prose
from cnnreport.report.figures import data as data_figures
from cnnreport.report.figures import style
from cnnreport.report.figures import training as training_figures
from cnnreport.results.baseline import baseline_facts
from cnnreport.results.checklist import build_checklist
from cnnreport.results.findings import build_comparisons, results_rows
from cnnreport.results.summaries import records_by_model, summarize_models
from cnnreport.results.testset import primary_mcnemar, spread
from cnnreport.results.verification import verify_study
from cnnreport.study.loading import load_study
from cnnreport.study.models import study_models
from cnnreport.study.schema import Study
from cnnreport.study.specs import DECISIONS
from cnnreport.study.variants import level_label, reference_level

# Bump when a report.json key changes meaning. 2: `checklist` holds the lab's validation
# questions (judged as the rubric judges them); `experiment.verification[]` records each CNN's
# built-layer signature and run settings. 3: `comparisons[].p_holm` is Holm within the
# comparison's `family` (the primary comparison alone), with the verdict and its interval.
REPORT_FORMAT = 3


def stamp() -> dict[str, Any]:
    return {"format": REPORT_FORMAT, "generator": f"cnnreport {__version__}",
            "generated_at": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def build_report(*, study: Study, splits: Splits, records: list[dict[str, Any]], runs_dir: Path,
                 report_dir: Path, environment: dict[str, Any],
                 deployment: dict[str, Any] | None) -> dict[str, Any]:
    """report.json's content (without `rubric`), and every figure drawn into report_dir/figures/.

    What depends only on runs, data and code (figures, probe numbers, the verification) comes
    from the render cache when it can (report/cache.py), so a re-render loads no model."""
    fig_dir = report_dir / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    cache_dir = memo.cache_dir(report_dir)
    models = summarize_models(study_models(study), records, test_images=len(splits.y_test))
    style.warn_undrawable([m["name"] for m in models], "model name")
    dataset = describe(splits)
    chance = 1.0 / splits.num_classes
    baseline = next(m for m in models if m["role"] == "baseline")
    reference = next(m for m in models if m["role"] == "reference")
    trained = evidence.TrainedModels(runs_dir)

    figures = data_figure_list(splits, dataset, fig_dir) + training_figure_list(models, records, splits, fig_dir)
    figures += evidence.architecture_figures(baseline, reference, list(splits.input_shape), fig_dir)
    probe_figs, probes = evidence.probe_evidence(models, records, splits, trained, cache_dir, fig_dir)
    feature_figs, feature_fig_ids = evidence.learned_features(models, splits, trained, cache_dir, fig_dir)
    error_figs, visuals = evidence.errors_of_best(models, splits, runs_dir, fig_dir)
    figures += probe_figs + feature_figs + error_figs
    visuals.update({"feature_map_figures": feature_fig_ids, "feature_map_image": evidence.FEATURE_MAP_IMAGE})
    facts = baseline_facts(baseline, reference, chance, list(splits.input_shape))
    comparisons = build_comparisons(models, margin=study.experiment.equivalence_margin / 100)
    test_set = test_set_section(models, comparisons, splits, runs_dir)

    report = {
        **stamp(),
        "study": study_section(study),
        "dataset": dataset,
        "models": models,
        "experiment": experiment_section(study, models, comparisons, splits, cache_dir),
        "headline": headline(models, splits.num_classes),
        "comparisons": comparisons,
        "test_set": test_set,
        "checklist": [],
        "probes": probes,
        "visuals": visuals,
        "baseline_facts": facts,
        "generated": {**evidence.NOT_MEASURED_TEXT, **prose.generate(study=study, eda=dataset, baseline=baseline, reference=reference,
                                    models=models, facts=facts, probes=probes, visuals=visuals,
                                    chance=chance, comparisons=comparisons, test_set=test_set,
                                    profiles=profile_note(study, dataset))},
        "text_origin": prose.text_origin(study),
        "figures": [style.with_print_width(f, report_dir, style.DPI) for f in figures],
        "text": {"dataset": study.text.dataset, "preprocessing": study.text.preprocessing,
                 "interpretation": study.text.interpretation},
        "rationale": rationale_rows(study),
        "runs": run_rows(records),
        "environment": {**environment, "seeds": list(study.seeds)},
        "deployment": deployment,
        "rubric": None,
    }
    report["checklist"] = build_checklist(report)  # judged from the report's own data, as `check` does
    return report


# ---------------------------------------------------------------------------------- sections


def study_section(study: Study) -> dict[str, Any]:
    return {"name": study.name, "title": study.title, "author": study.author,
            "profile": study.profile, "hash": study.digest(), "file": _shown_path(Path(study.source)),
            "training": study.training.model_dump(mode="json"),
            "data": study.data.model_dump(mode="json"), "seeds": list(study.seeds)}


def profile_note(study: Study, dataset: dict[str, Any]) -> dict[str, Any] | None:
    """For a quick-profile report: what this run left out and what the full profile adds (its
    training subset, epochs and seeds), read from the same study file's full profile."""
    if study.profile != "quick" or not Path(study.source).is_file():
        return None
    full = load_study(study.source, profile="full")

    def settings(s: Study) -> dict[str, Any]:
        return {"train_subset": s.data.train_subset, "val_subset": s.data.val_subset,
                "test_subset": s.data.test_subset, "epochs": s.training.epochs, "seeds": len(s.seeds)}

    return {"quick": {**settings(study), "train_images": dataset["sizes"]["train"]}, "full": settings(full),
            "command": f"cnnreport build --study {_study_argument(study)} --profile full"}


def _study_argument(study: Study) -> str:
    """How to name the study on the command line: its built-in name, else its file."""
    builtin = resources.study(study.name)
    if builtin is not None and Path(str(builtin)).resolve() == Path(study.source).resolve():
        return study.name
    return _shown_path(Path(study.source))


def test_set_section(models: list[dict[str, Any]], comparisons: list[dict[str, Any]], splits: Splits,
                     runs_dir: Path) -> dict[str, Any]:
    """report.json `test_set`: per model, the seed-to-seed and test-image spread; for the primary
    comparison, McNemar's exact test per seed on the saved test predictions (also added to that
    comparison as `mcnemar`)."""
    n = int(len(splits.y_test))
    out: dict[str, Any] = {"n_images": n, "models": {m["name"]: spread(m, n) for m in models}, "mcnemar": []}
    primary = next((c for c in comparisons if c["family"] == "primary"), None)
    by_name = {m["name"]: m for m in models}
    if primary is not None:
        a, b = by_name[primary["a"]], by_name[primary["b"]]
        correct = [_correct_by_seed(m, splits.y_test, runs_dir) for m in (a, b)]
        out["mcnemar"] = primary["mcnemar"] = primary_mcnemar(sorted(set(a["seeds"]) & set(b["seeds"])), *correct)
    return out


def _correct_by_seed(model: dict[str, Any], labels: Any, runs_dir: Path) -> dict[int, Any]:
    """Per seed, which test images the run classified correctly (its saved predictions)."""
    out = {}
    for seed, run_id in zip(model["seeds"], model["run_ids"]):
        path = runs_dir / run_id / "test_predictions.npy"
        if seed not in model["diverged_seeds"] and path.is_file():
            out[seed] = np.load(path) == labels
    return out


def _shown_path(path: Path) -> str:
    """A study file as the user would name it: relative to the working folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def experiment_section(study: Study, models: list[dict[str, Any]], comparisons: list[dict[str, Any]],
                       splits: Splits, cache_dir: Path) -> dict[str, Any]:
    """The factor and its levels, the controlled-variable verification, the results table.

    The verification builds every CNN; it is cached once per design (the study without its
    prose), so a re-render after editing text needs no Keras. It raises UserError when the
    experiment is not controlled."""
    exp = study.experiment
    design = study.model_dump(mode="json", exclude={"text", "title", "author", "source", "profile"})
    verified = memo.json_value(cache_dir, "verification", [design, list(splits.input_shape), splits.num_classes],
                               lambda: verify_study(study, splits.input_shape, splits.num_classes))
    return {
        "factor": exp.factor,
        "layers": exp.layers,
        "levels": list(exp.levels),
        "level_labels": [level_label(exp.factor, lv) for lv in exp.levels],
        "reference_level": reference_level(study.cnn, exp),
        "models": [m["name"] for m in models if m["kind"] == "cnn"],
        "n_variants": sum(1 for m in models if m["role"] == "variant"),
        "seeds": list(study.seeds),
        "controlled": verified["controlled"],
        "differences": verified["differences"],
        "verification": verified["verification"],
        "table": results_rows(models, comparisons),
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
    if baseline and reference:
        # The ratio needs no trained run; the difference needs a finite result of each (when
        # every seed of one diverged it is left out, and the report says why).
        out["reference_params_ratio"] = reference["params"] / baseline["params"] if baseline["params"] else None
        if baseline["test_accuracy"]["mean"] is not None and reference["test_accuracy"]["mean"] is not None:
            out["reference_minus_baseline"] = reference["test_accuracy"]["mean"] - baseline["test_accuracy"]["mean"]
    return out


def rationale_rows(study: Study) -> list[dict[str, Any]]:
    """Each design decision with the author's justification, or flagged as missing."""
    rows = []
    for decision in DECISIONS:
        text = study.text.rationale.get(decision, "").strip()
        rows.append({"decision": decision.replace("_", " "), "justification": text,
                     "missing": not text})
    return rows


def run_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each run the report was built from, with the sha256 of its run.json (for integrity)."""
    return [{"run_id": r["run_id"], "model": r["model"]["name"], "seed": r["seed"],
             "probe": r.get("probe", "none"), "train_time_s": r["train_time_s"],
             "diverged": r["diverged"], "sha256": r.get("_sha256")} for r in records]


# ----------------------------------------------------------------------------------- figures


def data_figure_list(splits: Splits, dataset: dict[str, Any], fig_dir: Path) -> list[dict[str, str]]:
    style.warn_undrawable(splits.class_names, "class name")
    # A folder's sizes on disk: every image loaded (report.json keeps the first 5,000).
    sizes = splits.folder.sizes if splits.folder is not None else dataset["original_sizes"]
    figures = [
        data_figures.sample_grid(splits.x_train, splits.y_train, splits.class_names, fig_dir),
        data_figures.class_distribution(dataset["class_counts"], splits.class_names, fig_dir),
        data_figures.image_dimensions(dataset["image_shape"], sizes, splits.x_train, fig_dir, dataset.get("resize")),
        data_figures.preprocessing(splits.x_train[0], splits.x_train, fig_dir),
    ]
    pairs = dataset.get("duplicates", {}).get("pairs", [])[:8]
    if pairs:
        by_split = {"train": splits.x_train, "val": splits.x_val, "test": splits.x_test}
        images = [by_split[p[f"{side}_split"]][p[f"{side}_index"]] for p in pairs for side in ("a", "b")]
        figures.append(data_figures.duplicate_pairs(pairs, images, dataset["duplicates"]["near_bits"], fig_dir))
    return figures


def training_figure_list(models: list[dict[str, Any]], records: list[dict[str, Any]], splits: Splits,
                         fig_dir: Path) -> list[dict[str, str]]:
    by_model = records_by_model(records)
    histories = {name: [r["history"] for r in runs] for name, runs in by_model.items()}
    figs = [training_figures.training_curves(m, histories.get(m["name"], []), fig_dir,
                                             "curves_baseline" if m["role"] == "baseline" else "curves_reference")
            for m in models if m["role"] in ("baseline", "reference")]
    figs.append(training_figures.variant_curves(models, fig_dir, histories))
    figs.append(training_figures.accuracy_bars(models, splits.num_classes, fig_dir))
    return figs
