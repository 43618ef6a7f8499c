"""Re-running a claim: `check --reproduce N` retrains N of a submission's runs from the study
file its report folder carries, and compares each with what the submission claims.

The study file is data (parsed by the strict schema, never executed), so retraining it is as
safe as building any study. It must be the file the report was built from (its hash is
report.json's `study.hash`) and must make the report's runs on the data loaded here (every run
id of report.json is in its plan: the ids hash settings, seed and data). The runs are drawn with
a seeded generator (the seed is printed; `--reproduce-seed` draws the same runs again), trained
in a scratch folder outside the submission, and compared on two numbers: test accuracy and the
final epoch's validation loss.

The tolerance (docs/statistics.md, "Re-running a claim"): an honest claim and its retraining
differ by two things, the finite test and validation sets and the run-to-run variation of one
seed. With p the retrained accuracy on n test images, the binomial standard error is
√(p(1−p)/n); for the validation loss, the standard error of a mean over the validation images
(their per-image losses' sd / √n_val). The run-to-run standard deviation of one seed is the one
measured on the same backend and device (RERUN_SD, bench/reproduce_rerun.py) when the grader's
environment is the submission's; otherwise the retraining is, in effect, another seed, and
√2 × the submission's seed-to-seed sd of that model stands in for it. A number fails when
|claimed − retrained| > z · √(se² + sd²), z two-sided at a family-wise α = 0.01 (Bonferroni over
the 2N numbers compared).
"""

from __future__ import annotations

import json
import math
import random
import secrets
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from scipy import stats

from cnnreport.console import Echo
from cnnreport.data.splits import Splits, permute_pixels
from cnnreport.errors import UserError
from cnnreport.formatting import fmt_num
from cnnreport.report.content import STUDY_COPY
from cnnreport.rubric.result import EnvironmentMatch, ReproducedRun, Reproduction
from cnnreport.rubric.submission import Submission, inside, too_large
from cnnreport.study.loading import read_study
from cnnreport.study.models import study_models
from cnnreport.study.schema import Study
from cnnreport.train import store
from cnnreport.train.plan import PERMUTATION_SEED, RunSpec, full_plan
from cnnreport.train.workspace import Workspace

ALPHA = 0.01
# Run-to-run standard deviation of one seed retrained on the same backend and device, in
# (test accuracy, final validation loss), measured by bench/reproduce_rerun.py (bench/README.md):
# the tiny study's MLP and reference CNN, seed 0, retrained 3 times in fresh processes and once
# in the build's own process, bf16 on a 2-core CPU: identical to the last bit on both backends.
# Other (backend, device) pairs are not measured: the seeds' spread stands in (wider, honest).
RERUN_SD: dict[tuple[str, str], tuple[float, float]] = {
    ("tensorflow", "cpu"): (0.0, 0.0),
    ("jax", "cpu"): (0.0, 0.0),
}


def draw(run_ids: list[str], n: int, seed: int) -> list[str]:
    """n of the runs, drawn with a seeded generator from their sorted ids (the same seed draws
    the same runs from the same report)."""
    ordered = sorted(run_ids)
    return random.Random(seed).sample(ordered, min(n, len(ordered)))


def new_seed() -> int:
    """A draw's seed when none is given: unpredictable to a student, printed for the grader."""
    return secrets.randbelow(10**6)


def z_value(comparisons: int, alpha: float = ALPHA) -> float:
    """Two-sided normal quantile at family-wise `alpha`, Bonferroni over `comparisons`."""
    return float(stats.norm.ppf(1 - alpha / (2 * max(1, comparisons))))


def accuracy_tolerance(p: float, n: int, rerun_sd: float, z: float) -> float:
    """z · √(p(1−p)/n + sd²): the test set's binomial error and the run-to-run variation."""
    return z * math.sqrt(p * (1 - p) / max(1, n) + rerun_sd ** 2)


def loss_tolerance(per_image: np.ndarray, rerun_sd: float, z: float) -> float:
    """z · √(se² + sd²), se the standard error of the mean loss over the validation images."""
    se = float(np.std(per_image, ddof=1) / math.sqrt(len(per_image))) if len(per_image) > 1 else 0.0
    return z * math.sqrt(se ** 2 + rerun_sd ** 2)


