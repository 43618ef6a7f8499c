"""The results stage in one call: everything the runs say, computed once from the run records
and handed to the report — the description that the report's structure and rendering follow.
Numbers and enumerations only; report/ draws and words them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from cnnreport.data.splits import Splits
from cnnreport import memo
from cnnreport.results import errors as error_analysis
from cnnreport.results.evidence import LearnedFeatures, TrainedModels, learned_features, measure_probes
from cnnreport.results.baseline import BaselineFacts, baseline_facts
from cnnreport.results.checklist import LabJudgements, judge_questions
from cnnreport.results.experiment import Experiment, Headline, describe_experiment, headline
from cnnreport.results.findings import Comparison, build_comparisons
from cnnreport.results.probes import Probes
from cnnreport.results.summaries import ModelSummary, Record, role_model, summarize_models
from cnnreport.results.testset import FiniteTestSet, primary_mcnemar, spread
from cnnreport.results.verification import Verification
from cnnreport.study.models import ModelSpec
from cnnreport.study.schema import Study


@dataclass(frozen=True)
class Results:
    models: list[ModelSummary]
    baseline: ModelSummary
    reference: ModelSummary
    comparisons: list[Comparison]
    test_set: FiniteTestSet
    facts: BaselineFacts
    headline: Headline
    experiment: Experiment
    checklist: LabJudgements
    probes: Probes
    features: LearnedFeatures  # each CNN's first-layer kernel and feature maps of one test image
    errors: error_analysis.ErrorAnalysis
    confusion: np.ndarray | None  # the best CNN's confusion matrix, for its figure
    first_predictions: np.ndarray | None  # the best CNN's first finished seed, for its figure


def correct_by_seed(model: ModelSummary, labels: np.ndarray, runs_dir: Path) -> dict[int, np.ndarray]:
    """Per seed, which test images the run classified correctly (its saved predictions)."""
    out = {}
    for seed, run_id in zip(model.seeds, model.run_ids):
        path = runs_dir / run_id / error_analysis.PREDICTIONS_FILE
        if seed not in model.diverged_seeds and path.is_file():
            out[seed] = np.load(path) == labels
    return out


def describe_results(study: Study, specs: Sequence[ModelSpec], records: list[Record], splits: Splits,
                     verification: Verification, runs_dir: Path, report_dir: Path) -> Results:
    """Everything the runs say. What needs trained models is kept in the report's memo
    (report_dir/cache/), so a re-render loads none."""
    n_test = int(len(splits.y_test))
    models = summarize_models(list(specs), records, test_images=n_test)
    baseline, reference = role_model(models, "baseline"), role_model(models, "reference")
    if baseline is None or reference is None:
        raise ValueError("a study has a baseline and a reference CNN (study/models.py)")
    chance = 1.0 / splits.num_classes
    seeds = sorted(set(reference.seeds) & set(baseline.seeds))
    mcnemar = primary_mcnemar(seeds, correct_by_seed(reference, splits.y_test, runs_dir),
                              correct_by_seed(baseline, splits.y_test, runs_dir))
    comparisons = build_comparisons(models, margin=study.experiment.equivalence_margin / 100, mcnemar=mcnemar)
    test_set = FiniteTestSet(n_images=n_test, models={m.name: spread(m.test_accuracy, n_test) for m in models},
                             mcnemar=mcnemar if any(c.kind == "cnn_vs_baseline" for c in comparisons) else [])
    experiment = describe_experiment(study, specs, models, comparisons, verification)
    best = error_analysis.best_cnn(models)
    predictions = error_analysis.predictions(best, runs_dir) if best else []
    errors, matrix = error_analysis.error_analysis(best, predictions, splits.y_test, splits.class_names)
    trained, cache_dir = TrainedModels(runs_dir), memo.cache_dir(report_dir)
    return Results(
        models=models, baseline=baseline, reference=reference, comparisons=comparisons, test_set=test_set,
        facts=baseline_facts(baseline, reference, chance, splits.input_shape),
        headline=headline(models, splits.num_classes), experiment=experiment,
        checklist=judge_questions(models, comparisons, experiment, chance, study.seeds),
        probes=measure_probes(baseline, reference, models, records, splits, trained, cache_dir),
        features=learned_features(models, splits, trained, cache_dir),
        errors=errors, confusion=matrix, first_predictions=predictions[0] if predictions else None)