# ------------------------------------------------------------------------------ the environment


def _env(record: dict[str, Any] | None) -> dict[str, str]:
    env = (record or {}).get("environment") or {}
    levers = (record or {}).get("levers") or {}
    return {k: str(env.get(k) or "unknown") for k in ("backend", "backend_version", "device", "processor")} | \
        {"precision": str(levers.get("precision") or "unknown")}


def environment_match(claimed: dict[str, Any] | None, retrained: dict[str, Any]) -> EnvironmentMatch:
    theirs, ours = _env(claimed), _env(retrained)
    pairs = {k: (theirs[k], ours[k]) for k in theirs}
    same = all(a == b and a != "unknown" for a, b in pairs.values())
    return EnvironmentMatch(**pairs, same=same)


def _device_kind(device: str) -> str:
    return "gpu" if device.startswith("gpu") else "cpu"


# ---------------------------------------------------------------------------------- reproduce


class NotReproduced(Exception):
    """Why the runs were not retrained: `failed` when that itself refutes the claim (a study
    file that does not make the report's runs), else not attempted (no study file, other data)."""

    def __init__(self, message: str, failed: bool):
        super().__init__(message)
        self.failed = failed


def reproduce(sub: Submission, n: int, seed: int | None = None, scratch: Path | None = None,
              data_dir: Path | None = None, echo: Echo = lambda _: None) -> Reproduction:
    """Retrain n drawn runs of the submission (see the module's docstring)."""
    seed = new_seed() if seed is None else seed
    candidates = [r.run_id for r in sub.report.runs if not r.diverged]
    drawn = draw(candidates, n, seed)
    z = z_value(2 * max(1, len(drawn)))
    base = dict(requested=n, seed=seed, drawn=drawn, alpha=ALPHA, z=z)
    try:
        study = _study_file(sub)
        with _scratch(scratch, sub.folder) as root:
            workspace = Workspace(runs_root=root / "runs", reports_root=root / "reports", data_dir=data_dir,
                                  cache_data=False, echo=lambda _: None)
            splits = _splits(sub, study, workspace)
            specs = _specs(sub, study, splits, drawn)
            echo(f"reproduce: seed {seed} drew {len(drawn)} of {len(candidates)} runs: {', '.join(drawn)}")
            runs = [_compare(sub, spec, record, model, splits, z)
                    for spec, (record, model) in zip(specs, _retrain(specs, splits, workspace))]
    except NotReproduced as exc:
        return Reproduction(**base, runs=[], passed=False if exc.failed else None, problem=str(exc))
    return Reproduction(**base, runs=runs, passed=all(r.passed for r in runs), problem="")


def not_attempted(n: int, seed: int, problem: str) -> Reproduction:
    return Reproduction(requested=n, seed=seed, drawn=[], alpha=ALPHA, z=z_value(2 * max(1, n)), runs=[],
                        passed=None, problem=problem)


def _study_file(sub: Submission) -> Study:
    path = sub.file(STUDY_COPY)
    if path is None or not path.is_file():
        raise NotReproduced(f"the report folder carries no {STUDY_COPY} (a report rendered by this cnnreport "
                            "copies its study file there)", failed=False)
    if (why := too_large(path)) is not None:
        raise NotReproduced(why, failed=False)
    try:
        study = read_study(path).at(sub.report.study.profile if sub.report.study.profile != "base" else None)
    except UserError as exc:
        raise NotReproduced(f"{STUDY_COPY} is not a valid study file: {exc}", failed=True) from None
    if study.digest() != sub.report.study.hash:
        raise NotReproduced(f"{STUDY_COPY} is not the study the report was built from (its hash is "
                            f"{study.digest()}, report.json's study.hash {sub.report.study.hash})", failed=True)
    if study.data.source == "folder":
        where = inside(sub.folder, str(Path(study.source).parent / (study.data.path or "")))
        if where is None or not where.is_dir():
            raise NotReproduced("the study's image folder is not inside the submission: nothing to retrain on",
                                failed=False)
    return study


@contextmanager
def _scratch(scratch: Path | None, folder: Path) -> Iterator[Path]:
    """The grader's runs go here, never into the submission (a given folder is kept)."""
    if scratch is not None:
        root = Path(scratch).resolve()
        if root == folder.resolve() or root.is_relative_to(folder.resolve()):
            raise NotReproduced(f"--scratch {scratch} is inside the submission: the grader's runs go elsewhere",
                                failed=False)
        root.mkdir(parents=True, exist_ok=True)
        yield Path(tempfile.mkdtemp(prefix="reproduce-", dir=root))
        return
    root = Path(tempfile.mkdtemp(prefix="cnnreport-reproduce-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _splits(sub: Submission, study: Study, workspace: Workspace) -> Splits:
    try:
        splits = workspace.splits(study)
    except UserError as exc:
        raise NotReproduced(f"the study's data could not be loaded here: {exc}", failed=False) from None
    if splits.fingerprint != sub.report.dataset.fingerprint:
        raise NotReproduced(f"the data loaded here (fingerprint {splits.fingerprint}) are not the data the report "
                            f"describes ({sub.report.dataset.fingerprint}): pass the same data with --data-dir",
                            failed=False)
    return splits


def _specs(sub: Submission, study: Study, splits: Splits, drawn: list[str]) -> list[RunSpec]:
    plan = {s.run_id: s for s in full_plan(study, splits.fingerprint, study_models(study))}
    strangers = [r.run_id for r in sub.report.runs if r.run_id not in plan]
    if strangers:
        raise NotReproduced(f"{len(strangers)} run(s) of report.json are not runs {STUDY_COPY} makes on this data "
                            f"(e.g. {strangers[0][:80]}): the runs were not trained from this study file", failed=True)
    return [plan[rid] for rid in drawn]


def _splits_for(spec: RunSpec, splits: Splits) -> Splits:
    return permute_pixels(splits, PERMUTATION_SEED) if spec.probe == "permuted" else splits


def _retrain(specs: list[RunSpec], splits: Splits, workspace: Workspace) -> list[tuple[dict[str, Any], Any]]:
    """Train the drawn runs in the scratch folder; (run record, model) of each."""
    from cnnreport.backend import import_keras
    from cnnreport.train.runner import run_plan

    keras = import_keras()
    run_plan(specs, lambda s: _splits_for(s, splits), workspace.runs_root, echo=lambda _: None)
    study_dir = store.study_runs_dir(workspace.runs_root, specs[0].study) if specs else workspace.runs_root
    out = []
    for spec in specs:
        folder = study_dir / spec.run_id
        record = json.loads((folder / store.RUN_FILE).read_text(encoding="utf-8"))
        out.append((record, keras.saving.load_model(folder / store.MODEL_FILE, compile=False)))
    return out


def _claimed(sub: Submission, spec: RunSpec) -> tuple[float, float | None, dict[str, Any] | None]:
    """(test accuracy, final validation loss, run record) the submission claims for the run: its
    run.json when handed in, else report.json (which states no per-seed validation loss)."""
    path = sub.run_record(spec.run_id)
    if path is not None and path.is_file() and too_large(path) is None:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            acc = float(record["test"]["accuracy"])
            val_loss = float(record["history"]["val_loss"][-1])
            return acc, val_loss, record
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            pass  # not as cnnreport writes it: report.json's claim is what remains
    model = next(m for m in sub.report.models if spec.run_id in m.run_ids)
    seed = next(s for s in model.per_seed if s.seed == spec.seed)
    return float(seed.test_accuracy or 0.0), None, None


def _seed_spread(sub: Submission, spec: RunSpec) -> tuple[float, float]:
    """√2 × the submission's seed-to-seed sd of the model's test accuracy and final validation
    loss: the spread of the difference between two seeds' results."""
    model = next(m for m in sub.report.models if spec.run_id in m.run_ids)
    acc_sd = model.test_accuracy.std or 0.0
    loss_sd = model.curves.val_loss.std[-1] if model.curves.val_loss.std else 0.0
    return math.sqrt(2) * float(acc_sd), math.sqrt(2) * float(loss_sd or 0.0)


def _per_image_val_loss(model: Any, splits: Splits) -> np.ndarray:
    from cnnreport.train.engine import predict_in_batches

    probs = predict_in_batches(model, splits.x_val).astype(np.float64)
    picked = np.clip(probs[np.arange(len(splits.y_val)), splits.y_val], 1e-7, 1.0)
    return -np.log(picked)


def _compare(sub: Submission, spec: RunSpec, record: dict[str, Any], model: Any, splits: Splits,
             z: float) -> ReproducedRun:
    claimed_acc, claimed_loss, claimed_record = _claimed(sub, spec)
    if claimed_record is None:  # no run.json handed in: report.json's environment is the claim's
        claimed_record = {"environment": sub.report.environment.model_dump(mode="json")}
    env = environment_match(claimed_record, record)
    key = (env.backend[1], _device_kind(env.device[1]))
    if env.same and key in RERUN_SD:
        sd, source = RERUN_SD[key], "measured"
    else:
        sd, source = _seed_spread(sub, spec), "seed_spread"
    acc = float(record["test"]["accuracy"])
    n = int(record["test"]["n"])
    val_loss = float(record["history"]["val_loss"][-1])
    acc_tol = accuracy_tolerance(acc, n, sd[0], z)
    loss_tol = loss_tolerance(_per_image_val_loss(model, _splits_for(spec, splits)), sd[1], z)
    passed = abs(claimed_acc - acc) <= acc_tol and (claimed_loss is None or abs(claimed_loss - val_loss) <= loss_tol)
    return ReproducedRun(run_id=spec.run_id, model=spec.model.name, seed=spec.seed, probe=spec.probe,
                         test_images=n, claimed_accuracy=claimed_acc, retrained_accuracy=acc,
                         accuracy_tolerance=acc_tol, claimed_val_loss=claimed_loss, retrained_val_loss=val_loss,
                         val_loss_tolerance=loss_tol, rerun_sd=sd, rerun_sd_source=source, environment=env,
                         passed=passed)


# ------------------------------------------------------------------------------------- words


def describe(r: Reproduction) -> list[str]:
    """The reproduction in lines, both numbers of every comparison shown."""
    if r.passed is None:
        return [f"reproduction not attempted: {r.problem}"]
    head = (f"reproduction (draw seed {r.seed}: {len(r.drawn)} of the runs; α = {fmt_num(r.alpha, 2)} "
            f"family-wise, z = {fmt_num(r.z, 2)}): " + ("reproduced" if r.passed else "NOT reproduced"))
    lines = [head]
    if r.problem:
        lines.append(f"  {r.problem}")
    for run in r.runs:
        loss = (f"final validation loss claimed {fmt_num(run.claimed_val_loss, 4)}, retrained "
                f"{fmt_num(run.retrained_val_loss, 4)} (tolerance ± {fmt_num(run.val_loss_tolerance, 4)})"
                if run.claimed_val_loss is not None else
                f"final validation loss retrained {fmt_num(run.retrained_val_loss, 4)} (no run.json handed in: "
                "no claim to compare)")
        e = run.environment
        where = ("same backend, version, device, processor and precision" if e.same else
                 "environment differs: " + "; ".join(f"{k} {a} there, {b} here" for k, (a, b) in
                                                    e.model_dump(exclude={"same"}).items() if a != b))
        lines.append(f"  {'✓' if run.passed else '✗'} {run.model} · seed {run.seed}"
                     + (" [permuted pixels]" if run.probe != "none" else "") + f" ({run.run_id}): test accuracy "
                     f"claimed {fmt_num(run.claimed_accuracy, 4)}, retrained {fmt_num(run.retrained_accuracy, 4)} "
                     f"on {run.test_images:,} images (tolerance ± {fmt_num(run.accuracy_tolerance, 4)}); {loss}; "
                     f"{where}; run-to-run sd "
                     + ("as measured on this backend" if run.rerun_sd_source == "measured"
                        else "taken from the submission's seeds (no measurement for this environment)"))
    return lines
